/* Runtime dispatch under each environment: concurrent first use, forced/capped ISAs, refusals. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* Dispatch is resolved once per process from TCONV_FORCE_ISA / TCONV_MAX_ISA, so each ctest
 * entry (tests/dispatch_tests.cmake) runs this binary in one mode with its own environment:
 *   default        no variable set: concurrent first use and the highest usable ISA
 *   refused VAR    VAR names an unusable ISA: every call refused, naming VAR, value and reason
 *   max-check      TCONV_MAX_ISA names a known ISA: the highest usable one up to it is active
 *   force-check    TCONV_FORCE_ISA names a known ISA: it is active and used by every plan, or the
 *                  test is reported as skipped when this build or CPU cannot run it */

#define THREADS 8

/* ISA tags of this architecture, in the library's priority order (tconv_isa_name order). */
#if defined(__x86_64__) || defined(__i386__)
static const char *const arch_isas[] = {"scalar", "sse41", "avx2", "avx512"};
#elif defined(__aarch64__) || defined(__arm__)
static const char *const arch_isas[] = {"scalar", "neon"};
#else
static const char *const arch_isas[] = {"scalar"};
#endif
#define ARCH_ISA_COUNT (sizeof arch_isas / sizeof arch_isas[0])

static const char *refused_var; /* the VAR argument of the `refused` mode */

/* ---- helpers ------------------------------------------------------------------------------ */

/* Small shape with groups, stride, padding and output padding, so every algorithm has work. */
static tconv_shape small_shape(void) {
    tconv_shape s = {.batch = 2,
                     .in_channels = 4,
                     .out_channels = 6,
                     .in_h = 5,
                     .in_w = 6,
                     .kernel_h = 3,
                     .kernel_w = 3,
                     .stride_h = 2,
                     .stride_w = 2,
                     .pad_h = 1,
                     .pad_w = 1,
                     .out_pad_h = 1,
                     .out_pad_w = 0,
                     .dilation_h = 1,
                     .dilation_w = 1,
                     .groups = 2};
    return s;
}

/* A non-empty environment variable, or NULL: the library treats "" like unset. */
static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Position of a tag in tconv_isa_name order, or -1 when the library does not know it. */
static int isa_index(const char *tag) {
    for (int i = 0; i < tconv_isa_count(); i++)
        if (strcmp(tconv_isa_name(i), tag) == 0) return i;
    return -1;
}

static int isa_usable(const char *tag) {
    return tconv_isa_compiled(tag) && tconv_isa_supported(tag);
}

/* Highest usable ISA of this architecture whose priority does not exceed `cap_index`. */
static const char *highest_usable(int cap_index) {
    const char *best = NULL;
    for (size_t i = 0; i < ARCH_ISA_COUNT; i++)
        if (isa_index(arch_isas[i]) <= cap_index && isa_usable(arch_isas[i])) best = arch_isas[i];
    return best;
}

/* The dispatcher's choice must also be what plans use, for every algorithm. The algorithms that
 * can be missing from a build (gemm_blas without OpenBLAS) are skipped with a note. */
static void expect_plans_use(const char *isa) {
    tconv_shape s = small_shape();
    float *w = calloc(tu_w_elems(&s), sizeof(float));
    assert_non_null(w);
    for (int a = 0; a < TCONV_ALGO_COUNT; a++) {
        tconv_plan *plan = NULL;
        tconv_status st = tconv_plan_create(&s, (tconv_algo)a, w, NULL, &plan);
        if (st == TCONV_ERR_UNSUPPORTED && a == TCONV_ALGO_GEMM_BLAS) {
            print_message("note: %s unavailable: %s\n", tconv_algo_name(a), tconv_last_error());
            continue;
        }
        if (st != TCONV_OK)
            fail_msg("plan_create(%s): %s", tconv_algo_name((tconv_algo)a), tconv_last_error());
        assert_string_equal(tconv_plan_isa(plan), isa);
        tconv_plan_destroy(plan);
    }
    free(w);
}

/* Results of the dispatcher's choice match the reference, for every dispatched algorithm. */
static void expect_correct_results(void) {
    tconv_shape s = small_shape();
    static const tconv_algo algos[] = {TCONV_ALGO_AUTO, TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT,
                                       TCONV_ALGO_GEMM, TCONV_ALGO_SPARSE};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++)
        if (!tu_run_case(&s, algos[i], NULL, 100 + i, 1))
            fail_msg("%s under %s gives wrong results", tconv_algo_name(algos[i]),
                     tconv_active_isa());
}

/* Fails unless the thread's message mentions every needle. */
static void expect_message(const char *context, const char *a, const char *b, const char *c) {
    const char *needles[] = {a, b, c};
    for (size_t i = 0; i < 3; i++)
        if (needles[i] && !strstr(tconv_last_error(), needles[i]))
            fail_msg("%s: message \"%s\" does not mention \"%s\"", context, tconv_last_error(),
                     needles[i]);
}

/* ---- default mode: concurrent first use ---------------------------------------------------- */

typedef struct first_use {
    pthread_barrier_t *start;
    tconv_algo algo;
    tconv_shape shape;
    float *x, *w, *b, *y;
    const char *isa;   /* tconv_active_isa() as the thread's first library call */
    tconv_status st;   /* of its tconv_forward */
    int correct;       /* y matches the reference within the bound */
    char message[256]; /* tconv_last_error() after a failure */
} first_use;

static void *first_use_thread(void *arg) {
    first_use *u = arg;
    pthread_barrier_wait(u->start); /* all threads enter the library together */
    u->isa = tconv_active_isa();
    u->st = tconv_forward(&u->shape, u->algo, u->x, u->w, u->b, u->y);
    snprintf(u->message, sizeof u->message, "%s", tconv_last_error());
    u->correct = u->st == TCONV_OK &&
                 tu_check_output(&u->shape, tconv_algo_name(u->algo), NULL, u->x, u->w, u->b, u->y);
    return NULL;
}

/* Inputs are prepared with test helpers only: the threads' calls must be the process's first. */
static void first_use_init(first_use *u, pthread_barrier_t *start, size_t index) {
    static const tconv_algo algos[] = {TCONV_ALGO_AUTO, TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT,
                                       TCONV_ALGO_GEMM, TCONV_ALGO_SPARSE};
    tu_rng rng;
    memset(u, 0, sizeof *u);
    u->start = start;
    u->algo = algos[index % (sizeof algos / sizeof algos[0])];
    u->shape = small_shape();
    u->x = malloc(tu_x_elems(&u->shape) * sizeof(float));
    u->w = malloc(tu_w_elems(&u->shape) * sizeof(float));
    u->b = malloc((size_t)u->shape.out_channels * sizeof(float));
    u->y = malloc(tu_y_elems(&u->shape) * sizeof(float));
    assert_true(u->x && u->w && u->b && u->y);
    tu_seed(&rng, 1000 + index);
    tu_fill(&rng, u->x, tu_x_elems(&u->shape));
    tu_fill(&rng, u->w, tu_w_elems(&u->shape));
    tu_fill(&rng, u->b, (size_t)u->shape.out_channels);
}

static void test_concurrent_first_use(void **state) {
    (void)state;
    pthread_barrier_t start;
    pthread_t threads[THREADS];
    first_use uses[THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (size_t i = 0; i < THREADS; i++) first_use_init(&uses[i], &start, i);
    for (size_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, first_use_thread, &uses[i]), 0);
    for (size_t i = 0; i < THREADS; i++) assert_int_equal(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&start);

    for (size_t i = 0; i < THREADS; i++) {
        first_use *u = &uses[i];
        if (u->st != TCONV_OK)
            fail_msg("thread %zu: forward(%s) failed: %s", i, tconv_algo_name(u->algo), u->message);
        assert_non_null(u->isa);
        assert_string_equal(u->isa, uses[0].isa);
        if (!u->correct) fail_msg("thread %zu: forward(%s) wrong", i, tconv_algo_name(u->algo));
        free(u->x), free(u->w), free(u->b), free(u->y);
    }
    assert_string_not_equal(uses[0].isa, "none");
}

/* The library's tag list keeps this architecture's ISAs in the expected priority order. */
static void test_isa_order(void **state) {
    (void)state;
    int previous = -1;
    for (size_t i = 0; i < ARCH_ISA_COUNT; i++) {
        int index = isa_index(arch_isas[i]);
        if (index <= previous) fail_msg("ISA %s out of priority order (%d)", arch_isas[i], index);
        previous = index;
    }
    assert_null(tconv_isa_name(tconv_isa_count()));
    assert_null(tconv_isa_name(-1));
    assert_true(isa_usable("scalar")); /* the fallback every build and CPU must have */
}

static void test_default_is_highest_usable(void **state) {
    (void)state;
    if (env("TCONV_FORCE_ISA") || env("TCONV_MAX_ISA")) {
        print_message("TCONV_FORCE_ISA or TCONV_MAX_ISA is set: default mode needs neither\n");
        skip();
    }
    const char *expected = highest_usable(tconv_isa_count());
    print_message("active ISA %s, expected %s\n", tconv_active_isa(), expected);
    assert_string_equal(tconv_active_isa(), expected);
    expect_plans_use(expected);
}

/* ---- refused mode -------------------------------------------------------------------------- */

/* The reason the message must give for an unusable value of the variable. */
static const char *refusal_reason(const char *value) {
    if (isa_index(value) < 0) return "unknown";
    if (!tconv_isa_compiled(value)) return "not compiled";
    return "not supported";
}

static void test_refused(void **state) {
    (void)state;
    const char *value = env(refused_var);
    if (value == NULL) fail_msg("%s must be set for this mode", refused_var);
    if (isa_index(value) >= 0 && isa_usable(value) && strcmp(refused_var, "TCONV_FORCE_ISA") == 0)
        fail_msg("TCONV_FORCE_ISA=%s is usable here: registered wrongly", value);
    const char *reason = refusal_reason(value);
    tconv_shape s = small_shape();
    float *w = calloc(tu_w_elems(&s), sizeof(float)), *x = calloc(tu_x_elems(&s), sizeof(float));
    float *y = malloc(tu_y_elems(&s) * sizeof(float));
    assert_true(w && x && y);

    assert_string_equal(tconv_active_isa(), "none");
    /* Even the reference is refused: a loud failure beats silently ignoring the variable. */
    for (int a = 0; a < TCONV_ALGO_COUNT; a++) {
        char context[64];
        snprintf(context, sizeof context, "forward(%s)", tconv_algo_name((tconv_algo)a));
        memset(y, 0xA5, tu_y_elems(&s) * sizeof(float));
        assert_int_equal(tconv_forward(&s, (tconv_algo)a, x, w, NULL, y), TCONV_ERR_UNSUPPORTED);
        expect_message(context, refused_var, value, reason);
        for (size_t i = 0; i < tu_y_elems(&s) * sizeof(float); i++)
            if (((unsigned char *)y)[i] != 0xA5) fail_msg("%s: refused call wrote y", context);

        tconv_plan *plan = (tconv_plan *)&s;
        assert_int_equal(tconv_plan_create(&s, (tconv_algo)a, w, NULL, &plan),
                         TCONV_ERR_UNSUPPORTED);
        expect_message("plan_create", refused_var, value, reason);
        assert_null(plan);
    }
    free(w), free(x), free(y);
}

/* ---- max-check mode ------------------------------------------------------------------------ */

static void test_max_check(void **state) {
    (void)state;
    const char *cap = env("TCONV_MAX_ISA");
    if (cap == NULL || isa_index(cap) < 0) fail_msg("TCONV_MAX_ISA must name a known ISA");
    if (env("TCONV_FORCE_ISA")) fail_msg("TCONV_FORCE_ISA must not be set for this mode");
    const char *expected = highest_usable(isa_index(cap));
    print_message("TCONV_MAX_ISA=%s: active %s, expected %s\n", cap, tconv_active_isa(), expected);
    assert_string_equal(tconv_active_isa(), expected);
    expect_plans_use(expected);
    expect_correct_results();
}

/* ---- force-check mode ---------------------------------------------------------------------- */

static void test_force_check(void **state) {
    (void)state;
    const char *isa = env("TCONV_FORCE_ISA");
    if (isa == NULL || isa_index(isa) < 0) fail_msg("TCONV_FORCE_ISA must name a known ISA");
    if (!isa_usable(isa)) {
        /* Check the refusal first, so the skip is itself tested; then report it as a skip. */
        const char *reason = refusal_reason(isa);
        tconv_shape s = small_shape();
        float w = 0.0f;
        tconv_plan *plan = NULL;
        assert_string_equal(tconv_active_isa(), "none");
        assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, &w, NULL, &plan),
                         TCONV_ERR_UNSUPPORTED);
        expect_message("plan_create", "TCONV_FORCE_ISA", isa, reason);
        print_message("SKIP: ISA %s is %s here (compiled %d, supported %d)\n", isa, reason,
                      tconv_isa_compiled(isa), tconv_isa_supported(isa));
        skip();
    }
    assert_string_equal(tconv_active_isa(), isa);
    expect_plans_use(isa);
    expect_correct_results();
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "default";
    const struct CMUnitTest default_tests[] = {
        cmocka_unit_test(test_concurrent_first_use), /* first: no library call may precede it */
        cmocka_unit_test(test_isa_order),
        cmocka_unit_test(test_default_is_highest_usable),
    };
    const struct CMUnitTest refused_tests[] = {cmocka_unit_test(test_refused)};
    const struct CMUnitTest max_tests[] = {cmocka_unit_test(test_max_check)};
    const struct CMUnitTest force_tests[] = {cmocka_unit_test(test_force_check)};

    if (strcmp(mode, "default") == 0)
        return cmocka_run_group_tests_name("dispatch default", default_tests, NULL, NULL);
    if (strcmp(mode, "refused") == 0 && argc > 2) {
        refused_var = argv[2];
        return cmocka_run_group_tests_name("dispatch refused", refused_tests, NULL, NULL);
    }
    if (strcmp(mode, "max-check") == 0)
        return cmocka_run_group_tests_name("dispatch max-check", max_tests, NULL, NULL);
    if (strcmp(mode, "force-check") == 0)
        return cmocka_run_group_tests_name("dispatch force-check", force_tests, NULL, NULL);
    fprintf(stderr, "usage: %s [default | refused VAR | max-check | force-check]\n", argv[0]);
    return 2;
}
