/* Hostile input found by fuzzing and reading: overflow, hangs, non-finite values, aliasing. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* A 4 TiB weight allocation must come back NULL under ASan too, not abort (ctest also sets it in
 * ASAN_OPTIONS; this default keeps a direct run of the binary meaningful). */
#if defined(__SANITIZE_ADDRESS__)
#define HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTILE_ASAN 1
#endif
#endif
#ifdef HOSTILE_ASAN
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void) {
    return "allocator_may_return_null=1";
}
#endif

#define P2(e) ((int64_t)1 << (e))
/* A plan creation or FLOP count that has not failed or finished after this much CPU time hangs:
 * the refusals below take microseconds, and the sanitized build is at most ~10x slower. CPU time,
 * not wall time: under qemu-aarch64 on a loaded 2-CPU machine, test_many_phases_fast took over
 * 20 s of wall time for about 6 s of work. */
#define HANG_SECONDS 20
/* A child blocked without using CPU (a deadlock) is caught by a wall-clock alarm this many times
 * longer. */
#define WALL_FACTOR 10

/* TCONV_TEST_HANG_SECONDS raises the limit for instrumented builds: scripts/coverage.sh counts
 * with atomic profile updates, which slow the plan-time loops here about tenfold (the hangs this
 * catches take hours, not seconds). */
static unsigned hang_seconds(void) {
    const char *v = getenv("TCONV_TEST_HANG_SECONDS");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? (unsigned)n : HANG_SECONDS;
}

/* Every algorithm, with gemm_blas only when this build has OpenBLAS. */
static tconv_algo algos[TCONV_ALGO_COUNT];
static int n_algos;
static const char *isas[16];
static int n_isas;

static int setup(void **state) {
    (void)state;
    tconv_shape s = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float w = 1;
    for (int a = 0; a < TCONV_ALGO_COUNT; a++) {
        tconv_plan *plan = NULL;
        tconv_status st = tconv_plan_create(&s, (tconv_algo)a, &w, NULL, &plan);
        tconv_plan_destroy(plan);
        if (st == TCONV_ERR_UNSUPPORTED) {
            printf("skip algorithm %s: %s\n", tconv_algo_name((tconv_algo)a), tconv_last_error());
            continue;
        }
        algos[n_algos++] = (tconv_algo)a;
    }
    for (int i = 0; i < tconv_isa_count() && n_isas < 16; i++) {
        const char *isa = tconv_isa_name(i);
        if (tconv_isa_compiled(isa) && tconv_isa_supported(isa)) isas[n_isas++] = isa;
    }
    return 0;
}

/* Runs fn in a child process under a CPU-time limit and a wall-clock alarm; fails the test when
 * the child hangs (spins or blocks) or fails. */
static void expect_fast(int (*fn)(void), const char *what) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const struct rlimit cpu = {hang_seconds(), hang_seconds() + 1};
        if (setrlimit(RLIMIT_CPU, &cpu) != 0) _exit(3);
        alarm(WALL_FACTOR * hang_seconds());
        exit(fn()); /* exit, not _exit: LeakSanitizer runs in the child */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
        fail_msg("%s: still running after %u s of CPU time (a hang where a fast answer is due)",
                 what, hang_seconds());
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("%s: still running after %u s (blocked where a fast answer is due)", what,
                 WALL_FACTOR * hang_seconds());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: child failed (status 0x%x; see its output above)", what, status);
}

/* ---- closed-form useful FLOPs against a brute-force count ---------------------------------- */

/* (i, t) pairs of one axis with o = i*s - p + t*d inside [0, out). */
static double brute_pairs(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
    double n = 0;
    for (int64_t i = 0; i < in; i++)
        for (int64_t t = 0; t < k; t++) {
            int64_t o = i * s - p + t * d;
            n += o >= 0 && o < out;
        }
    return n;
}

static void test_useful_flops_match_brute_force(void **state) {
    (void)state;
    size_t checked = 0;
    for (int64_t in = 1; in <= 5; in++)
        for (int64_t k = 1; k <= 6; k++)
            for (int64_t s = 1; s <= 4; s++)
                for (int64_t d = 1; d <= 3; d++)
                    for (int64_t op = 0; op < (s > d ? s : d); op++)
                        for (int64_t p = 0; p <= 7; p++) {
                            tconv_shape sh = {2, 3, 4, in, 2, k, 3, s, 2, p, 1, op, 1, d, 1, 1};
                            int64_t oh, ow;
                            if (tconv_output_size(&sh, &oh, &ow) != TCONV_OK) continue;
                            double nominal, useful;
                            assert_int_equal(tconv_flops(&sh, &nominal, &useful), TCONV_OK);
                            double want = 2.0 * 2 * 3 * 4 * brute_pairs(in, k, s, p, d, oh) *
                                          brute_pairs(2, 3, 2, 1, 1, ow);
                            if (useful != want)
                                fail_msg("in %" PRId64 " k %" PRId64 " s %" PRId64 " p %" PRId64
                                         " op %" PRId64 " d %" PRId64 ": useful %.17g, brute %.17g",
                                         in, k, s, p, op, d, useful, want);
                            assert_true(useful <= nominal);
                            checked++;
                        }
    assert_true(checked > 1000);
}

/* Shapes too big to count by brute force, with their known counts. */
static int flops_of_huge_shapes(void) {
    static const struct {
        tconv_shape s;
        double useful;
    } cases[] = {
        /* kernel_w 2^40+1 against a 4-wide output: 4 x 4 column pairs, 4 row pairs. */
        {{1, 1, 1, 4, 4, 1, P2(40) + 1, 1, 1, 0, P2(39), 0, 0, 1, 1, 1}, 2.0 * 4 * 16},
        /* Every one of 2^40 x 2^40 pairs lands (no padding): 2 * 2^80. */
        {{1, 1, 1, 1, P2(40), 1, P2(40), 1, 1, 0, 0, 0, 0, 1, 1, 1}, 0x1p81},
        /* Huge stride and padding: the single column tap lands at -2^59, outside. */
        {{1, 1, 1, 3, 1, 2, 1, 1, P2(61), 0, P2(59), 0, P2(60), 1, 1, 1}, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double nominal, useful;
        if (tconv_flops(&cases[i].s, &nominal, &useful) != TCONV_OK) {
            printf("case %zu: %s\n", i, tconv_last_error());
            return 1;
        }
        if (useful != cases[i].useful) {
            printf("case %zu: useful %.17g, expected %.17g\n", i, useful, cases[i].useful);
            return 2;
        }
    }
    return 0;
}

static void test_useful_flops_of_huge_shapes(void **state) {
    (void)state;
    expect_fast(flops_of_huge_shapes, "tconv_flops on huge kernels");
}

/* ---- signed overflow on accepted shapes ---------------------------------------------------- */

/* Found by UBSan: pad + stride - 1 overflowed in the FLOP count, direct and col2im, and Release
 * reported useful == nominal (12) where no tap lands (0). Values beyond 2^61 are refused by name.
 */
static void test_absurd_geometry_refused(void **state) {
    (void)state;
    static const struct {
        tconv_shape s;
        const char *needles[3];
    } cases[] = {
        {{1, 1, 1, 3, 1, 2, 1, 1, INT64_MAX, 0, P2(61), 0, P2(62), 1, 1, 1},
         {"stride_w", "9223372036854775807", "2305843009213693952"}},
        {{1, 1, 1, 1, 1, 1, 1, 1, 1, P2(61) + 1, 0, 0, 0, 1, 1, 1},
         {"pad_h", "2305843009213693953"}},
        {{1, 1, 1, 1, 1, 1, 2, 1, P2(62) + 2, 0, 0, 0, P2(62) + 1, 1, 1, 1},
         {"stride_w", "4611686018427387906"}},
        {{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, P2(62), 1, 1},
         {"dilation_h", "4611686018427387904"}},
        {{1, 1, 1, 1, 1, 1, P2(61) + 2, 1, 1, 0, P2(60), 0, 0, 1, 1, 1},
         {"dilation_w*(kernel_w-1)", "kernel_w 2305843009213693954"}},
        {{1, 1, 1, P2(61) + 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
         {"(in_h-1)*stride_h", "in_h 2305843009213693954"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double nominal = -1, useful = -1;
        int64_t oh, ow;
        tconv_status st = tconv_flops(&cases[i].s, &nominal, &useful);
        const char *msg = tconv_last_error();
        if (st != TCONV_ERR_INVALID)
            fail_msg("case %zu: status %d, useful %.17g (message \"%s\")", i, (int)st, useful, msg);
        for (int n = 0; n < 3 && cases[i].needles[n]; n++)
            if (strstr(msg, cases[i].needles[n]) == NULL)
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, msg, cases[i].needles[n]);
        assert_int_equal(tconv_output_size(&cases[i].s, &oh, &ow), TCONV_ERR_INVALID);
    }
}

/* Every algorithm and ISA against the reference on shapes at the limits: under UBSan any
 * overflow in an intermediate aborts. Outputs are tiny; the values are not. */
static void run_against_reference(const tconv_shape *s) {
    int64_t oh, ow;
    char desc[256];
    tu_shape_string(s, desc, sizeof desc);
    if (tconv_output_size(s, &oh, &ow) != TCONV_OK)
        fail_msg("%s refused: %s", desc, tconv_last_error());
    for (int a = 0; a < n_algos; a++) {
        if (algos[a] == TCONV_ALGO_ZERO_INSERT) continue; /* pads by d*(k-1): would allocate it */
        for (int i = 0; i < n_isas; i++)
            if (!tu_run_case(s, algos[a], isas[i], 11 + (uint64_t)i, a & 1))
                fail_msg("%s / %s on %s", tconv_algo_name(algos[a]), isas[i], desc);
    }
}

static void test_extreme_accepted_shapes(void **state) {
    (void)state;
    static const tconv_shape shapes[] = {
        /* The UBSan shape scaled to the limit: no column tap lands, y is the bias. */
        {1, 1, 1, 3, 1, 2, 1, 1, P2(61), 0, P2(59), 0, P2(60), 1, 1, 1},
        /* Largest stride, padding and output padding with a tap landing in the middle. */
        {1, 2, 2, 2, 2, 2, 2, P2(61), 1, P2(61) - 1, 0, P2(61) - 1, 0, 1, 1, 1},
        /* Largest dilation: the kernel rows land 2^61 - 1 apart, padding crops the first. */
        {1, 1, 3, 2, 3, 2, 2, 1, 2, P2(61) - 1, 1, P2(61) - 2, 1, P2(61) - 1, 1, 1},
        /* The same with stride 2, groups and the output padding compensating the padding. */
        {1, 2, 2, 3, 2, 2, 2, 2, 1, P2(61) - 2, 0, P2(61) - 4, 0, P2(61) - 1, 1, 2},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) run_against_reference(&shapes[i]);
}

/* ---- hangs instead of fast failures -------------------------------------------------------- */

/* kernel_w 2^40+1, 4x4 output, 4 TiB of weights: every algorithm must fail at once. */
static int plans_for_huge_kernel(void) {
    const tconv_shape shapes[] = {
        {1, 1, 1, 4, 4, 1, P2(40) + 1, 1, 1, 0, P2(39), 0, 0, 1, 1, 1},
        {1, 1, 1, 4, 4, P2(40) + 1, 1, 1, 1, P2(39), 0, 0, 0, 1, 1, 1}, /* the same along h */
    };
    float w = 1;
    for (int a = 0; a < 2 * TCONV_ALGO_COUNT; a++) {
        tconv_shape s = shapes[a / TCONV_ALGO_COUNT];
        tconv_plan *plan = (tconv_plan *)&s;
        tconv_algo algo = (tconv_algo)(a % TCONV_ALGO_COUNT);
        tconv_status st = tconv_plan_create(&s, algo, &w, NULL, &plan);
        if (plan != NULL || (st != TCONV_ERR_NOMEM && st != TCONV_ERR_UNSUPPORTED)) {
            printf("%s, shape %d: status %d, message \"%s\"\n", tconv_algo_name(algo),
                   a / TCONV_ALGO_COUNT, (int)st, tconv_last_error());
            tconv_plan_destroy(plan == (tconv_plan *)&s ? NULL : plan);
            return 1;
        }
    }
    /* 2^20 kernel columns over a 2^20-wide input at stride 1. With a NaN weight direct cannot
     * compute border columns against zero padding, so its column taps would be ~2^40 entries;
     * it must find that out by counting in closed form, not by walking them. With finite
     * weights it pads (zeros cost 2x the useful work at most) and needs no such table: the plan
     * is made at once, its size linear in the kernel (measured 151 MB: the weights packed in a
     * 16-channel tile, 64 MiB, and per-thread tables of 2^20 tap pointers). */
    tconv_shape wide = {1, 1, 1, 1, P2(20), 1, P2(20), 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float *wide_w = calloc((size_t)P2(20), sizeof(float)); /* this time the weights are real */
    if (wide_w == NULL) return 1;
    int failed = 0;
    for (int finite = 0; finite <= 1; finite++) {
        wide_w[7] = finite ? 0.0f : NAN;
        tconv_plan *plan = NULL;
        tconv_status st = tconv_plan_create(&wide, TCONV_ALGO_DIRECT, wide_w, NULL, &plan);
        size_t bytes = tconv_plan_memory_bytes(plan);
        tconv_plan_destroy(plan);
        int ok = finite ? st == TCONV_OK && bytes < ((size_t)256 << 20) : st == TCONV_ERR_NOMEM;
        if (!ok) {
            printf("direct, 2^20 x 2^20 columns, %s weights: status %d, %zu bytes, message "
                   "\"%s\"\n",
                   finite ? "finite" : "a NaN among the", (int)st, bytes, tconv_last_error());
            failed = 1;
        }
    }
    free(wide_w);
    return failed;
}

static void test_huge_kernel_fails_fast(void **state) {
    (void)state;
    expect_fast(plans_for_huge_kernel, "plan_create with a 2^40+1 kernel");
}

/* 2^20 kernel columns on 2^20 column phases (stride 2^20) of a 1-pixel-wide input: 4 MiB of
 * weights and output, but phases x kernel columns is 2^40. Plans and runs must stay small. */
static int many_phases(void) {
    tconv_shape s = {1, 1, 1, 2, 1, 2, P2(20), 1, P2(20), 0, 0, 0, 0, 1, 1, 1};
    static const tconv_algo which[] = {TCONV_ALGO_DIRECT, TCONV_ALGO_REFERENCE, TCONV_ALGO_GEMM,
                                       TCONV_ALGO_SPARSE, TCONV_ALGO_AUTO};
    for (size_t a = 0; a < sizeof which / sizeof which[0]; a++)
        if (!tu_run_case(&s, which[a], NULL, 5, 1)) return 1;
    return 0;
}

static void test_many_phases_fast(void **state) {
    (void)state;
    expect_fast(many_phases, "plans and runs with 2^20 phases x 2^20 kernel columns");
}

/* ---- NaN and Inf ---------------------------------------------------------------------------- */

enum { FINITE = 0, NAN_V = 1, POS_INF = 2, NEG_INF = 3 };
static int classify(float v) {
    if (isnan(v)) return NAN_V;
    if (isinf(v)) return v > 0 ? POS_INF : NEG_INF;
    return FINITE;
}

static size_t y_index(const tconv_shape *s, int64_t oh, int64_t ow, int64_t n, int64_t co,
                      int64_t oy, int64_t ox) {
    return (size_t)(((n * s->out_channels + co) * oh + oy) * ow + ox);
}

/* Brute force: the outputs a product with x[xi] (when in_x) or w[wi] contributes to. */
static void touched_outputs(const tconv_shape *s, int in_x, size_t idx, unsigned char *touched) {
    int64_t oh, ow;
    assert_int_equal(tconv_output_size(s, &oh, &ow), TCONV_OK);
    int64_t cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t ci = 0; ci < s->in_channels; ci++)
            for (int64_t iy = 0; iy < s->in_h; iy++)
                for (int64_t ix = 0; ix < s->in_w; ix++)
                    for (int64_t c = 0; c < cout_g; c++)
                        for (int64_t ky = 0; ky < s->kernel_h; ky++)
                            for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                                size_t xi =
                                    (size_t)(((n * s->in_channels + ci) * s->in_h + iy) * s->in_w +
                                             ix);
                                size_t wi =
                                    (size_t)(((ci * cout_g + c) * s->kernel_h + ky) * s->kernel_w +
                                             kx);
                                if ((in_x ? xi : wi) != idx) continue;
                                int64_t oy = iy * s->stride_h - s->pad_h + ky * s->dilation_h;
                                int64_t ox = ix * s->stride_w - s->pad_w + kx * s->dilation_w;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                touched[y_index(s, oh, ow, n, ci / cin_g * cout_g + c, oy, ox)] = 1;
                            }
}

static float *run_plan(const tconv_shape *s, tconv_algo algo, const char *isa, const float *x,
                       const float *w, const float *b) {
    tconv_plan_options opt = {.isa = isa};
    tconv_plan *plan = NULL;
    float *y = malloc(tu_y_elems(s) * sizeof(float));
    assert_non_null(y);
    if (tconv_plan_create_ex(s, algo, w, b, &opt, &plan) != TCONV_OK ||
        tconv_plan_run(plan, x, y) != TCONV_OK)
        fail_msg("%s/%s: %s", tconv_algo_name(algo), isa, tconv_last_error());
    tconv_plan_destroy(plan);
    return y;
}

static const tconv_shape nonfinite_shapes[] = {
    {1, 3, 4, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  /* direct pads its border columns here */
    {2, 4, 4, 4, 3, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 2},  /* groups, batch */
    {1, 2, 3, 3, 4, 3, 2, 3, 1, 2, 0, 1, 0, 2, 1, 1},  /* dilation, output padding */
    {1, 64, 8, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* auto picks gemm */
    {1, 1, 2, 6, 7, 3, 5, 1, 1, 2, 3, 0, 0, 1, 1, 1},  /* stride 1, wide padding */
};

/* zero_insert multiplies every weight by every inserted or padding zero (documented): a NaN weight
 * makes every output of its output channel NaN, an Inf weight every one of them non-finite. */
static void check_zero_insert_weight(const tconv_shape *s, size_t wi, float bad, const float *y) {
    int64_t oh, ow;
    assert_int_equal(tconv_output_size(s, &oh, &ow), TCONV_OK);
    int64_t cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    int64_t taps = s->kernel_h * s->kernel_w;
    int64_t ci = (int64_t)wi / (cout_g * taps), c = (int64_t)wi / taps % cout_g;
    int64_t co = ci / cin_g * cout_g + c;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t p = 0; p < oh * ow; p++) {
            float v = y[y_index(s, oh, ow, n, co, 0, 0) + (size_t)p];
            if (isnan(bad) ? !isnan(v) : isfinite(v))
                fail_msg("zero_insert: weight %zu = %g, output (n %" PRId64 ", co %" PRId64
                         ", pixel %" PRId64 ") = %g",
                         wi, (double)bad, n, co, p, (double)v);
        }
}

/* Every algorithm and ISA gives the reference's pattern of NaN, +Inf and -Inf outputs for one
 * non-finite value in x or w, and the reference's is exactly the brute-force touched set. */
static void check_nonfinite(const tconv_shape *s, int in_x, size_t idx, float bad) {
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *b = malloc((size_t)s->out_channels * sizeof(float));
    unsigned char *touched = calloc(ny, 1);
    assert_true(x && w && b && touched);
    tu_rng rng;
    tu_seed(&rng, 3 + idx);
    tu_fill(&rng, x, nx), tu_fill(&rng, w, nw), tu_fill(&rng, b, (size_t)s->out_channels);
    (in_x ? x : w)[idx] = bad;
    touched_outputs(s, in_x, idx, touched);
    char desc[256];
    tu_shape_string(s, desc, sizeof desc);
    float *ref = run_plan(s, TCONV_ALGO_REFERENCE, NULL, x, w, b);
    for (size_t i = 0; i < ny; i++)
        if ((classify(ref[i]) != FINITE) != touched[i])
            fail_msg("reference on %s, %s[%zu] = %g: output %zu is %g, touched %d", desc,
                     in_x ? "x" : "w", idx, (double)bad, i, (double)ref[i], touched[i]);
    for (int a = 0; a < n_algos; a++)
        for (int k = 0; k < n_isas; k++) {
            float *y = run_plan(s, algos[a], isas[k], x, w, b);
            if (algos[a] == TCONV_ALGO_ZERO_INSERT && !in_x) {
                check_zero_insert_weight(s, idx, bad, y);
                free(y);
                continue;
            }
            for (size_t i = 0; i < ny; i++)
                if (classify(y[i]) != classify(ref[i]))
                    fail_msg("%s/%s on %s, %s[%zu] = %g: output %zu is %g, reference %g",
                             tconv_algo_name(algos[a]), isas[k], desc, in_x ? "x" : "w", idx,
                             (double)bad, i, (double)y[i], (double)ref[i]);
            free(y);
        }
    free(ref), free(touched), free(x), free(w), free(b);
}

static void test_nonfinite_patterns(void **state) {
    (void)state;
    const float values[] = {NAN, INFINITY, -INFINITY};
    for (size_t si = 0; si < sizeof nonfinite_shapes / sizeof nonfinite_shapes[0]; si++) {
        const tconv_shape *s = &nonfinite_shapes[si];
        for (int in_x = 0; in_x <= 1; in_x++) {
            size_t n = in_x ? tu_x_elems(s) : tu_w_elems(s);
            const size_t where[] = {0, n / 2 + 1, n - 1};
            for (size_t v = 0; v < 3; v++)
                for (size_t p = 0; p < 3; p++) check_nonfinite(s, in_x, where[p] % n, values[v]);
        }
    }
}

/* ---- aliasing ------------------------------------------------------------------------------- */

static void expect_overlap_refused(tconv_status st, const char *a, const char *b) {
    char needle[64];
    snprintf(needle, sizeof needle, "%s and %s overlap", a, b);
    if (st != TCONV_ERR_INVALID || strstr(tconv_last_error(), needle) == NULL)
        fail_msg("status %d, message \"%s\": expected INVALID with \"%s\"", (int)st,
                 tconv_last_error(), needle);
}

static void test_aliasing_refused(void **state) {
    (void)state;
    const tconv_shape s = nonfinite_shapes[1];
    size_t nx = tu_x_elems(&s), nw = tu_w_elems(&s), ny = tu_y_elems(&s);
    /* [x][gap][w][bias][gap][y], gaps of ny + 1 floats: each overlap below hits one tensor. */
    size_t gap = ny + 1, total = nx + gap + nw + (size_t)s.out_channels + gap + ny;
    float *buf = malloc(total * sizeof(float)), *copy = malloc(total * sizeof(float));
    assert_true(buf && copy);
    tu_rng rng;
    tu_seed(&rng, 9);
    tu_fill(&rng, buf, total);
    memcpy(copy, buf, total * sizeof(float));
    float *x = buf, *w = x + nx + gap, *b = w + nw, *y = b + s.out_channels + gap;
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, w, b, &plan), TCONV_OK);
    /* x == y, y's last float on x's first, x's last float on y's first: refused, y untouched. */
    expect_overlap_refused(tconv_plan_run(plan, x, x), "x", "y");
    expect_overlap_refused(tconv_plan_run(plan, x + ny - 1, x), "x", "y");
    expect_overlap_refused(tconv_plan_run(plan, x, x + nx - 1), "x", "y");
    expect_overlap_refused(tconv_forward(&s, TCONV_ALGO_GEMM, x, w, b, x + 3), "x", "y");
    expect_overlap_refused(tconv_forward(&s, TCONV_ALGO_GEMM, x, w, b, w - ny + 1), "w", "y");
    expect_overlap_refused(tconv_forward(&s, TCONV_ALGO_GEMM, x, w, b, b + s.out_channels - 1),
                           "bias", "y");
    assert_memory_equal(buf, copy, total * sizeof(float));
    /* Adjacent but disjoint is fine, and x, w and bias may share memory (all read-only). */
    assert_int_equal(tconv_plan_run(plan, x, x + nx), TCONV_OK);
    assert_int_equal(tconv_plan_run(plan, x + ny, x), TCONV_OK);
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_GEMM, w, w, w, y), TCONV_OK);
    tconv_plan_destroy(plan);
    free(buf), free(copy);
}

/* ---- messages name fields, not intermediate products --------------------------------------- */

static void expect_message(tconv_status st, tconv_status want, const char *const *needles) {
    const char *msg = tconv_last_error();
    if (st != want) fail_msg("status %d, expected %d; message \"%s\"", (int)st, (int)want, msg);
    for (size_t i = 0; needles[i]; i++)
        if (strstr(msg, needles[i]) == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", msg, needles[i]);
    if (strstr(msg, " * ") != NULL) fail_msg("message \"%s\" prints a product", msg);
}

static void test_size_messages_name_fields(void **state) {
    (void)state;
    /* y: 64 * 1024 * 33553410 * 33553412 floats. */
    tconv_shape s = {64, 1, 1024, P2(15), P2(15), 3, 2, P2(10), P2(10), 1, 0, 1, 2, 1, 1, 1};
    int64_t oh, ow;
    const char *const y_needles[] = {"y (batch*out_channels*out_h*out_w)",
                                     "overflows size_t",
                                     "batch 64",
                                     "out_channels 1024",
                                     "out_h 33553410",
                                     "out_w 33553412",
                                     NULL};
    expect_message(tconv_output_size(&s, &oh, &ow), TCONV_ERR_INVALID, y_needles);
    /* The gemm column buffer (Cout/g*Kh*Kw x H*W = 2^64 floats) while x, w and y all fit. */
    tconv_shape c = {1, 1, 1, P2(16), P2(16), P2(16), P2(16), 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float w = 1;
    tconv_plan *plan = NULL;
    const char *const col_needles[] = {"column buffer",
                                       "overflows size_t",
                                       "kernel_h 65536",
                                       "kernel_w 65536",
                                       "in_h 65536",
                                       "in_w 65536",
                                       NULL};
    expect_message(tconv_plan_create(&c, TCONV_ALGO_GEMM, &w, NULL, &plan), TCONV_ERR_INVALID,
                   col_needles);
    assert_null(plan);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_useful_flops_match_brute_force),
        cmocka_unit_test(test_useful_flops_of_huge_shapes),
        cmocka_unit_test(test_absurd_geometry_refused),
        cmocka_unit_test(test_extreme_accepted_shapes),
        cmocka_unit_test(test_huge_kernel_fails_fast),
        cmocka_unit_test(test_many_phases_fast),
        cmocka_unit_test(test_nonfinite_patterns),
        cmocka_unit_test(test_aliasing_refused),
        cmocka_unit_test(test_size_messages_name_fields),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
