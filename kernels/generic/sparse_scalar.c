/* Sparse micro-kernel, portable C: nonzero weights times input rows into accumulator rows. */
#include "../dispatch/ukernels.h"

static inline void row4(size_t n, const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, float *y) {
    for (size_t j = 0; j < n; j++)
        y[j] += w[0] * x0[j] + w[1] * x1[j] + w[2] * x2[j] + w[3] * x3[j];
}

static inline void row1(size_t n, float w, const float *x, float *y) {
    for (size_t j = 0; j < n; j++) y[j] += w * x[j];
}

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_4x1__scalar(size_t runs, const tconv_sparse_run *run,
                                          const tconv_sparse_tap *tap, const uint32_t *chan,
                                          const float *w, const float *x, size_t x_rstride,
                                          float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
