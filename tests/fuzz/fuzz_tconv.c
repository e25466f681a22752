/* libFuzzer target: decoded API scenarios (fuzz_case.h) checked against independent rules and,
 * on small valid shapes, against the double-precision reference under the derived bound. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fuzz_case.h"
#include "fuzz_oracle.h"
#include "fuzz_seeds.h"
#include "testutil.h"

/* ---- failure reports ------------------------------------------------------------------------ */

static const fuzz_case *current; /* the scenario being run, for failure reports */

static const char *pointers_name(fuzz_pointers p) {
    static const char *const names[FUZZ_PTR_COUNT] = {"separate x/w/y",
                                                      "w NULL",
                                                      "x NULL",
                                                      "y NULL",
                                                      "x == y",
                                                      "y starts inside x",
                                                      "x starts inside y",
                                                      "plan out NULL",
                                                      "plan NULL in run"};
    return (unsigned)p < FUZZ_PTR_COUNT ? names[p] : "?";
}

static const char *special_name(fuzz_special s) {
    static const char *const names[FUZZ_DATA_COUNT] = {"finite", "non-finite w", "non-finite x",
                                                       "non-finite bias", "half of w zero"};
    return (unsigned)s < FUZZ_DATA_COUNT ? names[s] : "?";
}

/* FUZZ_DATA_ZERO_W with this bit of special_pick also puts non-finite values in x: NaN/Inf that
 * meet zero weights, where `sparse` (which never multiplies by a zero weight) and the reference
 * differ by the documented rule. */
#define PICK_ZERO_W_NONFINITE_X 16u

static int zero_w_with_nonfinite_x(const fuzz_case *c) {
    return c->special == FUZZ_DATA_ZERO_W && (c->special_pick & PICK_ZERO_W_NONFINITE_X);
}

static void print_case(const fuzz_case *c) {
    const tconv_shape *s = &c->shape;
    char desc[320];
    tu_shape_string(s, desc, sizeof desc);
    fprintf(stderr,
            "  shape {%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
            ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
            ",%" PRId64 ",%" PRId64 ",%" PRId64 "}\n  = %s\n",
            s->batch, s->in_channels, s->out_channels, s->in_h, s->in_w, s->kernel_h, s->kernel_w,
            s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->out_pad_h, s->out_pad_w, s->dilation_h,
            s->dilation_w, s->groups, desc);
    const char *algo = tconv_algo_name((tconv_algo)c->algo);
    const char *isa_kind[] = {"no options", "options.isa NULL", "tag", "unknown tag"};
    fprintf(stderr,
            "  algo %d (%s), isa %s%s%s%s, pointers: %s (overlap %" PRIu32 "), bias %s, data %s "
            "(pick %" PRIu32 "), seed %" PRIu32 "\n",
            c->algo, algo ? algo : "out of range", isa_kind[c->isa_kind], c->isa ? " \"" : "",
            c->isa ? (strlen(c->isa) > 40 ? "<long string>" : c->isa) : "", c->isa ? "\"" : "",
            pointers_name(c->pointers), c->overlap, c->with_bias ? "yes" : "NULL",
            zero_w_with_nonfinite_x(c) ? "half of w zero, non-finite x" : special_name(c->special),
            c->special_pick, c->data_seed);
}

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "\ntconv-fuzz FAILURE: ");
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n");
    if (current) print_case(current);
    fflush(stderr);
    abort();
}

/* TCONV_FUZZ_DESCRIBE=1 prints each input before running it: sanitizer reports and hangs do not
 * end with the description that harness failures print. (libFuzzer owns the sanitizer death
 * callback: it writes the artifact.) */
static int describe_every_input;

/* ---- call timing: no single call may take long (libFuzzer's -timeout catches real hangs) ---- */

static double call_limit_seconds = 2.0;

/* The process's CPU time (all threads), not the wall clock: on a loaded CI machine, or under
 * `nice`, a 5 ms call waited 3 s for a core and was flagged (run of 2026-11-29, load average 14).
 * A hang burns CPU, so it is still caught; libFuzzer's -timeout catches a sleeping one. */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_duration(const char *call, double start) {
    double took = now_seconds() - start;
    if (took > call_limit_seconds)
        fail("%s took %.2f s of CPU time (limit %.2f s, TCONV_FUZZ_CALL_SECONDS)", call, took,
             call_limit_seconds);
}

/* ---- status rules --------------------------------------------------------------------------- */

enum { ALLOW_OK = 1, ALLOW_INVALID = 2, ALLOW_NOMEM = 4, ALLOW_UNSUPPORTED = 8 };

static int status_bit(tconv_status st) {
    switch (st) {
    case TCONV_OK: return ALLOW_OK;
    case TCONV_ERR_INVALID: return ALLOW_INVALID;
    case TCONV_ERR_NOMEM: return ALLOW_NOMEM;
    case TCONV_ERR_UNSUPPORTED: return ALLOW_UNSUPPORTED;
    }
    return 0;
}

/* A status is one of the enum and allowed here; a failure has a message, a success none. */
static void check_status(const char *call, tconv_status st, int allowed) {
    int bit = status_bit(st);
    if (bit == 0) fail("%s returned %d, not a tconv_status", call, (int)st);
    const char *msg = tconv_last_error();
    if (msg == NULL) fail("%s: tconv_last_error() is NULL", call);
    if (!(bit & allowed))
        fail("%s returned %s (last error \"%s\"); allowed here: %s%s%s%s", call,
             tconv_status_string(st), msg, allowed & ALLOW_OK ? "ok " : "",
             allowed & ALLOW_INVALID ? "invalid " : "", allowed & ALLOW_NOMEM ? "nomem " : "",
             allowed & ALLOW_UNSUPPORTED ? "unsupported" : "");
    if (st != TCONV_OK && msg[0] == '\0')
        fail("%s failed (%s) with an empty tconv_last_error()", call, tconv_status_string(st));
    if (st == TCONV_OK && msg[0] != '\0')
        fail("%s succeeded but tconv_last_error() is \"%s\"", call, msg);
}

/* ---- shape queries: tconv_output_size and tconv_flops against the oracle -------------------- */

static int allowed_for(const fuzz_expect *e) {
    return e->verdict == FUZZ_VALID     ? ALLOW_OK
           : e->verdict == FUZZ_INVALID ? ALLOW_INVALID
                                        : ALLOW_OK | ALLOW_INVALID;
}

/* Returns 1 when the library accepted the shape. */
static int check_output_size(const tconv_shape *s, const fuzz_expect *e) {
    int64_t oh = -7, ow = -7;
    double t0 = now_seconds();
    tconv_status st = tconv_output_size(s, &oh, &ow);
    check_duration("tconv_output_size", t0);
    if (e->verdict == FUZZ_INVALID && st == TCONV_OK)
        fail("tconv_output_size accepted an invalid shape (%s): %" PRId64 " x %" PRId64, e->why, oh,
             ow);
    check_status("tconv_output_size", st, allowed_for(e));
    if (st == TCONV_OK && (oh != e->out_h || ow != e->out_w))
        fail("tconv_output_size gave %" PRId64 " x %" PRId64 ", expected %" PRId64 " x %" PRId64,
             oh, ow, e->out_h, e->out_w);
    check_status("tconv_output_size(out_h NULL)", tconv_output_size(s, NULL, &ow), ALLOW_INVALID);
    return st == TCONV_OK;
}

static void check_flops(const tconv_shape *s, const fuzz_expect *e, int accepted) {
    double nominal = -1, useful = -1;
    double t0 = now_seconds();
    tconv_status st = tconv_flops(s, &nominal, &useful);
    check_duration("tconv_flops", t0);
    check_status("tconv_flops", st, accepted ? ALLOW_OK : ALLOW_INVALID);
    check_status("tconv_flops(useful NULL)", tconv_flops(s, &nominal, NULL), ALLOW_INVALID);
    if (st != TCONV_OK) return;
    if (!(fabsl(nominal - e->nominal) <= 1e-12L * e->nominal))
        fail("tconv_flops: nominal %.17g, expected %.17Lg", nominal, e->nominal);
    if (!(useful >= 0 && useful <= nominal * (1 + 1e-12)))
        fail("tconv_flops: useful %.17g outside [0, nominal %.17g]", useful, nominal);
    long double exact;
    if (fuzz_useful_flops(s, e, &exact) && !(fabsl(useful - exact) <= 1e-12L * exact))
        fail("tconv_flops: useful %.17g, expected %.17Lg", useful, exact);
}

/* ---- plan creation -------------------------------------------------------------------------- */

static int gemm_blas_built = -1; /* probed once: without OpenBLAS the library refuses gemm_blas */

static int algo_in_range(int algo) { return algo >= 0 && algo < TCONV_ALGO_COUNT; }

/* Why the case must fail even on a valid shape: INVALID-class and UNSUPPORTED-class faults. */
static int invalid_faults(const fuzz_case *c) {
    return !algo_in_range(c->algo) || c->pointers == FUZZ_PTR_NULL_W ||
           c->pointers == FUZZ_PTR_NULL_OUT || c->isa_kind == FUZZ_ISA_UNKNOWN;
}

static int unsupported_faults(const fuzz_case *c) {
    if (c->isa_kind == FUZZ_ISA_TAG && !(tconv_isa_compiled(c->isa) && tconv_isa_supported(c->isa)))
        return 1;
    return c->algo == TCONV_ALGO_GEMM_BLAS && !gemm_blas_built;
}

/* The statuses plan creation may return for this case on a shape the library accepts. An unknown
 * ISA string may be called INVALID or UNSUPPORTED (the header promises UNSUPPORTED for a tag that
 * is not compiled in). */
static int plan_allowed(const fuzz_case *c) {
    int bits = 0;
    if (invalid_faults(c)) bits |= ALLOW_INVALID;
    if (unsupported_faults(c) || c->isa_kind == FUZZ_ISA_UNKNOWN) bits |= ALLOW_UNSUPPORTED;
    return bits ? bits : ALLOW_OK;
}

static tconv_status create_plan(const fuzz_case *c, const float *w, const float *bias,
                                tconv_plan **plan) {
    tconv_plan_options opt = {.isa = c->isa};
    const tconv_plan_options *options = c->isa_kind == FUZZ_ISA_NO_OPTIONS ? NULL : &opt;
    tconv_plan **out = c->pointers == FUZZ_PTR_NULL_OUT ? NULL : plan;
    if (c->pointers == FUZZ_PTR_NULL_W) w = NULL;
    *plan = NULL;
    double t0 = now_seconds();
    tconv_status st = tconv_plan_create_ex(&c->shape, (tconv_algo)c->algo, w, bias, options, out);
    check_duration("tconv_plan_create_ex", t0);
    if (st != TCONV_OK && *plan != NULL) fail("tconv_plan_create_ex failed but set *out");
    return st;
}

/* A plan reports the algorithm and ISA it was made for. */
static void check_plan_identity(const fuzz_case *c, const tconv_plan *plan) {
    tconv_algo a = tconv_plan_algo(plan);
    if (c->algo == TCONV_ALGO_AUTO ? !(a > TCONV_ALGO_AUTO && a < TCONV_ALGO_COUNT)
                                   : (int)a != c->algo)
        fail("tconv_plan_algo is %d for requested algo %d", (int)a, c->algo);
    const char *isa = tconv_plan_isa(plan);
    const char *want = c->isa_kind == FUZZ_ISA_TAG ? c->isa : tconv_active_isa();
    if (isa == NULL || strcmp(isa, want) != 0)
        fail("tconv_plan_isa is %s, expected %s", isa ? isa : "NULL", want);
    if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa))
        fail("tconv_plan_isa %s is not compiled or not supported", isa);
    if (tconv_plan_memory_bytes(plan) == 0) fail("tconv_plan_memory_bytes is 0");
}

/* ---- shapes the library refuses, or too big to run: every call must fail, and fast --------- */

static void check_refused_shape(const fuzz_case *c) {
    float x[16] = {0}, w[16] = {0}, b[16] = {0}, y[16];
    tconv_plan *plan;
    tconv_status st = create_plan(c, w, c->with_bias ? b : NULL, &plan);
    check_status("tconv_plan_create_ex (shape refused)", st,
                 ALLOW_INVALID | (unsupported_faults(c) ? ALLOW_UNSUPPORTED : 0) |
                     (c->isa_kind == FUZZ_ISA_UNKNOWN ? ALLOW_UNSUPPORTED : 0));
    double t0 = now_seconds();
    st = tconv_forward(&c->shape, algo_in_range(c->algo) ? (tconv_algo)c->algo : TCONV_ALGO_AUTO, x,
                       w, NULL, y);
    check_duration("tconv_forward", t0);
    check_status("tconv_forward (shape refused)", st,
                 ALLOW_INVALID |
                     (c->algo == TCONV_ALGO_GEMM_BLAS && !gemm_blas_built ? ALLOW_UNSUPPORTED : 0));
}

/* A valid shape too big to run: only creation calls that must fail before any allocation (no
 * weights of that size exist here). A case without such a fault gets w = NULL. */
static void check_big_shape(const fuzz_case *c) {
    fuzz_case big = *c;
    if (!invalid_faults(&big)) big.pointers = FUZZ_PTR_NULL_W;
    float w[16] = {0}, b[16] = {0};
    tconv_plan *plan;
    tconv_status st = create_plan(&big, w, big.with_bias ? b : NULL, &plan);
    check_status("tconv_plan_create_ex (big shape, a faulty argument)", st, plan_allowed(&big));
}

/* ---- small valid shapes: plan, run, compare ------------------------------------------------- */

typedef struct tensors {
    size_t nx, nw, ny, nb;
    float *x, *w, *bias; /* the caller's data, kept for the reference */
    tconv_algo algo;     /* what the plan runs (AUTO resolved by tconv_plan_algo) */
} tensors;

static float special_value(uint32_t pick) {
    switch (pick % 3) {
    case 0: return NAN;
    case 1: return INFINITY;
    }
    return -INFINITY;
}

/* Data in [-1, 1); then non-finite values or zeros where the case says. */
static void fill_tensors(const fuzz_case *c, tensors *t) {
    tu_rng rng;
    tu_seed(&rng, c->data_seed);
    tu_fill(&rng, t->x, t->nx);
    tu_fill(&rng, t->w, t->nw);
    tu_fill(&rng, t->bias, t->nb);
    float *target = c->special == FUZZ_DATA_NONFINITE_W                                 ? t->w
                    : c->special == FUZZ_DATA_NONFINITE_X || zero_w_with_nonfinite_x(c) ? t->x
                    : c->special == FUZZ_DATA_NONFINITE_BIAS                            ? t->bias
                                                                                        : NULL;
    size_t n = target == t->w ? t->nw : target == t->x ? t->nx : t->nb;
    for (uint32_t i = 0; target && i <= c->special_pick % 4; i++)
        target[tu_next(&rng) % n] = special_value(c->special_pick / 4 + i);
    if (c->special == FUZZ_DATA_ZERO_W)
        for (size_t i = 0; i < t->nw; i++)
            if (tu_next(&rng) & 1) t->w[i] = 0.0f;
}

static float *copy_of(const float *p, size_t n) {
    float *q = malloc((n ? n : 1) * sizeof(float));
    if (q == NULL) fail("harness: out of memory");
    memcpy(q, p, n * sizeof(float));
    return q;
}

static float *alloc_floats(size_t n, float fill) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p == NULL) fail("harness: out of memory");
    for (size_t i = 0; i < n; i++) p[i] = fill;
    return p;
}

/* Every output is written: a sentinel no correct output equals (finite, far out of range, so
 * accumulating into y or skipping an output fails under every rule below). */
#define Y_SENTINEL 1e30f

static void report_mismatch(const char *what, size_t i, double expected, double actual,
                            double bound) {
    char where[96];
    tconv_check_index_string(&current->shape, i, where, sizeof where);
    fail("%s: output %zu (%s): expected %.9g, actual %.9g, |error| %.3g, bound %.3g", what, i,
         where, expected, actual, fabs(actual - expected), bound);
}

/* Outputs the reference leaves finite are checked under the derived bound (tconv_check_compare);
 * a NaN reference needs a NaN, an infinite one the same infinity: every algorithm sums the same
 * real taps, and |x|, |w| <= 1 cannot overflow, so only a product the reference does not have
 * (a non-finite weight times a padding zero) can change that. */
/* zero_insert multiplies inserted and padding zeros by every weight (README): an output channel
 * with a non-finite weight must be non-finite everywhere; those outputs are taken out of the
 * comparison, every other channel is checked as for any algorithm. */
static void check_zero_insert_poisoned(const tensors *t, const float *y, float *ref, float *mag,
                                       float *y_finite, const char *what) {
    const tconv_shape *s = &current->shape;
    size_t cin_g = (size_t)(s->in_channels / s->groups),
           cout_g = (size_t)(s->out_channels / s->groups);
    size_t taps = (size_t)(s->kernel_h * s->kernel_w),
           plane = t->ny / (size_t)s->batch / (size_t)s->out_channels;
    for (size_t co = 0; co < (size_t)s->out_channels; co++) {
        size_t grp = co / cout_g, finite = 1;
        for (size_t c = grp * cin_g; finite && c < (grp + 1) * cin_g; c++)
            for (size_t k = 0; k < taps; k++)
                finite &= isfinite(t->w[(c * cout_g + co % cout_g) * taps + k]) != 0;
        for (size_t n = 0; !finite && n < (size_t)s->batch; n++)
            for (size_t i = (n * (size_t)s->out_channels + co) * plane, e = i + plane; i < e; i++) {
                if (isfinite(y[i])) report_mismatch(what, i, NAN, y[i], 0.0);
                ref[i] = mag[i] = y_finite[i] = 0.0f;
            }
    }
}

/* `sparse` never multiplies by a zero weight (README): a NaN/Inf in x that meets only zero weights
 * does not reach its output, where the reference gives NaN. Since 0 * finite = 0, leaving those
 * products out changes nothing else. This is the non-finite value `sparse` must give per output:
 * an independent double-precision scatter over the real taps that skips w == 0 (|x|, |w| <= 1, so
 * finite products cannot overflow); 0 where that sum is finite. */
static double *skip_zero_weight_nonfinite(const tensors *t) {
    const tconv_shape *s = &current->shape;
    int64_t oh = 0, ow = 0;
    if (tconv_output_size(s, &oh, &ow) != TCONV_OK) fail("harness: output size of a run shape");
    size_t cin_g = (size_t)(s->in_channels / s->groups),
           cout_g = (size_t)(s->out_channels / s->groups);
    size_t in_plane = (size_t)(s->in_h * s->in_w), out_plane = (size_t)(oh * ow);
    size_t taps = (size_t)(s->kernel_h * s->kernel_w);
    double *acc = calloc(t->ny ? t->ny : 1, sizeof(double));
    if (acc == NULL) fail("harness: out of memory");
    for (size_t n = 0; n < (size_t)s->batch; n++)
        for (size_t ci = 0; ci < (size_t)s->in_channels; ci++)
            for (size_t p = 0; p < in_plane; p++) {
                double xv = t->x[(n * (size_t)s->in_channels + ci) * in_plane + p];
                int64_t ih = (int64_t)(p / (size_t)s->in_w), iw = (int64_t)(p % (size_t)s->in_w);
                for (size_t col = 0; col < cout_g; col++)
                    for (size_t k = 0; k < taps; k++) {
                        float wv = t->w[(ci * cout_g + col) * taps + k];
                        if (wv == 0.0f) continue; /* the product `sparse` does not have */
                        int64_t kh = (int64_t)k / s->kernel_w, kw = (int64_t)k % s->kernel_w;
                        int64_t y_row = ih * s->stride_h - s->pad_h + kh * s->dilation_h;
                        int64_t y_col = iw * s->stride_w - s->pad_w + kw * s->dilation_w;
                        if (y_row < 0 || y_row >= oh || y_col < 0 || y_col >= ow) continue;
                        size_t co = ci / cin_g * cout_g + col;
                        acc[(n * (size_t)s->out_channels + co) * out_plane +
                            (size_t)(y_row * ow + y_col)] += xv * (double)wv;
                    }
            }
    for (size_t i = 0; i < t->ny; i++) {
        if (current->with_bias) acc[i] += t->bias[i / out_plane % (size_t)s->out_channels];
        if (isfinite(acc[i])) acc[i] = 0.0;
    }
    return acc;
}

/* x with its non-finite values replaced by 0: for an output that the non-finite values of x reach
 * only through zero weights, the reference on this copy is the value `sparse` must give. */
static float *x_without_nonfinite(const tensors *t) {
    float *x = copy_of(t->x, t->nx);
    for (size_t i = 0; i < t->nx; i++)
        if (!isfinite(x[i])) x[i] = 0.0f;
    return x;
}

static void compare_with_reference(const tensors *t, const float *y, const char *what) {
    const tconv_shape *s = &current->shape;
    int skips_zero_w = t->algo == TCONV_ALGO_SPARSE;
    double *expect_nonfinite = skips_zero_w ? skip_zero_weight_nonfinite(t) : NULL;
    float *x_ref = skips_zero_w ? x_without_nonfinite(t) : t->x;
    float *ref = alloc_floats(t->ny, 0), *mag = alloc_floats(t->ny, 0);
    tconv_status st =
        tconv_check_reference(s, x_ref, t->w, current->with_bias ? t->bias : NULL, ref, mag);
    if (st != TCONV_OK)
        fail("reference failed: %s: %s", tconv_status_string(st), tconv_last_error());
    float *y_finite = copy_of(y, t->ny);
    if (current->algo == TCONV_ALGO_ZERO_INSERT)
        check_zero_insert_poisoned(t, y, ref, mag, y_finite, what);
    for (size_t i = 0; i < t->ny; i++) {
        int ref_finite = isfinite(ref[i]) && isfinite(mag[i]);
        double want = ref[i];
        if (skips_zero_w) {
            want = expect_nonfinite[i];
            if (isfinite(want) && !ref_finite)
                fail("harness: output %zu: the zero-skipping sum is finite but the reference on x "
                     "without its non-finite values is %.9g",
                     i, ref[i]);
            if (isfinite(want)) continue;
        } else if (ref_finite)
            continue;
        int same = isnan(want) ? isnan(y[i]) : y[i] == want;
        if (!same)
            report_mismatch(skips_zero_w ? "mismatch of the non-finite pattern with zero weights "
                                           "skipped"
                                         : what,
                            i, want, y[i], 0.0);
        ref[i] = mag[i] = y_finite[i] = 0.0f; /* checked: out of tconv_check_compare's way */
    }
    tconv_check_result r;
    if (!tconv_check_compare(s, ref, mag, y_finite, &r)) {
        size_t i = r.first_bad;
        report_mismatch(what, i, ref[i], y[i], tconv_check_bound_scale(s) * mag[i]);
    }
    if (skips_zero_w) free(x_ref);
    free(expect_nonfinite), free(ref), free(mag), free(y_finite);
}

static tconv_status run_plan(tconv_plan *plan, const float *x, float *y) {
    double t0 = now_seconds();
    tconv_status st = tconv_plan_run(plan, x, y);
    check_duration("tconv_plan_run", t0);
    return st;
}

/* Separate buffers: correct, x untouched, and a second run gives the same bits. */
static void run_separate(tconv_plan *plan, const tensors *t) {
    float *x = copy_of(t->x, t->nx), *y = alloc_floats(t->ny, Y_SENTINEL);
    check_status("tconv_plan_run", run_plan(plan, x, y), ALLOW_OK);
    if (memcmp(x, t->x, t->nx * sizeof(float)) != 0) fail("tconv_plan_run modified x");
    compare_with_reference(t, y, "mismatch");
    float *y2 = alloc_floats(t->ny, Y_SENTINEL);
    check_status("tconv_plan_run (second run)", run_plan(plan, x, y2), ALLOW_OK);
    for (size_t i = 0; i < t->ny; i++)
        if (memcmp(&y[i], &y2[i], sizeof(float)) != 0)
            report_mismatch("second run of the plan differs from the first", i, y[i], y2[i], 0.0);
    free(x), free(y), free(y2);
}

/* x and y in one buffer (equal or overlapping): refused with a message, or computed as if x had
 * been read before y was written. */
static void run_overlapping(tconv_plan *plan, const tensors *t) {
    size_t x_off = 0, y_off = 0;
    if (current->pointers == FUZZ_PTR_Y_IN_X && t->nx > 1)
        y_off = 1 + (size_t)current->overlap * (t->nx - 1) / 8;
    if (current->pointers == FUZZ_PTR_X_IN_Y && t->ny > 1)
        x_off = 1 + (size_t)current->overlap * (t->ny - 1) / 8;
    size_t n = x_off + t->nx > y_off + t->ny ? x_off + t->nx : y_off + t->ny;
    float *buf = alloc_floats(n, Y_SENTINEL);
    memcpy(buf + x_off, t->x, t->nx * sizeof(float));
    tconv_status st = run_plan(plan, buf + x_off, buf + y_off);
    check_status("tconv_plan_run (x and y overlap)", st, ALLOW_OK | ALLOW_INVALID);
    if (st == TCONV_OK) compare_with_reference(t, buf + y_off, "mismatch with x and y overlapping");
    free(buf);
}

static void run_plan_case(tconv_plan *plan, const tensors *t) {
    float *x = copy_of(t->x, t->nx), *y = alloc_floats(t->ny, Y_SENTINEL);
    switch (current->pointers) {
    case FUZZ_PTR_NULL_X:
        check_status("tconv_plan_run(x NULL)", run_plan(plan, NULL, y), ALLOW_INVALID);
        break;
    case FUZZ_PTR_NULL_Y:
        check_status("tconv_plan_run(y NULL)", run_plan(plan, x, NULL), ALLOW_INVALID);
        break;
    case FUZZ_PTR_NULL_PLAN:
        check_status("tconv_plan_run(plan NULL)", run_plan(NULL, x, y), ALLOW_INVALID);
        break;
    case FUZZ_PTR_ALIAS:
    case FUZZ_PTR_Y_IN_X:
    case FUZZ_PTR_X_IN_Y: run_overlapping(plan, t); break;
    default: run_separate(plan, t); break;
    }
    free(x), free(y);
}

static void check_small_shape(const fuzz_case *c, const fuzz_expect *e) {
    tensors t = {e->x_elems, e->w_elems, e->y_elems, (size_t)c->shape.out_channels,
                 NULL,       NULL,       NULL,       TCONV_ALGO_AUTO};
    t.x = alloc_floats(t.nx, 0), t.w = alloc_floats(t.nw, 0), t.bias = alloc_floats(t.nb, 0);
    fill_tensors(c, &t);
    /* The plan gets copies that are freed right after creation: it must have copied them. */
    float *w_copy = copy_of(t.w, t.nw), *b_copy = copy_of(t.bias, t.nb);
    tconv_plan *plan;
    tconv_status st = create_plan(c, w_copy, c->with_bias ? b_copy : NULL, &plan);
    free(w_copy), free(b_copy);
    check_status("tconv_plan_create_ex", st, plan_allowed(c));
    if (st == TCONV_OK) {
        check_plan_identity(c, plan);
        t.algo = tconv_plan_algo(plan);
        run_plan_case(plan, &t);
        tconv_plan_destroy(plan);
    }
    free(t.x), free(t.w), free(t.bias);
}

/* ---- entry points --------------------------------------------------------------------------- */

static void init_once(void) {
    if (gemm_blas_built >= 0) return;
    const tconv_shape one = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    const float v = 1.0f;
    float y;
    gemm_blas_built =
        tconv_forward(&one, TCONV_ALGO_GEMM_BLAS, &v, &v, NULL, &y) != TCONV_ERR_UNSUPPORTED;
    const char *describe = getenv("TCONV_FUZZ_DESCRIBE");
    describe_every_input = describe && strcmp(describe, "1") == 0;
    const char *limit = getenv("TCONV_FUZZ_CALL_SECONDS");
    if (limit && atof(limit) > 0) call_limit_seconds = atof(limit);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    for (int i = 1; i < *argc; i++)
        if (strcmp((*argv)[i], "--write-seeds") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "usage: %s --write-seeds DIR\n", (*argv)[0]);
                exit(2);
            }
            exit(fuzz_write_seeds((*argv)[i + 1]) ? 0 : 1);
        }
    init_once();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_once();
    fuzz_case c;
    fuzz_decode(data, size, &c);
    current = &c;
    if (describe_every_input) {
        fprintf(stderr, "tconv-fuzz: input:\n");
        print_case(&c);
    }
    fuzz_expect e;
    fuzz_expect_shape(&c.shape, &e);
    int accepted = check_output_size(&c.shape, &e);
    check_flops(&c.shape, &e, accepted);
    if (!accepted)
        check_refused_shape(&c);
    else if (!fuzz_runnable(&c.shape, &e))
        check_big_shape(&c);
    else
        check_small_shape(&c, &e);
    current = NULL;
    return 0;
}
