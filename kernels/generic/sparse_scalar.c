/* Sparse micro-kernel, portable C: nonzero weights times input rows, 4 pixels of one accumulator
 * row held in locals per run. */

#include "../dispatch/ukernels.h"

typedef float vec;
#define VL 1
#define NV 4
static inline vec v_zero(void) { return 0.0f; }
static inline vec v_set1(float f) { return f; }
static inline vec v_load(const float *p) { return *p; }
static inline void v_store(float *p, vec v) { *p = v; }
static inline vec v_fma(vec w, vec x, vec acc) { return __builtin_fmaf(w, x, acc); }
static inline vec v_add(vec a, vec b) { return a + b; }

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_4x1__scalar(size_t runs, const tconv_sparse_run *run,
                                          const tconv_sparse_tap *tap, const uint32_t *chan,
                                          const float *w, const float *x, size_t x_rstride,
                                          float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
