/* col2im micro-kernel for AVX-512: scatter-add one column row into an output row. */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

#define VW 16 /* floats per vector */

/* Lanes [0, n) for n <= 16. */
static __mmask16 lane_mask(size_t n) {
    return n >= VW ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

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
        const __mmask16 m = lane_mask(n - j);
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
        const __m512 c = _mm512_maskz_loadu_ps(lane_mask(r), col + j);
        /* Even lanes 2k for k < r: the low vector holds k < 8, the high one k >= 8. */
        const __mmask16 even_lo = (__mmask16)(0x5555u & lane_mask(2 * r - 1));
        const __mmask16 even_hi = r > 8 ? (__mmask16)(0x5555u & lane_mask(2 * r - 17)) : 0;
        float *yj = y + 2 * j;
        __m512 lo = _mm512_permutex2var_ps(c, lo_idx, zero);
        __m512 hi = _mm512_permutex2var_ps(c, hi_idx, zero);
        _mm512_mask_storeu_ps(yj, even_lo, _mm512_add_ps(_mm512_maskz_loadu_ps(even_lo, yj), lo));
        _mm512_mask_storeu_ps(yj + VW, even_hi,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(even_hi, yj + VW), hi));
    }
}

void tconv_f32_col2im_ukernel__avx512(size_t n, const float *col, float *y, size_t y_stride) {
    if (y_stride == 1)
        add_contiguous(n, col, y);
    else if (y_stride == 2)
        add_stride2(n, col, y);
    else
        for (size_t j = 0; j < n; j++) y[j * y_stride] += col[j];
}
