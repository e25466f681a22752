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

/* Validates every field and computes the derived sizes; on failure the thread's error message
 * names the offending field and value. */
tconv_status tconv_geometry_init(const tconv_shape *s, tconv_geometry *g);

/* out = a * b (* c * d), failing with a message naming `what` when size_t overflows. */
tconv_status tconv_size_mul(const char *what, size_t *out, size_t a, size_t b);
tconv_status tconv_size_mul4(const char *what, size_t *out, size_t a, size_t b, size_t c, size_t d);
tconv_status tconv_size_add(const char *what, size_t *out, size_t a, size_t b);

static inline size_t tconv_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
static inline size_t tconv_div_up(size_t v, size_t m) { return (v + m - 1) / m; }

#endif
