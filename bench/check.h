/* The derived error bound, shared by the tests (tests/testutil.c) and the benchmark harness.
 *
 *   |y - ref| <= TCONV_CHECK_BOUND_C * L * 2^-24 * (|b| + sum |x||w|),   L = Cin/g * Kh * Kw
 *
 * Any summation order of the L products plus the bias errs by at most gamma_{L+1} times the
 * absolute sum, and rounding the double reference to float adds one more unit roundoff:
 * (L + 2) * u <= 3 * L * u for L >= 1. `ref` is the library's reference algorithm on (x, w, b);
 * `mag` is the same reference on (|x|, |w|, |b|), i.e. the absolute sum per output. */
#ifndef TCONV_CHECK_H
#define TCONV_CHECK_H

#include <stddef.h>

#include "tconv.h"

#define TCONV_CHECK_BOUND_C 3.0

#ifdef __cplusplus
extern "C" {
#endif

size_t tconv_check_x_elems(const tconv_shape *s);
size_t tconv_check_w_elems(const tconv_shape *s);
size_t tconv_check_y_elems(const tconv_shape *s); /* 0 when the shape is invalid */

/* 3 * L * 2^-24: multiply by mag[i] to get the bound of output i. */
double tconv_check_bound_scale(const tconv_shape *s);

/* ref and mag (both y-sized) from the reference algorithm. bias may be NULL. Returns TCONV_OK or
 * the failing status (tconv_last_error() says why). */
tconv_status tconv_check_reference(const tconv_shape *s, const float *x, const float *w,
                                   const float *bias, float *ref, float *mag);

typedef struct tconv_check_result {
    size_t checked;     /* outputs compared */
    size_t bad;         /* outputs outside the bound (NaN counts as outside) */
    size_t first_bad;   /* index of the first one, when bad > 0 */
    size_t worst_index; /* index of the largest error / bound ratio (the first NaN if any) */
    double worst_error; /* |y - ref| there (NaN for a NaN output) */
    double worst_bound; /* its bound */
    double worst_ratio; /* error / bound there (inf for NaN or a nonzero error with bound 0) */
    double expected, actual;
} tconv_check_result;

/* Compares y with ref under the bound. Returns 1 when every output is inside it. */
int tconv_check_compare(const tconv_shape *s, const float *ref, const float *mag, const float *y,
                        tconv_check_result *out);

/* "n0 c3 y5 x6" for a flat NCHW output index. */
void tconv_check_index_string(const tconv_shape *s, size_t index, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
