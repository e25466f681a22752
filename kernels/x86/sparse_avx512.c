/* Sparse micro-kernel, AVX-512F: nonzero weights times input rows, 16 pixels per zmm (masked tail).
 */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

static inline __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }

/* y += w0*x0 + w1*x1 + w2*x2 + w3*x3 on 16 pixels, or the first m of them; masked loads do not
 * read (or fault on) the lanes past the row. */
static inline void fma4(__mmask16 m, const __m512 wv[4], const float *x0, const float *x1,
                        const float *x2, const float *x3, float *y) {
    __m512 s = _mm512_fmadd_ps(wv[0], _mm512_maskz_loadu_ps(m, x0), _mm512_maskz_loadu_ps(m, y));
    s = _mm512_fmadd_ps(wv[1], _mm512_maskz_loadu_ps(m, x1), s);
    s = _mm512_fmadd_ps(wv[2], _mm512_maskz_loadu_ps(m, x2), s);
    _mm512_mask_storeu_ps(y, m, _mm512_fmadd_ps(wv[3], _mm512_maskz_loadu_ps(m, x3), s));
}

static inline void row4(size_t n, const float *w, const float *x0, const float *x1, const float *x2,
                        const float *x3, float *y) {
    const __m512 wv[4] = {_mm512_set1_ps(w[0]), _mm512_set1_ps(w[1]), _mm512_set1_ps(w[2]),
                          _mm512_set1_ps(w[3])};
    size_t j = 0;
    for (; j + 16 <= n; j += 16) fma4((__mmask16)0xFFFF, wv, x0 + j, x1 + j, x2 + j, x3 + j, y + j);
    if (j < n) fma4(tail_mask(n - j), wv, x0 + j, x1 + j, x2 + j, x3 + j, y + j);
}

static inline void row1(size_t n, float w, const float *x, float *y) {
    const __m512 wv = _mm512_set1_ps(w);
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(y + j,
                         _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + j), _mm512_loadu_ps(y + j)));
    if (j < n) {
        __mmask16 m = tail_mask(n - j);
        _mm512_mask_storeu_ps(
            y + j, m,
            _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, y + j)));
    }
}

#include "../dispatch/sparse_walk.h"

void tconv_f32_sparse_ukernel_16x1__avx512(size_t runs, const tconv_sparse_run *run,
                                           const tconv_sparse_tap *tap, const uint32_t *chan,
                                           const float *w, const float *x, size_t x_rstride,
                                           float *acc, size_t acc_rstride) {
    sparse_walk(runs, run, tap, chan, w, x, x_rstride, acc, acc_rstride);
}
