/* Sparse micro-kernel, SSE4.1: nonzero weights times input rows, 4 pixels per xmm. */
#include <smmintrin.h>

#include "../dispatch/ukernels.h"

/* y += w0*x0 + w1*x1 + w2*x2 + w3*x3, the products summed left to right as in the scalar tail. */
static inline void row4(size_t n, const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, float *y) {
    const __m128 w0 = _mm_set1_ps(w[0]), w1 = _mm_set1_ps(w[1]), w2 = _mm_set1_ps(w[2]),
                 w3 = _mm_set1_ps(w[3]);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m128 s = _mm_mul_ps(w0, _mm_loadu_ps(x0 + j));
        s = _mm_add_ps(s, _mm_mul_ps(w1, _mm_loadu_ps(x1 + j)));
        s = _mm_add_ps(s, _mm_mul_ps(w2, _mm_loadu_ps(x2 + j)));
        s = _mm_add_ps(s, _mm_mul_ps(w3, _mm_loadu_ps(x3 + j)));
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), s));
    }
    for (; j < n; j++) y[j] += w[0] * x0[j] + w[1] * x1[j] + w[2] * x2[j] + w[3] * x3[j];
}

static inline void row1(size_t n, float w, const float *x, float *y) {
    const __m128 wv = _mm_set1_ps(w);
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), _mm_mul_ps(wv, _mm_loadu_ps(x + j))));
    for (; j < n; j++) y[j] += w * x[j];
}

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_4x1__sse41(size_t runs, const tconv_sparse_run *run,
                                         const tconv_sparse_tap *tap, const uint32_t *chan,
                                         const float *w, const float *x, size_t x_rstride,
                                         float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
