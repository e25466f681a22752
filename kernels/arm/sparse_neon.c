/* Sparse C^T micro-kernel, AArch64 NEON: one output pixel x 8 output channels (4 when fewer). */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

#define MR 8

/* Constant tile sizes after inlining; full unrolling keeps the accumulators in registers. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")

/* One output pixel, 4*cq channels in vector lanes. Each nonzero contributes `channels` products
 * x[c] * w[c][0..MR); input channels alternate between two accumulator sets so that two FMA chains
 * per channel quad are in flight. */
ALWAYS_INLINE void sparse_pixel(size_t cq, size_t rows, size_t p, const uint64_t *row_ptr,
                                const uint32_t *col_idx, const uint32_t *tap_idx, const float *x,
                                size_t x_cstride, size_t channels, const float *w,
                                const float *bias, float *y, size_t y_cstride) {
    float32x4_t even[2], odd[2];
    UNROLL for (size_t h = 0; h < cq; h++) {
        even[h] = vld1q_f32(bias + 4 * h);
        odd[h] = vdupq_n_f32(0.0f);
    }
    for (uint64_t nz = row_ptr[p]; nz < row_ptr[p + 1]; nz++) {
        const float *xc = x + col_idx[nz];
        const float *wt = w + (size_t)tap_idx[nz] * channels * MR;
        size_t c = 0;
        for (; c + 2 <= channels; c += 2, xc += 2 * x_cstride, wt += 2 * MR) {
            const float x0 = xc[0], x1 = xc[x_cstride];
            UNROLL for (size_t h = 0; h < cq; h++) {
                even[h] = vfmaq_n_f32(even[h], vld1q_f32(wt + 4 * h), x0);
                odd[h] = vfmaq_n_f32(odd[h], vld1q_f32(wt + MR + 4 * h), x1);
            }
        }
        if (c < channels) {
            UNROLL for (size_t h = 0; h < cq; h++) {
                even[h] = vfmaq_n_f32(even[h], vld1q_f32(wt + 4 * h), xc[0]);
            }
        }
    }
    float out[MR];
    UNROLL for (size_t h = 0; h < cq; h++) { vst1q_f32(out + 4 * h, vaddq_f32(even[h], odd[h])); }
    for (size_t m = 0; m < rows; m++) y[m * y_cstride + p] = out[m];
}

void tconv_f32_sparse_ukernel_8x1__neon(size_t rows, size_t row_begin, size_t row_end,
                                        const uint64_t *row_ptr, const uint32_t *col_idx,
                                        const uint32_t *tap_idx, const float *x, size_t x_cstride,
                                        size_t channels, const float *w, const float *bias,
                                        float *y, size_t y_cstride) {
    if (rows > 4) {
        for (size_t p = row_begin; p < row_end; p++)
            sparse_pixel(2, rows, p, row_ptr, col_idx, tap_idx, x, x_cstride, channels, w, bias, y,
                         y_cstride);
    } else {
        /* Channels 4..7 are zero padding: skip them. */
        for (size_t p = row_begin; p < row_end; p++)
            sparse_pixel(1, rows, p, row_ptr, col_idx, tap_idx, x, x_cstride, channels, w, bias, y,
                         y_cstride);
    }
}
