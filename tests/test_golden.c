/* PyTorch golden data (tests/data/golden.txt): every algorithm x ISA against ConvTranspose2d. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tconv.h"
#include "testutil.h"

/* scripts/make_golden.py writes this many cases; a truncated or regenerated-smaller file fails. */
#define GOLDEN_EXPECTED_CASES 41

#ifndef GOLDEN_DEFAULT_PATH
#define GOLDEN_DEFAULT_PATH "tests/data/golden.txt"
#endif

typedef struct golden_case {
    char name[64];
    tconv_shape s;
    int has_bias;
    int64_t out_h, out_w; /* PyTorch's output shape */
    float *x, *w, *b;     /* b NULL without bias */
    double *y;            /* PyTorch's float64 output */
    size_t nx, nw, nb, ny;
} golden_case;

static golden_case *g_cases;
static int g_count;         /* cases parsed */
static int g_declared = -1; /* the file's "count" line */
static int g_parse_ok;
static char g_parse_error[256];

/* ---- parsing ------------------------------------------------------------------------------ */

static int parse_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_parse_error, sizeof g_parse_error, fmt, ap);
    va_end(ap);
    return 0;
}

/* Next whitespace-separated token, skipping '#' comment lines. */
static int next_token(FILE *f, char *buf, size_t n) {
    for (;;) {
        int c;
        do c = fgetc(f);
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if (c == EOF) return 0;
        if (c == '#') {
            while (c != '\n' && c != EOF) c = fgetc(f);
            continue;
        }
        size_t len = 0;
        while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            if (len + 1 < n) buf[len++] = (char)c;
            c = fgetc(f);
        }
        buf[len] = '\0';
        return 1;
    }
}

static int expect_word(FILE *f, const char *word) {
    char tok[64];
    if (!next_token(f, tok, sizeof tok)) return parse_fail("expected '%s', got end of file", word);
    if (strcmp(tok, word) != 0) return parse_fail("expected '%s', got '%s'", word, tok);
    return 1;
}

static int read_i64(FILE *f, int64_t *v) {
    char tok[64], *end;
    if (!next_token(f, tok, sizeof tok)) return parse_fail("expected an integer, got end of file");
    long long x = strtoll(tok, &end, 10);
    if (*end != '\0' || end == tok) return parse_fail("expected an integer, got '%s'", tok);
    *v = (int64_t)x;
    return 1;
}

/* "[<tag>] <n> v1 ... vn" with n == want (tag NULL: already consumed); floats via strtof
 * (correctly rounded), doubles via strtod. */
static int read_values(FILE *f, const char *tag, size_t want, float **fout, double **dout) {
    int64_t n = 0;
    char tok[64], *end;
    if ((tag && !expect_word(f, tag)) || !read_i64(f, &n)) return 0;
    if (n < 0 || (size_t)n != want)
        return parse_fail("'%s' has %" PRId64 " values, the shape needs %zu", tag ? tag : "y", n,
                          want);
    if (fout) *fout = malloc((want ? want : 1) * sizeof(float));
    if (dout) *dout = malloc((want ? want : 1) * sizeof(double));
    if ((fout && !*fout) || (dout && !*dout)) return parse_fail("out of memory");
    for (size_t i = 0; i < want; i++) {
        if (!next_token(f, tok, sizeof tok))
            return parse_fail("'%s' truncated at %zu", tag ? tag : "y", i);
        if (fout)
            (*fout)[i] = strtof(tok, &end);
        else
            (*dout)[i] = strtod(tok, &end);
        if (*end != '\0' || end == tok)
            return parse_fail("'%s'[%zu]: bad number '%s'", tag ? tag : "y", i, tok);
    }
    return 1;
}

static int parse_case(FILE *f, golden_case *c) {
    int64_t *fields = &c->s.batch; /* tconv_shape is 16 int64_t in file order */
    int64_t bias = 0, oh = 0, ow = 0;
    memset(c, 0, sizeof *c);
    if (!next_token(f, c->name, sizeof c->name)) return parse_fail("case name missing");
    for (int i = 0; i < 16; i++) {
        if (!read_i64(f, &fields[i])) return 0;
    }
    if (!expect_word(f, "bias") || !read_i64(f, &bias)) return 0;
    if (bias != 0 && bias != 1) return parse_fail("%s: bias must be 0 or 1", c->name);
    c->has_bias = (int)bias;
    const tconv_shape *s = &c->s;
    for (int i = 0; i < 16; i++) /* pads and output pads (fields 9..12) may be 0, the rest not */
        if (fields[i] < (i >= 9 && i <= 12 ? 0 : 1) || fields[i] > 4096)
            return parse_fail("%s: shape field %d out of range: %" PRId64, c->name, i, fields[i]);
    if (s->groups <= 0 || s->in_channels % s->groups || s->out_channels % s->groups)
        return parse_fail("%s: bad groups", c->name);
    c->nx = (size_t)(s->batch * s->in_channels * s->in_h * s->in_w);
    c->nw = (size_t)(s->in_channels * (s->out_channels / s->groups) * s->kernel_h * s->kernel_w);
    c->nb = c->has_bias ? (size_t)s->out_channels : 0;
    if (!read_values(f, "x", c->nx, &c->x, NULL) || !read_values(f, "w", c->nw, &c->w, NULL) ||
        !read_values(f, "b", c->nb, &c->b, NULL))
        return 0;
    if (!c->has_bias) free(c->b), c->b = NULL;
    if (!expect_word(f, "y") || !read_i64(f, &oh) || !read_i64(f, &ow)) return 0;
    if (oh <= 0 || ow <= 0) return parse_fail("%s: bad output shape", c->name);
    c->out_h = oh, c->out_w = ow;
    c->ny = (size_t)(s->batch * s->out_channels * oh * ow);
    return read_values(f, NULL, c->ny, NULL, &c->y);
}

static int parse_file(const char *path) {
    FILE *f = fopen(path, "r");
    char tok[64];
    int64_t declared = 0;
    if (!f) return parse_fail("cannot open %s", path);
    int ok = expect_word(f, "count") && read_i64(f, &declared);
    if (ok && (declared <= 0 || declared > 100000)) ok = parse_fail("bad count %" PRId64, declared);
    if (ok) {
        g_declared = (int)declared;
        g_cases = calloc((size_t)declared, sizeof *g_cases);
        if (!g_cases) ok = parse_fail("out of memory");
    }
    while (ok) {
        if (!next_token(f, tok, sizeof tok)) {
            ok = parse_fail("end of file after %d cases, no 'end' line (truncated?)", g_count);
        } else if (strcmp(tok, "end") == 0) {
            break;
        } else if (strcmp(tok, "case") != 0) {
            ok = parse_fail("after %d cases: expected 'case' or 'end', got '%s'", g_count, tok);
        } else if (g_count >= g_declared) {
            ok = parse_fail("more cases than the declared %d", g_declared);
        } else {
            golden_case *c = &g_cases[g_count];
            ok = parse_case(f, c);
            if (ok)
                g_count++;
            else
                free(c->x), free(c->w), free(c->b), free(c->y);
        }
    }
    if (ok && next_token(f, tok, sizeof tok)) ok = parse_fail("text after 'end': '%s'", tok);
    fclose(f);
    return ok;
}

/* ---- independent math --------------------------------------------------------------------- */

/* The design notes' gather formula in double, written without the library: y (the value) and
 * mag = |b| + sum |x||w| (the error bound's magnitude term). */
static void own_forward(const golden_case *c, double *y, double *mag) {
    const tconv_shape *s = &c->s;
    int64_t cig = s->in_channels / s->groups, cog = s->out_channels / s->groups;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < s->out_channels; co++) {
            int64_t g = co / cog, col = co % cog;
            for (int64_t oy = 0; oy < c->out_h; oy++)
                for (int64_t ox = 0; ox < c->out_w; ox++) {
                    double v = c->b ? (double)c->b[co] : 0.0;
                    double m = fabs(v);
                    for (int64_t ci = g * cig; ci < (g + 1) * cig; ci++)
                        for (int64_t ky = 0; ky < s->kernel_h; ky++) {
                            int64_t ty = oy + s->pad_h - ky * s->dilation_h; /* = iy * sh */
                            if (ty < 0 || ty % s->stride_h) continue;
                            int64_t iy = ty / s->stride_h;
                            if (iy >= s->in_h) continue;
                            for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                                int64_t tx = ox + s->pad_w - kx * s->dilation_w;
                                if (tx < 0 || tx % s->stride_w) continue;
                                int64_t ix = tx / s->stride_w;
                                if (ix >= s->in_w) continue;
                                double xv =
                                    c->x[((n * s->in_channels + ci) * s->in_h + iy) * s->in_w + ix];
                                double wv =
                                    c->w[((ci * cog + col) * s->kernel_h + ky) * s->kernel_w + kx];
                                v += xv * wv;
                                m += fabs(xv * wv);
                            }
                        }
                    size_t i =
                        (size_t)(((n * s->out_channels + co) * c->out_h + oy) * c->out_w + ox);
                    y[i] = v;
                    mag[i] = m;
                }
        }
}

/* ---- tests -------------------------------------------------------------------------------- */

static const tconv_algo k_algos[] = {
    TCONV_ALGO_REFERENCE, TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT, TCONV_ALGO_GEMM,
    TCONV_ALGO_SPARSE,    TCONV_ALGO_GEMM_BLAS,   TCONV_ALGO_AUTO};

static void test_file(void **state) {
    (void)state;
    if (!g_parse_ok) print_error("golden file: %s\n", g_parse_error);
    assert_true(g_parse_ok);
    assert_int_equal(g_declared, GOLDEN_EXPECTED_CASES);
    assert_int_equal(g_count, GOLDEN_EXPECTED_CASES);
    char list[256] = "";
    for (int k = 0; k < tconv_isa_count(); k++) {
        const char *isa = tconv_isa_name(k);
        if (tconv_isa_compiled(isa) && tconv_isa_supported(isa) &&
            strlen(list) + strlen(isa) + 2 < sizeof list)
            strcat(list, " "), strcat(list, isa);
    }
    print_message("golden: %d cases x %d algorithms x ISAs:%s\n", g_count,
                  (int)(sizeof k_algos / sizeof k_algos[0]), list);
}

/* One (algorithm, ISA) run on guarded buffers; returns the number of failures. */
static int run_one(const golden_case *c, tconv_algo algo, const char *isa, const double *mag,
                   int at_end) {
    const char *aname = tconv_algo_name(algo);
    tu_guarded gx = {0}, gw = {0}, gb = {0}, gy = {0};
    int failures = 0;
    if (!tu_guarded_alloc(&gx, c->nx, at_end) || !tu_guarded_alloc(&gw, c->nw, at_end) ||
        !tu_guarded_alloc(&gb, (size_t)c->s.out_channels, at_end) ||
        !tu_guarded_alloc(&gy, c->ny, at_end)) {
        print_error("guarded allocation failed\n");
        failures = 1;
        goto done;
    }
    memcpy(gx.data, c->x, c->nx * sizeof(float));
    memcpy(gw.data, c->w, c->nw * sizeof(float));
    if (c->b) memcpy(gb.data, c->b, c->nb * sizeof(float));
    for (size_t i = 0; i < c->ny; i++) gy.data[i] = NAN; /* every output must be written */

    tconv_plan_options opt = {.isa = isa};
    tconv_plan *plan = NULL;
    tconv_status st =
        tconv_plan_create_ex(&c->s, algo, gw.data, c->b ? gb.data : NULL, &opt, &plan);
    if (st == TCONV_ERR_UNSUPPORTED && algo == TCONV_ALGO_GEMM_BLAS) {
        print_message("[  SKIP    ] algo=%s isa=%s case=%s: %s\n", aname, isa, c->name,
                      tconv_last_error());
        goto done;
    }
    if (st == TCONV_OK) st = tconv_plan_run(plan, gx.data, gy.data);
    if (st != TCONV_OK) {
        print_error("FAILED CALL algo=%s isa=%s case=%s: %s: %s\n", aname, isa, c->name,
                    tconv_status_string(st), tconv_last_error());
        failures = 1;
        tconv_plan_destroy(plan);
        goto done;
    }
    tconv_plan_destroy(plan);

    const double L = (double)(c->s.in_channels / c->s.groups * c->s.kernel_h * c->s.kernel_w);
    const double unit = ldexp(1.0, -24);
    for (size_t i = 0; i < c->ny; i++) {
        double bound = TU_BOUND_C * L * unit * mag[i];
        double err = fabs((double)gy.data[i] - c->y[i]);
        if (!(err <= bound)) { /* also catches NaN */
            if (failures < 5)
                print_error("MISMATCH algo=%s isa=%s case=%s index=%zu expected=%.17g actual=%.9g "
                            "error=%.3g bound=%.3g\n",
                            aname, isa, c->name, i, c->y[i], (double)gy.data[i], err, bound);
            failures++;
        }
    }
    if (failures > 5)
        print_error("... %d mismatches in total for algo=%s isa=%s case=%s\n", failures, aname, isa,
                    c->name);
done:
    tu_guarded_free(&gx), tu_guarded_free(&gw), tu_guarded_free(&gb), tu_guarded_free(&gy);
    return failures;
}

static void test_case(void **state) {
    const golden_case *c = *state;
    const tconv_shape *s = &c->s;

    /* Output size: the library, PyTorch and the design notes' formula agree. */
    int64_t oh = -1, ow = -1;
    tconv_status st = tconv_output_size(s, &oh, &ow);
    if (st != TCONV_OK)
        print_error("case %s: tconv_output_size: %s\n", c->name, tconv_last_error());
    assert_int_equal(st, TCONV_OK);
    if (oh != c->out_h || ow != c->out_w)
        print_error("case %s: tconv_output_size %" PRId64 "x%" PRId64 ", PyTorch %" PRId64
                    "x%" PRId64 "\n",
                    c->name, oh, ow, c->out_h, c->out_w);
    assert_int_equal(oh, c->out_h);
    assert_int_equal(ow, c->out_w);
    assert_int_equal(tu_y_elems(s), c->ny);

    /* Our own reading of the math reproduces PyTorch (float64 vs float64: only summation order
     * differs), which checks the weight layout and group convention independently of the library.
     */
    double *own = malloc(c->ny * sizeof(double)), *mag = malloc(c->ny * sizeof(double));
    assert_non_null(own);
    assert_non_null(mag);
    own_forward(c, own, mag);
    const double L = (double)(s->in_channels / s->groups * s->kernel_h * s->kernel_w);
    int own_bad = 0;
    for (size_t i = 0; i < c->ny; i++) {
        double bound = 2.0 * (L + 1.0) * ldexp(1.0, -53) * mag[i];
        if (!(fabs(own[i] - c->y[i]) <= bound) && own_bad++ < 5)
            print_error("OWN MATH MISMATCH case=%s index=%zu expected=%.17g actual=%.17g\n",
                        c->name, i, c->y[i], own[i]);
    }
    free(own);

    int failures = own_bad, runs = 0;
    for (int k = 0; k < tconv_isa_count(); k++) {
        const char *isa = tconv_isa_name(k);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        for (size_t a = 0; a < sizeof k_algos / sizeof k_algos[0]; a++) {
            failures += run_one(c, k_algos[a], isa, mag, (int)((a + (size_t)k) & 1));
            runs++;
        }
    }
    free(mag);
    assert_true(runs > 0); /* at least one ISA must be usable */
    assert_int_equal(failures, 0);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : GOLDEN_DEFAULT_PATH;
    g_parse_ok = parse_file(path);
    if (!g_parse_ok) fprintf(stderr, "golden file %s: %s\n", path, g_parse_error);

    int n = g_parse_ok ? g_count : 0;
    struct CMUnitTest *tests = calloc((size_t)n + 1, sizeof *tests);
    if (!tests) return 1;
    tests[0] = (struct CMUnitTest){.name = "golden_file", .test_func = test_file};
    for (int i = 0; i < n; i++)
        tests[i + 1] = (struct CMUnitTest){
            .name = g_cases[i].name, .test_func = test_case, .initial_state = &g_cases[i]};
    int rc = _cmocka_run_group_tests("golden", tests, (size_t)n + 1, NULL, NULL);
    free(tests);
    for (int i = 0; i < g_count; i++)
        free(g_cases[i].x), free(g_cases[i].w), free(g_cases[i].b), free(g_cases[i].y);
    free(g_cases);
    return rc;
}
