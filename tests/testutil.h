/* Test helpers: deterministic data, guard-page buffers and the derived error bound check. */
#ifndef TCONV_TESTUTIL_H
#define TCONV_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "tconv.h"

/* Error bound constant: |y - ref| <= TU_BOUND_C * L * 2^-24 * (|b| + sum |x||w|), L = Cin/g*Kh*Kw.
 * The bound and its derivation live in bench/check.h (shared with the benchmark harness). */
#define TU_BOUND_C TCONV_CHECK_BOUND_C

typedef struct tu_rng {
    uint64_t state;
} tu_rng;
void tu_seed(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
float tu_uniform(tu_rng *r); /* in [-1, 1) */
void tu_fill(tu_rng *r, float *p, size_t n);
int64_t tu_range(tu_rng *r, int64_t lo, int64_t hi); /* inclusive */

/* Buffer of `count` floats between PROT_NONE guard pages. The data ends exactly at the trailing
 * guard page when at_end is 1, and starts exactly after the leading guard page otherwise, so an
 * access just past the chosen edge faults. */
typedef struct tu_guarded {
    float *data;
    void *base;
    size_t map_bytes;
} tu_guarded;
int tu_guarded_alloc(tu_guarded *g, size_t count, int at_end);
void tu_guarded_free(tu_guarded *g);

size_t tu_x_elems(const tconv_shape *s);
size_t tu_w_elems(const tconv_shape *s);
size_t tu_y_elems(const tconv_shape *s);
/* oneDNN benchdnn-like descriptor, e.g. mb1ic512ih8iw8oc256kh4kw4sh2sw2ph1pw1oph0opw0dh1dw1g1 */
void tu_shape_string(const tconv_shape *s, char *buf, size_t n);

/* Compares y with the reference on (x, w, bias) under the derived bound; prints algorithm, ISA,
 * shape, index, expected, actual and bound for the first failures. Returns 1 when all pass. */
int tu_check_output(const tconv_shape *s, const char *algo, const char *isa, const float *x,
                    const float *w, const float *bias, const float *y);

/* Random data in guarded buffers, a plan for (algo, isa) (isa NULL: dispatcher's choice), one run,
 * the check above. Returns 1 on pass, 0 on a mismatch or a failing call (message printed). */
int tu_run_case(const tconv_shape *s, tconv_algo algo, const char *isa, uint64_t seed,
                int with_bias);
/* The same with the data seed and the guard-page edge apart: consecutive cases with one data seed
 * share one reference computation (a per-thread cache of the last one; a thread other than the
 * main one calls tu_release_reference_cache before it ends). */
void tu_release_reference_cache(void);
int tu_run_case_ex(const tconv_shape *s, tconv_algo algo, const char *isa, uint64_t data_seed,
                   int at_end, int with_bias);

#endif
