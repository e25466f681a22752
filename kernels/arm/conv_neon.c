/* Tap-list convolution micro-kernel, AArch64 NEON: 8 channels x 8 pixels; 4x16 and 1x16 tiles. */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

#define MR 8

/* The helpers take tile sizes as constants; always_inline and UNROLL (full unrolling) make every
 * accumulator index a compile-time constant, so the accumulator arrays live in registers. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")

/* acc[m0 + l] += x * w[l] for the four lanes l of w (output channels m0..m0+3). */
#define FMA_BY_LANES(acc, m0, x, w)                                                                \
    do {                                                                                           \
        (acc)[(m0) + 0] = vfmaq_laneq_f32((acc)[(m0) + 0], x, w, 0);                               \
        (acc)[(m0) + 1] = vfmaq_laneq_f32((acc)[(m0) + 1], x, w, 1);                               \
        (acc)[(m0) + 2] = vfmaq_laneq_f32((acc)[(m0) + 2], x, w, 2);                               \
        (acc)[(m0) + 3] = vfmaq_laneq_f32((acc)[(m0) + 3], x, w, 3);                               \
    } while (0)

/* Four consecutive output pixels of one channel, `ps` floats apart. */
ALWAYS_INLINE void store_pixels4(float *y, size_t ps, float32x4_t v) {
    if (ps == 1) {
        vst1q_f32(y, v);
    } else {
        vst1q_lane_f32(y, v, 0);
        vst1q_lane_f32(y + ps, v, 1);
        vst1q_lane_f32(y + 2 * ps, v, 2);
        vst1q_lane_f32(y + 3 * ps, v, 3);
    }
}

/* 4*cq channels x 4*pq pixels starting at pixel j: pixels in vector lanes, weights by lane. */
ALWAYS_INLINE void conv_tile(size_t cq, size_t pq, size_t rows, size_t j, size_t taps,
                             const float *const *x_taps, size_t x_cstride, size_t channels,
                             const float *const *w_taps, const float *bias, float *y,
                             size_t y_cstride, size_t y_pstride) {
    float32x4_t acc[4][MR]; /* [pixel quad][channel] */
    UNROLL for (size_t q = 0; q < pq; q++) {
        UNROLL for (size_t m = 0; m < 4 * cq; m++) { acc[q][m] = vld1q_dup_f32(bias + m); }
    }
    for (size_t t = 0; t < taps; t++) {
        const float *x = x_taps[t] + j;
        const float *w = w_taps[t];
        for (size_t c = 0; c < channels; c++, x += x_cstride, w += MR) {
            float32x4_t xv[4], wv[2];
            UNROLL for (size_t q = 0; q < pq; q++) { xv[q] = vld1q_f32(x + 4 * q); }
            UNROLL for (size_t h = 0; h < cq; h++) { wv[h] = vld1q_f32(w + 4 * h); }
            UNROLL for (size_t h = 0; h < cq; h++) {
                UNROLL for (size_t q = 0; q < pq; q++) {
                    FMA_BY_LANES(acc[q], 4 * h, xv[q], wv[h]);
                }
            }
        }
    }
    float *yj = y + j * y_pstride;
    UNROLL for (size_t m = 0; m < 4 * cq; m++) {
        if (m >= rows) continue;
        UNROLL for (size_t q = 0; q < pq; q++) {
            store_pixels4(yj + m * y_cstride + 4 * q * y_pstride, y_pstride, acc[q][m]);
        }
    }
}

/* One channel x 4*pq pixels: weights broadcast; even and odd input channels feed separate
 * accumulators so the FMA chains overlap. */
ALWAYS_INLINE void conv_tile_1ch(size_t pq, size_t j, size_t taps, const float *const *x_taps,
                                 size_t x_cstride, size_t channels, const float *const *w_taps,
                                 const float *bias, float *y, size_t y_pstride) {
    float32x4_t even[4], odd[4];
    UNROLL for (size_t q = 0; q < pq; q++) {
        even[q] = vld1q_dup_f32(bias);
        odd[q] = vdupq_n_f32(0.0f);
    }
    for (size_t t = 0; t < taps; t++) {
        const float *x = x_taps[t] + j;
        const float *w = w_taps[t];
        size_t c = 0;
        for (; c + 2 <= channels; c += 2, x += 2 * x_cstride, w += 2 * MR) {
            const float w0 = w[0], w1 = w[MR];
            UNROLL for (size_t q = 0; q < pq; q++) {
                even[q] = vfmaq_n_f32(even[q], vld1q_f32(x + 4 * q), w0);
                odd[q] = vfmaq_n_f32(odd[q], vld1q_f32(x + x_cstride + 4 * q), w1);
            }
        }
        if (c < channels) {
            UNROLL for (size_t q = 0; q < pq; q++) {
                even[q] = vfmaq_n_f32(even[q], vld1q_f32(x + 4 * q), w[0]);
            }
        }
    }
    float *yj = y + j * y_pstride;
    UNROLL for (size_t q = 0; q < pq; q++) {
        store_pixels4(yj + 4 * q * y_pstride, y_pstride, vaddq_f32(even[q], odd[q]));
    }
}

/* One pixel (the remainder): channels in vector lanes, input values broadcast. */
ALWAYS_INLINE void conv_pixel(size_t cq, size_t rows, size_t j, size_t taps,
                              const float *const *x_taps, size_t x_cstride, size_t channels,
                              const float *const *w_taps, const float *bias, float *y,
                              size_t y_cstride, size_t y_pstride) {
    float32x4_t acc[2];
    UNROLL for (size_t h = 0; h < cq; h++) { acc[h] = vld1q_f32(bias + 4 * h); }
    for (size_t t = 0; t < taps; t++) {
        const float *x = x_taps[t] + j;
        const float *w = w_taps[t];
        for (size_t c = 0; c < channels; c++, x += x_cstride, w += MR) {
            UNROLL for (size_t h = 0; h < cq; h++) {
                acc[h] = vfmaq_n_f32(acc[h], vld1q_f32(w + 4 * h), *x);
            }
        }
    }
    float out[MR];
    UNROLL for (size_t h = 0; h < cq; h++) { vst1q_f32(out + 4 * h, acc[h]); }
    for (size_t m = 0; m < rows; m++) y[m * y_cstride + j * y_pstride] = out[m];
}

void tconv_f32_conv_ukernel_8x8__neon(size_t rows, size_t pixels, size_t taps,
                                      const float *const *x_taps, size_t x_cstride, size_t channels,
                                      const float *const *w_taps, const float *bias, float *y,
                                      size_t y_cstride, size_t y_pstride) {
    size_t j = 0;
    if (rows > 4) {
        for (; j + 8 <= pixels; j += 8)
            conv_tile(2, 2, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                      y_pstride);
        if (j + 4 <= pixels) {
            conv_tile(2, 1, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                      y_pstride);
            j += 4;
        }
        for (; j < pixels; j++)
            conv_pixel(2, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                       y_pstride);
    } else if (rows > 1) {
        /* Channels 4..7 are zero padding: half the work of the 8-channel tile. */
        for (; j + 16 <= pixels; j += 16)
            conv_tile(1, 4, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                      y_pstride);
        if (j + 8 <= pixels) {
            conv_tile(1, 2, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                      y_pstride);
            j += 8;
        }
        if (j + 4 <= pixels) {
            conv_tile(1, 1, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                      y_pstride);
            j += 4;
        }
        for (; j < pixels; j++)
            conv_pixel(1, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                       y_pstride);
    } else {
        /* A single output channel (e.g. FSRCNN's last layer, image upsampling). */
        for (; j + 16 <= pixels; j += 16)
            conv_tile_1ch(4, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_pstride);
        if (j + 8 <= pixels) {
            conv_tile_1ch(2, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_pstride);
            j += 8;
        }
        if (j + 4 <= pixels) {
            conv_tile_1ch(1, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_pstride);
            j += 4;
        }
        for (; j < pixels; j++)
            conv_pixel(1, rows, j, taps, x_taps, x_cstride, channels, w_taps, bias, y, y_cstride,
                       y_pstride);
    }
}
