/* Allocation failure at every point of plan creation: NOMEM naming the buffer, no plan, no leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* The library's allocations reach these through the linker's --wrap (tests/CMakeLists.txt), so a
 * failure can be injected into the n-th one. A huge shape only fails the first big buffer; this
 * reaches the error path after each buffer of every algorithm, with earlier buffers still live. */
void *__real_aligned_alloc(size_t alignment, size_t size);
void *__real_calloc(size_t count, size_t size);
void *__wrap_aligned_alloc(size_t alignment, size_t size);
void *__wrap_calloc(size_t count, size_t size);

#define NEVER SIZE_MAX
static size_t alloc_calls; /* allocations seen since the last reset */
static size_t fail_call;   /* index of the allocation to refuse, or NEVER */
static int injected;       /* 1 once that allocation was refused */

/* Counts the call; 1 when this one must fail. */
static int should_fail(void) {
    if (alloc_calls++ != fail_call) return 0;
    injected = 1;
    return 1;
}

void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    return should_fail() ? NULL : __real_aligned_alloc(alignment, size);
}

void *__wrap_calloc(size_t count, size_t size) {
    return should_fail() ? NULL : __real_calloc(count, size);
}

/* Refuse allocation `index` from now on (NEVER: count only). */
static void arm(size_t index) {
    alloc_calls = 0;
    fail_call = index;
    injected = 0;
}

/* Stop refusing; alloc_calls and injected keep what happened. */
static void disarm(void) { fail_call = NEVER; }

/* Groups, stride, padding, output padding, bias and several channels: every algorithm allocates
 * all of its optional buffers (direct's padded input rows, gemm's bias copy, ...). */
static tconv_shape busy_shape(void) {
    tconv_shape s = {.batch = 2,
                     .in_channels = 4,
                     .out_channels = 6,
                     .in_h = 5,
                     .in_w = 6,
                     .kernel_h = 3,
                     .kernel_w = 2,
                     .stride_h = 2,
                     .stride_w = 1,
                     .pad_h = 1,
                     .pad_w = 1,
                     .out_pad_h = 1,
                     .out_pad_w = 0,
                     .dilation_h = 1,
                     .dilation_w = 1,
                     .groups = 2};
    return s;
}

/* Allocations of one successful plan creation (and the plan, destroyed again). */
static size_t count_allocations(const tconv_shape *s, tconv_algo algo, const float *w,
                                const float *b) {
    tconv_plan *plan = NULL;
    arm(NEVER);
    assert_int_equal(tconv_plan_create(s, algo, w, b, &plan), TCONV_OK);
    size_t calls = alloc_calls;
    tconv_plan_destroy(plan);
    return calls;
}

/* Each allocation of plan creation refused in turn: NOMEM, a message naming what could not be
 * allocated, *out left NULL; buffers allocated before it are freed (LeakSanitizer checks that in
 * the sanitized build). Afterwards the same plan works (tu_run_case checks its output). */
static void check_algo(tconv_algo algo) {
    tconv_shape s = busy_shape();
    size_t nw = tu_w_elems(&s);
    float *w = calloc(nw, sizeof *w), b[6] = {0};
    assert_non_null(w);
    size_t calls = count_allocations(&s, algo, w, b);
    printf("%-11s %zu allocations, each refused in turn\n", tconv_algo_name(algo), calls);
    assert_true(calls >= 1); /* at least the plan itself */
    for (size_t i = 0; i < calls; i++) {
        tconv_plan *plan = (tconv_plan *)&s;
        arm(i);
        tconv_status st = tconv_plan_create(&s, algo, w, b, &plan);
        disarm();
        if (!injected) fail_msg("%s: allocation %zu never happened", tconv_algo_name(algo), i);
        if (st != TCONV_ERR_NOMEM)
            fail_msg("%s: allocation %zu refused: status %s, expected NOMEM (\"%s\")",
                     tconv_algo_name(algo), i, tconv_status_string(st), tconv_last_error());
        if (strstr(tconv_last_error(), "cannot allocate") == NULL)
            fail_msg("%s: allocation %zu: message \"%s\" does not say what failed",
                     tconv_algo_name(algo), i, tconv_last_error());
        assert_null(plan);
    }
    free(w);
    assert_true(tu_run_case(&s, algo, NULL, 11, 1));
}

/* tconv_forward passes the plan's NOMEM on and leaves y untouched. */
static void test_forward_reports_nomem(void **state) {
    (void)state;
    tconv_shape s = busy_shape();
    size_t nx = tu_x_elems(&s), nw = tu_w_elems(&s), ny = tu_y_elems(&s);
    float *x = calloc(nx, sizeof *x), *w = calloc(nw, sizeof *w), *y = malloc(ny * sizeof *y);
    assert_true(x && w && y);
    memset(y, 0xA5, ny * sizeof *y);
    arm(0);
    tconv_status st = tconv_forward(&s, TCONV_ALGO_DIRECT, x, w, NULL, y);
    disarm();
    assert_true(injected);
    assert_int_equal(st, TCONV_ERR_NOMEM);
    for (size_t i = 0; i < ny * sizeof *y; i++)
        if (((unsigned char *)y)[i] != 0xA5) fail_msg("forward wrote y after NOMEM (byte %zu)", i);
    free(x), free(w), free(y);
}

static void test_reference(void **state) { (void)state, check_algo(TCONV_ALGO_REFERENCE); }
static void test_zero_insert(void **state) { (void)state, check_algo(TCONV_ALGO_ZERO_INSERT); }
static void test_direct(void **state) { (void)state, check_algo(TCONV_ALGO_DIRECT); }
static void test_gemm(void **state) { (void)state, check_algo(TCONV_ALGO_GEMM); }
static void test_sparse(void **state) { (void)state, check_algo(TCONV_ALGO_SPARSE); }
static void test_auto(void **state) { (void)state, check_algo(TCONV_ALGO_AUTO); }

/* Without OpenBLAS gemm_blas refuses every plan with UNSUPPORTED: nothing to inject into. */
static void test_gemm_blas(void **state) {
    (void)state;
    tconv_shape s = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float w = 1;
    tconv_plan *plan = NULL;
    if (tconv_plan_create(&s, TCONV_ALGO_GEMM_BLAS, &w, NULL, &plan) == TCONV_ERR_UNSUPPORTED) {
        printf("skip gemm_blas: %s\n", tconv_last_error());
        skip();
    }
    tconv_plan_destroy(plan);
    check_algo(TCONV_ALGO_GEMM_BLAS);
}

int main(void) {
    fail_call = NEVER;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference), cmocka_unit_test(test_zero_insert),
        cmocka_unit_test(test_direct),    cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_sparse),    cmocka_unit_test(test_gemm_blas),
        cmocka_unit_test(test_auto),      cmocka_unit_test(test_forward_reports_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
