/* Sparse micro-kernel, AVX2+FMA: nonzero weights times input rows, 8 pixels per ymm, up to 4 ymm
 * of one accumulator row held in registers per run. */
#include <immintrin.h>

#include "../dispatch/ukernels.h"

typedef __m256 vec;
#define VL 8
#define NV 4
static inline vec v_zero(void) { return _mm256_setzero_ps(); }
static inline vec v_set1(float f) { return _mm256_set1_ps(f); }
static inline vec v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vec v) { _mm256_storeu_ps(p, v); }
static inline vec v_fma(vec w, vec x, vec acc) { return _mm256_fmadd_ps(w, x, acc); }
static inline vec v_add(vec a, vec b) { return _mm256_add_ps(a, b); }

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_8x1__avx2(size_t runs, const tconv_sparse_run *run,
                                        const tconv_sparse_tap *tap, const uint32_t *chan,
                                        const float *w, const float *x, size_t x_rstride,
                                        float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
