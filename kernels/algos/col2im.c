/* col2im driver: bias fill, then one micro-kernel call per (channel, tap, input row). */
#include "col2im.h"

tconv_status tconv_col2im_prepare(tconv_plan *plan, tconv_col2im_plan *c) {
    const tconv_shape *s = &plan->g.s;
    size_t kw = (size_t)s->kernel_w;
    tconv_status rc =
        tconv_plan_alloc(plan, "col2im ranges", kw, sizeof(size_t), (void **)&c->ix_begin);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "col2im ranges", kw, sizeof(size_t), (void **)&c->ix_end);
    if (rc != TCONV_OK) return rc;
    for (int64_t kx = 0; kx < s->kernel_w; kx++) {
        /* ox = ix*sw - pw + kx*dw in [0, out_w) */
        int64_t lo_num = s->pad_w - kx * s->dilation_w;
        int64_t hi_num = plan->g.out_w - 1 + s->pad_w - kx * s->dilation_w;
        int64_t lo = lo_num <= 0 ? 0 : (lo_num + s->stride_w - 1) / s->stride_w;
        int64_t hi = hi_num < 0 ? 0 : hi_num / s->stride_w + 1;
        if (hi > s->in_w) hi = s->in_w;
        c->ix_begin[kx] = (size_t)lo;
        c->ix_end[kx] = (size_t)(hi > lo ? hi : lo);
    }
    return TCONV_OK;
}

/* y[j*stride] += col[j], j < n. Rows of up to 4 are added here: the micro-kernel call and its
 * vector setup cost ~40 instructions for a 2-pixel row (the seed's 2x2 example: 18 such calls,
 * 720 of gemm's 2645 instructions per run, callgrind avx2). Same adds, same order: same bits. */
#define SHORT_ROW 4
static __attribute__((noinline)) void add_short_row(size_t n, const float *col, float *y,
                                                    size_t stride) {
    for (size_t j = 0; j < n; j++) y[j * stride] += col[j];
}

/* The short path out of line keeps the long-row loops as they were (inlined, it cost FCN-8s
 * 1.2% more instructions; out of line, ~0.1%). */
static inline void add_row(const tconv_plan *plan, size_t n, const float *col, float *y,
                           size_t stride) {
    if (n <= SHORT_ROW)
        add_short_row(n, col, y, stride);
    else
        plan->k.col2im.fn(n, col, y, stride);
}

static void fill_bias(float *y, size_t n, float value) {
    for (size_t i = 0; i < n; i++) y[i] = value;
}

/* Whole planes of channels [c0, c1): bias fill, then tap by tap, input row by input row. */
static void col2im_planes(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                          const float *bias_group, float *y_group, size_t c0, size_t c1) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    for (size_t co = c0; co < c1; co++) {
        float *yc = y_group + co * g->out_plane;
        fill_bias(yc, g->out_plane, bias_group ? bias_group[co] : 0.0f);
        for (size_t ky = 0; ky < kh; ky++)
            for (size_t kx = 0; kx < kw; kx++) {
                size_t lo = c->ix_begin[kx], n = c->ix_end[kx] - lo;
                if (n == 0) continue;
                const float *col_row = col + ((co * kh + ky) * kw + kx) * g->in_plane;
                int64_t ox = (int64_t)lo * s->stride_w - s->pad_w + (int64_t)kx * s->dilation_w;
                for (int64_t iy = 0; iy < s->in_h; iy++) {
                    int64_t oy = iy * s->stride_h - s->pad_h + (int64_t)ky * s->dilation_h;
                    if (oy < 0 || oy >= g->out_h) continue;
                    add_row(plan, n, col_row + (size_t)iy * g->in_w + lo,
                            yc + (size_t)oy * g->out_ws + (size_t)ox, sw);
                }
            }
    }
}

/* Output rows [r0, r1) of channels [c0, c1), row by row: for one output row each ky meets at
 * most one input row, so every output still receives its bias and then its taps in (ky, kx)
 * order, the order of col2im_planes: the same sums, bit for bit. */
static void col2im_rows(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                        const float *bias_group, float *y_group, size_t c0, size_t c1, size_t r0,
                        size_t r1) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    for (size_t co = c0; co < c1; co++)
        for (size_t oy = r0; oy < r1; oy++) {
            float *y_row = y_group + co * g->out_plane + oy * g->out_ws;
            fill_bias(y_row, g->out_ws, bias_group ? bias_group[co] : 0.0f);
            for (int64_t ky = 0; ky < s->kernel_h; ky++) {
                int64_t num = (int64_t)oy + s->pad_h - ky * s->dilation_h;
                if (num < 0 || num % s->stride_h != 0 || num / s->stride_h >= s->in_h) continue;
                size_t iy = (size_t)(num / s->stride_h);
                for (size_t kx = 0; kx < kw; kx++) {
                    size_t lo = c->ix_begin[kx], n = c->ix_end[kx] - lo;
                    if (n == 0) continue;
                    const float *col_row = col + ((co * kh + (size_t)ky) * kw + kx) * g->in_plane;
                    int64_t ox = (int64_t)lo * s->stride_w - s->pad_w + (int64_t)kx * s->dilation_w;
                    add_row(plan, n, col_row + iy * g->in_w + lo, y_row + (size_t)ox, sw);
                }
            }
        }
}

void tconv_col2im_tile(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                       const float *bias_group, float *y_group, size_t c0, size_t c1, size_t r0,
                       size_t r1) {
    if (r0 == 0 && r1 == plan->g.out_hs)
        col2im_planes(plan, c, col, bias_group, y_group, c0, c1);
    else
        col2im_rows(plan, c, col, bias_group, y_group, c0, c1, r0, r1);
}
