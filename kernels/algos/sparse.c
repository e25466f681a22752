/* sparse: the seed's matrix view: C^T built once in CSR (rows: output pixels), then y = C^T x. */
#include <inttypes.h>

#include "common.h"
#include "sparse.h"

typedef struct sparse_state {
    float *w_packed, *bias_packed; /* same [group][block][tap][c][mr] layout as the conv kernels */
    uint64_t *row_ptr;             /* [out_h*out_w + 1] */
    uint32_t *col_idx;             /* input pixel iy*W + ix */
    uint32_t *tap_idx;             /* kernel tap ky*Kw + kx */
    size_t nnz;
    /* Channels-last input (see sparse_run): x_t [in_plane][cin_g] scratch and x_off[nz] =
     * col_idx[nz] * cin_g, where that pixel's channels start in x_t. NULL: x is used as given. */
    float *x_t;
    uint32_t *x_off;
} sparse_state;

/* The kernels read x[c*x_cstride + col]. With x as given ([c][pixel], x_cstride = in_plane) the
 * channels of one input pixel lie 4*in_plane bytes apart: for a 64x64 input that is 16 KiB, so
 * they all fall in one L1 set and nearly every load misses. A channels-last copy (x_cstride = 1,
 * col = pixel * cin_g) makes them contiguous; it costs one pass over x per run, shared by all
 * output-channel blocks. Measured (AVX2, CPU ms): FSRCNN 87 -> 12, U-Net 128->64 83 -> 11, DCGAN
 * 22 -> 10; the scalar kernel gains too (FSRCNN 81 -> 27..44). One channel needs no copy;
 * offsets must fit 32 bits. */
static tconv_status prepare_channels_last(tconv_plan *plan, sparse_state *st) {
    const tconv_geometry *g = &plan->g;
    if (g->cin_g < 2 || g->in_plane > UINT32_MAX / g->cin_g) return TCONV_OK;
    tconv_status rc = tconv_plan_alloc(plan, "channels-last input", g->cin_g * g->in_plane,
                                       sizeof(float), (void **)&st->x_t);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "C^T input offsets", st->nnz, sizeof(uint32_t),
                              (void **)&st->x_off);
    if (rc != TCONV_OK) return rc;
    for (size_t nz = 0; nz < st->nnz; nz++) st->x_off[nz] = (uint32_t)(st->col_idx[nz] * g->cin_g);
    return TCONV_OK;
}

/* x_t[p][c] = x[c][p] for `count` pixels (x's channels are `stride` apart), in 32 x 32 tiles so
 * both sides stay in cache. */
static void transpose_input(const float *x, size_t channels, size_t stride, size_t count,
                            float *x_t) {
    enum { T = 32 };
    for (size_t c0 = 0; c0 < channels; c0 += T)
        for (size_t p0 = 0; p0 < count; p0 += T) {
            size_t c1 = c0 + T < channels ? c0 + T : channels;
            size_t p1 = p0 + T < count ? p0 + T : count;
            for (size_t c = c0; c < c1; c++) {
                /* Pointers, not indices: few live values keep the inner loop out of the stack. */
                const float *src = x + c * stride + p0, *end = x + c * stride + p1;
                for (float *dst = x_t + p0 * channels + c; src < end; dst += channels)
                    *dst = *src++;
            }
        }
}

/* Fills the CSR arrays of C^T: for every output pixel, every (ky, kx) landing on it. Rows are
 * separable, so the entries are the products of the per-axis tap lists. */
static void fill_csr(const tconv_plan *plan, sparse_state *st, const tconv_axis_taps *rows,
                     const tconv_axis_taps *cols) {
    const tconv_geometry *g = &plan->g;
    size_t kw = (size_t)g->s.kernel_w, nz = 0;
    for (size_t oy = 0; oy < g->out_hs; oy++)
        for (size_t ox = 0; ox < g->out_ws; ox++) {
            st->row_ptr[oy * g->out_ws + ox] = nz;
            for (size_t r = rows->start[oy]; r < rows->start[oy + 1]; r++)
                for (size_t q = cols->start[ox]; q < cols->start[ox + 1]; q++, nz++) {
                    st->col_idx[nz] = (uint32_t)(rows->input[r] * g->in_w + cols->input[q]);
                    st->tap_idx[nz] = (uint32_t)(rows->tap[r] * kw + cols->tap[q]);
                }
        }
    st->row_ptr[g->out_plane] = nz;
}

/* nnz = sum over output rows and columns of (row taps) * (column taps). */
static tconv_status count_nonzeros(const tconv_geometry *g, const tconv_axis_taps *rows,
                                   const tconv_axis_taps *cols, size_t *nnz) {
    size_t row_total = rows->start[g->out_hs], col_total = cols->start[g->out_ws];
    return tconv_size_mul("sparse matrix C^T (nonzeros)", nnz, row_total, col_total);
}

static tconv_status sparse_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t mr = plan->k.sparse.mr;
    if (g->in_plane > UINT32_MAX || g->taps > UINT32_MAX)
        return tconv_fail(
            TCONV_ERR_UNSUPPORTED,
            "algo sparse: input plane (%zu) or kernel taps (%zu) exceed 32-bit indices",
            g->in_plane, g->taps);
    sparse_state *st;
    tconv_axis_taps rows, cols;
    tconv_status rc = tconv_plan_alloc(plan, "sparse state", 1, sizeof *st, (void **)&st);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_h, g->out_h, s->kernel_h, s->stride_h, s->pad_h,
                                   s->dilation_h, &rows);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_w, g->out_w, s->kernel_w, s->stride_w, s->pad_w,
                                   s->dilation_w, &cols);
    if (rc == TCONV_OK) rc = count_nonzeros(g, &rows, &cols, &st->nnz);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "C^T row pointers", g->out_plane + 1, sizeof(uint64_t),
                              (void **)&st->row_ptr);
    if (rc == TCONV_OK)
        rc =
            tconv_plan_alloc(plan, "C^T columns", st->nnz, sizeof(uint32_t), (void **)&st->col_idx);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "C^T taps", st->nnz, sizeof(uint32_t), (void **)&st->tap_idx);
    if (rc == TCONV_OK) rc = tconv_pack_tap_weights(plan, w, mr, 0, &st->w_packed);
    if (rc == TCONV_OK) rc = tconv_pack_bias_blocks(plan, bias, mr, &st->bias_packed);
    if (rc != TCONV_OK) return rc;
    fill_csr(plan, st, &rows, &cols);
    if ((rc = prepare_channels_last(plan, st)) != TCONV_OK) return rc;
    plan->state = st;
    return TCONV_OK;
}

/* What one (batch, group) slice's parallel steps read and write. */
typedef struct sparse_work {
    const tconv_plan *plan;
    const float *x; /* x_group, or x_t once transposed */
    size_t x_cstride;
    const uint32_t *cols;
    float *y_group;
    size_t grp;
} sparse_work;

/* Input pixels [p0, p0 + np) of the channels-last copy. */
static void transpose_tile(void *context, size_t p0, size_t np) {
    const sparse_work *work = context;
    const tconv_geometry *g = &work->plan->g;
    const sparse_state *st = work->plan->state;
    transpose_input(work->x + p0, g->cin_g, g->in_plane, np, st->x_t + p0 * g->cin_g);
}

/* Channel blocks [b0, b0 + nb) x output pixels [p0, p0 + np): each pixel is its own CSR row. */
static void sparse_tile(void *context, size_t b0, size_t p0, size_t nb, size_t np) {
    const sparse_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const sparse_state *st = plan->state;
    size_t mr = plan->k.sparse.mr, blocks = tconv_div_up(g->cout_g, mr), grp = work->grp;
    for (size_t b = b0; b < b0 + nb; b++) {
        size_t rows = g->cout_g - b * mr < mr ? g->cout_g - b * mr : mr;
        plan->k.sparse.fn(rows, p0, p0 + np, st->row_ptr, work->cols, st->tap_idx, work->x,
                          work->x_cstride, g->cin_g,
                          st->w_packed + tconv_tap_weight_offset(g, mr, grp, b, 0),
                          st->bias_packed + (grp * blocks + b) * mr,
                          work->y_group + b * mr * g->out_plane, g->out_plane);
    }
}

/* Per (batch, group): the channels-last copy by pixel tiles, then (channel block x output
 * pixels) tiles. */
static void sparse_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    const sparse_state *st = plan->state;
    size_t threads = plan->par.threads, blocks = tconv_div_up(g->cout_g, plan->k.sparse.mr);
    size_t pixel_tile = tconv_parallel_tile(g->out_plane, tconv_div_up(4 * threads, blocks), 1);
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            size_t slot = n * g->groups + grp;
            sparse_work work = {plan,        x + slot * g->cin_g * g->in_plane,   g->in_plane,
                                st->col_idx, y + slot * g->cout_g * g->out_plane, grp};
            if (st->x_t) {
                tconv_parallel_1d(&plan->par, transpose_tile, &work, g->in_plane,
                                  tconv_parallel_tile(g->in_plane, threads, 32));
                work.x = st->x_t, work.x_cstride = 1, work.cols = st->x_off;
            }
            tconv_parallel_2d(&plan->par, sparse_tile, &work, blocks, g->out_plane, 1, pixel_tile);
        }
}

const tconv_algo_ops tconv_sparse_ops = {sparse_create, sparse_run};

tconv_status tconv_sparse_matrix(const tconv_plan *plan, tconv_sparse_view *view) {
    if (plan == NULL || plan->algo != TCONV_ALGO_SPARSE || view == NULL)
        return tconv_fail(TCONV_ERR_INVALID, "tconv_sparse_matrix needs a sparse plan");
    const sparse_state *st = plan->state;
    *view = (tconv_sparse_view){plan->g.out_plane, plan->g.in_plane, st->nnz,
                                st->row_ptr,       st->col_idx,      st->tap_idx};
    return TCONV_OK;
}
