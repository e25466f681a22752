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

/* sparse: one output channel's nonzero weights, streamed. Its nonzeros are grouped in runs, one
 * per kernel tap (run[r].tap) that lands inside the output; run[r].begin..end index chan (the
 * input channel's offset c*in_plane into x) and w (the weight). A tap reads the same input
 * rectangle of every channel: tap[t] says where (x_off), how big (rows x cols; rows of x are
 * x_rstride apart) and where that rectangle lands in acc (y_off; rows acc_rstride apart). acc is
 * the output channel in stride-phase layout, so every tap is a dense shifted rectangle:
 *   acc[y_off + i*acc_rstride + j] += sum_k w[k] * x[chan[k] + x_off + i*x_rstride + j]
 * for every run, k in the run, i < rows, j < cols. Zero weights are not stored, so they are never
 * multiplied (nor their x values read). */
typedef struct tconv_sparse_tap {
    uint32_t x_off, y_off, rows, cols;
} tconv_sparse_tap;
/* first: 1 when this run is the first to reach its rectangle: its sums are stored, not added, so
 * the driver need not clear acc beforehand (an empty first run stores zeros).
 * quad_step: 0 for a run of one output channel; else the run feeds four output channels whose
 * accumulators are quad_step floats apart, each entry taking four slots: chan[k] and the four
 * channels' weights w[k..k+3] (k = begin, begin + 4, ... < end). Every weight of a quad entry is
 * nonzero (the plan puts only such entries there), so no zero weight is multiplied either. */
typedef struct tconv_sparse_run {
    uint32_t tap, begin, end, first, quad_step;
} tconv_sparse_run;
typedef void tconv_sparse_ukernel_fn(size_t runs, const tconv_sparse_run *run,
                                     const tconv_sparse_tap *tap, const uint32_t *chan,
                                     const float *w, const float *x, size_t x_rstride, float *acc,
                                     size_t acc_rstride);

/* sparse_store: one output row back from stride-phase layout, plus the bias:
 *   y[j] = bias + acc[(j % stride) * phase_stride + j / stride]   for j < n
 * (column phase j % stride, cell j / stride; phase_stride floats between column phases). */
typedef void tconv_sparse_store_ukernel_fn(size_t n, size_t stride, const float *acc,
                                           size_t phase_stride, float bias, float *y);

#define TCONV_UKERNEL(family, isa, symbol, mr, nr) tconv_##family##_ukernel_fn symbol;
#include "variants.def"
#undef TCONV_UKERNEL

#endif
