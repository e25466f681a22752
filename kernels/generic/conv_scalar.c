/* Tap-list convolution micro-kernel, portable C: 4 output channels x 1 pixel register tile. */
#include "../dispatch/ukernels.h"

#define MR 4

#ifdef TCONV_GATE_SLOWDOWN
/* Test-only (CMake option TCONV_GATE_SLOWDOWN): extra loads per pixel that change no result, so
 * the performance gate's self-test has a real regression to catch. */
static void redundant_reads(const float *const *x_taps, size_t taps, size_t j) {
    volatile float sink = 0.0f;
    for (size_t t = 0; t < taps; t++) sink += x_taps[t][j];
    (void)sink;
}
#endif

void tconv_f32_conv_ukernel_4x1__scalar(size_t rows, size_t pixels, size_t taps,
                                        const float *const *x_taps, size_t x_cstride,
                                        size_t channels, const float *const *w_taps,
                                        const float *bias, float *y, size_t y_cstride,
                                        size_t y_pstride) {
    for (size_t j = 0; j < pixels; j++) {
        float acc[MR];
        for (size_t m = 0; m < MR; m++) acc[m] = bias[m];
        for (size_t t = 0; t < taps; t++) {
            const float *x = x_taps[t] + j;
            const float *w = w_taps[t];
            for (size_t c = 0; c < channels; c++) {
                float xv = x[c * x_cstride];
                for (size_t m = 0; m < MR; m++) acc[m] += xv * w[c * MR + m];
            }
        }
        for (size_t m = 0; m < rows; m++) y[m * y_cstride + j * y_pstride] = acc[m];
#ifdef TCONV_GATE_SLOWDOWN
        redundant_reads(x_taps, taps, j);
#endif
    }
}
