/* col2im micro-kernel for SSE4.1: scatter-add one column row into an output row. */
#include <smmintrin.h>

#include "../dispatch/ukernels.h"

#define VW 4 /* floats per vector */

/* Contiguous output: four vectors per step, then one, then scalars. */
static void add_contiguous(size_t n, const float *col, float *y) {
    size_t j = 0;
    for (; j + 4 * VW <= n; j += 4 * VW)
        for (int k = 0; k < 4; k++) {
            __m128 v = _mm_add_ps(_mm_loadu_ps(y + j + k * VW), _mm_loadu_ps(col + j + k * VW));
            _mm_storeu_ps(y + j + k * VW, v);
        }
    for (; j + VW <= n; j += VW)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(col + j)));
    for (; j < n; j++) y[j] += col[j];
}

/* Output stride 2 (stride-2 layers): col interleaved with -0.0 and added to whole y vectors.
 * x + -0.0 == x for every x (zeros keep their sign, NaNs stay NaN), so the odd elements, which
 * belong to other kernel taps, are rewritten unchanged. Only elements up to the last one this
 * call owns are read or written (the vector loop stops while one element is left). */
static void add_stride2(size_t n, const float *col, float *y) {
    const __m128 neg_zero = _mm_set1_ps(-0.0f);
    size_t j = 0;
    for (; j + VW < n; j += VW) {
        __m128 c = _mm_loadu_ps(col + j);
        float *yj = y + 2 * j;
        _mm_storeu_ps(yj, _mm_add_ps(_mm_loadu_ps(yj), _mm_unpacklo_ps(c, neg_zero)));
        _mm_storeu_ps(yj + VW, _mm_add_ps(_mm_loadu_ps(yj + VW), _mm_unpackhi_ps(c, neg_zero)));
    }
    for (; j < n; j++) y[2 * j] += col[j];
}

void tconv_f32_col2im_ukernel__sse41(size_t n, const float *col, float *y, size_t y_stride) {
    if (y_stride == 1)
        add_contiguous(n, col, y);
    else if (y_stride == 2)
        add_stride2(n, col, y);
    else
        for (size_t j = 0; j < n; j++) y[j * y_stride] += col[j];
}
