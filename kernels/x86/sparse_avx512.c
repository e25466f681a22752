/* Sparse micro-kernel, AVX-512F: nonzero weights times input rows, 16 pixels per zmm, up to 8 zmm
 * of one accumulator row held in registers per run. */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

typedef __m512 vec;
#define VL 16
#define NV 8
static inline vec v_zero(void) { return _mm512_setzero_ps(); }
static inline vec v_set1(float f) { return _mm512_set1_ps(f); }
static inline vec v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vec v) { _mm512_storeu_ps(p, v); }
static inline vec v_fma(vec w, vec x, vec acc) { return _mm512_fmadd_ps(w, x, acc); }
static inline vec v_add(vec a, vec b) { return _mm512_add_ps(a, b); }

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_16x1__avx512(size_t runs, const tconv_sparse_run *run,
                                           const tconv_sparse_tap *tap, const uint32_t *chan,
                                           const float *w, const float *x, size_t x_rstride,
                                           float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
