/* Independent shape rules for the fuzzer: 128-bit arithmetic, so nothing here can overflow. */
#include "fuzz_oracle.h"

#include <inttypes.h>
#include <stdio.h>

typedef __int128 i128;

static int refuse(fuzz_expect *e, const char *fmt, const char *field, int64_t v) {
    snprintf(e->why, sizeof e->why, fmt, field, v);
    e->verdict = FUZZ_INVALID;
    return 0;
}

static int fields_ok(const tconv_shape *s, fuzz_expect *e) {
    const struct {
        const char *name;
        int64_t v;
    } positive[] = {{"batch", s->batch},
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
                    {"groups", s->groups}};
    for (unsigned i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i].v <= 0)
            return refuse(e, "%s (%" PRId64 ") <= 0", positive[i].name, positive[i].v);
    const struct {
        const char *name;
        int64_t v;
    } non_negative[] = {{"pad_h", s->pad_h},
                        {"pad_w", s->pad_w},
                        {"out_pad_h", s->out_pad_h},
                        {"out_pad_w", s->out_pad_w}};
    for (unsigned i = 0; i < 4; i++)
        if (non_negative[i].v < 0)
            return refuse(e, "%s (%" PRId64 ") < 0", non_negative[i].name, non_negative[i].v);
    if (s->out_pad_h >= s->stride_h && s->out_pad_h >= s->dilation_h)
        return refuse(e, "%s (%" PRId64 ") >= stride and dilation", "out_pad_h", s->out_pad_h);
    if (s->out_pad_w >= s->stride_w && s->out_pad_w >= s->dilation_w)
        return refuse(e, "%s (%" PRId64 ") >= stride and dilation", "out_pad_w", s->out_pad_w);
    if (s->in_channels % s->groups != 0 || s->out_channels % s->groups != 0)
        return refuse(e, "%s (%" PRId64 ") does not divide the channels", "groups", s->groups);
    return 1;
}

static int fits_int64(i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

/* The exact output extent; *tight is set when a natural intermediate overflows int64. */
static i128 extent(int64_t in, int64_t k, int64_t st, int64_t p, int64_t op, int64_t d,
                   int *tight) {
    i128 span = (i128)(in - 1) * st, reach = (i128)d * (k - 1), twice_pad = (i128)p * 2;
    if (!fits_int64(span) || !fits_int64(reach) || !fits_int64(twice_pad) ||
        !fits_int64(span + reach))
        *tight = 1;
    return span - twice_pad + reach + op + 1;
}

/* The library's documented limit (README, geometry.c): stride, pad, output padding, dilation,
 * (in-1)*stride, dilation*(kernel-1) and the output extent are each at most 2^61, so every sum
 * of three such terms in the drivers fits int64. A shape past it is refused by field name. */
#define GEOMETRY_LIMIT ((i128)1 << 61)
static int beyond_limit(const char *dim, int64_t in, int64_t k, int64_t st, int64_t p, int64_t op,
                        int64_t d, i128 out, fuzz_expect *e) {
    i128 span = (i128)(in - 1) * st, reach = (i128)d * (k - 1);
    if (st > GEOMETRY_LIMIT || p > GEOMETRY_LIMIT || op > GEOMETRY_LIMIT || d > GEOMETRY_LIMIT ||
        span > GEOMETRY_LIMIT || reach > GEOMETRY_LIMIT || out > GEOMETRY_LIMIT) {
        refuse(e, "output %s (%" PRId64 ") or a term of it beyond the 2^61 limit", dim,
               (int64_t)out);
        return 1;
    }
    return 0;
}

/* a*b*c*d*sizeof(float) must fit size_t (64-bit). */
static int bytes_fit(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *elems) {
    uint64_t v;
    if (__builtin_mul_overflow(a, b, &v) || __builtin_mul_overflow(v, c, &v) ||
        __builtin_mul_overflow(v, d, &v) || v > UINT64_MAX / sizeof(float))
        return 0;
    *elems = v;
    return 1;
}

void fuzz_expect_shape(const tconv_shape *s, fuzz_expect *e) {
    e->verdict = FUZZ_VALID;
    e->why[0] = '\0';
    if (!fields_ok(s, e)) return;
    int tight = 0;
    i128 oh =
        extent(s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->out_pad_h, s->dilation_h, &tight);
    i128 ow =
        extent(s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->out_pad_w, s->dilation_w, &tight);
    if (oh < 1 || oh > INT64_MAX) {
        refuse(e, "%s (%" PRId64 "...) below 1 or above INT64_MAX", "output height", (int64_t)oh);
        return;
    }
    if (ow < 1 || ow > INT64_MAX) {
        refuse(e, "%s (%" PRId64 "...) below 1 or above INT64_MAX", "output width", (int64_t)ow);
        return;
    }
    if (beyond_limit("height", s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->out_pad_h,
                     s->dilation_h, oh, e) ||
        beyond_limit("width", s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->out_pad_w,
                     s->dilation_w, ow, e))
        return;
    e->out_h = (int64_t)oh, e->out_w = (int64_t)ow;
    uint64_t cout_g = (uint64_t)(s->out_channels / s->groups);
    if (!bytes_fit((uint64_t)s->batch, (uint64_t)s->in_channels, (uint64_t)s->in_h,
                   (uint64_t)s->in_w, &e->x_elems) ||
        !bytes_fit((uint64_t)s->in_channels, cout_g, (uint64_t)s->kernel_h, (uint64_t)s->kernel_w,
                   &e->w_elems) ||
        !bytes_fit((uint64_t)s->batch, (uint64_t)s->out_channels, (uint64_t)e->out_h,
                   (uint64_t)e->out_w, &e->y_elems)) {
        refuse(e, "%s (%" PRId64 ") makes a tensor's bytes overflow size_t", "batch", s->batch);
        return;
    }
    e->nominal =
        2.0L * s->batch * s->in_channels * cout_g * s->kernel_h * s->kernel_w * s->in_h * s->in_w;
    if (tight) e->verdict = FUZZ_EITHER;
}

/* (input index, tap) pairs of one axis whose output index lands in [0, out). */
static i128 axis_pairs(int64_t in, int64_t k, int64_t st, int64_t p, int64_t d, int64_t out) {
    i128 pairs = 0;
    for (int64_t i = 0; i < in; i++)
        for (int64_t t = 0; t < k; t++) {
            i128 o = (i128)i * st - p + (i128)t * d;
            pairs += o >= 0 && o < out;
        }
    return pairs;
}

#define BRUTE_FORCE_PAIRS (1 << 14)

int fuzz_useful_flops(const tconv_shape *s, const fuzz_expect *e, long double *useful) {
    if ((i128)s->in_h * s->kernel_h > BRUTE_FORCE_PAIRS ||
        (i128)s->in_w * s->kernel_w > BRUTE_FORCE_PAIRS)
        return 0;
    i128 ph = axis_pairs(s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->dilation_h, e->out_h);
    i128 pw = axis_pairs(s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->dilation_w, e->out_w);
    *useful = 2.0L * s->batch * s->in_channels * (s->out_channels / s->groups) * (long double)ph *
              (long double)pw;
    return 1;
}

#define MAX_TENSOR_ELEMS (64 * 1024)
#define MAX_FLOPS 4.0e6L
#define MAX_ZERO_INSERTED_ELEMS (1 << 22)

int fuzz_runnable(const tconv_shape *s, const fuzz_expect *e) {
    if (e->verdict == FUZZ_INVALID) return 0;
    if (e->x_elems > MAX_TENSOR_ELEMS || e->w_elems > MAX_TENSOR_ELEMS ||
        e->y_elems > MAX_TENSOR_ELEMS || s->out_channels > MAX_TENSOR_ELEMS)
        return 0;
    long double reduction = (long double)(s->in_channels / s->groups) * s->kernel_h * s->kernel_w;
    if (e->nominal > MAX_FLOPS || 2.0L * e->y_elems * reduction > MAX_FLOPS) return 0;
    /* zero_insert convolves a zero-inserted input of (out + d*(k-1)) per axis: bounded too. */
    long double zh = (long double)e->out_h + (long double)s->dilation_h * (s->kernel_h - 1);
    long double zw = (long double)e->out_w + (long double)s->dilation_w * (s->kernel_w - 1);
    return zh * zw * (long double)(s->in_channels / s->groups) <= MAX_ZERO_INSERTED_ELEMS;
}
