/* A validated shape with every derived size computed once under overflow checks. */
#ifndef TCONV_GEOMETRY_H
#define TCONV_GEOMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "tconv.h"

typedef struct tconv_geometry {
    tconv_shape s;
    int64_t out_h, out_w;
    size_t batch, groups, cin_g, cout_g; /* channels per group */
    size_t in_h, in_w, out_hs, out_ws;   /* the same sizes as size_t */
    size_t in_plane, out_plane, taps;    /* H*W, Ho*Wo, Kh*Kw */
    size_t x_elems, w_elems, y_elems;
} tconv_geometry;

/* Every stride, padding, output padding and dilation, every (in-1)*stride and
 * dilation*(kernel-1), and every output extent is at most this (larger values are refused by
 * name). So in int64 any sum of three such terms cannot overflow: the drivers' index arithmetic
 * (i*stride - pad + t*dilation, o + pad - t*dilation, pad + stride - 1, ...) needs no checks. */
#define TCONV_GEOMETRY_LIMIT ((int64_t)1 << 61)

/* Validates every field and computes the derived sizes; on failure the thread's error message
 * names the offending field and value. */
tconv_status tconv_geometry_init(const tconv_shape *s, tconv_geometry *g);

/* out = a * b (* c * d). `what` names the buffer and, in parentheses, the shape fields its size
 * is the product of, e.g. "column buffer (out_channels/groups*kernel_h*kernel_w*in_h*in_w)"; on
 * overflow the message names them with their values from g (known names: the tconv_shape
 * fields, out_h, out_w, in_channels/groups, out_channels/groups). */
tconv_status tconv_size_mul(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                            size_t b);
tconv_status tconv_size_mul4(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                             size_t b, size_t c, size_t d);
tconv_status tconv_size_add(const tconv_geometry *g, const char *what, size_t *out, size_t a,
                            size_t b);
/* The message of the above: "size of <what> overflows size_t: <field> <value>, ...". */
tconv_status tconv_size_overflow(const tconv_geometry *g, const char *what);

/* Floor and ceiling of a / b for b > 0, without the overflow of (a + b - 1) / b. */
static inline int64_t tconv_floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0); }
static inline int64_t tconv_ceil_div(int64_t a, int64_t b) { return a / b + (a % b > 0); }

/* For one axis, the (input index i, tap t) pairs with o = i*stride - pad + t*dilation inside
 * [0, out), in closed form (O(log) whatever the sizes): the useful taps of the FLOP count and the
 * size of the tap tables. Exact; up to in*k < 2^124. */
__extension__ typedef unsigned __int128 tconv_u128;
tconv_u128 tconv_axis_pairs(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                            int64_t out);

static inline size_t tconv_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
static inline size_t tconv_div_up(size_t v, size_t m) { return (v + m - 1) / m; }

#endif
