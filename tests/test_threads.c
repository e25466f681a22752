/* Threads: the options and TCONV_NUM_THREADS, caller pools, concurrent plans, and y bit-for-bit
 * the same for 1, 2, 3 and 7 threads over a shape matrix, every algorithm and usable ISA. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, setenv */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthreadpool.h>

#include "testutil.h"

/* Under a sanitizer (ASan, TSan: 5-15x slower), an emulator (qemu) or the coverage build
 * (scripts/coverage.sh defines TCONV_COVERAGE_BUILD: -O1 and counters made the matrix 196-230 s,
 * the suite's longest; every ISA's kernels are covered by test_algorithms, and the parallel split
 * is the same code for every ISA) each (shape, algorithm) runs under one ISA, rotating, as in
 * test_algorithms; TCONV_TEST_FULL=1 restores every ISA. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif
#ifndef SANITIZED_BUILD
#define SANITIZED_BUILD 0
#endif
#ifdef TCONV_COVERAGE_BUILD
#define ROTATE_ISAS 1
#else
#define ROTATE_ISAS (SANITIZED_BUILD || TCONV_TEST_EMULATED)
#endif
#ifndef TCONV_TEST_EMULATED /* set by tests/CMakeLists.txt for cross builds run under qemu */
#define TCONV_TEST_EMULATED 0
#endif

/* Thread counts the determinism test compares; 1 is the plain loop every other must equal. */
static const int thread_counts[] = {1, 2, 3, 7};
#define N_COUNTS (sizeof thread_counts / sizeof thread_counts[0])

/* ---- data --------------------------------------------------------------------------------- */

typedef struct problem {
    tconv_shape s;
    float *x, *w, *b;
    size_t ny;
} problem;

static void problem_init(problem *p, const tconv_shape *s, uint64_t seed) {
    p->s = *s;
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s);
    p->ny = tu_y_elems(s);
    p->x = malloc(nx * sizeof(float)), p->w = malloc(nw * sizeof(float));
    p->b = malloc((size_t)s->out_channels * sizeof(float));
    assert_true(p->x && p->w && p->b);
    tu_rng rng;
    tu_seed(&rng, seed);
    tu_fill(&rng, p->x, nx), tu_fill(&rng, p->w, nw), tu_fill(&rng, p->b, (size_t)s->out_channels);
}

static void problem_free(problem *p) { free(p->x), free(p->w), free(p->b); }

/* Plans with the options, runs once into a NaN-filled y; returns the status. */
static tconv_status run_with(const problem *p, tconv_algo algo, const tconv_plan_options *opt,
                             float *y, int *threads_out) {
    for (size_t i = 0; i < p->ny; i++) y[i] = NAN;
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create_ex(&p->s, algo, p->w, p->b, opt, &plan);
    if (st == TCONV_OK) st = tconv_plan_run(plan, p->x, y);
    if (threads_out) *threads_out = tconv_plan_threads(plan);
    tconv_plan_destroy(plan);
    return st;
}

static size_t first_difference(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
    return n;
}

/* ---- determinism over the shape matrix ---------------------------------------------------- */

static tconv_shape shape(int64_t batch, int64_t cin, int64_t cout, int64_t groups, int64_t ih,
                         int64_t iw, int64_t k, int64_t s, int64_t p, int64_t op, int64_t d) {
    return (tconv_shape){batch, cin, cout, ih, iw, k, k, s, s, p, p, op, op, d, d, groups};
}

/* Batch 1 with few channels (where the split must come from rows and tiles), groups, dilation,
 * output padding, k < s, k == s, k > s, batch 2, and sizes that split the GEMM along N (many
 * pixels) and along M (many output channels x taps). */
static tconv_shape matrix_shape(size_t i) {
    switch (i) {
    case 0: return shape(1, 1, 1, 1, 32, 32, 4, 2, 1, 0, 1);   /* 1->1 upsample, small */
    case 1: return shape(1, 21, 21, 1, 7, 7, 16, 8, 4, 0, 1);  /* FCN-8s-like, k > s */
    case 2: return shape(1, 64, 32, 1, 4, 4, 4, 2, 1, 0, 1);   /* DCGAN-like, M split */
    case 3: return shape(1, 32, 16, 1, 12, 12, 2, 2, 0, 0, 1); /* U-Net-like, k == s */
    case 4: return shape(1, 3, 5, 1, 40, 40, 3, 1, 1, 0, 1);   /* N split, stride 1 */
    case 5: return shape(1, 2, 3, 1, 6, 5, 2, 3, 0, 2, 1);     /* k < s, output padding */
    case 6: return shape(1, 16, 24, 4, 6, 5, 3, 2, 1, 1, 1);   /* groups, output padding */
    case 7: return shape(1, 8, 8, 8, 9, 9, 3, 2, 1, 1, 1);     /* depthwise */
    case 8: return shape(1, 4, 6, 1, 7, 6, 3, 2, 2, 1, 2);     /* dilation 2 */
    case 9: return shape(2, 6, 4, 2, 5, 7, 5, 2, 2, 1, 1);     /* batch 2, groups, k > s */
    case 10: return shape(1, 56, 1, 1, 10, 10, 9, 3, 4, 2, 1); /* FSRCNN-like, one output */
    case 11: {                                                 /* rectangular */
        tconv_shape s = shape(1, 5, 7, 1, 9, 4, 3, 2, 1, 0, 1);
        s.kernel_w = 4, s.stride_w = 3, s.pad_w = 0, s.out_pad_w = 2;
        return s;
    }
    case 12: return shape(1, 128, 64, 1, 3, 3, 4, 2, 1, 0, 1); /* M split, K > 1 block */
    case 14: /* rowconv's expanded rows: stride 4, pad 5, output padding, 39 columns */
        return shape(1, 3, 3, 1, 9, 11, 8, 4, 5, 1, 1);
    case 15: /* rowconv with masks: one tap per lane (k3 s4), 9 channels, output padding */
        return shape(1, 7, 9, 1, 10, 10, 3, 4, 1, 2, 1);
    case 16: /* rowconv with masks, stride 5 (five weight classes), two taps per lane */
        return shape(1, 2, 3, 1, 9, 13, 7, 5, 2, 3, 1);
    case 13: /* gemm's bands of GEMM + col2im (overlapping taps, col bigger than half the L2) */
        return shape(1, 2, 3, 1, 64, 600, 3, 2, 1, 1, 1);
    /* gemm: 1x1 stride 1 unpadded (the micro-kernel writes y; M 30: 12 + 12 + 6 rows), and 1x1
     * stride 2 with output padding (outputs no tap reaches: GEMM + col2im). */
    case 17: return shape(1, 40, 30, 1, 9, 13, 1, 1, 0, 0, 1);
    case 18: return shape(1, 24, 20, 1, 7, 20, 1, 2, 0, 1, 1);
    /* gemm's fused col2im (taps never overlap): K over two KC blocks (a pass takes at most 2048
     * rows of K), so the last block finishes col's partial sums before the scatter; rows of 9
     * cross the NR-wide tiles. */
    case 19: return shape(1, 2100, 20, 1, 9, 9, 2, 2, 0, 0, 1);
    /* gemm's AVX-512 pairs kernel (k2 s2 fused tiles stored from registers): 64-wide rows, so
     * the 32-column slivers lie inside input rows; M 120, split into MR multiples. */
    default: return shape(1, 24, 30, 1, 4, 64, 2, 2, 0, 0, 1);
    }
}
#define N_SHAPES 21

static const tconv_algo all_algos[] = {
    TCONV_ALGO_REFERENCE, TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT, TCONV_ALGO_GEMM,
    TCONV_ALGO_SPARSE,    TCONV_ALGO_GEMM_BLAS,   TCONV_ALGO_AUTO};

/* One (shape, algorithm, ISA): every thread count gives the 1-thread bits; the 7-thread result is
 * also checked against the reference (the split computes the right thing, not just a stable one).
 * pools[c] runs thread_counts[c] (see test_bit_identical_for_every_thread_count). Returns the
 * number of failures. */
static int check_case(const problem *p, tconv_algo algo, const char *isa, float *y1, float *yn,
                      pthreadpool_t const pools[N_COUNTS]) {
    char desc[256];
    tu_shape_string(&p->s, desc, sizeof desc);
    int failures = 0, threads;
    tconv_plan_options opt = {.isa = isa, .threads = 1};
    tconv_status st = run_with(p, algo, &opt, y1, &threads);
    if (st == TCONV_ERR_UNSUPPORTED && algo == TCONV_ALGO_GEMM_BLAS) return 0; /* no OpenBLAS */
    if (st != TCONV_OK || threads != 1) {
        printf("FAILED %s/%s t1 %s: %s (threads %d)\n", tconv_algo_name(algo), isa, desc,
               tconv_last_error(), threads);
        return 1;
    }
    for (size_t c = 1; c < N_COUNTS; c++) {
        opt.threads = thread_counts[c], opt.threadpool = pools[c];
        st = run_with(p, algo, &opt, yn, &threads);
        if (st != TCONV_OK || threads != thread_counts[c]) {
            printf("FAILED %s/%s t%d %s: %s (threads %d)\n", tconv_algo_name(algo), isa,
                   thread_counts[c], desc, tconv_last_error(), threads);
            failures++;
            continue;
        }
        size_t i = first_difference(y1, yn, p->ny);
        if (i < p->ny) {
            printf("NOT BIT-IDENTICAL %s/%s %s: %d threads differ from 1 at index %zu: %.9g vs "
                   "%.9g\n",
                   tconv_algo_name(algo), isa, desc, thread_counts[c], i, (double)yn[i],
                   (double)y1[i]);
            failures++;
        }
    }
    if (!tu_check_output(&p->s, tconv_algo_name(algo), isa, p->x, p->w, p->b, yn)) failures++;
    return failures;
}

/* The matrix runs on caller pools made once per thread count: a plan's own pool of 3 or 7 threads
 * on a 2-CPU machine spent most of the test's time in its new workers' start-up spin (112 s wall,
 * 91% of the samples in pthreadpool). The split depends on the thread count only, whoever owns
 * the pool; plans with their own pools are covered by test_thread_counts. */
static void test_bit_identical_for_every_thread_count(void **state) {
    (void)state;
    pthreadpool_t pools[N_COUNTS] = {NULL};
    for (size_t c = 1; c < N_COUNTS; c++) {
        pools[c] = pthreadpool_create((size_t)thread_counts[c]);
        assert_non_null(pools[c]);
    }
    int failures = 0, cases = 0, isas = 0;
    const char *full = getenv("TCONV_TEST_FULL");
    int rotate = ROTATE_ISAS && !(full && strcmp(full, "1") == 0);
    for (int k = 0; k < tconv_isa_count(); k++)
        isas += tconv_isa_compiled(tconv_isa_name(k)) && tconv_isa_supported(tconv_isa_name(k));
    if (rotate)
        printf("sanitized, emulated or coverage build: one rotating ISA per (shape, algorithm)\n");
    for (size_t i = 0; i < N_SHAPES; i++) {
        tconv_shape s = matrix_shape(i);
        problem p;
        problem_init(&p, &s, 1000 + i);
        float *y1 = malloc(p.ny * sizeof(float)), *yn = malloc(p.ny * sizeof(float));
        assert_true(y1 && yn);
        for (size_t a = 0; a < sizeof all_algos / sizeof all_algos[0]; a++)
            for (int k = 0, usable = -1; k < tconv_isa_count(); k++) {
                const char *isa = tconv_isa_name(k);
                if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
                usable++;
                if (rotate && all_algos[a] != TCONV_ALGO_REFERENCE &&
                    (size_t)usable != (i + a) % (size_t)isas)
                    continue;
                failures += check_case(&p, all_algos[a], isa, y1, yn, pools);
                cases++;
                if (all_algos[a] == TCONV_ALGO_REFERENCE) break; /* not dispatched: one ISA */
            }
        free(y1), free(yn);
        problem_free(&p);
    }
    for (size_t c = 1; c < N_COUNTS; c++) pthreadpool_destroy(pools[c]);
    printf("determinism: %d (shape, algorithm, isa) cases x threads {1, 2, 3, 7}, %d failures\n",
           cases, failures);
    assert_int_equal(failures, 0);
}

/* ---- options and environment -------------------------------------------------------------- */

static tconv_shape small(void) { return shape(1, 3, 4, 1, 5, 6, 3, 2, 1, 1, 1); }

static size_t affinity_cpus(void) {
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    return (size_t)CPU_COUNT(&set);
}

static void expect_message(const char *what, const char *needle1, const char *needle2) {
    const char *msg = tconv_last_error();
    if (!strstr(msg, needle1) || !strstr(msg, needle2))
        fail_msg("%s: message \"%s\" should name \"%s\" and \"%s\"", what, msg, needle1, needle2);
}

/* The automatic count: the CPUs we may run on for a real layer (DCGAN 512->256, 2^25
 * multiply-adds: up to 32 threads), the caller alone for a tiny shape. */
static void test_automatic_thread_count(void **state) {
    (void)state;
    unsetenv("TCONV_NUM_THREADS");
    tconv_shape s = shape(1, 512, 256, 1, 8, 8, 4, 2, 1, 0, 1);
    static float w[512 * 256 * 16];
    tconv_plan *plan;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, w, NULL, &plan), TCONV_OK);
    size_t cpus = affinity_cpus();
    assert_int_equal(tconv_plan_threads(plan), (int)(cpus < 32 ? cpus : 32));
    tconv_plan_destroy(plan);
    setenv("TCONV_NUM_THREADS", "", 1); /* empty is unset, as for the ISA variables */
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, w, NULL, &plan), TCONV_OK);
    assert_int_equal(tconv_plan_threads(plan), (int)(cpus < 32 ? cpus : 32));
    tconv_plan_destroy(plan);
    unsetenv("TCONV_NUM_THREADS");
    s = small();
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, w, NULL, &plan), TCONV_OK);
    assert_int_equal(tconv_plan_threads(plan), 1);
    tconv_plan_destroy(plan);
}

static void test_thread_counts(void **state) {
    (void)state;
    tconv_shape s = small();
    problem p;
    problem_init(&p, &s, 7);
    float *y = malloc(p.ny * sizeof(float));
    int threads;
    tconv_plan_options opt = {.threads = 5};
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, &threads), TCONV_OK);
    assert_int_equal(threads, 5);
    setenv("TCONV_NUM_THREADS", "3", 1);
    opt.threads = 0;
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, &threads), TCONV_OK);
    assert_int_equal(threads, 3);
    opt.threads = 1; /* an explicit count wins over the variable */
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, &threads), TCONV_OK);
    assert_int_equal(threads, 1);
    unsetenv("TCONV_NUM_THREADS");
    assert_int_equal(tconv_plan_threads(NULL), 0);
    free(y);
    problem_free(&p);
}

static void test_bad_thread_requests_refused(void **state) {
    (void)state;
    tconv_shape s = small();
    problem p;
    problem_init(&p, &s, 8);
    float *y = malloc(p.ny * sizeof(float));
    static const char *const bad_env[] = {"0",  "-2",   "+2",          "abc", "2x",
                                          " 3", "4097", "99999999999", "1.5"};
    for (size_t i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
        setenv("TCONV_NUM_THREADS", bad_env[i], 1);
        char what[64];
        snprintf(what, sizeof what, "TCONV_NUM_THREADS=\"%s\"", bad_env[i]);
        assert_int_equal(run_with(&p, TCONV_ALGO_GEMM, NULL, y, NULL), TCONV_ERR_INVALID);
        expect_message(what, "TCONV_NUM_THREADS", bad_env[i]);
        assert_int_equal(tconv_forward(&s, TCONV_ALGO_AUTO, p.x, p.w, p.b, y), TCONV_ERR_INVALID);
        expect_message(what, "TCONV_NUM_THREADS", bad_env[i]);
    }
    unsetenv("TCONV_NUM_THREADS");
    tconv_plan_options opt = {.threads = -1};
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, NULL), TCONV_ERR_INVALID);
    expect_message("threads -1", "threads", "-1");
    opt.threads = 4097;
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, NULL), TCONV_ERR_INVALID);
    expect_message("threads 4097", "threads", "4097");
    opt = (tconv_plan_options){.threads = 1, .tune = 2};
    assert_int_equal(run_with(&p, TCONV_ALGO_DIRECT, &opt, y, NULL), TCONV_ERR_INVALID);
    expect_message("tune 2", "tune", "2");
    free(y);
    problem_free(&p);
}

/* ---- caller pools and concurrent plans ---------------------------------------------------- */

static void count_item(void *context, size_t i) {
    (void)i;
    __atomic_add_fetch((int *)context, 1, __ATOMIC_RELAXED);
}

/* A caller's pool: the plan reports its size, computes the 1-thread bits, and leaves the pool
 * alive and usable after tconv_plan_destroy. */
static void test_caller_pool(void **state) {
    (void)state;
    tconv_shape s = matrix_shape(3);
    problem p;
    problem_init(&p, &s, 9);
    float *y1 = malloc(p.ny * sizeof(float)), *y = malloc(p.ny * sizeof(float));
    pthreadpool_t pool = pthreadpool_create(3);
    assert_non_null(pool);
    for (size_t a = 0; a < sizeof all_algos / sizeof all_algos[0]; a++) {
        tconv_plan_options one = {.threads = 1}, shared = {.threads = 1, .threadpool = pool};
        tconv_status st = run_with(&p, all_algos[a], &one, y1, NULL);
        if (st == TCONV_ERR_UNSUPPORTED) continue; /* gemm_blas without OpenBLAS */
        assert_int_equal(st, TCONV_OK);
        int threads;
        assert_int_equal(run_with(&p, all_algos[a], &shared, y, &threads), TCONV_OK);
        assert_int_equal(threads, 3); /* the pool's size; options.threads is ignored */
        assert_int_equal(first_difference(y1, y, p.ny), p.ny);
    }
    /* Static and atomic on both sides: ThreadSanitizer cannot see pthreadpool's own hand-off (an
     * uninstrumented library), so a plain store here, or an earlier frame's use of the same stack
     * bytes, raced with the workers' adds in its eyes. */
    static int items;
    __atomic_store_n(&items, 0, __ATOMIC_RELAXED);
    pthreadpool_parallelize_1d(pool, count_item, &items, 100, 0);
    assert_int_equal(__atomic_load_n(&items, __ATOMIC_RELAXED), 100);
    pthreadpool_destroy(pool);
    free(y1), free(y);
    problem_free(&p);
}

typedef struct runner {
    const problem *p;
    tconv_plan *plan;
    float *y;
    int repeats;
} runner;

static void *run_repeatedly(void *arg) {
    runner *r = arg;
    for (int i = 0; i < r->repeats; i++)
        if (tconv_plan_run(r->plan, r->p->x, r->y) != TCONV_OK) return arg;
    return NULL;
}

/* Two plans run at once from two caller threads, each on its own pool, then both on one shared
 * pool (pthreadpool serializes the parallel sections of concurrent callers): each result is the
 * 1-thread result. */
static void concurrent_plans(pthreadpool_t shared) {
    tconv_shape shapes[2] = {matrix_shape(2), matrix_shape(4)};
    tconv_algo algos[2] = {TCONV_ALGO_GEMM, TCONV_ALGO_DIRECT};
    problem p[2];
    runner r[2];
    float *expect[2];
    pthread_t tid[2];
    for (int i = 0; i < 2; i++) {
        problem_init(&p[i], &shapes[i], 20 + (uint64_t)i);
        expect[i] = malloc(p[i].ny * sizeof(float));
        r[i] = (runner){&p[i], NULL, malloc(p[i].ny * sizeof(float)), 20};
        assert_true(expect[i] && r[i].y);
        tconv_plan_options one = {.threads = 1}, many = {.threads = 2, .threadpool = shared};
        assert_int_equal(run_with(&p[i], algos[i], &one, expect[i], NULL), TCONV_OK);
        assert_int_equal(
            tconv_plan_create_ex(&shapes[i], algos[i], p[i].w, p[i].b, &many, &r[i].plan),
            TCONV_OK);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, run_repeatedly, &r[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *failed;
        assert_int_equal(pthread_join(tid[i], &failed), 0);
        assert_null(failed);
        assert_int_equal(first_difference(expect[i], r[i].y, p[i].ny), p[i].ny);
        tconv_plan_destroy(r[i].plan);
        free(r[i].y), free(expect[i]);
        problem_free(&p[i]);
    }
}

static void test_concurrent_plans_own_pools(void **state) {
    (void)state;
    concurrent_plans(NULL);
}

static void test_concurrent_plans_shared_pool(void **state) {
    (void)state;
    pthreadpool_t pool = pthreadpool_create(2);
    assert_non_null(pool);
    concurrent_plans(pool);
    pthreadpool_destroy(pool);
}

int main(void) {
    unsetenv("TCONV_NUM_THREADS"); /* a developer's setting must not change the expectations */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_automatic_thread_count),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_bad_thread_requests_refused),
        cmocka_unit_test(test_caller_pool),
        cmocka_unit_test(test_concurrent_plans_own_pools),
        cmocka_unit_test(test_concurrent_plans_shared_pool),
        cmocka_unit_test(test_bit_identical_for_every_thread_count),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    tu_release_reference_cache();
    return failed;
}
