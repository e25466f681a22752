/* GEMM micro-kernel, AArch64 NEON: 8x12 register tile (24 accumulators) with by-lane FMAs. */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

#define MR 8
#define NR 12

/* Full unrolling keeps the accumulator array in registers (constant indices). */
#define UNROLL _Pragma("GCC unroll 8")

void tconv_f32_gemm_ukernel_8x12__neon(size_t mr, size_t nr, size_t k, const float *a,
                                       const float *b, size_t ldb, float *c, size_t ldc,
                                       int accumulate) {
    /* acc[i][q]: row i, columns 4q..4q+3. Rows are broadcast from A's lanes (vfmaq_laneq_f32). */
    float32x4_t acc[MR][3];
    UNROLL for (size_t i = 0; i < MR; i++) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0.0f);

    for (size_t p = 0; p < k; p++) {
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        a += MR;
        b += ldb;
        acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a0, 0);
        acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a0, 0);
        acc[0][2] = vfmaq_laneq_f32(acc[0][2], b2, a0, 0);
        acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a0, 1);
        acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a0, 1);
        acc[1][2] = vfmaq_laneq_f32(acc[1][2], b2, a0, 1);
        acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a0, 2);
        acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a0, 2);
        acc[2][2] = vfmaq_laneq_f32(acc[2][2], b2, a0, 2);
        acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a0, 3);
        acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a0, 3);
        acc[3][2] = vfmaq_laneq_f32(acc[3][2], b2, a0, 3);
        acc[4][0] = vfmaq_laneq_f32(acc[4][0], b0, a1, 0);
        acc[4][1] = vfmaq_laneq_f32(acc[4][1], b1, a1, 0);
        acc[4][2] = vfmaq_laneq_f32(acc[4][2], b2, a1, 0);
        acc[5][0] = vfmaq_laneq_f32(acc[5][0], b0, a1, 1);
        acc[5][1] = vfmaq_laneq_f32(acc[5][1], b1, a1, 1);
        acc[5][2] = vfmaq_laneq_f32(acc[5][2], b2, a1, 1);
        acc[6][0] = vfmaq_laneq_f32(acc[6][0], b0, a1, 2);
        acc[6][1] = vfmaq_laneq_f32(acc[6][1], b1, a1, 2);
        acc[6][2] = vfmaq_laneq_f32(acc[6][2], b2, a1, 2);
        acc[7][0] = vfmaq_laneq_f32(acc[7][0], b0, a1, 3);
        acc[7][1] = vfmaq_laneq_f32(acc[7][1], b1, a1, 3);
        acc[7][2] = vfmaq_laneq_f32(acc[7][2], b2, a1, 3);
    }

    /* Every accumulator index below is a compile-time constant after unrolling, so the tile
     * stays in registers; an edge tile goes through a stack copy instead. */
    if (mr == MR && nr == NR) {
        UNROLL for (size_t i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            if (accumulate) {
                acc[i][0] = vaddq_f32(acc[i][0], vld1q_f32(ci));
                acc[i][1] = vaddq_f32(acc[i][1], vld1q_f32(ci + 4));
                acc[i][2] = vaddq_f32(acc[i][2], vld1q_f32(ci + 8));
            }
            vst1q_f32(ci, acc[i][0]);
            vst1q_f32(ci + 4, acc[i][1]);
            vst1q_f32(ci + 8, acc[i][2]);
        }
        return;
    }

    /* Edge tile: never a load or store outside the mr x nr block of C. */
    float tile[MR][NR];
    UNROLL for (size_t i = 0; i < MR; i++) {
        vst1q_f32(tile[i], acc[i][0]);
        vst1q_f32(tile[i] + 4, acc[i][1]);
        vst1q_f32(tile[i] + 8, acc[i][2]);
    }
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        if (accumulate)
            for (size_t j = 0; j < nr; j++) ci[j] += tile[i][j];
        else
            for (size_t j = 0; j < nr; j++) ci[j] = tile[i][j];
    }
}
