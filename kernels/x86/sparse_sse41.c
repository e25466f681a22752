/* Sparse micro-kernel, SSE4.1: nonzero weights times input rows, 4 pixels per xmm, up to 4 xmm
 * of one accumulator row held in registers per run (no FMA: multiply, then add). */
#include <smmintrin.h>

#include "../dispatch/ukernels.h"

typedef __m128 vec;
#define VL 4
#define NV 4
static inline vec v_zero(void) { return _mm_setzero_ps(); }
static inline vec v_set1(float f) { return _mm_set1_ps(f); }
static inline vec v_load(const float *p) { return _mm_loadu_ps(p); }
static inline void v_store(float *p, vec v) { _mm_storeu_ps(p, v); }
static inline vec v_fma(vec w, vec x, vec acc) { return _mm_add_ps(acc, _mm_mul_ps(w, x)); }
static inline vec v_add(vec a, vec b) { return _mm_add_ps(a, b); }

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_4x1__sse41(size_t runs, const tconv_sparse_run *run,
                                         const tconv_sparse_tap *tap, const uint32_t *chan,
                                         const float *w, const float *x, size_t x_rstride,
                                         float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
