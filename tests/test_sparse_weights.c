/* sparse with pruned weights: zero weights skipped on every ISA, density reported, NaN rule. */
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

/* batch, cin, cout, h, w, kh, kw, sh, sw, ph, pw, oph, opw, dh, dw, groups */
static const tconv_shape shapes[] = {
    {1, 8, 6, 5, 7, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},     /* DCGAN-like, odd sizes */
    {2, 6, 4, 9, 4, 3, 3, 2, 3, 1, 0, 1, 2, 1, 1, 2},     /* groups, out_pad, unequal strides */
    {1, 5, 5, 4, 6, 16, 16, 8, 8, 4, 4, 0, 0, 1, 1, 1},   /* FCN-like k = 2s */
    {1, 3, 2, 6, 6, 3, 2, 1, 1, 0, 1, 0, 0, 2, 3, 1},     /* stride 1, dilation */
    {1, 2, 3, 3, 3, 2, 2, 5, 5, 0, 0, 0, 0, 1, 1, 1},     /* stride > kernel: empty phases */
    {1, 4, 3, 3, 3, 5, 5, 1, 1, 3, 3, 0, 0, 1, 1, 1},     /* padding crops taps away */
    {1, 160, 9, 16, 16, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* input > 128 KB: input blocks */
    /* cout per group a multiple of 4: quad runs at densities near 1 */
    {1, 8, 8, 11, 13, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},    /* DCGAN-like, quads */
    {1, 6, 8, 11, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},    /* quads in 2 groups, out_pad */
    {1, 160, 12, 16, 16, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* quads with input blocks */
    {1, 4, 8, 48, 48, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},    /* planes > 8 KB: one input block */
};
/* 0.9: quad runs and single-channel runs both (0.9^4 of the quad entries are full). */
static const double densities[] = {0.0, 0.05, 0.3, 0.9, 1.0};

static float *pruned_weights(const tconv_shape *s, double density, uint64_t seed, size_t *nonzero) {
    size_t n = tu_w_elems(s);
    float *w = malloc(n * sizeof *w);
    tu_rng r;
    tu_seed(&r, seed);
    *nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        float v = tu_uniform(&r);
        w[i] = (tu_uniform(&r) + 1.0f) / 2.0f < density ? v : 0.0f;
        *nonzero += w[i] != 0.0f;
    }
    return w;
}

/* Every ISA x shape x density against the reference (exact bound of testutil), and the plan's
 * density equals the fraction of nonzeros. */
static void test_pruned_matches_reference(void **state) {
    (void)state;
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
            for (size_t d = 0; d < sizeof densities / sizeof *densities; d++) {
                const tconv_shape *s = &shapes[k];
                size_t nz, nx = tu_x_elems(s), ny = tu_y_elems(s), nb = (size_t)s->out_channels;
                float *w = pruned_weights(s, densities[d], 1000 + k * 10 + d, &nz);
                float *x = malloc(nx * sizeof *x), *b = malloc(nb * sizeof *b),
                      *y = malloc(ny * sizeof *y);
                tu_rng r;
                tu_seed(&r, 7 + k);
                tu_fill(&r, x, nx), tu_fill(&r, b, nb);
                tconv_plan_options o = {isa, 1, NULL, 0};
                tconv_plan *plan = NULL;
                if (tconv_plan_create_ex(s, TCONV_ALGO_SPARSE, w, b, &o, &plan) != TCONV_OK)
                    fail_msg("shape %zu: %s", k, tconv_last_error());
                assert_true(tconv_plan_weight_density(plan) == (double)nz / (double)tu_w_elems(s));
                assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
                if (!tu_check_output(s, "sparse", isa, x, w, b, y))
                    fail_msg("isa %s shape %zu density %g", isa, k, densities[d]);
                tconv_plan_destroy(plan);
                free(w), free(x), free(b), free(y);
            }
    }
}

/* Every algorithm reports the density (counted at creation, not by sparse alone). */
static void test_density_for_every_algorithm(void **state) {
    (void)state;
    const tconv_shape *s = &shapes[0];
    size_t nz;
    float *w = pruned_weights(s, 0.3, 42, &nz);
    for (int a = 1; a < TCONV_ALGO_COUNT; a++) {
        tconv_plan *plan = NULL;
        if (tconv_plan_create(s, (tconv_algo)a, w, NULL, &plan) != TCONV_OK) continue; /* BLAS */
        assert_true(tconv_plan_weight_density(plan) == (double)nz / (double)tu_w_elems(s));
        tconv_plan_destroy(plan);
    }
    assert_true(tconv_plan_weight_density(NULL) == 0.0);
    free(w);
}

/* The documented rule: a NaN in x that meets only zero weights does not reach y under sparse
 * (the reference there is NaN: 0 * NaN); through a nonzero weight it does. Input channel 0 has
 * only zero weights (+0 and -0), so sparse must equal the reference on x with that NaN removed. */
static void test_zero_weight_stops_nan(void **state) {
    (void)state;
    const tconv_shape s = {1, 2, 2, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1};
    size_t nx = tu_x_elems(&s), nw = tu_w_elems(&s), ny = tu_y_elems(&s);
    float *x = malloc(nx * sizeof *x), *xz = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w);
    float *y = malloc(ny * sizeof *y), *yr = malloc(ny * sizeof *y);
    tu_rng r;
    tu_seed(&r, 99);
    tu_fill(&r, x, nx), tu_fill(&r, w, nw);
    size_t per_in = nw / 2;
    for (size_t i = 0; i < per_in; i++) w[i] = i % 2 ? 0.0f : -0.0f; /* input channel 0 */
    memcpy(xz, x, nx * sizeof *x);
    x[5] = NAN, xz[5] = 0.0f; /* channel 0, pixel (1, 1) */
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_REFERENCE, x, w, NULL, yr), TCONV_OK);
    int reference_nan = 0;
    for (size_t i = 0; i < ny; i++) reference_nan |= isnan(yr[i]);
    assert_true(reference_nan); /* the rule is visible: the reference propagates 0 * NaN */
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        tconv_plan_options o = {isa, 1, NULL, 0};
        tconv_plan *plan = NULL;
        assert_int_equal(tconv_plan_create_ex(&s, TCONV_ALGO_SPARSE, w, NULL, &o, &plan), TCONV_OK);
        assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
        for (size_t j = 0; j < ny; j++) assert_true(isfinite(y[j]));
        assert_true(tu_check_output(&s, "sparse", isa, xz, w, NULL, y));
        /* A NaN in channel 1 (nonzero weights) does propagate. */
        x[nx / 2 + 5] = NAN;
        assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
        int nan = 0;
        for (size_t j = 0; j < ny; j++) nan |= isnan(y[j]);
        assert_true(nan);
        x[nx / 2 + 5] = xz[nx / 2 + 5];
        tconv_plan_destroy(plan);
    }
    free(x), free(xz), free(w), free(y), free(yr);
}

/* The same rule where quads run: output channel 0 has only zero weights from input channel 0
 * while output channels 1-3 have nonzero ones, so that (input channel, tap) entry is not a full
 * quad and must not be multiplied for channel 0: its y stays finite and equals the reference on x
 * without the NaN; channels 1-3 get the NaN. */
static void test_zero_weight_stops_nan_in_quads(void **state) {
    (void)state;
    const tconv_shape s = {1, 3, 4, 12, 12, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}; /* padded */
    size_t nx = tu_x_elems(&s), nw = tu_w_elems(&s), ny = tu_y_elems(&s);
    size_t plane_out = ny / 4, taps = 16;
    float *x = malloc(nx * sizeof *x), *xz = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w);
    float *y = malloc(ny * sizeof *y), *yz = malloc(ny * sizeof *y);
    tu_rng r;
    tu_seed(&r, 41);
    tu_fill(&r, x, nx), tu_fill(&r, w, nw);
    for (size_t i = 0; i < nw; i++)
        if (w[i] == 0.0f) w[i] = 0.5f;             /* every other weight nonzero: quads are used */
    for (size_t t = 0; t < taps; t++) w[t] = 0.0f; /* w[in 0][out 0][t] */
    memcpy(xz, x, nx * sizeof *x);
    x[26] = NAN, xz[26] = 0.0f; /* input channel 0, pixel (2, 2) */
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        tconv_plan_options o = {isa, 1, NULL, 0};
        tconv_plan *plan = NULL;
        assert_int_equal(tconv_plan_create_ex(&s, TCONV_ALGO_SPARSE, w, NULL, &o, &plan), TCONV_OK);
        assert_int_equal(tconv_plan_run(plan, xz, yz), TCONV_OK);
        assert_true(tu_check_output(&s, "sparse", isa, xz, w, NULL, yz));
        assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
        /* Channel 0 never multiplies the NaN: bit for bit the NaN-free result. */
        assert_memory_equal(y, yz, plane_out * sizeof *y);
        int nan_elsewhere = 0;
        for (size_t j = plane_out; j < ny; j++) nan_elsewhere |= isnan(y[j]);
        assert_true(nan_elsewhere);
        tconv_plan_destroy(plan);
    }
    free(x), free(xz), free(w), free(y), free(yz);
}

/* An infinite weight reaches exactly the outputs the reference gives it: sparse must not meet it
 * with the zero padding of its padded layout (0 * Inf = NaN where the reference is finite). The
 * DCGAN-like shape's edge taps read past the input, so padding is met if it is used. */
static void test_infinite_weight_only_where_reference(void **state) {
    (void)state;
    const tconv_shape *s = &shapes[0];
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w);
    float *y = malloc(ny * sizeof *y), *yr = malloc(ny * sizeof *y);
    tu_rng r;
    tu_seed(&r, 5);
    tu_fill(&r, x, nx), tu_fill(&r, w, nw);
    for (size_t i = 0; i < nx; i++)
        if (x[i] == 0.0f) x[i] = 0.5f; /* Inf * 0 would make the reference NaN too */
    w[0] = INFINITY; /* input 0, output 0, tap (0, 0): its rectangle starts past the edge */
    assert_int_equal(tconv_forward(s, TCONV_ALGO_REFERENCE, x, w, NULL, yr), TCONV_OK);
    int finite = 0, infinite = 0;
    for (size_t j = 0; j < ny; j++) finite += isfinite(yr[j]) != 0, infinite += isinf(yr[j]) != 0;
    assert_true(finite > 0 && infinite > 0); /* both kinds of output exist */
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        tconv_plan_options o = {isa, 1, NULL, 0};
        tconv_plan *plan = NULL;
        assert_int_equal(tconv_plan_create_ex(s, TCONV_ALGO_SPARSE, w, NULL, &o, &plan), TCONV_OK);
        assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
        for (size_t j = 0; j < ny; j++) {
            if (isfinite(yr[j]) != isfinite(y[j]) || isnan(yr[j]) != isnan(y[j]))
                fail_msg("isa %s output %zu: sparse %g, reference %g", isa, j, (double)y[j],
                         (double)yr[j]);
        }
        tconv_plan_destroy(plan);
    }
    free(x), free(w), free(y), free(yr);
}

/* y is bit-for-bit the same on 1 and 3 threads with pruned weights (groups; input blocks; quads,
 * whose tiles are whole quads). */
static void threads_bit_identical(const tconv_shape *s, double density) {
    size_t nz, nx = tu_x_elems(s), ny = tu_y_elems(s);
    float *w = pruned_weights(s, density, 5, &nz), *x = malloc(nx * sizeof *x);
    float *y1 = malloc(ny * sizeof *y1), *y3 = malloc(ny * sizeof *y3);
    tu_rng r;
    tu_seed(&r, 3);
    tu_fill(&r, x, nx);
    tconv_plan_options o1 = {NULL, 1, NULL, 0}, o3 = {NULL, 3, NULL, 0};
    tconv_plan *p1 = NULL, *p3 = NULL;
    assert_int_equal(tconv_plan_create_ex(s, TCONV_ALGO_SPARSE, w, NULL, &o1, &p1), TCONV_OK);
    assert_int_equal(tconv_plan_create_ex(s, TCONV_ALGO_SPARSE, w, NULL, &o3, &p3), TCONV_OK);
    assert_int_equal(tconv_plan_run(p1, x, y1), TCONV_OK);
    assert_int_equal(tconv_plan_run(p3, x, y3), TCONV_OK);
    assert_memory_equal(y1, y3, ny * sizeof *y1);
    tconv_plan_destroy(p1), tconv_plan_destroy(p3);
    free(w), free(x), free(y1), free(y3);
}

static void test_threads_bit_identical(void **state) {
    (void)state;
    threads_bit_identical(&shapes[1], 0.3);
    threads_bit_identical(&shapes[6], 0.3);
    threads_bit_identical(&shapes[8], 0.9);
    threads_bit_identical(&shapes[9], 0.9);
    threads_bit_identical(&shapes[10], 1.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pruned_matches_reference),
        cmocka_unit_test(test_density_for_every_algorithm),
        cmocka_unit_test(test_zero_weight_stops_nan_in_quads),
        cmocka_unit_test(test_zero_weight_stops_nan),
        cmocka_unit_test(test_infinite_weight_only_where_reference),
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
