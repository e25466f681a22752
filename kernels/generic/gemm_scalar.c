/* GEMM micro-kernel, portable C: 4x4 register tile over packed A [k][4] and B [k][4] panels. */
#include "../dispatch/ukernels.h"

#define MR 4
#define NR 4

void tconv_f32_gemm_ukernel_4x4__scalar(size_t mr, size_t nr, size_t k, const float *a,
                                        const float *b, size_t ldb, float *c, size_t ldc,
                                        int accumulate) {
    float acc[MR][NR] = {{0}};
    for (size_t p = 0; p < k; p++)
        for (size_t i = 0; i < MR; i++)
            for (size_t j = 0; j < NR; j++) acc[i][j] += a[p * MR + i] * b[p * ldb + j];
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}
