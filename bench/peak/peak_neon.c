/* NEON peak: 16 independent 4-lane FMA chains (up to 4 FMA pipes x 4 cycles latency).
 * Named accumulators (not an array) so they all stay in registers. */
#include <arm_neon.h>

#include "peak.h"

double tb_peak_neon(long iters, double *flops) {
    volatile float vb = 0.9999f, vc = 1e-4f;
    const float32x4_t b = vdupq_n_f32(vb), c = vdupq_n_f32(vc);
    float32x4_t a0 = vdupq_n_f32((float)1);
    float32x4_t a1 = vdupq_n_f32((float)2);
    float32x4_t a2 = vdupq_n_f32((float)3);
    float32x4_t a3 = vdupq_n_f32((float)4);
    float32x4_t a4 = vdupq_n_f32((float)5);
    float32x4_t a5 = vdupq_n_f32((float)6);
    float32x4_t a6 = vdupq_n_f32((float)7);
    float32x4_t a7 = vdupq_n_f32((float)8);
    float32x4_t a8 = vdupq_n_f32((float)9);
    float32x4_t a9 = vdupq_n_f32((float)10);
    float32x4_t a10 = vdupq_n_f32((float)11);
    float32x4_t a11 = vdupq_n_f32((float)12);
    float32x4_t a12 = vdupq_n_f32((float)13);
    float32x4_t a13 = vdupq_n_f32((float)14);
    float32x4_t a14 = vdupq_n_f32((float)15);
    float32x4_t a15 = vdupq_n_f32((float)16);
    for (long i = 0; i < iters; i++) {
        a0 = vfmaq_f32(c, a0, b);
        a1 = vfmaq_f32(c, a1, b);
        a2 = vfmaq_f32(c, a2, b);
        a3 = vfmaq_f32(c, a3, b);
        a4 = vfmaq_f32(c, a4, b);
        a5 = vfmaq_f32(c, a5, b);
        a6 = vfmaq_f32(c, a6, b);
        a7 = vfmaq_f32(c, a7, b);
        a8 = vfmaq_f32(c, a8, b);
        a9 = vfmaq_f32(c, a9, b);
        a10 = vfmaq_f32(c, a10, b);
        a11 = vfmaq_f32(c, a11, b);
        a12 = vfmaq_f32(c, a12, b);
        a13 = vfmaq_f32(c, a13, b);
        a14 = vfmaq_f32(c, a14, b);
        a15 = vfmaq_f32(c, a15, b);
    }
    float32x4_t s = a0;
    s = vaddq_f32(s, a1);
    s = vaddq_f32(s, a2);
    s = vaddq_f32(s, a3);
    s = vaddq_f32(s, a4);
    s = vaddq_f32(s, a5);
    s = vaddq_f32(s, a6);
    s = vaddq_f32(s, a7);
    s = vaddq_f32(s, a8);
    s = vaddq_f32(s, a9);
    s = vaddq_f32(s, a10);
    s = vaddq_f32(s, a11);
    s = vaddq_f32(s, a12);
    s = vaddq_f32(s, a13);
    s = vaddq_f32(s, a14);
    s = vaddq_f32(s, a15);
    *flops = (double)iters * 16 * 4 * 2;
    return (double)vaddvq_f32(s);
}
