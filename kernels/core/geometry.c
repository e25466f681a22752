/* Shape validation and derived sizes, with checked arithmetic so no size can overflow. */
#include "geometry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* Value of a field named in a size description (see tconv_size_mul); 0 when unknown. */
static int field_value(const tconv_geometry *g, const char *name, size_t len, int64_t *v) {
    const tconv_shape *s = &g->s;
    const struct {
        const char *name;
        int64_t value;
    } fields[] = {
        {"batch", s->batch},
        {"in_channels", s->in_channels},
        {"out_channels", s->out_channels},
        {"in_h", s->in_h},
        {"in_w", s->in_w},
        {"kernel_h", s->kernel_h},
        {"kernel_w", s->kernel_w},
        {"stride_h", s->stride_h},
        {"stride_w", s->stride_w},
        {"pad_h", s->pad_h},
        {"pad_w", s->pad_w},
        {"dilation_h", s->dilation_h},
        {"dilation_w", s->dilation_w},
        {"groups", s->groups},
        {"out_h", g->out_h},
        {"out_w", g->out_w},
        {"in_channels/groups", s->in_channels / s->groups},
        {"out_channels/groups", s->out_channels / s->groups},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i].name) == len && strncmp(fields[i].name, name, len) == 0) {
            *v = fields[i].value;
            return 1;
        }
    return 0;
}

tconv_status tconv_size_overflow(const tconv_geometry *g, const char *what) {
    char values[192] = "";
    size_t n = 0;
    const char *open = strchr(what, '('), *close = open ? strchr(open, ')') : NULL;
    for (const char *p = open ? open + 1 : NULL; g && close && p < close;) {
        const char *end = p;
        while (end < close && *end != '*') end++;
        int64_t v;
        if (field_value(g, p, (size_t)(end - p), &v) && n < sizeof values) {
            int w = snprintf(values + n, sizeof values - n, "%s%.*s %" PRId64, n ? ", " : ": ",
                             (int)(end - p), p, v);
            n += w > 0 ? (size_t)w : 0;
        }
        p = end + 1;
    }
    return tconv_fail(TCONV_ERR_INVALID, "size of %s overflows size_t%s", what, values);
}

tconv_status tconv_size_mul(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                            size_t b) {
    if (__builtin_mul_overflow(a, b, out)) return tconv_size_overflow(g, what);
    return TCONV_OK;
}

tconv_status tconv_size_add(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                            size_t b) {
    if (__builtin_add_overflow(a, b, out)) return tconv_size_overflow(g, what);
    return TCONV_OK;
}

tconv_status tconv_size_mul4(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                             size_t b, size_t c, size_t d) {
    tconv_status st = tconv_size_mul(g, what, out, a, b);
    if (st == TCONV_OK) st = tconv_size_mul(g, what, out, *out, c);
    if (st == TCONV_OK) st = tconv_size_mul(g, what, out, *out, d);
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

/* One axis's fields, named as in tconv_shape ("stride_h", ...). */
typedef struct axis_fields {
    const char *dim, *axis; /* "height" / "h" */
    int64_t in, k, s, p, op, d;
} axis_fields;

static tconv_status refuse_above_limit(const char *field, const char *axis, int64_t v) {
    return tconv_fail(TCONV_ERR_INVALID,
                      "%s_%s (%" PRId64 ") exceeds the supported limit 2^61 (%" PRId64 ")", field,
                      axis, v, TCONV_GEOMETRY_LIMIT);
}

/* See TCONV_GEOMETRY_LIMIT; span and reach are already known to fit int64. */
static tconv_status check_limits(const axis_fields *a, int64_t span, int64_t reach) {
    const char *x = a->axis;
    if (a->s > TCONV_GEOMETRY_LIMIT) return refuse_above_limit("stride", x, a->s);
    if (a->p > TCONV_GEOMETRY_LIMIT) return refuse_above_limit("pad", x, a->p);
    if (a->op > TCONV_GEOMETRY_LIMIT) return refuse_above_limit("out_pad", x, a->op);
    if (a->d > TCONV_GEOMETRY_LIMIT) return refuse_above_limit("dilation", x, a->d);
    if (span > TCONV_GEOMETRY_LIMIT)
        return tconv_fail(TCONV_ERR_INVALID,
                          "(in_%s-1)*stride_%s (%" PRId64
                          ") exceeds the supported limit 2^61 (%" PRId64 "): in_%s %" PRId64
                          ", stride_%s %" PRId64,
                          x, x, span, TCONV_GEOMETRY_LIMIT, x, a->in, x, a->s);
    if (reach > TCONV_GEOMETRY_LIMIT)
        return tconv_fail(TCONV_ERR_INVALID,
                          "dilation_%s*(kernel_%s-1) (%" PRId64
                          ") exceeds the supported limit 2^61 (%" PRId64 "): dilation_%s %" PRId64
                          ", kernel_%s %" PRId64,
                          x, x, reach, TCONV_GEOMETRY_LIMIT, x, a->d, x, a->k);
    return TCONV_OK;
}

/* (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + out_pad + 1, checked in int64, then
 * every term and the result against TCONV_GEOMETRY_LIMIT. */
static tconv_status output_extent(const axis_fields *a, int64_t *out) {
    int64_t span, reach, twice_pad, v;
    int64_t in = a->in, k = a->k, s = a->s, p = a->p, op = a->op, d = a->d;
    if (__builtin_mul_overflow(in - 1, s, &span) || __builtin_mul_overflow(d, k - 1, &reach) ||
        __builtin_mul_overflow(p, (int64_t)2, &twice_pad) ||
        __builtin_add_overflow(span, reach, &v) || __builtin_sub_overflow(v, twice_pad, &v) ||
        __builtin_add_overflow(v, op + 1, &v))
        return tconv_fail(TCONV_ERR_INVALID,
                          "output %s overflows int64 (in %" PRId64 ", kernel %" PRId64
                          ", stride %" PRId64 ", pad %" PRId64 ", out_pad %" PRId64
                          ", dilation %" PRId64 ")",
                          a->dim, in, k, s, p, op, d);
    tconv_status st = check_limits(a, span, reach);
    if (st != TCONV_OK) return st;
    if (v < 1)
        return tconv_fail(TCONV_ERR_INVALID,
                          "output %s (%" PRId64 ") must be at least 1: in %" PRId64
                          ", kernel %" PRId64 ", stride %" PRId64 ", pad %" PRId64
                          ", out_pad %" PRId64 ", dilation %" PRId64,
                          a->dim, v, in, k, s, p, op, d);
    if (v > TCONV_GEOMETRY_LIMIT)
        return tconv_fail(TCONV_ERR_INVALID,
                          "output %s (%" PRId64 ") exceeds the supported limit 2^61 (%" PRId64 ")",
                          a->dim, v, TCONV_GEOMETRY_LIMIT);
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
    const axis_fields h = {"height",    "h",      s->in_h,      s->kernel_h,
                           s->stride_h, s->pad_h, s->out_pad_h, s->dilation_h};
    const axis_fields w = {"width",     "w",      s->in_w,      s->kernel_w,
                           s->stride_w, s->pad_w, s->out_pad_w, s->dilation_w};
    if (st == TCONV_OK) st = output_extent(&h, &g->out_h);
    if (st == TCONV_OK) st = output_extent(&w, &g->out_w);
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
    if ((st = tconv_size_mul(g, "input plane (in_h*in_w)", &g->in_plane, g->in_h, g->in_w)) ||
        (st = tconv_size_mul(g, "output plane (out_h*out_w)", &g->out_plane, g->out_hs,
                             g->out_ws)) ||
        (st = tconv_size_mul(g, "kernel (kernel_h*kernel_w)", &g->taps, kh, kw)) ||
        (st = tconv_size_mul4(g, "x (batch*in_channels*in_h*in_w) in bytes", &g->x_elems, g->batch,
                              cin, g->in_plane, sizeof(float))) ||
        (st = tconv_size_mul4(g, "w (in_channels*out_channels/groups*kernel_h*kernel_w) in bytes",
                              &g->w_elems, cin, g->cout_g, g->taps, sizeof(float))) ||
        (st = tconv_size_mul4(g, "y (batch*out_channels*out_h*out_w) in bytes", &g->y_elems,
                              g->batch, cout, g->out_plane, sizeof(float))))
        return st;
    /* The checks above include sizeof(float) so byte counts fit too; keep element counts. */
    g->x_elems /= sizeof(float);
    g->w_elems /= sizeof(float);
    g->y_elems /= sizeof(float);
    return TCONV_OK;
}

/* #{(i, t) in [0,in) x [0,k) : i*s + t*d <= c}: for each t, floor((c - t*d)/s) + 1 inputs,
 * clamped to [0, in]. The first `full` taps (c - t*d >= (in-1)*s) count `in` each; the rest, with
 * u = t_max - t, are floor((b + u*d)/s) + 1 with b = c - t_max*d >= 0: a floor sum. */
static tconv_u128 floor_sum(tconv_u128 n, tconv_u128 m, tconv_u128 a, tconv_u128 b);

static tconv_u128 pairs_at_most(int64_t in, int64_t k, int64_t s, int64_t d, int64_t c) {
    if (c < 0) return 0;
    int64_t t_max = c / d < k - 1 ? c / d : k - 1; /* taps with t*d <= c: [0, t_max] */
    int64_t span = (in - 1) * s, full = 0;
    if (c >= span) {
        full = (c - span) / d + 1;
        if (full > t_max + 1) full = t_max + 1;
    }
    tconv_u128 n = (tconv_u128)(t_max + 1 - full);
    tconv_u128 b = (tconv_u128)(c - t_max * d);
    return (tconv_u128)full * (tconv_u128)in +
           (n ? floor_sum(n, (tconv_u128)s, (tconv_u128)d, b) + n : 0);
}

/* sum_{u=0}^{n-1} floor((a*u + b)/m) (the classic Euclid-like reduction). Every partial sum is
 * part of the total, which here stays below in*k < 2^124, so nothing overflows. */
static tconv_u128 floor_sum(tconv_u128 n, tconv_u128 m, tconv_u128 a, tconv_u128 b) {
    tconv_u128 ans = 0;
    for (;;) {
        if (a >= m) {
            ans += (n % 2 ? n * ((n - 1) / 2) : (n / 2) * (n - 1)) * (a / m);
            a %= m;
        }
        if (b >= m) {
            ans += n * (b / m);
            b %= m;
        }
        tconv_u128 y_max = a * n + b;
        if (y_max < m) break;
        n = y_max / m;
        b = y_max % m;
        tconv_u128 t = m;
        m = a;
        a = t;
    }
    return ans;
}

tconv_u128 tconv_axis_pairs(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                            int64_t out) {
    /* o in [0, out) <=> i*s + t*d in [pad, out - 1 + pad]; both ends fit (TCONV_GEOMETRY_LIMIT) */
    return pairs_at_most(in, k, stride, dilation, out - 1 + pad) -
           pairs_at_most(in, k, stride, dilation, pad - 1);
}
