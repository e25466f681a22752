/* What the API must answer for a shape, computed independently in 128-bit arithmetic. */
#ifndef TCONV_FUZZ_ORACLE_H
#define TCONV_FUZZ_ORACLE_H

#include <stdint.h>

#include "tconv.h"

typedef enum fuzz_verdict {
    FUZZ_INVALID, /* the library must refuse the shape */
    FUZZ_VALID,   /* the library must accept it and compute exactly out_h, out_w */
    FUZZ_EITHER   /* valid, but a natural intermediate ((in-1)*s, d*(k-1), 2p, their sum)
                     overflows int64: refusing it as an overflow is allowed */
} fuzz_verdict;

typedef struct fuzz_expect {
    fuzz_verdict verdict;
    char why[160];        /* the rule a refused shape breaks */
    int64_t out_h, out_w; /* when not FUZZ_INVALID */
    uint64_t x_elems, w_elems, y_elems;
    long double nominal; /* 2*N*Cin*(Cout/g)*Kh*Kw*H*W */
} fuzz_expect;

void fuzz_expect_shape(const tconv_shape *s, fuzz_expect *e);

/* Useful FLOPs by brute force over (input index, tap) pairs; returns 0 (nothing written) when that
 * would cost too much for one fuzz iteration. Needs a shape that is not FUZZ_INVALID. */
int fuzz_useful_flops(const tconv_shape *s, const fuzz_expect *e, long double *useful);

/* Small enough to create a plan with real tensors, run it and check it against the reference
 * within a fraction of a second under the sanitizers. */
int fuzz_runnable(const tconv_shape *s, const fuzz_expect *e);

#endif
