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

static void fill_bias(float *y, size_t n, float value) {
    for (size_t i = 0; i < n; i++) y[i] = value;
}

void tconv_col2im_group(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                        const float *bias_group, float *y_group) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    for (size_t co = 0; co < g->cout_g; co++) {
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
                    plan->k.col2im.fn(n, col_row + (size_t)iy * g->in_w + lo,
                                      yc + (size_t)oy * g->out_ws + (size_t)ox, sw);
                }
            }
    }
}
