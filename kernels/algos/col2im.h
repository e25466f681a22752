/* col2im shared by gemm and gemm_blas: scatter-add the column matrix into the output. */
#ifndef TCONV_COL2IM_H
#define TCONV_COL2IM_H

#include "common.h"

/* Per kernel column kx, the input columns whose output lands inside [0, out_w); per kernel row
 * ky, the input rows whose output lands inside [0, out_h). */
typedef struct tconv_col2im_plan {
    size_t *ix_begin, *ix_end; /* [kernel_w] */
    size_t *iy_begin, *iy_end; /* [kernel_h] */
    /* AVX-512 rows in registers (see use_row_kernel): per (kx, vector q of the output row) the
     * lanes its taps reach and the col offset of the first; NULL when not used. */
    uint32_t *row_mask; /* [kernel_w][4]: lanes reached, and lanes [0, their count) << 16 */
    size_t *row_off;    /* [kernel_w][4] */
} tconv_col2im_plan;

tconv_status tconv_col2im_prepare(tconv_plan *plan, tconv_col2im_plan *c);
/* y_group[co] = bias + sum over taps of col rows, for output channels [c0, c1) and output rows
 * [r0, r1); col is [cout_g*Kh*Kw][H*W]. Any split gives the same bits (taps in (ky, kx) order). */
void tconv_col2im_tile(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                       const float *bias_group, float *y_group, size_t c0, size_t c1, size_t r0,
                       size_t r1);

#endif
