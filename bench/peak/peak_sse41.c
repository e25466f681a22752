/* SSE4.1 peak: no FMA at this level, so 4-lane multiplies and adds; 14 independent chains
 * (14 + 2 values fit the 16 XMM registers without spills). */
#include <smmintrin.h>

#include "peak.h"

double tb_peak_sse41(long iters, double *flops) {
    volatile float vb = 0.9999f, vc = 1e-4f;
    const __m128 b = _mm_set1_ps(vb), c = _mm_set1_ps(vc);
    __m128 a0 = _mm_set1_ps((float)1);
    __m128 a1 = _mm_set1_ps((float)2);
    __m128 a2 = _mm_set1_ps((float)3);
    __m128 a3 = _mm_set1_ps((float)4);
    __m128 a4 = _mm_set1_ps((float)5);
    __m128 a5 = _mm_set1_ps((float)6);
    __m128 a6 = _mm_set1_ps((float)7);
    __m128 a7 = _mm_set1_ps((float)8);
    __m128 a8 = _mm_set1_ps((float)9);
    __m128 a9 = _mm_set1_ps((float)10);
    __m128 a10 = _mm_set1_ps((float)11);
    __m128 a11 = _mm_set1_ps((float)12);
    __m128 a12 = _mm_set1_ps((float)13);
    __m128 a13 = _mm_set1_ps((float)14);
    for (long i = 0; i < iters; i++) {
        a0 = _mm_add_ps(_mm_mul_ps(a0, b), c);
        a1 = _mm_add_ps(_mm_mul_ps(a1, b), c);
        a2 = _mm_add_ps(_mm_mul_ps(a2, b), c);
        a3 = _mm_add_ps(_mm_mul_ps(a3, b), c);
        a4 = _mm_add_ps(_mm_mul_ps(a4, b), c);
        a5 = _mm_add_ps(_mm_mul_ps(a5, b), c);
        a6 = _mm_add_ps(_mm_mul_ps(a6, b), c);
        a7 = _mm_add_ps(_mm_mul_ps(a7, b), c);
        a8 = _mm_add_ps(_mm_mul_ps(a8, b), c);
        a9 = _mm_add_ps(_mm_mul_ps(a9, b), c);
        a10 = _mm_add_ps(_mm_mul_ps(a10, b), c);
        a11 = _mm_add_ps(_mm_mul_ps(a11, b), c);
        a12 = _mm_add_ps(_mm_mul_ps(a12, b), c);
        a13 = _mm_add_ps(_mm_mul_ps(a13, b), c);
    }
    __m128 s = a0;
    s = _mm_add_ps(s, a1);
    s = _mm_add_ps(s, a2);
    s = _mm_add_ps(s, a3);
    s = _mm_add_ps(s, a4);
    s = _mm_add_ps(s, a5);
    s = _mm_add_ps(s, a6);
    s = _mm_add_ps(s, a7);
    s = _mm_add_ps(s, a8);
    s = _mm_add_ps(s, a9);
    s = _mm_add_ps(s, a10);
    s = _mm_add_ps(s, a11);
    s = _mm_add_ps(s, a12);
    s = _mm_add_ps(s, a13);
    *flops = (double)iters * 14 * 4 * 2;
    return (double)_mm_cvtss_f32(s);
}
