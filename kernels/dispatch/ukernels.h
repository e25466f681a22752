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

/* gemm: C[mr x nr] (+)= A[mr x k] * B[k x nr] with A packed [k][MR] (zero-padded tiles); row p
 * of B at b + p*ldb: either packed (ldb == NR, zero-padded past nr) or, for a full tile (nr ==
 * NR), read in place from a row-major matrix (ldb its leading dimension), the kernel reading
 * exactly NR floats per row; C row-major with leading dimension ldc; accumulate != 0 adds to C. */
typedef void tconv_gemm_ukernel_fn(size_t mr, size_t nr, size_t k, const float *a, const float *b,
                                   size_t ldb, float *c, size_t ldc, int accumulate);

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

/* row phases (AVX-512 only, used by direct when kernel_w == stride_w in 2..3, pad_w 0, no
 * dilation): one output row of one block of rows <= 16 output channels, every column phase at
 * once: for j < pixels, k < stride, m < rows,
 *   y[m*y_cstride + stride*j + k] = bias[m] + sum_r sum_c x_rows[r][c*x_cstride + j] *
 *                                   w_rows[r][k*w_kx_stride + c*16 + m]
 * (r < row_taps, c < channels): weights packed [c][16] per (row tap, kernel column), zero-padded
 * past rows; bias holds 16 values. With kernel_w 4 or 3 (stride 2, pad_w 1: DCGAN's and
 * CycleGAN's kinds, taps overlap) output column o = 2j + kx - 1 takes input column j with kernel
 * column kx, for every j < pixels and kx < kernel_w that land in [0, columns): the call writes
 * `columns` columns (2*pixels; 2*pixels - 1 for kernel_w 3 without output padding). */
typedef struct tconv_phases_job {
    size_t rows, pixels, stride, kernel_w, columns, row_taps, channels, x_cstride, w_kx_stride,
        y_cstride;
    const float *const *x_rows;
    const float *const *w_rows;
    const float *bias;
    float *y;
} tconv_phases_job;
void tconv_f32_conv_phases_ukernel_16__avx512(const tconv_phases_job *job);

/* rowconv (AVX-512 only, used by direct when stride_w < 16 or a multiple of 16, no dilation): one
 * output row, every output channel, in vectors of 16 CONSECUTIVE output columns (all column phases
 * at once), so stores are plain vector stores and the 16 lanes are filled whatever the channel
 * count. The vector starting at output column o (o + pad_w a multiple of 16, q = o + pad_w) is of
 * class h = (q/16) mod C, C = stride_w/gcd(stride_w, 16) (the lane pattern repeats every C
 * vectors). Its lane l takes kernel column kx = stride_w*t + ((16*h + l) mod stride_w) for
 * t < T = ceil(kernel_w/stride_w), from input column floor((q + l)/stride_w) - t; lanes whose kx is
 * past the kernel (kernel_w not a multiple of stride_w, k < s) hold no tap: the multiply-add is
 * masked off there (lane_masks[slot], slot = t*C + h), so nothing is multiplied where the
 * reference has no product (0 * inf would be NaN). Weights of one kernel row are packed
 * [channel group][ci][slot][r][16] (zero in masked lanes), output channels in balanced groups of
 * at most TCONV_ROWCONV_MAX_ROWS (the register tile), so a group's weights are contiguous; x rows
 * are zero-padded so every read is inside them. For stride_w < 16 the x rows are EXPANDED
 * (tconv_f32_rowconv_expand__avx512): column e holds input column floor(e/stride_w) (zero outside
 * the input) and x_rows point at column 0, so the lane l of the vector at q, tap t, is expanded
 * column q + l - t*stride_w, one plain load per vector.
 *   y[co*y_cstride + ox] = bias[co] + sum over ci, row taps r, t of unmasked lane products. */
/* Output channels per register-tile group. Groups of at most 8 (7 + 7 + 7 for FCN's 21, 3 vectors
 * per tile) ran FCN-8s/16s/32s at 62-67/84-88/63-70 GFLOP/s, at most 6 (6 + 5 + 5 + 5, 4 vectors)
 * at 75-92/104-108/95-99 (bench, avx512 t1, medians of 3, two rounds): the group's weights are
 * streamed once per vector tile, so more vectors per tile means less weight traffic. */
#define TCONV_ROWCONV_MAX_ROWS 6
/* rowconv's weight classes for stride_w: stride/gcd(stride, 16), the vectors after which a row's
 * lane pattern repeats (1 for strides dividing 16 or multiples of 16). */
static inline size_t tconv_rowconv_classes(size_t stride) {
    size_t low_bit = stride & (~stride + 1); /* the largest power of two dividing stride */
    return stride / (low_bit < 16 ? low_bit : 16);
}
typedef struct tconv_rowconv_job {
    size_t rows, channels, row_taps;
    const float *const *x_rows; /* per row tap: (expanded) row of channel 0 at column 0 */
    size_t x_cstride;
    const float *const *w_rows;  /* per row tap: packed weights of its kernel row */
    size_t slots, taps_per_lane; /* slots: T*C; taps_per_lane: T = ceil(kernel_w/stride_w) */
    size_t classes, class0;      /* C, and the class of vector 0: (pad_w/16) mod C */
    const uint16_t *lane_masks;  /* per slot: the lanes holding a real tap */
    int masked;                  /* some lane holds no tap (else lane_masks are all ones) */
    size_t stride, pad;          /* stride_w, pad_w */
    const float *bias;
    float *y; /* output row of channel 0 at column 0 */
    size_t y_cstride, out_w;
} tconv_rowconv_job;
void tconv_f32_rowconv_ukernel__avx512(const tconv_rowconv_job *job);
/* rowconv's expanded rows: for each row i < rows, xe[i*xe_rstride + j] = x[i*x_rstride + j/stride]
 * for j < n*stride; stride 2 to 15. */
void tconv_f32_rowconv_expand__avx512(size_t rows, size_t n, size_t stride, const float *x,
                                      size_t x_rstride, float *xe, size_t xe_rstride);

/* gemm pairs (AVX-512 only; gemm's fused k == s == 2 stores): the 12 x nr tile (nr <= 32) of
 * A[12 x k] * B[k x 32] (A packed [k][12], B rows ldb apart, 32 floats readable in each), rows
 * 2p and 2p + 1 interleaved into y[p]: for p < 6, j < nr,
 *   y[p][2j] = bias[p] + C[2p][j],   y[p][2j + 1] = bias[p] + C[2p + 1][j]. */
void tconv_f32_gemm_pairs_ukernel_12x32__avx512(size_t nr, size_t k, const float *a, const float *b,
                                                size_t ldb, float *const *y, const float *bias);

/* col2im row in registers (AVX-512 only; gemm's col2im for output rows of at most 64 floats):
 * y[0..out_w) = bias, then for r < rows (kernel rows in ky order) and kx < kw in order, the
 * taps of kernel column kx added, one add per output and tap: in vector q (outputs 16q..16q+15)
 * the set lanes of mask[kx*4 + q] (its low 16 bits), in order, take the consecutive floats from
 * col_rows[r] + kx*kx_stride + off[kx*4 + q]; its high 16 bits are lanes [0, count of them). */
void tconv_f32_col2im_row__avx512(size_t out_w, float bias, size_t rows,
                                  const float *const *col_rows, size_t kx_stride, size_t kw,
                                  const uint32_t *mask, const size_t *off, float *y);

/* y[0..n) = value (AVX-512 only; direct's bias-only rows): 64-byte stores, every element exactly
 * value. */
void tconv_f32_fill__avx512(float *y, size_t n, float value);

/* sparse_store: one output row back from stride-phase layout, plus the bias:
 *   y[j] = bias + acc[(j % stride) * phase_stride + j / stride]   for j < n
 * (column phase j % stride, cell j / stride; phase_stride floats between column phases). */
typedef void tconv_sparse_store_ukernel_fn(size_t n, size_t stride, const float *acc,
                                           size_t phase_stride, float bias, float *y);

#define TCONV_UKERNEL(family, isa, symbol, mr, nr) tconv_##family##_ukernel_fn symbol;
#include "variants.def"
#undef TCONV_UKERNEL

#endif
