/* Every refusal of the public API: status, a message naming the field and value, no side effects.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
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

#include "algos/sparse.h"
#include "testutil.h"

/* Under ASan a huge malloc aborts instead of returning NULL unless this flag is set. ctest sets it
 * through ASAN_OPTIONS too; this default keeps a direct run of the binary meaningful. */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void) {
    return "allocator_may_return_null=1";
}
#endif

/* Bytes written into y before a refused call: any change means the library wrote y. */
#define SENTINEL_BYTE 0xA5
/* Enough floats for the small tensors below; refused calls must not touch them at all. */
#define SCRATCH_FLOATS 4096

/* ---- helpers ------------------------------------------------------------------------------ */

/* Valid, deliberately asymmetric shape (groups, stride, padding, output padding all in play), so
 * each table row changes exactly the fields it is about. */
static tconv_shape valid_shape(void) {
    tconv_shape s = {.batch = 2,
                     .in_channels = 4,
                     .out_channels = 6,
                     .in_h = 5,
                     .in_w = 4,
                     .kernel_h = 3,
                     .kernel_w = 2,
                     .stride_h = 2,
                     .stride_w = 3,
                     .pad_h = 1,
                     .pad_w = 0,
                     .out_pad_h = 1,
                     .out_pad_w = 2,
                     .dilation_h = 1,
                     .dilation_w = 1,
                     .groups = 2};
    return s;
}

/* Fails the test unless st is `want` and the thread's message contains every needle. */
static void expect_refusal(tconv_status st, tconv_status want, const char *const *needles,
                           const char *context) {
    const char *msg = tconv_last_error();
    if (st != want)
        fail_msg("%s: status %d (%s), expected %d (%s); message \"%s\"", context, (int)st,
                 tconv_status_string(st), (int)want, tconv_status_string(want), msg);
    for (size_t i = 0; needles[i] != NULL; i++)
        if (strstr(msg, needles[i]) == NULL)
            fail_msg("%s: message \"%s\" does not mention \"%s\"", context, msg, needles[i]);
}

/* Shorthand for the common case of two needles. */
static void expect_refusal2(tconv_status st, tconv_status want, const char *a, const char *b,
                            const char *context) {
    const char *const needles[] = {a, b, NULL};
    expect_refusal(st, want, needles, context);
}

static void fill_sentinel(float *y, size_t n) { memset(y, SENTINEL_BYTE, n * sizeof *y); }

static void expect_untouched(const float *y, size_t n, const char *context) {
    const unsigned char *p = (const unsigned char *)y;
    for (size_t i = 0; i < n * sizeof *y; i++)
        if (p[i] != SENTINEL_BYTE) fail_msg("%s: refused call wrote y (byte %zu)", context, i);
}

/* Tensors for a valid shape, filled with deterministic data. */
typedef struct tensors {
    float *x, *w, *b, *y;
    size_t nx, nw, ny;
} tensors;

static tensors tensors_alloc(const tconv_shape *s) {
    tensors t = {.nx = tu_x_elems(s), .nw = tu_w_elems(s), .ny = tu_y_elems(s)};
    t.x = malloc(t.nx * sizeof(float));
    t.w = malloc(t.nw * sizeof(float));
    t.b = malloc((size_t)s->out_channels * sizeof(float));
    t.y = malloc(t.ny * sizeof(float));
    assert_non_null(t.x), assert_non_null(t.w), assert_non_null(t.b), assert_non_null(t.y);
    tu_rng rng;
    tu_seed(&rng, 7);
    tu_fill(&rng, t.x, t.nx);
    tu_fill(&rng, t.w, t.nw);
    tu_fill(&rng, t.b, (size_t)s->out_channels);
    return t;
}

static void tensors_free(tensors *t) { free(t->x), free(t->w), free(t->b), free(t->y); }

/* Runs every shape-taking entry point on a shape that must be refused, checking each one gives
 * the same status and message and has no side effect (y, *out, out_h/out_w untouched). */
static void expect_shape_refused(const tconv_shape *s, tconv_status want,
                                 const char *const *needles, const char *context) {
    static float x[SCRATCH_FLOATS], w[SCRATCH_FLOATS], y[SCRATCH_FLOATS];
    char where[256];
    int64_t oh = -77, ow = -77;
    snprintf(where, sizeof where, "%s: tconv_output_size", context);
    expect_refusal(tconv_output_size(s, &oh, &ow), want, needles, where);
    assert_true(oh == -77 && ow == -77);

    snprintf(where, sizeof where, "%s: tconv_forward", context);
    fill_sentinel(y, SCRATCH_FLOATS);
    expect_refusal(tconv_forward(s, TCONV_ALGO_AUTO, x, w, NULL, y), want, needles, where);
    expect_untouched(y, SCRATCH_FLOATS, where);

    snprintf(where, sizeof where, "%s: tconv_plan_create", context);
    tconv_plan *plan = (tconv_plan *)&where; /* any non-NULL value: must be reset to NULL */
    expect_refusal(tconv_plan_create(s, TCONV_ALGO_DIRECT, w, NULL, &plan), want, needles, where);
    assert_null(plan);

    snprintf(where, sizeof where, "%s: tconv_flops", context);
    double nominal, useful;
    expect_refusal(tconv_flops(s, &nominal, &useful), want, needles, where);
}

/* ---- single-field refusals, from a table ------------------------------------------------ */

typedef struct field_case {
    const char *field; /* name the message must contain */
    size_t offset;     /* offsetof(tconv_shape, field) */
    int64_t value;     /* offending value the message must contain */
} field_case;

#define FIELD(name, v)                                                                             \
    { #name, offsetof(tconv_shape, name), v }
/* Zero, -1 and the most negative value for a field that must be positive. */
#define POSITIVE(name) FIELD(name, 0), FIELD(name, -1), FIELD(name, INT64_MIN)
#define NON_NEGATIVE(name) FIELD(name, -1), FIELD(name, INT64_MIN)

static const field_case field_cases[] = {
    POSITIVE(batch),     POSITIVE(in_channels), POSITIVE(out_channels),  POSITIVE(in_h),
    POSITIVE(in_w),      POSITIVE(kernel_h),    POSITIVE(kernel_w),      POSITIVE(stride_h),
    POSITIVE(stride_w),  POSITIVE(dilation_h),  POSITIVE(dilation_w),    POSITIVE(groups),
    NON_NEGATIVE(pad_h), NON_NEGATIVE(pad_w),   NON_NEGATIVE(out_pad_h), NON_NEGATIVE(out_pad_w),
};

static void set_field(tconv_shape *s, size_t offset, int64_t value) {
    memcpy((char *)s + offset, &value, sizeof value);
}

/* The base shape must pass, or every refusal below would prove nothing. */
static void test_valid_shape_accepted(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    int64_t oh = 0, ow = 0;
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK);
    assert_int_equal(oh, 10); /* 4*2 - 2 + 2 + 1 + 1 */
    assert_int_equal(ow, 13); /* 3*3 - 0 + 1 + 2 + 1 */
    assert_string_equal(tconv_last_error(), "");
}

static void test_field_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
        const field_case *c = &field_cases[i];
        tconv_shape s = valid_shape();
        set_field(&s, c->offset, c->value);
        char value[32], context[96];
        snprintf(value, sizeof value, "%" PRId64, c->value);
        snprintf(context, sizeof context, "%s = %s", c->field, value);
        const char *const needles[] = {c->field, value, NULL};
        expect_shape_refused(&s, TCONV_ERR_INVALID, needles, context);
    }
}

/* ---- refusals that depend on several fields, from a table ------------------------------- */

typedef struct field_edit {
    const char *field; /* NULL ends the list */
    size_t offset;
    int64_t value;
} field_edit;

typedef struct rule_case {
    const char *what;
    field_edit edits[10];   /* terminated by a NULL field */
    const char *needles[4]; /* NULL-terminated */
} rule_case;

#define P2(e) ((int64_t)1 << (e))

static const rule_case rule_cases[] = {
    /* PyTorch: output padding must be smaller than stride OR dilation. */
    {"out_pad_h == stride_h, dilation 1",
     {FIELD(stride_h, 2), FIELD(dilation_h, 1), FIELD(out_pad_h, 2)},
     {"output padding (2) must be smaller than stride (2) or dilation (1) in h"}},
    {"out_pad_w == stride_w, dilation 1",
     {FIELD(stride_w, 1), FIELD(dilation_w, 1), FIELD(out_pad_w, 1)},
     {"output padding (1) must be smaller than stride (1) or dilation (1) in w"}},
    {"out_pad_h above stride, equal to dilation",
     {FIELD(stride_h, 2), FIELD(dilation_h, 3), FIELD(out_pad_h, 3)},
     {"output padding (3) must be smaller than stride (2) or dilation (3) in h"}},
    {"out_pad_w above both",
     {FIELD(stride_w, 3), FIELD(dilation_w, 2), FIELD(out_pad_w, 5)},
     {"output padding (5) must be smaller than stride (3) or dilation (2) in w"}},
    {"groups does not divide in_channels",
     {FIELD(in_channels, 3), FIELD(out_channels, 4), FIELD(groups, 2)},
     {"groups (2)", "in_channels (3)"}},
    {"groups does not divide out_channels",
     {FIELD(in_channels, 4), FIELD(out_channels, 3), FIELD(groups, 2)},
     {"groups (2)", "out_channels (3)"}},
    {"groups above in_channels",
     {FIELD(in_channels, 2), FIELD(out_channels, 4), FIELD(groups, 4)},
     {"groups (4)", "in_channels (2)"}},
    /* out = (in-1)*s - 2p + d*(k-1) + op + 1 below 1. */
    {"output height -1",
     {FIELD(in_h, 1), FIELD(kernel_h, 1), FIELD(pad_h, 1), FIELD(out_pad_h, 0)},
     {"output height (-1)", "at least 1"}},
    {"output height 0",
     {FIELD(in_h, 2), FIELD(kernel_h, 1), FIELD(stride_h, 1), FIELD(pad_h, 1), FIELD(out_pad_h, 0)},
     {"output height (0)", "at least 1"}},
    {"output width -2",
     {FIELD(in_w, 2), FIELD(kernel_w, 1), FIELD(stride_w, 1), FIELD(pad_w, 2), FIELD(out_pad_w, 0)},
     {"output width (-2)", "at least 1"}},
    /* int64 overflow in each term of the output-size formula. */
    {"(in_h-1)*stride_h overflows",
     {FIELD(in_h, INT64_MAX), FIELD(stride_h, 2)},
     {"output height overflows int64", "9223372036854775807"}},
    {"(in_w-1)*stride_w overflows",
     {FIELD(in_w, INT64_MAX), FIELD(stride_w, 4)},
     {"output width overflows int64", "9223372036854775807"}},
    {"dilation_h*(kernel_h-1) overflows",
     {FIELD(kernel_h, INT64_MAX), FIELD(dilation_h, 2)},
     {"output height overflows int64", "9223372036854775807"}},
    {"2*pad_w overflows",
     {FIELD(pad_w, INT64_MAX / 2 + 1)},
     {"output width overflows int64", "4611686018427387904"}},
    {"span + reach overflows",
     {FIELD(in_h, P2(62) + 1), FIELD(stride_h, 1), FIELD(kernel_h, P2(62) + 1),
      FIELD(dilation_h, 1), FIELD(out_pad_h, 0)},
     {"output height overflows int64", "4611686018427387905"}},
    {"+ out_pad + 1 overflows",
     {FIELD(in_h, 1), FIELD(kernel_h, 2), FIELD(dilation_h, 1), FIELD(stride_h, INT64_MAX),
      FIELD(pad_h, 0), FIELD(out_pad_h, INT64_MAX - 1)},
     {"output height overflows int64", "9223372036854775807"}},
    /* Every field fits int64 but a product of them overflows size_t. */
    {"input plane overflows",
     {FIELD(in_h, P2(32)), FIELD(in_w, P2(32)), FIELD(stride_h, 1), FIELD(stride_w, 1),
      FIELD(out_pad_h, 0), FIELD(out_pad_w, 0)},
     {"input plane (in_h*in_w)", "overflows size_t"}},
    {"output plane overflows",
     {FIELD(in_h, 1), FIELD(in_w, 1), FIELD(kernel_h, 2), FIELD(kernel_w, 2),
      FIELD(dilation_h, P2(32)), FIELD(dilation_w, P2(32))},
     {"output plane (out_h*out_w)", "overflows size_t"}},
    {"kernel taps overflow",
     {FIELD(in_h, 1), FIELD(in_w, 1), FIELD(kernel_h, P2(32)), FIELD(kernel_w, P2(32)),
      FIELD(pad_h, P2(31) - 1), FIELD(pad_w, P2(31) - 1)},
     {"kernel (kernel_h*kernel_w)", "overflows size_t"}},
    {"x element count overflows",
     {FIELD(batch, P2(30)), FIELD(in_channels, P2(30)), FIELD(in_h, P2(10)), FIELD(in_w, 1),
      FIELD(groups, 1)},
     {"x (batch*in_channels*in_h*in_w)", "overflows size_t"}},
    /* 2^62 elements fit size_t, 2^64 bytes do not: byte counts must be checked too. */
    {"x byte count overflows",
     {FIELD(batch, P2(31)), FIELD(in_channels, P2(31)), FIELD(in_h, 1), FIELD(in_w, 1),
      FIELD(groups, 1)},
     {"x (batch*in_channels*in_h*in_w)", "overflows size_t"}},
    {"w element count overflows",
     {FIELD(in_channels, P2(20)), FIELD(out_channels, P2(20)), FIELD(kernel_h, P2(20)),
      FIELD(kernel_w, 16), FIELD(batch, 1), FIELD(groups, 1)},
     {"w (in_channels*out_channels/groups*kernel_h*kernel_w)", "overflows size_t"}},
    {"y element count overflows",
     {FIELD(batch, 64), FIELD(in_channels, 1), FIELD(out_channels, P2(10)), FIELD(groups, 1),
      FIELD(in_h, P2(15)), FIELD(in_w, P2(15)), FIELD(stride_h, P2(10)), FIELD(stride_w, P2(10))},
     {"y (batch*out_channels*out_h*out_w)", "overflows size_t"}},
};

static void apply_edits(tconv_shape *s, const field_edit *edits) {
    for (size_t i = 0; edits[i].field != NULL; i++) set_field(s, edits[i].offset, edits[i].value);
}

static void test_rule_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
        const rule_case *c = &rule_cases[i];
        tconv_shape s = valid_shape();
        apply_edits(&s, c->edits);
        expect_shape_refused(&s, TCONV_ERR_INVALID, c->needles, c->what);
    }
}

/* op >= stride is fine when op < dilation (PyTorch accepts s=1, d=3, op=2). */
static void test_out_pad_below_dilation_accepted(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    s.stride_h = 1, s.dilation_h = 3, s.out_pad_h = 2;
    s.stride_w = 1, s.dilation_w = 3, s.out_pad_w = 2;
    int64_t oh = 0, ow = 0;
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK);
    assert_int_equal(oh, 4 * 1 - 2 + 3 * 2 + 2 + 1);
    assert_int_equal(ow, 3 * 1 - 0 + 3 * 1 + 2 + 1);
    tensors t = tensors_alloc(&s);
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_REFERENCE, t.x, t.w, t.b, t.y), TCONV_OK);
    tensors_free(&t);
}

/* ---- NULL pointers -------------------------------------------------------------------------- */

static void test_null_output_size(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    int64_t oh = -77, ow = -77;
    expect_refusal2(tconv_output_size(NULL, &oh, &ow), TCONV_ERR_INVALID, "shape", "NULL",
                    "output_size(NULL shape)");
    expect_refusal2(tconv_output_size(&s, NULL, &ow), TCONV_ERR_INVALID, "out_h", "NULL",
                    "output_size(NULL out_h)");
    expect_refusal2(tconv_output_size(&s, &oh, NULL), TCONV_ERR_INVALID, "out_w", "NULL",
                    "output_size(NULL out_w)");
    assert_true(oh == -77 && ow == -77);
    double nominal = -1.0, useful = -1.0;
    expect_refusal2(tconv_flops(&s, NULL, &useful), TCONV_ERR_INVALID, "nominal", "NULL",
                    "flops(NULL nominal)");
    expect_refusal2(tconv_flops(&s, &nominal, NULL), TCONV_ERR_INVALID, "useful", "NULL",
                    "flops(NULL useful)");
    assert_true(nominal == -1.0 && useful == -1.0);
}

static void test_null_forward(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    fill_sentinel(t.y, t.ny);
    expect_refusal2(tconv_forward(NULL, TCONV_ALGO_AUTO, t.x, t.w, t.b, t.y), TCONV_ERR_INVALID,
                    "shape", "NULL", "forward(NULL shape)");
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_AUTO, NULL, t.w, t.b, t.y), TCONV_ERR_INVALID, "x",
                    "NULL", "forward(NULL x)");
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_AUTO, t.x, NULL, t.b, t.y), TCONV_ERR_INVALID, "w",
                    "NULL", "forward(NULL w)");
    expect_untouched(t.y, t.ny, "forward with a NULL argument");
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_AUTO, t.x, t.w, t.b, NULL), TCONV_ERR_INVALID, "y",
                    "NULL", "forward(NULL y)");
    tensors_free(&t);
}

static void test_null_plan(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    tconv_plan *plan = (tconv_plan *)&t;
    expect_refusal2(tconv_plan_create(NULL, TCONV_ALGO_AUTO, t.w, t.b, &plan), TCONV_ERR_INVALID,
                    "shape", "NULL", "plan_create(NULL shape)");
    assert_null(plan);
    plan = (tconv_plan *)&t;
    expect_refusal2(tconv_plan_create(&s, TCONV_ALGO_AUTO, NULL, t.b, &plan), TCONV_ERR_INVALID,
                    "w", "NULL", "plan_create(NULL w)");
    assert_null(plan);
    expect_refusal2(tconv_plan_create(&s, TCONV_ALGO_AUTO, t.w, t.b, NULL), TCONV_ERR_INVALID,
                    "plan output pointer", "NULL", "plan_create(NULL out)");

    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_AUTO, t.w, t.b, &plan), TCONV_OK);
    fill_sentinel(t.y, t.ny);
    expect_refusal2(tconv_plan_run(NULL, t.x, t.y), TCONV_ERR_INVALID, "plan", "NULL",
                    "plan_run(NULL plan)");
    expect_refusal2(tconv_plan_run(plan, NULL, t.y), TCONV_ERR_INVALID, "x", "NULL",
                    "plan_run(NULL x)");
    expect_untouched(t.y, t.ny, "plan_run with NULL x");
    expect_refusal2(tconv_plan_run(plan, t.x, NULL), TCONV_ERR_INVALID, "y", "NULL",
                    "plan_run(NULL y)");
    tconv_plan_destroy(plan);
    tconv_plan_destroy(NULL); /* documented no-op */
    tensors_free(&t);
}

/* The plan accessors: what was planned (auto resolved to a concrete algorithm), and neutral
 * answers for a NULL plan. */
static void test_plan_accessors(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_SPARSE, t.w, t.b, &plan), TCONV_OK);
    assert_int_equal(tconv_plan_algo(plan), TCONV_ALGO_SPARSE);
    assert_string_equal(tconv_plan_isa(plan), tconv_active_isa());
    assert_true(tconv_plan_memory_bytes(plan) > 0);
    tconv_plan_destroy(plan);
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_AUTO, t.w, t.b, &plan), TCONV_OK);
    tconv_algo chosen = tconv_plan_algo(plan);
    assert_true(chosen != TCONV_ALGO_AUTO && (unsigned)chosen < TCONV_ALGO_COUNT);
    tconv_plan_destroy(plan);
    assert_int_equal(tconv_plan_algo(NULL), TCONV_ALGO_AUTO);
    assert_null(tconv_plan_isa(NULL));
    assert_int_equal(tconv_plan_memory_bytes(NULL), 0);
    tensors_free(&t);
}

/* tconv_sparse_matrix (internal, used by tests and tools) only describes sparse plans. */
static void test_sparse_matrix_needs_sparse_plan(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    tconv_sparse_view view;
    memset(&view, 0x5A, sizeof view);
    tconv_sparse_view before = view;
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, t.w, t.b, &plan), TCONV_OK);
    expect_refusal2(tconv_sparse_matrix(plan, &view), TCONV_ERR_INVALID, "sparse plan", "needs",
                    "sparse_matrix(direct plan)");
    expect_refusal2(tconv_sparse_matrix(NULL, &view), TCONV_ERR_INVALID, "sparse plan", "needs",
                    "sparse_matrix(NULL plan)");
    assert_memory_equal(&view, &before, sizeof view);
    tconv_plan_destroy(plan);
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_SPARSE, t.w, t.b, &plan), TCONV_OK);
    expect_refusal2(tconv_sparse_matrix(plan, NULL), TCONV_ERR_INVALID, "sparse plan", "needs",
                    "sparse_matrix(NULL view)");
    assert_int_equal(tconv_sparse_matrix(plan, &view), TCONV_OK);
    tconv_sparse_view_free(&view);
    tconv_plan_destroy(plan);
    tensors_free(&t);
}

/* ---- algorithm and ISA selection ------------------------------------------------------------ */

static void test_unknown_algo(void **state) {
    (void)state;
    static const struct {
        tconv_algo algo;
        const char *text;
    } bad[] = {{(tconv_algo)42, "42"}, {(tconv_algo)-1, "-1"}, {(tconv_algo)TCONV_ALGO_COUNT, "7"}};
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(tconv_algo_name(bad[i].algo));
        fill_sentinel(t.y, t.ny);
        expect_refusal2(tconv_forward(&s, bad[i].algo, t.x, t.w, t.b, t.y), TCONV_ERR_INVALID,
                        "algo", bad[i].text, "forward(unknown algo)");
        expect_untouched(t.y, t.ny, "forward(unknown algo)");
        tconv_plan *plan = (tconv_plan *)&t;
        expect_refusal2(tconv_plan_create(&s, bad[i].algo, t.w, t.b, &plan), TCONV_ERR_INVALID,
                        "algo", bad[i].text, "plan_create(unknown algo)");
        assert_null(plan);
    }
    tensors_free(&t);
}

static void test_algo_from_name(void **state) {
    (void)state;
    tconv_algo a = TCONV_ALGO_DIRECT;
    expect_refusal2(tconv_algo_from_name("bogus", &a), TCONV_ERR_INVALID, "algorithm name", "bogus",
                    "algo_from_name(bogus)");
    expect_refusal2(tconv_algo_from_name("", &a), TCONV_ERR_INVALID, "algorithm name", "()",
                    "algo_from_name(\"\")");
    expect_refusal2(tconv_algo_from_name("Direct", &a), TCONV_ERR_INVALID, "algorithm name",
                    "Direct", "algo_from_name is case-sensitive");
    expect_refusal2(tconv_algo_from_name(NULL, &a), TCONV_ERR_INVALID, "algorithm name", "NULL",
                    "algo_from_name(NULL)");
    assert_int_equal(a, TCONV_ALGO_DIRECT); /* a refusal leaves *out alone */
    /* NULL out: only the status is checked, see the report about its message. */
    assert_int_equal(tconv_algo_from_name("direct", NULL), TCONV_ERR_INVALID);
    /* Every name round-trips, so the refusals above are about the names alone. */
    for (int i = 0; i < TCONV_ALGO_COUNT; i++) {
        assert_int_equal(tconv_algo_from_name(tconv_algo_name((tconv_algo)i), &a), TCONV_OK);
        assert_int_equal(a, i);
    }
}

/* An ISA tag of the other architecture can never be compiled into this build. */
#if defined(__aarch64__) || defined(__arm__)
#define FOREIGN_ISA "avx2"
#else
#define FOREIGN_ISA "neon"
#endif

static void expect_isa_refused(const char *isa, tconv_status want, const char *a, const char *b) {
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    tconv_plan_options opt = {.isa = isa};
    tconv_plan *plan = (tconv_plan *)&t;
    char context[96];
    snprintf(context, sizeof context, "plan_create_ex(isa \"%s\")", isa);
    expect_refusal2(tconv_plan_create_ex(&s, TCONV_ALGO_DIRECT, t.w, t.b, &opt, &plan), want, a, b,
                    context);
    assert_null(plan);
    tensors_free(&t);
}

static void test_unknown_isa_option(void **state) {
    (void)state;
    expect_isa_refused("bogus", TCONV_ERR_INVALID, "options.isa", "bogus");
    expect_isa_refused("", TCONV_ERR_INVALID, "options.isa", "()");
    expect_isa_refused("AVX2", TCONV_ERR_INVALID, "options.isa", "AVX2");
}

static void test_isa_not_compiled(void **state) {
    (void)state;
    assert_false(tconv_isa_compiled(FOREIGN_ISA));
    expect_isa_refused(FOREIGN_ISA, TCONV_ERR_UNSUPPORTED, FOREIGN_ISA, "not compiled");
}

/* options with isa NULL, and a NULL options pointer, both mean "the dispatcher's choice". */
static void test_null_isa_option_accepted(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    tconv_plan_options opt = {.isa = NULL};
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create_ex(&s, TCONV_ALGO_DIRECT, t.w, t.b, &opt, &plan), TCONV_OK);
    tconv_plan_destroy(plan);
    assert_int_equal(tconv_plan_create_ex(&s, TCONV_ALGO_DIRECT, t.w, t.b, NULL, &plan), TCONV_OK);
    tconv_plan_destroy(plan);
    tensors_free(&t);
}

/* ---- status strings, clearing and thread-locality of the message --------------------------- */

static void test_status_strings(void **state) {
    (void)state;
    static const struct {
        tconv_status st;
        const char *word;
    } all[] = {{TCONV_OK, "ok"},
               {TCONV_ERR_INVALID, "invalid"},
               {TCONV_ERR_NOMEM, "memory"},
               {TCONV_ERR_UNSUPPORTED, "unsupported"}};
    const size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *str = tconv_status_string(all[i].st);
        assert_non_null(str);
        assert_non_null(strstr(str, all[i].word));
        for (size_t j = 0; j < i; j++) assert_string_not_equal(str, tconv_status_string(all[j].st));
    }
    /* A value outside the enum (e.g. from a newer library) still gets a printable string. */
    assert_non_null(tconv_status_string((tconv_status)99));
    assert_non_null(tconv_status_string((tconv_status)-1));
}

/* Any refusal, so the next success has something to clear. */
static void fail_once(void) {
    tconv_algo a;
    assert_int_equal(tconv_algo_from_name("bogus", &a), TCONV_ERR_INVALID);
    assert_string_not_equal(tconv_last_error(), "");
}

static void test_success_clears_error(void **state) {
    (void)state;
    tconv_shape s = valid_shape();
    tensors t = tensors_alloc(&s);
    int64_t oh, ow;
    double nominal, useful;
    tconv_algo a;
    tconv_cpu_info info;
    tconv_plan *plan = NULL;

    fail_once();
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    fail_once();
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_AUTO, t.x, t.w, t.b, t.y), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    fail_once();
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_GEMM, t.w, t.b, &plan), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    fail_once();
    assert_int_equal(tconv_plan_run(plan, t.x, t.y), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    tconv_plan_destroy(plan);
    fail_once();
    assert_int_equal(tconv_algo_from_name("gemm", &a), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    fail_once();
    assert_int_equal(tconv_flops(&s, &nominal, &useful), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    fail_once();
    assert_int_equal(tconv_get_cpu_info(&info), TCONV_OK);
    assert_string_equal(tconv_last_error(), "");
    tensors_free(&t);
}

/* Lock-step script between the main thread and one other, so interleavings are fixed. */
typedef struct tl_script {
    pthread_barrier_t step;
    char before[256]; /* other thread's message before it failed (main had failed) */
    char after[256];  /* other thread's message after main succeeded */
} tl_script;

static void *tl_other_thread(void *arg) {
    tl_script *sc = arg;
    tconv_algo a;
    pthread_barrier_wait(&sc->step); /* 1: main has failed */
    snprintf(sc->before, sizeof sc->before, "%s", tconv_last_error());
    tconv_algo_from_name("other-thread-name", &a);
    pthread_barrier_wait(&sc->step); /* 2: main checks its own message */
    pthread_barrier_wait(&sc->step); /* 3: main has succeeded */
    snprintf(sc->after, sizeof sc->after, "%s", tconv_last_error());
    return NULL;
}

static void test_error_is_thread_local(void **state) {
    (void)state;
    tl_script sc;
    pthread_t other;
    tconv_shape s = valid_shape();
    int64_t oh, ow;
    assert_int_equal(pthread_barrier_init(&sc.step, NULL, 2), 0);
    assert_int_equal(pthread_create(&other, NULL, tl_other_thread, &sc), 0);

    s.groups = -5;
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_ERR_INVALID);
    pthread_barrier_wait(&sc.step); /* 1 */
    pthread_barrier_wait(&sc.step); /* 2: the other thread has failed with its own message */
    assert_non_null(strstr(tconv_last_error(), "groups (-5)"));
    assert_null(strstr(tconv_last_error(), "other-thread-name"));
    s = valid_shape();
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK);
    pthread_barrier_wait(&sc.step); /* 3 */
    assert_int_equal(pthread_join(other, NULL), 0);
    pthread_barrier_destroy(&sc.step);

    assert_string_equal(sc.before, "");                     /* main's failure did not leak */
    assert_non_null(strstr(sc.after, "other-thread-name")); /* main's success did not clear */
    assert_string_equal(tconv_last_error(), "");
}

/* ---- out of memory ------------------------------------------------------------------------- */

/* 1 channel, 2^28 x 2^29 input, 2x1 kernel at stride 1: every size fits size_t (x is 2^59 bytes)
 * but the GEMM column buffer is 2^58 floats = 2^60 bytes and the zero-inserted input 2^59 bytes,
 * more than any 48- or 57-bit virtual address space, so the allocation fails whatever the
 * overcommit policy. The kernel rows overlap (k > s): a 1x1 kernel would let gemm write y straight
 * from its tiles without any column buffer. */
static tconv_shape impossible_shape(void) {
    tconv_shape s = {.batch = 1,
                     .in_channels = 1,
                     .out_channels = 1,
                     .in_h = P2(28),
                     .in_w = P2(29),
                     .kernel_h = 2,
                     .kernel_w = 1,
                     .stride_h = 1,
                     .stride_w = 1,
                     .dilation_h = 1,
                     .dilation_w = 1,
                     .groups = 1};
    return s;
}

static void test_nomem_plan(void **state) {
    (void)state;
    static const tconv_algo algos[] = {TCONV_ALGO_GEMM, TCONV_ALGO_ZERO_INSERT};
    tconv_shape s = impossible_shape();
    int64_t oh, ow;
    float w = 1.0f, bias = 0.5f;
    assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK); /* the shape itself is valid */
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        char context[64];
        snprintf(context, sizeof context, "plan_create(%s, 2^60-byte buffer)",
                 tconv_algo_name(algos[i]));
        tconv_plan *plan = (tconv_plan *)&s;
        /* With a bias too, so the failure happens with more than one buffer live. */
        expect_refusal2(tconv_plan_create(&s, algos[i], &w, &bias, &plan), TCONV_ERR_NOMEM,
                        "allocate", "bytes", context);
        assert_null(plan);
    }
}

/* tconv_forward reports the plan's NOMEM and never touches x, w beyond their first element or y. */
static void test_nomem_forward(void **state) {
    (void)state;
    tconv_shape s = impossible_shape();
    float x = 1.0f, w = 1.0f, y[4];
    fill_sentinel(y, 4);
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_GEMM, &x, &w, NULL, y), TCONV_ERR_NOMEM,
                    "allocate", "bytes", "forward(gemm, 2^60-byte buffer)");
    expect_untouched(y, 4, "forward NOMEM");
    /* NULL tensors are refused before any allocation: INVALID naming them, not NOMEM. */
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_GEMM, NULL, &w, NULL, y), TCONV_ERR_INVALID, "x",
                    "NULL", "forward(huge, NULL x)");
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_GEMM, &x, NULL, NULL, y), TCONV_ERR_INVALID, "w",
                    "NULL", "forward(huge, NULL w)");
    expect_refusal2(tconv_forward(&s, TCONV_ALGO_GEMM, &x, &w, NULL, NULL), TCONV_ERR_INVALID, "y",
                    "NULL", "forward(huge, NULL y)");
    expect_untouched(y, 4, "forward NULL tensors");
}

/* ---- sizes beyond an algorithm's index types ------------------------------------------------ */

/* 1 -> 1 channel, 1x1 kernel, the given input: valid, and refused by the algorithm before it
 * allocates anything, so no memory is needed. */
static tconv_shape wide_input_shape(int64_t in_h, int64_t in_w) {
    tconv_shape s = impossible_shape();
    s.in_h = in_h;
    s.in_w = in_w;
    s.kernel_h = 1;
    return s;
}

/* gemm_blas hands M, N and K to CBLAS as int: an input plane of 2^31 + 2^16 pixels is refused. */
static void test_gemm_blas_int_range(void **state) {
    (void)state;
    tconv_shape s = wide_input_shape(P2(16), P2(15) + 1);
    float w = 1.0f;
    tconv_plan *plan = (tconv_plan *)&s;
    tconv_status st = tconv_plan_create(&s, TCONV_ALGO_GEMM_BLAS, &w, NULL, &plan);
    if (st == TCONV_ERR_UNSUPPORTED && strstr(tconv_last_error(), "no OpenBLAS")) {
        printf("skip: %s\n", tconv_last_error());
        skip();
    }
    const char *const needles[] = {"gemm_blas", "int range", "2147549184", NULL};
    expect_refusal(st, TCONV_ERR_UNSUPPORTED, needles, "plan_create(gemm_blas, N > INT_MAX)");
    assert_null(plan);
}

/* sparse stores input pixel indices in 32 bits: a 65537 x 65537 input is refused. */
static void test_sparse_index_range(void **state) {
    (void)state;
    tconv_shape s = wide_input_shape(P2(16) + 1, P2(16) + 1);
    float w = 1.0f;
    tconv_plan *plan = (tconv_plan *)&s;
    const char *const needles[] = {"sparse", "32-bit", "4295098369", NULL};
    expect_refusal(tconv_plan_create(&s, TCONV_ALGO_SPARSE, &w, NULL, &plan), TCONV_ERR_UNSUPPORTED,
                   needles, "plan_create(sparse, plane > UINT32_MAX)");
    assert_null(plan);
}

/* A buffer whose byte count fits size_t but not with the plan's alignment padding on top must
 * be refused, not wrapped around to a tiny allocation: gemm's column buffer of
 * (2^31 + 1) * (2^31 - 1) = 2^62 - 1 floats is 2^64 - 4 bytes (kernel 3 x 715827883, so
 * out_channels * taps = 2^31 + 1, times a 1 x (2^31 - 1) input). */
static void test_buffer_size_guard(void **state) {
    (void)state;
    tconv_shape s = wide_input_shape(1, P2(31) - 1);
    s.kernel_h = 3;
    s.kernel_w = 715827883;
    float w = 1.0f;
    tconv_plan *plan = (tconv_plan *)&s;
    /* The message names the fields and their values, not the intermediate byte count. */
    const char *const needles[] = {"column buffer", "overflows size_t", "kernel_w 715827883",
                                   "in_w 2147483647", NULL};
    expect_refusal(tconv_plan_create(&s, TCONV_ALGO_GEMM, &w, NULL, &plan), TCONV_ERR_INVALID,
                   needles, "plan_create(gemm, column buffer of 2^64 - 4 bytes)");
    assert_null(plan);
}

/* Current virtual size, so the address-space limit below leaves only a little headroom. */
static size_t virtual_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL) return 0;
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

#define RLIMIT_HEADROOM ((rlim_t)64 << 20)
enum { CHILD_OK = 0, CHILD_NO_STATM = 10, CHILD_SETRLIMIT = 11, CHILD_WRONG_STATUS = 12 };

/* In the child: an ordinary 512 MiB column buffer under a limit of 64 MiB of new address space
 * must give NOMEM. The limit is lifted again before exit so the leak checker can run. */
static int rlimit_child(void) {
    tconv_shape s = impossible_shape();
    s.in_h = s.in_w = 8192; /* col: 2^27 floats = 512 MiB (2x1 kernel) */
    float w = 1.0f;
    struct rlimit old, lim;
    size_t vm = virtual_bytes();
    if (vm == 0) return CHILD_NO_STATM;
    if (getrlimit(RLIMIT_AS, &old) != 0) return CHILD_SETRLIMIT;
    lim = old;
    lim.rlim_cur = (rlim_t)vm + RLIMIT_HEADROOM;
    if (old.rlim_max != RLIM_INFINITY && lim.rlim_cur > old.rlim_max) return CHILD_SETRLIMIT;
    if (setrlimit(RLIMIT_AS, &lim) != 0) return CHILD_SETRLIMIT;
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create(&s, TCONV_ALGO_GEMM, &w, NULL, &plan);
    setrlimit(RLIMIT_AS, &old);
    if (st != TCONV_ERR_NOMEM || plan != NULL || strstr(tconv_last_error(), "allocate") == NULL) {
        fprintf(stderr, "rlimit child: status %s, message \"%s\"\n", tconv_status_string(st),
                tconv_last_error());
        tconv_plan_destroy(plan);
        return CHILD_WRONG_STATUS;
    }
    return CHILD_OK;
}

static void test_nomem_rlimit(void **state) {
    (void)state;
#if defined(TCONV_TEST_EMULATED) && TCONV_TEST_EMULATED
    /* Under qemu user mode RLIMIT_AS limits the emulator's own address space, not the guest's
     * heap, so the scenario is meaningless there; the huge-shape NOMEM test still runs. */
    printf("skipped under emulation: RLIMIT_AS would limit qemu itself\n");
    skip();
#endif
    fflush(NULL); /* the child must not flush the parent's buffered output a second time */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) exit(rlimit_child()); /* exit (not _exit): LeakSanitizer runs in the child */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) fail_msg("rlimit child died (status %d)", status);
    if (WEXITSTATUS(status) != CHILD_OK)
        fail_msg("rlimit child exited with %d (10 statm, 11 setrlimit, 12 wrong status, "
                 "other: sanitizer)",
                 WEXITSTATUS(status));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_shape_accepted),
        cmocka_unit_test(test_field_table),
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_out_pad_below_dilation_accepted),
        cmocka_unit_test(test_null_output_size),
        cmocka_unit_test(test_null_forward),
        cmocka_unit_test(test_null_plan),
        cmocka_unit_test(test_plan_accessors),
        cmocka_unit_test(test_sparse_matrix_needs_sparse_plan),
        cmocka_unit_test(test_unknown_algo),
        cmocka_unit_test(test_algo_from_name),
        cmocka_unit_test(test_unknown_isa_option),
        cmocka_unit_test(test_isa_not_compiled),
        cmocka_unit_test(test_null_isa_option_accepted),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_success_clears_error),
        cmocka_unit_test(test_error_is_thread_local),
        cmocka_unit_test(test_nomem_plan),
        cmocka_unit_test(test_nomem_forward),
        cmocka_unit_test(test_nomem_rlimit),
        cmocka_unit_test(test_gemm_blas_int_range),
        cmocka_unit_test(test_sparse_index_range),
        cmocka_unit_test(test_buffer_size_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
