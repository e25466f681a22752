/* AVX-512 peak: 16 independent 16-lane FMA chains.
 * Named accumulators (not an array) so they all stay in registers. */
#include <immintrin.h>

#include "peak.h"

double tb_peak_avx512(long iters, double *flops) {
    volatile float vb = 0.9999f, vc = 1e-4f;
    const __m512 b = _mm512_set1_ps(vb), c = _mm512_set1_ps(vc);
    __m512 a0 = _mm512_set1_ps((float)1);
    __m512 a1 = _mm512_set1_ps((float)2);
    __m512 a2 = _mm512_set1_ps((float)3);
    __m512 a3 = _mm512_set1_ps((float)4);
    __m512 a4 = _mm512_set1_ps((float)5);
    __m512 a5 = _mm512_set1_ps((float)6);
    __m512 a6 = _mm512_set1_ps((float)7);
    __m512 a7 = _mm512_set1_ps((float)8);
    __m512 a8 = _mm512_set1_ps((float)9);
    __m512 a9 = _mm512_set1_ps((float)10);
    __m512 a10 = _mm512_set1_ps((float)11);
    __m512 a11 = _mm512_set1_ps((float)12);
    __m512 a12 = _mm512_set1_ps((float)13);
    __m512 a13 = _mm512_set1_ps((float)14);
    __m512 a14 = _mm512_set1_ps((float)15);
    __m512 a15 = _mm512_set1_ps((float)16);
    for (long i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, b, c);
        a1 = _mm512_fmadd_ps(a1, b, c);
        a2 = _mm512_fmadd_ps(a2, b, c);
        a3 = _mm512_fmadd_ps(a3, b, c);
        a4 = _mm512_fmadd_ps(a4, b, c);
        a5 = _mm512_fmadd_ps(a5, b, c);
        a6 = _mm512_fmadd_ps(a6, b, c);
        a7 = _mm512_fmadd_ps(a7, b, c);
        a8 = _mm512_fmadd_ps(a8, b, c);
        a9 = _mm512_fmadd_ps(a9, b, c);
        a10 = _mm512_fmadd_ps(a10, b, c);
        a11 = _mm512_fmadd_ps(a11, b, c);
        a12 = _mm512_fmadd_ps(a12, b, c);
        a13 = _mm512_fmadd_ps(a13, b, c);
        a14 = _mm512_fmadd_ps(a14, b, c);
        a15 = _mm512_fmadd_ps(a15, b, c);
    }
    __m512 s = a0;
    s = _mm512_add_ps(s, a1);
    s = _mm512_add_ps(s, a2);
    s = _mm512_add_ps(s, a3);
    s = _mm512_add_ps(s, a4);
    s = _mm512_add_ps(s, a5);
    s = _mm512_add_ps(s, a6);
    s = _mm512_add_ps(s, a7);
    s = _mm512_add_ps(s, a8);
    s = _mm512_add_ps(s, a9);
    s = _mm512_add_ps(s, a10);
    s = _mm512_add_ps(s, a11);
    s = _mm512_add_ps(s, a12);
    s = _mm512_add_ps(s, a13);
    s = _mm512_add_ps(s, a14);
    s = _mm512_add_ps(s, a15);
    *flops = (double)iters * 16 * 16 * 2;
    return (double)_mm512_reduce_add_ps(s);
}
