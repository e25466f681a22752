/* direct's bias-only outputs (k < s): exactly the bias, the rest as the reference, and the same
 * bits for every thread count, on every usable ISA. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static const int thread_counts[] = {1, 2, 3, 7};
#define N_COUNTS (sizeof thread_counts / sizeof thread_counts[0])

static tconv_shape square(int64_t batch, int64_t cin, int64_t cout, int64_t groups, int64_t ih,
                          int64_t iw, int64_t k, int64_t s, int64_t p, int64_t op, int64_t d) {
    return (tconv_shape){batch, cin, cout, ih, iw, k, k, s, s, p, p, op, op, d, d, groups};
}

/* Shapes whose outputs include some that no tap reaches, each for a reason of its own. */
static tconv_shape case_shape(size_t i) {
    tconv_shape s;
    switch (i) {
    case 0: return square(1, 1, 1, 1, 16, 16, 4, 8, 0, 0, 1); /* k < s both axes: whole plane */
    case 1: return square(1, 3, 5, 1, 7, 9, 2, 3, 0, 2, 1);   /* output padding: bias-only tail */
    case 2: return square(2, 8, 6, 2, 5, 6, 3, 4, 1, 3, 1);   /* batch 2, groups 2, padding */
    case 3: return square(1, 4, 20, 1, 6, 5, 3, 2, 2, 1, 2);  /* dilation 2: odd phases empty */
    case 4:                                                   /* k < s in h only: bias-only rows */
        s = square(1, 3, 17, 1, 6, 7, 2, 1, 0, 0, 1);
        s.stride_h = 3, s.kernel_w = 3;
        return s;
    case 5: /* k < s in w only: every row has bias-only segments */
        s = square(1, 2, 3, 1, 5, 6, 3, 3, 0, 0, 1);
        s.kernel_h = 4, s.stride_h = 2, s.pad_h = 1, s.kernel_w = 2, s.out_pad_w = 2;
        return s;
    case 6: /* a plane over 64 KiB: direct fills rows with taps just before computing them */
        return square(1, 1, 2, 1, 40, 37, 2, 8, 0, 1, 1);
    case 7: /* 199 rows in a row that no kernel row reaches: more than one fill run (64 KiB) */
        s = square(1, 2, 3, 1, 2, 100, 1, 1, 0, 0, 1);
        s.stride_h = 200, s.out_pad_h = 199;
        return s;
    case 8: /* kernel_w = 1 phase rows (k1 s3, output padding): two of three rows are bias only */
        return square(1, 1, 1, 1, 16, 16, 1, 3, 0, 2, 1);
    default: /* rowconv on AVX-512 (kernel_w a multiple of stride_w, 3 channels) with rows that
              * no kernel row reaches; out_w not a multiple of the stride */
        s = square(1, 2, 3, 1, 5, 7, 8, 8, 3, 5, 1);
        s.kernel_h = 2, s.stride_h = 4, s.pad_h = 0, s.out_pad_h = 1;
        return s;
    }
}
#define N_CASES 10

/* 1 when some (ky, iy) lands on oy: oy = iy*s - p + ky*d, iy inside the input. */
static int axis_reached(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    for (int64_t kk = 0; kk < k; kk++) {
        int64_t num = o + p - kk * d;
        if (num >= 0 && num % s == 0 && num / s < in) return 1;
    }
    return 0;
}

/* Output (oy, ox) of any channel: no tap reaches it, so the reference says it is the bias. */
static int bias_only(const tconv_shape *s, int64_t oy, int64_t ox) {
    return !axis_reached(oy, s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->dilation_h) ||
           !axis_reached(ox, s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->dilation_w);
}

typedef struct problem {
    tconv_shape s;
    float *x, *w, *b, *y1, *yn;
    size_t ny;
    int64_t oh, ow;
} problem;

/* Random data; the bias holds -0.0f and a value no sum of small products equals. */
static void problem_init(problem *p, const tconv_shape *s, uint64_t seed) {
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s);
    p->s = *s;
    p->ny = tu_y_elems(s);
    tconv_output_size(s, &p->oh, &p->ow);
    p->x = malloc(nx * sizeof(float)), p->w = malloc(nw * sizeof(float));
    p->b = malloc((size_t)s->out_channels * sizeof(float));
    p->y1 = malloc(p->ny * sizeof(float)), p->yn = malloc(p->ny * sizeof(float));
    assert_true(p->x && p->w && p->b && p->y1 && p->yn);
    tu_rng rng;
    tu_seed(&rng, seed);
    tu_fill(&rng, p->x, nx), tu_fill(&rng, p->w, nw), tu_fill(&rng, p->b, (size_t)s->out_channels);
    p->b[0] = -0.0f;
    if (s->out_channels > 1) p->b[s->out_channels - 1] = 1234.5f;
}

static void problem_free(problem *p) {
    free(p->x), free(p->w), free(p->b), free(p->y1), free(p->yn);
}

/* Plans direct with (isa, threads), runs into a NaN-filled y (an output left unwritten stays
 * NaN). Returns the status. */
static tconv_status run_direct(const problem *p, const char *isa, int threads, float *y) {
    for (size_t i = 0; i < p->ny; i++) y[i] = NAN;
    tconv_plan_options opt = {.isa = isa, .threads = threads};
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create_ex(&p->s, TCONV_ALGO_DIRECT, p->w, p->b, &opt, &plan);
    if (st == TCONV_OK) st = tconv_plan_run(plan, p->x, y);
    tconv_plan_destroy(plan);
    return st;
}

/* Bias-only outputs must equal their channel's bias exactly (==, no tolerance: an unwritten
 * output is NaN). Not bit for bit: border columns computed against zero padding (see direct.c's
 * choose_padding) hold bias + 0, which is +0.0f for a bias of -0.0f, as before the fill. Returns
 * how many differ. */
static size_t count_bias_mismatches(const problem *p, const float *y, const char *what) {
    const tconv_shape *s = &p->s;
    size_t bad = 0, i = 0, counted = 0;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < s->out_channels; co++)
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++, i++) {
                    if (!bias_only(s, oy, ox)) continue;
                    counted++;
                    if (y[i] == p->b[co]) continue;
                    if (bad++ < 3)
                        printf("%s: y[%zu] (n %lld, co %lld, oy %lld, ox %lld) = %a, bias %a\n",
                               what, i, (long long)n, (long long)co, (long long)oy, (long long)ox,
                               (double)y[i], (double)p->b[co]);
                }
    assert_true(counted > 0); /* the case must have bias-only outputs to test anything */
    return bad;
}

static void check_case(size_t c, const char *isa) {
    problem p;
    char desc[200], what[300];
    tconv_shape s = case_shape(c);
    tu_shape_string(&s, desc, sizeof desc);
    problem_init(&p, &s, 1000 + c);
    tconv_status st = run_direct(&p, isa, 1, p.y1);
    if (st != TCONV_OK) printf("direct/%s %s: %s\n", isa, desc, tconv_last_error());
    assert_int_equal(st, TCONV_OK);
    snprintf(what, sizeof what, "direct/%s/t1 %s", isa, desc);
    assert_int_equal(count_bias_mismatches(&p, p.y1, what), 0);
    assert_true(tu_check_output(&s, "direct", isa, p.x, p.w, p.b, p.y1));
    for (size_t t = 1; t < N_COUNTS; t++) {
        assert_int_equal(run_direct(&p, isa, thread_counts[t], p.yn), TCONV_OK);
        size_t i = 0;
        while (i < p.ny && memcmp(&p.y1[i], &p.yn[i], sizeof(float)) == 0) i++;
        if (i < p.ny)
            printf("direct/%s/t%d %s: y[%zu] = %a, 1 thread %a\n", isa, thread_counts[t], desc, i,
                   (double)p.yn[i], (double)p.y1[i]);
        assert_int_equal(i, p.ny);
    }
    problem_free(&p);
}

static void test_bias_only_outputs_every_isa(void **state) {
    (void)state;
    int isas = 0;
    for (int k = 0; k < tconv_isa_count(); k++) {
        const char *isa = tconv_isa_name(k);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        isas++;
        for (size_t c = 0; c < N_CASES; c++) check_case(c, isa);
    }
    assert_true(isas > 0);
}

/* The bias-only check itself must see a wrong output: a y that is right except for one
 * bias-only output one ulp off is refused. */
static void test_checker_sees_wrong_bias(void **state) {
    (void)state;
    problem p;
    tconv_shape s = case_shape(0);
    problem_init(&p, &s, 7);
    assert_int_equal(run_direct(&p, NULL, 1, p.y1), TCONV_OK);
    assert_int_equal(count_bias_mismatches(&p, p.y1, "unchanged"), 0);
    assert_true(bias_only(&s, 0, 4)); /* k4 s8: columns 4..7 of every 8 are bias-only */
    p.y1[4] = nextafterf(p.b[0], 1.0f);
    assert_int_equal(count_bias_mismatches(&p, p.y1, "expected refusal"), 1);
    problem_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias_only_outputs_every_isa),
        cmocka_unit_test(test_checker_sees_wrong_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
