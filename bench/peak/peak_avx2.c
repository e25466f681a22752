/* AVX2 + FMA peak: 12 independent 8-lane FMA chains (2 FMA pipes x 4-5 cycles latency).
 * Named accumulators (not an array) so they all stay in registers. */
#include <immintrin.h>

#include "peak.h"

double tb_peak_avx2(long iters, double *flops) {
    volatile float vb = 0.9999f, vc = 1e-4f;
    const __m256 b = _mm256_set1_ps(vb), c = _mm256_set1_ps(vc);
    __m256 a0 = _mm256_set1_ps((float)1);
    __m256 a1 = _mm256_set1_ps((float)2);
    __m256 a2 = _mm256_set1_ps((float)3);
    __m256 a3 = _mm256_set1_ps((float)4);
    __m256 a4 = _mm256_set1_ps((float)5);
    __m256 a5 = _mm256_set1_ps((float)6);
    __m256 a6 = _mm256_set1_ps((float)7);
    __m256 a7 = _mm256_set1_ps((float)8);
    __m256 a8 = _mm256_set1_ps((float)9);
    __m256 a9 = _mm256_set1_ps((float)10);
    __m256 a10 = _mm256_set1_ps((float)11);
    __m256 a11 = _mm256_set1_ps((float)12);
    for (long i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, b, c);
        a1 = _mm256_fmadd_ps(a1, b, c);
        a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c);
        a4 = _mm256_fmadd_ps(a4, b, c);
        a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c);
        a7 = _mm256_fmadd_ps(a7, b, c);
        a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c);
        a10 = _mm256_fmadd_ps(a10, b, c);
        a11 = _mm256_fmadd_ps(a11, b, c);
    }
    __m256 s = a0;
    s = _mm256_add_ps(s, a1);
    s = _mm256_add_ps(s, a2);
    s = _mm256_add_ps(s, a3);
    s = _mm256_add_ps(s, a4);
    s = _mm256_add_ps(s, a5);
    s = _mm256_add_ps(s, a6);
    s = _mm256_add_ps(s, a7);
    s = _mm256_add_ps(s, a8);
    s = _mm256_add_ps(s, a9);
    s = _mm256_add_ps(s, a10);
    s = _mm256_add_ps(s, a11);
    *flops = (double)iters * 12 * 8 * 2;
    return (double)_mm256_cvtss_f32(s);
}
