/* Sparse micro-kernel, AArch64 NEON: nonzero weights times input rows, 4 pixels per q register,
 * up to 4 of one accumulator row held in registers per run. */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

typedef float32x4_t vec;
#define VL 4
#define NV 4
static inline vec v_zero(void) { return vdupq_n_f32(0.0f); }
static inline vec v_set1(float f) { return vdupq_n_f32(f); }
static inline vec v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, vec v) { vst1q_f32(p, v); }
static inline vec v_fma(vec w, vec x, vec acc) { return vfmaq_f32(acc, w, x); }
static inline vec v_add(vec a, vec b) { return vaddq_f32(a, b); }

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_8x1__neon(size_t runs, const tconv_sparse_run *run,
                                        const tconv_sparse_tap *tap, const uint32_t *chan,
                                        const float *w, const float *x, size_t x_rstride,
                                        float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
