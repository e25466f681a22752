/* col2im micro-kernel for AVX-512: scatter-add one column row into an output row. */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

#define VW 16 /* floats per vector */

/* Contiguous output: four vectors per step, then masked vectors for the rest. */
static void add_contiguous(size_t n, const float *col, float *y) {
    size_t j = 0;
    for (; j + 4 * VW <= n; j += 4 * VW)
        for (int k = 0; k < 4; k++) {
            __m512 v =
                _mm512_add_ps(_mm512_loadu_ps(y + j + k * VW), _mm512_loadu_ps(col + j + k * VW));
            _mm512_storeu_ps(y + j + k * VW, v);
        }
    for (; j < n; j += VW) {
        const __mmask16 m = lanes_upto(n - j);
        __m512 v =
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + j), _mm512_maskz_loadu_ps(m, col + j));
        _mm512_mask_storeu_ps(y + j, m, v);
    }
}

/* Output stride 2: col spread to the even lanes of two vectors; masks limit the loads and
 * stores to the even elements this call owns, so the odd ones (other kernel taps) are never
 * touched and nothing past the last element is accessed. */
static void add_stride2(size_t n, const float *col, float *y) {
    const __m512i lo_idx =
        _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const __m512i hi_idx =
        _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
    const __m512 zero = _mm512_setzero_ps();
    for (size_t j = 0; j < n; j += VW) {
        const size_t r = n - j < VW ? n - j : VW; /* elements of col in this step */
        const __m512 c = _mm512_maskz_loadu_ps(lanes_upto(r), col + j);
        /* Even lanes 2k for k < r: the low vector holds k < 8, the high one k >= 8. */
        const __mmask16 even_lo = (__mmask16)(0x5555u & lanes_upto(2 * r - 1));
        const __mmask16 even_hi = r > 8 ? (__mmask16)(0x5555u & lanes_upto(2 * r - 17)) : 0;
        float *yj = y + 2 * j;
        __m512 lo = _mm512_permutex2var_ps(c, lo_idx, zero);
        __m512 hi = _mm512_permutex2var_ps(c, hi_idx, zero);
        _mm512_mask_storeu_ps(yj, even_lo, _mm512_add_ps(_mm512_maskz_loadu_ps(even_lo, yj), lo));
        _mm512_mask_storeu_ps(yj + VW, even_hi,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(even_hi, yj + VW), hi));
    }
}

/* Lanes [0, n) for any signed n: none when n <= 0. */
static __mmask16 lanes_below(ptrdiff_t n) { return n <= 0 ? 0 : lanes_upto((size_t)n); }

/* Output stride 3 (FSRCNN x3: k9 s3, 81 taps of ~64-element rows, a third of gemm's time in the
 * scalar loop under perf): 16 col elements land on lanes 3j of the 48 outputs y[0..47], i.e. on
 * every third lane of three vectors, starting at lanes 0, 2 and 1. A permute moves col[j] to
 * lane 3j - 16q of vector q; masks keep the loads and stores to those lanes, and to elements
 * below n in the tail, so the other taps' outputs are never touched and nothing past the last
 * element is accessed. One add per output, as in the scalar loop: the same bits. */
static void add_stride3(size_t n, const float *col, float *y) {
    /* idx[q] lane L holds (16q + L) / 3; only the lanes with 16q + L a multiple of 3 are used. */
    const __m512i idx0 = _mm512_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5);
    const __m512i idx1 = _mm512_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10);
    const __m512i idx2 =
        _mm512_setr_epi32(10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15);
    const __mmask16 every0 = 0x9249, every1 = 0x4924, every2 = 0x2492; /* lanes 3j - 16q */
    for (size_t j = 0; j < n; j += VW) {
        const size_t r = n - j < VW ? n - j : VW; /* elements of col in this step */
        const __m512 c = _mm512_maskz_loadu_ps(lanes_upto(r), col + j);
        const ptrdiff_t end = 3 * (ptrdiff_t)r - 2; /* one past the last output lane, 3(r-1) */
        const __mmask16 m0 = every0 & lanes_below(end), m1 = every1 & lanes_below(end - 16),
                        m2 = every2 & lanes_below(end - 32);
        float *yj = y + 3 * j;
        _mm512_mask_storeu_ps(
            yj, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, yj), _mm512_permutexvar_ps(idx0, c)));
        _mm512_mask_storeu_ps(
            yj + VW, m1,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m1, yj + VW), _mm512_permutexvar_ps(idx1, c)));
        _mm512_mask_storeu_ps(
            yj + 2 * VW, m2,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m2, yj + 2 * VW), _mm512_permutexvar_ps(idx2, c)));
    }
}

void tconv_f32_col2im_ukernel__avx512(size_t n, const float *col, float *y, size_t y_stride) {
    if (y_stride == 1)
        add_contiguous(n, col, y);
    else if (y_stride == 2)
        add_stride2(n, col, y);
    else if (y_stride == 3)
        add_stride3(n, col, y);
    else
        for (size_t j = 0; j < n; j++) y[j * y_stride] += col[j];
}

/* tconv_f32_col2im_row__avx512 with nv = ceil(out_w / 16) vectors, a constant after inlining
 * (so v[] lives in registers). A masked load of the taps, then the register form of expand:
 * the memory form (vexpandps from memory) took most of this function's samples under perf.
 * Masked adds: a lane without a tap keeps its bits (adding a zero
 * would turn -0 into +0). */
static inline __attribute__((always_inline)) void
row_in_registers(size_t nv, size_t out_w, float bias, size_t rows, const float *const *col_rows,
                 size_t kx_stride, size_t kw, const uint32_t *mask, const size_t *off, float *y) {
    __m512 v[4];
    for (size_t q = 0; q < nv; q++) v[q] = _mm512_set1_ps(bias);
    for (size_t r = 0; r < rows; r++) {
        const float *col = col_rows[r];
        for (size_t kx = 0; kx < kw; kx++, col += kx_stride)
            for (size_t q = 0; q < nv; q++) {
                const uint32_t masks = mask[kx * 4 + q];
                const __mmask16 m = (__mmask16)masks, loaded = (__mmask16)(masks >> 16);
                const __m512 taps = _mm512_maskz_loadu_ps(loaded, col + off[kx * 4 + q]);
                v[q] = _mm512_mask_add_ps(v[q], m, v[q], _mm512_maskz_expand_ps(m, taps));
            }
    }
    for (size_t q = 0; q < nv; q++)
        _mm512_mask_storeu_ps(y + 16 * q, lanes_upto(out_w - 16 * q), v[q]);
}

/* One output row held in registers from its bias to its last tap, stored once: the per-tap
 * row calls (add_stride2 on 8-float rows) re-loaded and re-stored the row for every tap and
 * paid a call each, 7.7% of DCGAN 512->256's time under perf (16 taps, 8x8 input, 16-wide
 * rows). The same adds per output in the same (ky, kx) order: the same bits. */
void tconv_f32_col2im_row__avx512(size_t out_w, float bias, size_t rows,
                                  const float *const *col_rows, size_t kx_stride, size_t kw,
                                  const uint32_t *mask, const size_t *off, float *y) {
    switch ((out_w + 15) / 16) {
    case 1: row_in_registers(1, out_w, bias, rows, col_rows, kx_stride, kw, mask, off, y); break;
    case 2: row_in_registers(2, out_w, bias, rows, col_rows, kx_stride, kw, mask, off, y); break;
    case 3: row_in_registers(3, out_w, bias, rows, col_rows, kx_stride, kw, mask, off, y); break;
    default: row_in_registers(4, out_w, bias, rows, col_rows, kx_stride, kw, mask, off, y); break;
    }
}
