/* Shape validation and derived sizes, with checked arithmetic so no size can overflow. */
#include "geometry.h"

#include <inttypes.h>

#include "error.h"

tconv_status tconv_size_mul(const char *what, size_t *out, size_t a, size_t b) {
    if (__builtin_mul_overflow(a, b, out))
        return tconv_fail(TCONV_ERR_INVALID, "size of %s overflows size_t (%zu * %zu)", what, a, b);
    return TCONV_OK;
}

tconv_status tconv_size_add(const char *what, size_t *out, size_t a, size_t b) {
    if (__builtin_add_overflow(a, b, out))
        return tconv_fail(TCONV_ERR_INVALID, "size of %s overflows size_t (%zu + %zu)", what, a, b);
    return TCONV_OK;
}

tconv_status tconv_size_mul4(const char *what, size_t *out, size_t a, size_t b, size_t c,
                             size_t d) {
    tconv_status st = tconv_size_mul(what, out, a, b);
    if (st == TCONV_OK) st = tconv_size_mul(what, out, *out, c);
    if (st == TCONV_OK) st = tconv_size_mul(what, out, *out, d);
    return st;
}

static tconv_status require_positive(const char *field, int64_t v) {
    if (v <= 0) return tconv_fail(TCONV_ERR_INVALID, "%s (%" PRId64 ") must be positive", field, v);
    return TCONV_OK;
}

static tconv_status require_non_negative(const char *field, int64_t v) {
    if (v < 0)
        return tconv_fail(TCONV_ERR_INVALID, "%s (%" PRId64 ") must be non-negative", field, v);
    return TCONV_OK;
}

/* PyTorch's rule: output padding must be smaller than either stride or dilation. */
static tconv_status check_out_pad(int64_t op, int64_t stride, int64_t dilation, const char *dim) {
    if (op >= stride && op >= dilation)
        return tconv_fail(TCONV_ERR_INVALID,
                          "output padding (%" PRId64 ") must be smaller than stride (%" PRId64
                          ") or dilation (%" PRId64 ") in %s",
                          op, stride, dilation, dim);
    return TCONV_OK;
}

/* (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + out_pad + 1, checked in int64. */
static tconv_status output_extent(const char *dim, int64_t in, int64_t k, int64_t s, int64_t p,
                                  int64_t op, int64_t d, int64_t *out) {
    int64_t span, reach, twice_pad, v;
    if (__builtin_mul_overflow(in - 1, s, &span) || __builtin_mul_overflow(d, k - 1, &reach) ||
        __builtin_mul_overflow(p, (int64_t)2, &twice_pad) ||
        __builtin_add_overflow(span, reach, &v) || __builtin_sub_overflow(v, twice_pad, &v) ||
        __builtin_add_overflow(v, op + 1, &v))
        return tconv_fail(TCONV_ERR_INVALID,
                          "output %s overflows int64 (in %" PRId64 ", kernel %" PRId64
                          ", stride %" PRId64 ", pad %" PRId64 ", out_pad %" PRId64
                          ", dilation %" PRId64 ")",
                          dim, in, k, s, p, op, d);
    if (v < 1)
        return tconv_fail(TCONV_ERR_INVALID,
                          "output %s (%" PRId64 ") must be at least 1: in %" PRId64
                          ", kernel %" PRId64 ", stride %" PRId64 ", pad %" PRId64
                          ", out_pad %" PRId64 ", dilation %" PRId64,
                          dim, v, in, k, s, p, op, d);
    *out = v;
    return TCONV_OK;
}

static tconv_status check_fields(const tconv_shape *s) {
    const struct {
        const char *name;
        int64_t value;
    } positive[] = {
        {"batch", s->batch},
        {"in_channels", s->in_channels},
        {"out_channels", s->out_channels},
        {"in_h", s->in_h},
        {"in_w", s->in_w},
        {"kernel_h", s->kernel_h},
        {"kernel_w", s->kernel_w},
        {"stride_h", s->stride_h},
        {"stride_w", s->stride_w},
        {"dilation_h", s->dilation_h},
        {"dilation_w", s->dilation_w},
        {"groups", s->groups},
    };
    tconv_status st = TCONV_OK;
    for (size_t i = 0; st == TCONV_OK && i < sizeof positive / sizeof positive[0]; i++)
        st = require_positive(positive[i].name, positive[i].value);
    if (st == TCONV_OK) st = require_non_negative("pad_h", s->pad_h);
    if (st == TCONV_OK) st = require_non_negative("pad_w", s->pad_w);
    if (st == TCONV_OK) st = require_non_negative("out_pad_h", s->out_pad_h);
    if (st == TCONV_OK) st = require_non_negative("out_pad_w", s->out_pad_w);
    if (st == TCONV_OK) st = check_out_pad(s->out_pad_h, s->stride_h, s->dilation_h, "h");
    if (st == TCONV_OK) st = check_out_pad(s->out_pad_w, s->stride_w, s->dilation_w, "w");
    if (st == TCONV_OK && s->in_channels % s->groups != 0)
        st = tconv_fail(TCONV_ERR_INVALID,
                        "groups (%" PRId64 ") must divide in_channels (%" PRId64 ")", s->groups,
                        s->in_channels);
    if (st == TCONV_OK && s->out_channels % s->groups != 0)
        st = tconv_fail(TCONV_ERR_INVALID,
                        "groups (%" PRId64 ") must divide out_channels (%" PRId64 ")", s->groups,
                        s->out_channels);
    return st;
}

/* int64 values that are positive convert to size_t only where size_t is wide enough. */
static tconv_status to_size(const char *field, int64_t v, size_t *out) {
    if ((uint64_t)v > SIZE_MAX)
        return tconv_fail(TCONV_ERR_INVALID, "%s (%" PRId64 ") does not fit in size_t", field, v);
    *out = (size_t)v;
    return TCONV_OK;
}

tconv_status tconv_geometry_init(const tconv_shape *s, tconv_geometry *g) {
    if (s == NULL) return tconv_fail(TCONV_ERR_INVALID, "shape is NULL");
    tconv_status st = check_fields(s);
    if (st == TCONV_OK)
        st = output_extent("height", s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->out_pad_h,
                           s->dilation_h, &g->out_h);
    if (st == TCONV_OK)
        st = output_extent("width", s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->out_pad_w,
                           s->dilation_w, &g->out_w);
    if (st != TCONV_OK) return st;
    g->s = *s;
    size_t cin, cout, kh, kw;
    if ((st = to_size("batch", s->batch, &g->batch)) ||
        (st = to_size("groups", s->groups, &g->groups)) ||
        (st = to_size("in_channels", s->in_channels, &cin)) ||
        (st = to_size("out_channels", s->out_channels, &cout)) ||
        (st = to_size("in_h", s->in_h, &g->in_h)) || (st = to_size("in_w", s->in_w, &g->in_w)) ||
        (st = to_size("output height", g->out_h, &g->out_hs)) ||
        (st = to_size("output width", g->out_w, &g->out_ws)) ||
        (st = to_size("kernel_h", s->kernel_h, &kh)) ||
        (st = to_size("kernel_w", s->kernel_w, &kw)))
        return st;
    g->cin_g = cin / g->groups;
    g->cout_g = cout / g->groups;
    if ((st = tconv_size_mul("input plane (in_h*in_w)", &g->in_plane, g->in_h, g->in_w)) ||
        (st = tconv_size_mul("output plane (out_h*out_w)", &g->out_plane, g->out_hs, g->out_ws)) ||
        (st = tconv_size_mul("kernel (kernel_h*kernel_w)", &g->taps, kh, kw)) ||
        (st = tconv_size_mul4("x (batch*in_channels*in_h*in_w)", &g->x_elems, g->batch, cin,
                              g->in_plane, sizeof(float))) ||
        (st = tconv_size_mul4("w (in_channels*out_channels/groups*kernel_h*kernel_w)", &g->w_elems,
                              cin, g->cout_g, g->taps, sizeof(float))) ||
        (st = tconv_size_mul4("y (batch*out_channels*out_h*out_w)", &g->y_elems, g->batch, cout,
                              g->out_plane, sizeof(float))))
        return st;
    /* The checks above include sizeof(float) so byte counts fit too; keep element counts. */
    g->x_elems /= sizeof(float);
    g->w_elems /= sizeof(float);
    g->y_elems /= sizeof(float);
    return TCONV_OK;
}
