/* Sparse C^T micro-kernel, AVX-512F: one output pixel x 16 output channels (one zmm) per step. */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

#define MR 16

/* acc += x[c] * w[c][0..15] for channels [0, n) of one nonzero, four channels per step into four
 * accumulators (a single accumulator would wait 4 cycles on every FMA). */
static inline void nz_fma(const float *xc, const float *wt, size_t xs, size_t n, __m512 acc[4]) {
    size_t c = 0;
    for (; c + 4 <= n; c += 4, xc += 4 * xs, wt += 4 * MR) {
        acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(*xc), _mm512_loadu_ps(wt), acc[0]);
        acc[1] = _mm512_fmadd_ps(_mm512_set1_ps(xc[xs]), _mm512_loadu_ps(wt + MR), acc[1]);
        acc[2] = _mm512_fmadd_ps(_mm512_set1_ps(xc[2 * xs]), _mm512_loadu_ps(wt + 2 * MR), acc[2]);
        acc[3] = _mm512_fmadd_ps(_mm512_set1_ps(xc[3 * xs]), _mm512_loadu_ps(wt + 3 * MR), acc[3]);
    }
    for (; c < n; c++, xc += xs, wt += MR)
        acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(*xc), _mm512_loadu_ps(wt), acc[0]);
}

/* Output pixel: bias plus all nonzeros of its CSR row. Nonzeros alternate between two sets of
 * accumulators, so rows with a single channel (1 -> 1 upsampling: 4 nonzeros of one channel)
 * still keep two chains in flight. */
static inline __m512 pixel(const float *bias, uint64_t nz, uint64_t end, const uint32_t *col_idx,
                           const uint32_t *tap_idx, const float *x, size_t xs, size_t channels,
                           const float *w) {
    const size_t tap_stride = channels * MR;
    const __m512 z = _mm512_setzero_ps();
    __m512 a[4] = {_mm512_loadu_ps(bias), z, z, z}, b[4] = {z, z, z, z};
    for (; nz + 2 <= end; nz += 2) {
        nz_fma(x + col_idx[nz], w + tap_idx[nz] * tap_stride, xs, channels, a);
        nz_fma(x + col_idx[nz + 1], w + tap_idx[nz + 1] * tap_stride, xs, channels, b);
    }
    if (nz < end) nz_fma(x + col_idx[nz], w + tap_idx[nz] * tap_stride, xs, channels, a);
    if (channels < 4) return _mm512_add_ps(a[0], b[0]); /* the other chains stayed zero */
    __m512 sa = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));
    __m512 sb = _mm512_add_ps(_mm512_add_ps(b[0], b[1]), _mm512_add_ps(b[2], b[3]));
    return _mm512_add_ps(sa, sb);
}

/* Single input channel (1 -> 1 upsampling): one FMA per nonzero, no channel loop; two chains. */
static inline __m512 pixel_one_channel(const float *bias, uint64_t nz, uint64_t end,
                                       const uint32_t *col_idx, const uint32_t *tap_idx,
                                       const float *x, const float *w) {
    __m512 a = _mm512_loadu_ps(bias), b = _mm512_setzero_ps();
    for (; nz + 2 <= end; nz += 2) {
        a = _mm512_fmadd_ps(_mm512_set1_ps(x[col_idx[nz]]), _mm512_loadu_ps(w + tap_idx[nz] * MR),
                            a);
        b = _mm512_fmadd_ps(_mm512_set1_ps(x[col_idx[nz + 1]]),
                            _mm512_loadu_ps(w + tap_idx[nz + 1] * MR), b);
    }
    if (nz < end)
        a = _mm512_fmadd_ps(_mm512_set1_ps(x[col_idx[nz]]), _mm512_loadu_ps(w + tap_idx[nz] * MR),
                            a);
    return _mm512_add_ps(a, b);
}

/* The outputs of one pixel lie y_cstride apart: scalar stores of the valid lanes (the first
 * straight from the register, the common single-output case). */
static inline void store_pixel(__m512 acc, size_t rows, float *y, size_t y_cstride) {
    float out[MR];
    if (rows == 1) {
        *y = _mm512_cvtss_f32(acc);
        return;
    }
    _mm512_storeu_ps(out, acc);
    for (size_t m = 0; m < rows; m++) y[m * y_cstride] = out[m];
}

void tconv_f32_sparse_ukernel_16x1__avx512(size_t rows, size_t row_begin, size_t row_end,
                                           const uint64_t *row_ptr, const uint32_t *col_idx,
                                           const uint32_t *tap_idx, const float *x,
                                           size_t x_cstride, size_t channels, const float *w,
                                           const float *bias, float *y, size_t y_cstride) {
    if (channels == 1) {
        for (size_t p = row_begin; p < row_end; p++)
            store_pixel(pixel_one_channel(bias, row_ptr[p], row_ptr[p + 1], col_idx, tap_idx, x, w),
                        rows, y + p, y_cstride);
        return;
    }
    for (size_t p = row_begin; p < row_end; p++)
        store_pixel(
            pixel(bias, row_ptr[p], row_ptr[p + 1], col_idx, tap_idx, x, x_cstride, channels, w),
            rows, y + p, y_cstride);
}
