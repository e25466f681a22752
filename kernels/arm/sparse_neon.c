/* Sparse micro-kernel, AArch64 NEON: nonzero weights times input rows, 4 pixels per q register. */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

/* y += w0*x0 + w1*x1 + w2*x2 + w3*x3: one FMA chain per vector, four rows of x per acc pass. */
static inline void row4(size_t n, const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, float *y) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        float32x4_t s = vfmaq_n_f32(vld1q_f32(y + j), vld1q_f32(x0 + j), w[0]);
        s = vfmaq_n_f32(s, vld1q_f32(x1 + j), w[1]);
        s = vfmaq_n_f32(s, vld1q_f32(x2 + j), w[2]);
        vst1q_f32(y + j, vfmaq_n_f32(s, vld1q_f32(x3 + j), w[3]));
    }
    for (; j < n; j++) {
        float s = __builtin_fmaf(w[0], x0[j], y[j]);
        s = __builtin_fmaf(w[1], x1[j], s);
        s = __builtin_fmaf(w[2], x2[j], s);
        y[j] = __builtin_fmaf(w[3], x3[j], s);
    }
}

static inline void row1(size_t n, float w, const float *x, float *y) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) vst1q_f32(y + j, vfmaq_n_f32(vld1q_f32(y + j), vld1q_f32(x + j), w));
    for (; j < n; j++) y[j] = __builtin_fmaf(w, x[j], y[j]);
}

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_8x1__neon(size_t runs, const tconv_sparse_run *run,
                                        const tconv_sparse_tap *tap, const uint32_t *chan,
                                        const float *w, const float *x, size_t x_rstride,
                                        float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
