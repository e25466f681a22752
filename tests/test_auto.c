/* AUTO: the heuristic over a shape sweep, tune = 1 (measured choice, cache, wisdom file, bad
 * files refused). No test asserts a timing: only which decisions are valid and where they come
 * from (the measurement counter says whether a shape was timed). */
#define _GNU_SOURCE /* setenv, unsetenv, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../kernels/algos/auto_tune.h"
#include "testutil.h"

static tconv_shape shape(int64_t n, int64_t cin, int64_t cout, int64_t groups, int64_t h, int64_t w,
                         int64_t k, int64_t s, int64_t p, int64_t op, int64_t d) {
    return (tconv_shape){n, cin, cout, h, w, k, k, s, s, p, p, op, op, d, d, groups};
}

static int is_candidate(tconv_algo a) {
    return a == TCONV_ALGO_DIRECT || a == TCONV_ALGO_GEMM || a == TCONV_ALGO_SPARSE ||
           a == TCONV_ALGO_GEMM_BLAS;
}

static void expect_message(const char *what, const char *needle1, const char *needle2) {
    const char *msg = tconv_last_error();
    if (!strstr(msg, needle1) || !strstr(msg, needle2))
        fail_msg("%s: message \"%s\" should name \"%s\" and \"%s\"", what, msg, needle1, needle2);
}

/* ---- tune = 0 -------------------------------------------------------------------------- */

/* Over a sweep of valid shapes and every usable ISA, the heuristic names direct, gemm or sparse
 * (never AUTO, zero_insert or the reference), the plan of its choice can be created, and an AUTO
 * plan reports a concrete algorithm. */
static void test_heuristic_is_concrete_over_sweep(void **state) {
    (void)state;
    static const int64_t sizes[] = {1, 2, 5, 16, 64}, kernels[] = {1, 2, 3, 4, 7, 16},
                         strides[] = {1, 2, 3, 8}, channels[] = {1, 3, 32, 256};
    int checked = 0;
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        tconv_kernels k;
        if (tconv_select_kernels(isa, &k) != TCONV_OK) continue;
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 6; b++)
                for (size_t c = 0; c < 4; c++)
                    for (size_t d = 0; d < 4; d++) {
                        int64_t kk = kernels[b], pad = kk > strides[c] ? (kk - 1) / 2 : 0;
                        tconv_shape s = shape(1 + (int64_t)(d % 2), channels[d], channels[3 - d], 1,
                                              sizes[a], sizes[a] + 1, kk, strides[c], pad, 0, 1);
                        tconv_geometry g;
                        if (tconv_geometry_init(&s, &g) != TCONV_OK) continue;
                        tconv_algo choice = tconv_auto_choose(&g, &k);
                        if (choice != TCONV_ALGO_DIRECT && choice != TCONV_ALGO_GEMM &&
                            choice != TCONV_ALGO_SPARSE)
                            fail_msg("isa %s: heuristic returned %d", isa, (int)choice);
                        checked++;
                    }
    }
    assert_true(checked > 400);
    /* A shape whose work counts overflow size_t still gets an answer (the model uses doubles). */
    tconv_shape huge =
        shape(1, (int64_t)1 << 30, (int64_t)1 << 30, 1, (int64_t)1 << 30, 1, 1, 1, 0, 0, 1);
    tconv_geometry g;
    tconv_kernels k;
    assert_int_equal(tconv_select_kernels(NULL, &k), TCONV_OK);
    if (tconv_geometry_init(&huge, &g) == TCONV_OK) {
        tconv_algo choice = tconv_auto_choose(&g, &k);
        assert_true(choice == TCONV_ALGO_DIRECT || choice == TCONV_ALGO_GEMM ||
                    choice == TCONV_ALGO_SPARSE);
    }
    /* And the public path: an AUTO plan's algorithm is never AUTO. */
    tconv_shape s = shape(1, 8, 4, 1, 5, 5, 3, 2, 1, 0, 1);
    float w[8 * 4 * 9] = {0};
    tconv_plan *plan;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_AUTO, w, NULL, &plan), TCONV_OK);
    assert_true(is_candidate(tconv_plan_algo(plan)) &&
                tconv_plan_algo(plan) != TCONV_ALGO_GEMM_BLAS);
    tconv_plan_destroy(plan);
}

/* ---- tune = 1 -------------------------------------------------------------------------- */

typedef struct problem {
    tconv_shape s;
    float *x, *w, *b, *y;
} problem;

static void problem_init(problem *p, const tconv_shape *s, uint64_t seed) {
    p->s = *s;
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    p->x = malloc(nx * sizeof(float)), p->w = malloc(nw * sizeof(float));
    p->b = malloc((size_t)s->out_channels * sizeof(float)), p->y = malloc(ny * sizeof(float));
    assert_true(p->x && p->w && p->b && p->y);
    tu_rng rng;
    tu_seed(&rng, seed);
    tu_fill(&rng, p->x, nx), tu_fill(&rng, p->w, nw), tu_fill(&rng, p->b, (size_t)s->out_channels);
}

static void problem_free(problem *p) { free(p->x), free(p->w), free(p->b), free(p->y); }

static tconv_status tuned_plan(const problem *p, int threads, tconv_plan **plan) {
    tconv_plan_options o = {.threads = threads, .tune = 1};
    return tconv_plan_create_ex(&p->s, TCONV_ALGO_AUTO, p->w, p->b, &o, plan);
}

static const tconv_shape *tuned_shapes(size_t *count) {
    static tconv_shape shapes[4];
    shapes[0] = shape(1, 16, 8, 1, 6, 7, 4, 2, 1, 0, 1); /* DCGAN-like, small */
    shapes[1] = shape(2, 6, 4, 2, 5, 5, 1, 3, 0, 1, 1);  /* k < s, groups, batch */
    shapes[2] = shape(1, 3, 5, 1, 9, 4, 3, 1, 1, 0, 2);  /* dilation, stride 1 */
    shapes[3] = shape(1, 64, 3, 1, 8, 8, 4, 2, 1, 0, 1); /* few output channels */
    *count = 4;
    return shapes;
}

/* Every tuned plan runs a candidate algorithm (never AUTO, zero_insert or the reference) and its
 * output matches the reference, at 1 and 2 threads. */
static void test_tuned_choice_is_valid_and_correct(void **state) {
    (void)state;
    unsetenv("TCONV_WISDOM");
    tconv_auto_tune_reset();
    size_t count;
    const tconv_shape *shapes = tuned_shapes(&count);
    for (size_t i = 0; i < count; i++)
        for (int threads = 1; threads <= 2; threads++) {
            problem p;
            problem_init(&p, &shapes[i], 100 + i);
            tconv_plan *plan;
            assert_int_equal(tuned_plan(&p, threads, &plan), TCONV_OK);
            tconv_algo a = tconv_plan_algo(plan);
            if (!is_candidate(a)) fail_msg("shape %zu: tuned algorithm %d", i, (int)a);
            assert_int_equal(tconv_plan_threads(plan), threads);
            assert_int_equal(tconv_plan_run(plan, p.x, p.y), TCONV_OK);
            assert_true(tu_check_output(&p.s, tconv_algo_name(a), tconv_plan_isa(plan), p.x, p.w,
                                        p.b, p.y));
            tconv_plan_destroy(plan);
            problem_free(&p);
        }
    assert_int_equal(tconv_auto_tune_measurements(), 2 * count);
}

/* The second tuned plan of a (shape, ISA, threads) takes the cached decision without timing;
 * another thread count or ISA is another key and is timed. */
static void test_cache_reuses_decision(void **state) {
    (void)state;
    unsetenv("TCONV_WISDOM");
    tconv_auto_tune_reset();
    problem p;
    problem_init(&p, &tuned_shapes(&(size_t){0})[0], 7);
    tconv_plan *first, *second, *other;
    assert_int_equal(tuned_plan(&p, 1, &first), TCONV_OK);
    assert_int_equal(tconv_auto_tune_measurements(), 1);
    assert_int_equal(tuned_plan(&p, 1, &second), TCONV_OK);
    assert_int_equal(tconv_auto_tune_measurements(), 1);
    assert_int_equal(tconv_plan_algo(first), tconv_plan_algo(second));
    assert_int_equal(tuned_plan(&p, 2, &other), TCONV_OK);
    assert_int_equal(tconv_auto_tune_measurements(), 2);
    tconv_plan_destroy(first), tconv_plan_destroy(second), tconv_plan_destroy(other);
    /* tune = 1 with a concrete algorithm plans that algorithm and times nothing. */
    tconv_plan_options o = {.threads = 1, .tune = 1};
    tconv_plan *direct;
    assert_int_equal(tconv_plan_create_ex(&p.s, TCONV_ALGO_DIRECT, p.w, p.b, &o, &direct),
                     TCONV_OK);
    assert_int_equal(tconv_plan_algo(direct), TCONV_ALGO_DIRECT);
    assert_int_equal(tconv_auto_tune_measurements(), 2);
    tconv_plan_destroy(direct);
    problem_free(&p);
}

static void test_tune_out_of_range_refused(void **state) {
    (void)state;
    problem p;
    problem_init(&p, &tuned_shapes(&(size_t){0})[0], 8);
    static const int bad[] = {-1, 2, 1000};
    for (size_t i = 0; i < 3; i++) {
        tconv_plan_options o = {.threads = 1, .tune = bad[i]};
        tconv_plan *plan = (tconv_plan *)&o; /* must be set to NULL */
        char value[16];
        snprintf(value, sizeof value, "%d", bad[i]);
        assert_int_equal(tconv_plan_create_ex(&p.s, TCONV_ALGO_AUTO, p.w, p.b, &o, &plan),
                         TCONV_ERR_INVALID);
        assert_null(plan);
        expect_message("tune out of range", "tune", value);
    }
    problem_free(&p);
}

/* ---- the wisdom file ------------------------------------------------------------------- */

static char wisdom_dir[64];
static char wisdom_path[128];

static int make_dir(void **state) {
    (void)state;
    snprintf(wisdom_dir, sizeof wisdom_dir, "/tmp/tconv_test_auto_XXXXXX");
    if (mkdtemp(wisdom_dir) == NULL) return -1;
    snprintf(wisdom_path, sizeof wisdom_path, "%s/wisdom.txt", wisdom_dir);
    return 0;
}

static int remove_dir(void **state) {
    (void)state;
    unlink(wisdom_path);
    rmdir(wisdom_dir);
    unsetenv("TCONV_WISDOM");
    tconv_auto_tune_reset();
    return 0;
}

static void write_file(const char *text) {
    FILE *f = fopen(wisdom_path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static size_t read_file(char *buf, size_t n) {
    FILE *f = fopen(wisdom_path, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
    return got;
}

/* The decision line this library writes for p's shape on the dispatcher's ISA at one thread. */
static void decision_line(const problem *p, const char *algo, char *buf, size_t n) {
    char desc[192];
    tu_shape_string(&p->s, desc, sizeof desc);
    snprintf(buf, n, "%s %s t1 %s\n", desc, tconv_active_isa(), algo);
}

/* A missing file is created with the first decision; after the cache is cleared the decision is
 * read back from the file (nothing timed) and is the same. */
static void test_wisdom_round_trip(void **state) {
    (void)state;
    unlink(wisdom_path);
    setenv("TCONV_WISDOM", wisdom_path, 1);
    tconv_auto_tune_reset();
    problem p;
    problem_init(&p, &tuned_shapes(&(size_t){0})[1], 9);
    tconv_plan *plan;
    assert_int_equal(tuned_plan(&p, 1, &plan), TCONV_OK);
    tconv_algo decided = tconv_plan_algo(plan);
    tconv_plan_destroy(plan);
    assert_int_equal(tconv_auto_tune_measurements(), 1);

    char text[1024], header[192], line[256];
    read_file(text, sizeof text);
    tconv_wisdom_header(header, sizeof header);
    decision_line(&p, tconv_algo_name(decided), line, sizeof line);
    assert_true(strncmp(text, header, strlen(header)) == 0);
    assert_non_null(strstr(text, line));

    tconv_auto_tune_reset(); /* a new process, as far as AUTO knows */
    assert_int_equal(tuned_plan(&p, 1, &plan), TCONV_OK);
    assert_int_equal(tconv_plan_algo(plan), decided);
    assert_int_equal(tconv_auto_tune_measurements(), 0);
    tconv_plan_destroy(plan);

    /* The file is obeyed, not re-derived: a decision written by hand is what the plan runs, also
     * when it is the heuristic's own choice (whose plan is then kept, not made again), and of two
     * decisions for one key the later one. Every case is written here, so none depends on which
     * algorithm the timing or the heuristic picked. */
    tconv_plan_options heuristic_options = {.threads = 1};
    assert_int_equal(
        tconv_plan_create_ex(&p.s, TCONV_ALGO_AUTO, p.w, p.b, &heuristic_options, &plan), TCONV_OK);
    const char *heuristic = tconv_algo_name(tconv_plan_algo(plan));
    tconv_plan_destroy(plan);
    const char *earlier[] = {NULL, NULL, NULL, "direct"};
    const char *decisions[] = {"direct", "sparse", heuristic, "sparse"};
    for (int i = 0; i < 4; i++) {
        const char *forced = decisions[i];
        snprintf(text, sizeof text, "%s\n", header);
        if (earlier[i]) {
            decision_line(&p, earlier[i], line, sizeof line);
            strcat(text, line);
        }
        decision_line(&p, forced, line, sizeof line);
        strcat(text, line);
        write_file(text);
        tconv_auto_tune_reset();
        assert_int_equal(tuned_plan(&p, 1, &plan), TCONV_OK);
        assert_string_equal(tconv_algo_name(tconv_plan_algo(plan)), forced);
        assert_int_equal(tconv_auto_tune_measurements(), 0);
        assert_int_equal(tconv_plan_run(plan, p.x, p.y), TCONV_OK);
        assert_true(tu_check_output(&p.s, forced, tconv_plan_isa(plan), p.x, p.w, p.b, p.y));
        tconv_plan_destroy(plan);
    }
    problem_free(&p);
}

/* Each bad file is refused with INVALID and a message naming the file and the line; nothing of it
 * is used, and the same call succeeds once the file is removed. */
static void test_wisdom_bad_files_refused(void **state) {
    (void)state;
    setenv("TCONV_WISDOM", wisdom_path, 1);
    problem p;
    problem_init(&p, &tuned_shapes(&(size_t){0})[0], 10);
    char header[192], good[256];
    tconv_wisdom_header(header, sizeof header);
    decision_line(&p, "gemm", good, sizeof good);
    good[strlen(good) - 1] = '\0'; /* no newline: appended below where wanted */
    char desc[192];
    tu_shape_string(&p.s, desc, sizeof desc);
    typedef struct bad_file {
        const char *what, *line;
        char text[1024];
    } bad_file;
    enum { BAD_FILES = 12 };
    bad_file bad[BAD_FILES] = {{"garbage line", "line 3", ""},  {"wrong version", "line 1", ""},
                               {"foreign CPU", "line 1", ""},   {"unknown algorithm", "line 2", ""},
                               {"zero_insert", "line 2", ""},   {"truncated", "line 3", ""},
                               {"empty file", "line 1", ""},    {"invalid shape", "line 2", ""},
                               {"trailing junk", "line 2", ""}, {"unknown ISA", "line 2", ""},
                               {"no header", "line 1", ""},     {"thread count 0", "line 2", ""}};
    snprintf(bad[0].text, sizeof bad[0].text, "%s\n%s\nthis is not a decision\n", header, good);
    snprintf(bad[1].text, sizeof bad[1].text, "tconv-wisdom 2%s\n%s\n",
             header + strlen("tconv-wisdom 1"), good);
    snprintf(bad[2].text, sizeof bad[2].text, "tconv-wisdom 1 cpu=Other/Some CPU 9000\n%s\n", good);
    snprintf(bad[3].text, sizeof bad[3].text, "%s\n%s %s t1 fastest\n", header, desc,
             tconv_active_isa());
    snprintf(bad[4].text, sizeof bad[4].text, "%s\n%s %s t1 zero_insert\n", header, desc,
             tconv_active_isa());
    snprintf(bad[5].text, sizeof bad[5].text, "%s\n%s\n%.40s", header, good, good);
    bad[6].text[0] = '\0';
    snprintf(bad[7].text, sizeof bad[7].text,
             "%s\nmb1ic-4ih8iw8oc4kh3kw3sh1sw1ph0pw0oph0opw0dh1dw1g1 %s t1 gemm\n", header,
             tconv_active_isa());
    snprintf(bad[8].text, sizeof bad[8].text, "%s\n%s extra\n", header, good);
    snprintf(bad[9].text, sizeof bad[9].text, "%s\n%s mmx t1 gemm\n", header, desc);
    snprintf(bad[10].text, sizeof bad[10].text, "some other file\n%s\n", good);
    snprintf(bad[11].text, sizeof bad[11].text, "%s\n%s %s t0 gemm\n", header, desc,
             tconv_active_isa());
    for (size_t i = 0; i < BAD_FILES; i++) {
        write_file(bad[i].text);
        tconv_auto_tune_reset();
        tconv_plan *plan = NULL;
        tconv_status st = tuned_plan(&p, 1, &plan);
        if (st != TCONV_ERR_INVALID)
            fail_msg("%s: status %d, expected INVALID; file:\n%s", bad[i].what, (int)st,
                     bad[i].text);
        assert_null(plan);
        expect_message(bad[i].what, wisdom_path, bad[i].line);
        assert_int_equal(tconv_auto_tune_measurements(), 0);
    }
    unlink(wisdom_path);
    tconv_plan *plan;
    assert_int_equal(tuned_plan(&p, 1, &plan), TCONV_OK);
    tconv_plan_destroy(plan);
    /* A file that cannot be written (its directory does not exist) is refused by name too. */
    char missing_dir[192];
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir/wisdom.txt", wisdom_dir);
    setenv("TCONV_WISDOM", missing_dir, 1);
    tconv_auto_tune_reset();
    assert_int_equal(tuned_plan(&p, 1, &plan), TCONV_ERR_INVALID);
    expect_message("unwritable", missing_dir, "cannot be written");
    problem_free(&p);
}

int main(void) {
    unsetenv("TCONV_WISDOM");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heuristic_is_concrete_over_sweep),
        cmocka_unit_test(test_tuned_choice_is_valid_and_correct),
        cmocka_unit_test(test_cache_reuses_decision),
        cmocka_unit_test(test_tune_out_of_range_refused),
        cmocka_unit_test(test_wisdom_round_trip),
        cmocka_unit_test(test_wisdom_bad_files_refused),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
