/* Sparse C^T micro-kernel, portable C: one output pixel x 4 output channels per step. */
#include "../dispatch/ukernels.h"

#define MR 4

void tconv_f32_sparse_ukernel_4x1__scalar(size_t rows, size_t row_begin, size_t row_end,
                                          const uint64_t *row_ptr, const uint32_t *col_idx,
                                          const uint32_t *tap_idx, const float *x, size_t x_cstride,
                                          size_t channels, const float *w, const float *bias,
                                          float *y, size_t y_cstride) {
    for (size_t p = row_begin; p < row_end; p++) {
        float acc[MR];
        for (size_t m = 0; m < MR; m++) acc[m] = bias[m];
        for (uint64_t nz = row_ptr[p]; nz < row_ptr[p + 1]; nz++) {
            const float *xc = x + col_idx[nz];
            const float *wt = w + (size_t)tap_idx[nz] * channels * MR;
            for (size_t c = 0; c < channels; c++) {
                float xv = xc[c * x_cstride];
                for (size_t m = 0; m < MR; m++) acc[m] += xv * wt[c * MR + m];
            }
        }
        for (size_t m = 0; m < rows; m++) y[m * y_cstride + p] = acc[m];
    }
}
