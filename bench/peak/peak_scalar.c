/* Scalar peak: the library's scalar kernels are baseline C built with -fno-tree-vectorize and no
 * FMA flags, so their ceiling is separate scalar multiplies and adds: 14 independent chains of
 * a = a*b + c (14 + 2 values fit the 16 SSE registers without spills; the chain latency,
 * multiply + add, is covered at two multiplies and two adds per cycle). */
#include "peak.h"

double tb_peak_scalar(long iters, double *flops) {
    volatile float vb = 0.9999f, vc = 1e-4f;
    const float b = vb, c = vc;
    float a0 = 1.0f;
    float a1 = 2.0f;
    float a2 = 3.0f;
    float a3 = 4.0f;
    float a4 = 5.0f;
    float a5 = 6.0f;
    float a6 = 7.0f;
    float a7 = 8.0f;
    float a8 = 9.0f;
    float a9 = 10.0f;
    float a10 = 11.0f;
    float a11 = 12.0f;
    float a12 = 13.0f;
    float a13 = 14.0f;
    for (long i = 0; i < iters; i++) {
        a0 = a0 * b + c;
        a1 = a1 * b + c;
        a2 = a2 * b + c;
        a3 = a3 * b + c;
        a4 = a4 * b + c;
        a5 = a5 * b + c;
        a6 = a6 * b + c;
        a7 = a7 * b + c;
        a8 = a8 * b + c;
        a9 = a9 * b + c;
        a10 = a10 * b + c;
        a11 = a11 * b + c;
        a12 = a12 * b + c;
        a13 = a13 * b + c;
    }
    *flops = (double)iters * 14 * 2;
    return (double)(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13);
}
