/* Signatures of the hot loops (micro-kernel families) that every ISA variant implements. */
#ifndef TCONV_UKERNELS_H
#define TCONV_UKERNELS_H

#include <stddef.h>
#include <stdint.h>

/* conv: for rows (<= MR) output channels and `pixels` consecutive input positions,
 *   y[m*y_cstride + j*y_pstride] = bias[m] + sum_t sum_c x_taps[t][c*x_cstride + j] *
 * w_taps[t][c*MR + m] Each tap's weights are packed [channels][MR], zero-padded past `rows`; bias
 * holds MR values. */
typedef void tconv_conv_ukernel_fn(size_t rows, size_t pixels, size_t taps,
                                   const float *const *x_taps, size_t x_cstride, size_t channels,
                                   const float *const *w_taps, const float *bias, float *y,
                                   size_t y_cstride, size_t y_pstride);

/* gemm: C[mr x nr] (+)= A[mr x k] * B[k x nr] with A packed [k][MR] and B packed [k][NR]
 * (zero-padded tiles); C row-major with leading dimension ldc; accumulate != 0 adds to C. */
typedef void tconv_gemm_ukernel_fn(size_t mr, size_t nr, size_t k, const float *a, const float *b,
                                   float *c, size_t ldc, int accumulate);

/* col2im: y[j*y_stride] += col[j] for j < n (one kernel tap's row scattered into the output). */
typedef void tconv_col2im_ukernel_fn(size_t n, const float *col, float *y, size_t y_stride);

/* sparse: for output pixels p in [row_begin, row_end) of C^T (CSR: row_ptr, col_idx = where the
 * input pixel starts in x: its index for x as [c][pixel], index * channels for the channels-last
 * copy with x_cstride 1 that kernels/algos/sparse.c passes; tap_idx = kernel tap) and rows (<= MR)
 * output channels,
 *   y[m*y_cstride + p] = bias[m] + sum_nz sum_c x[c*x_cstride + col] * w[(tap*channels + c)*MR + m]
 */
typedef void tconv_sparse_ukernel_fn(size_t rows, size_t row_begin, size_t row_end,
                                     const uint64_t *row_ptr, const uint32_t *col_idx,
                                     const uint32_t *tap_idx, const float *x, size_t x_cstride,
                                     size_t channels, const float *w, const float *bias, float *y,
                                     size_t y_cstride);

#define TCONV_UKERNEL(family, isa, symbol, mr, nr) tconv_##family##_ukernel_fn symbol;
#include "variants.def"
#undef TCONV_UKERNEL

#endif
