/* Sparse micro-kernel, AVX2+FMA: nonzero weights times input rows, 8 pixels per ymm. */
#include <immintrin.h>

#include "../dispatch/ukernels.h"

/* y += w0*x0 + w1*x1 + w2*x2 + w3*x3: one FMA chain per vector, four rows of x per acc pass. */
static inline void row4(size_t n, const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, float *y) {
    const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]), w2 = _mm256_set1_ps(w[2]),
                 w3 = _mm256_set1_ps(w[3]);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 s = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + j), _mm256_loadu_ps(y + j));
        s = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1 + j), s);
        s = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x2 + j), s);
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(w3, _mm256_loadu_ps(x3 + j), s));
    }
    for (; j < n; j++) {
        float s = __builtin_fmaf(w[0], x0[j], y[j]);
        s = __builtin_fmaf(w[1], x1[j], s);
        s = __builtin_fmaf(w[2], x2[j], s);
        y[j] = __builtin_fmaf(w[3], x3[j], s);
    }
}

static inline void row1(size_t n, float w, const float *x, float *y) {
    const __m256 wv = _mm256_set1_ps(w);
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j,
                         _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
    for (; j < n; j++) y[j] = __builtin_fmaf(w, x[j], y[j]);
}

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_8x1__avx2(size_t runs, const tconv_sparse_run *run,
                                        const tconv_sparse_tap *tap, const uint32_t *chan,
                                        const float *w, const float *x, size_t x_rstride,
                                        float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
