/* The seed documents' worked examples: the 2x2 -> 4x4 example and the 4x16 convolution matrix C. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "algos/sparse.h"
#include "tconv.h"
#include "testutil.h"

/* The seed's numbers, copied literally from ../seeds (000_*.txt), row-major: with one image and
 * one channel, NCHW is just the rows one after another. */
/* clang-format off */
static const float seed_input[4] = {
    2, 3,
    1, 3};
static const float seed_kernel[9] = {
    0, 1, 1,
    0, 1, 0,
    1, 0, 1};
static const float seed_output[16] = {
    0, 2, 5, 3,
    0, 3, 7, 3,
    2, 4, 5, 3,
    1, 3, 1, 3};
/* C: row r is output pixel r of the 4x4 -> 2x2 convolution, column c is input pixel c. */
static const float seed_c[4][16] = {
    {0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0},
    {0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0},
    {0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1},
};
/* The seed's 4x4 feature map. Its flattened I is printed with 15 entries (the final 0 is
 * missing); the map itself is complete, so the test uses the map. */
static const float seed_feature_map[16] = {
    1, 0, 1, 0,
    0, 0, 1, 1,
    1, 0, 0, 1,
    0, 1, 0, 0};
/* clang-format on */

/* 1 channel, 2x2 input, 3x3 kernel, stride 1, padding 0: the seed's transposed convolution. */
static tconv_shape seed_shape(void) {
    /* batch, cin, cout, H, W, Kh, Kw, sh, sw, ph, pw, oph, opw, dh, dw, groups */
    return (tconv_shape){1, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1};
}

/* Exact comparison: every value involved is a small integer, so any rounding is a bug. Prints
 * each mismatch so a failure names the element. */
static int equal_exactly(const char *what, const float *got, const float *want, size_t n) {
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            printf("MISMATCH %s index=%zu expected=%g actual=%g\n", what, i, (double)want[i],
                   (double)got[i]);
            ok = 0;
        }
    }
    return ok;
}

/* Plans (algo, isa) on the seed shape and runs it on the seed input. Returns the status of the
 * first failing call; the output starts as NaN so an unwritten element cannot pass. */
static tconv_status run_seed(tconv_algo algo, const char *isa, float out[16]) {
    tconv_shape s = seed_shape();
    tconv_plan_options opt = {.isa = isa};
    tconv_plan *plan = NULL;
    for (int i = 0; i < 16; i++) out[i] = (float)NAN;
    tconv_status st = tconv_plan_create_ex(&s, algo, seed_kernel, NULL, &opt, &plan);
    if (st == TCONV_OK) st = tconv_plan_run(plan, seed_input, out);
    tconv_plan_destroy(plan);
    return st;
}

/* Runs every algorithm (AUTO included) under one ISA; gemm_blas may be absent from the build. */
static void check_seed_example_on_isa(const char *isa) {
    for (int a = 0; a < TCONV_ALGO_COUNT; a++) {
        float out[16];
        char what[64];
        tconv_status st = run_seed((tconv_algo)a, isa, out);
        snprintf(what, sizeof what, "%s/%s", tconv_algo_name((tconv_algo)a), isa);
        if (a == TCONV_ALGO_GEMM_BLAS && st == TCONV_ERR_UNSUPPORTED) {
            printf("skip %s: %s\n", what, tconv_last_error());
            continue;
        }
        if (st != TCONV_OK) printf("FAILED CALL %s: %s\n", what, tconv_last_error());
        assert_int_equal(st, TCONV_OK);
        assert_true(equal_exactly(what, out, seed_output, 16));
    }
    printf("seed example exact under isa %s\n", isa);
}

/* Seed example 1 under every ISA this build has and this CPU runs. */
static void test_seed_example_every_algo_and_isa(void **state) {
    (void)state;
    int ran = 0;
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa)) continue; /* other architecture or not built */
        if (!tconv_isa_supported(isa)) {
            printf("skip isa %s: compiled but this CPU lacks it\n", isa);
            continue;
        }
        check_seed_example_on_isa(isa);
        ran++;
    }
    assert_true(ran >= 1); /* scalar is always compiled and supported */
}

/* The one-shot API and the dispatcher's own ISA choice must agree with the plan API. */
static void test_seed_example_forward(void **state) {
    (void)state;
    tconv_shape s = seed_shape();
    float out[16];
    for (int i = 0; i < 16; i++) out[i] = (float)NAN;
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_AUTO, seed_input, seed_kernel, NULL, out),
                     TCONV_OK);
    assert_true(equal_exactly("forward/auto", out, seed_output, 16));
}

/* Densifies a CSR C^T (value of an entry = kernel[tap]) into dense[rows][cols], checking that
 * the CSR is well-formed on the way: monotone row pointers, indices in range, and no (row, col)
 * pair stored twice (with one channel and stride 1 each pair has exactly one tap). */
static void densify(const tconv_sparse_view *v, const float *kernel, size_t taps, float *dense) {
    unsigned char seen[16 * 4] = {0};
    assert_true(v->rows * v->cols <= sizeof seen);
    memset(dense, 0, v->rows * v->cols * sizeof *dense);
    assert_int_equal(v->row_ptr[0], 0);
    assert_int_equal(v->row_ptr[v->rows], v->nnz);
    for (size_t r = 0; r < v->rows; r++) {
        assert_true(v->row_ptr[r] <= v->row_ptr[r + 1]);
        for (uint64_t e = v->row_ptr[r]; e < v->row_ptr[r + 1]; e++) {
            size_t c = v->col_idx[e], t = v->tap_idx[e];
            assert_true(c < v->cols);
            assert_true(t < taps);
            assert_int_equal(seen[r * v->cols + c]++, 0);
            dense[r * v->cols + c] = kernel[t];
        }
    }
}

/* The sparse plan's C^T, densified, is the transpose of the seed's C entry by entry. */
static void test_sparse_matrix_is_seed_c_transposed(void **state) {
    (void)state;
    tconv_shape s = seed_shape();
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_SPARSE, seed_kernel, NULL, &plan), TCONV_OK);
    tconv_sparse_view v;
    assert_int_equal(tconv_sparse_matrix(plan, &v), TCONV_OK);
    assert_int_equal(v.rows, 16); /* output pixels of the 4x4 result */
    assert_int_equal(v.cols, 4);  /* input pixels of the 2x2 input */
    /* All 9 taps of each of the 4 input pixels land inside the 4x4 output. The CSR stores taps,
     * not values, so the 4 zero-valued taps per pixel are stored too: 36, not C's 20 ones. */
    assert_int_equal(v.nnz, 36);
    float dense[16][4];
    densify(&v, seed_kernel, 9, &dense[0][0]);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 4; c++) {
            if (dense[r][c] != seed_c[c][r])
                printf("C^T[%d][%d] = %g, seed C[%d][%d] = %g\n", r, c, (double)dense[r][c], c, r,
                       (double)seed_c[c][r]);
            assert_true(dense[r][c] == seed_c[c][r]);
        }
    tconv_sparse_view_free(&v);
    tconv_plan_destroy(plan);
}

/* y = C x for the flattened 4x4 map, computed with the seed's C. */
static void apply_c(const float x[16], float y[4]) {
    for (int r = 0; r < 4; r++) {
        y[r] = 0;
        for (int c = 0; c < 16; c++) y[r] += seed_c[r][c] * x[c];
    }
}

/* v' = C^T v for a flattened 2x2 input, computed with the seed's C. */
static void apply_c_transposed(const float v[4], float out[16]) {
    for (int c = 0; c < 16; c++) {
        out[c] = 0;
        for (int r = 0; r < 4; r++) out[c] += seed_c[r][c] * v[r];
    }
}

/* The seed's convolution view: y = C x is the valid 3x3 cross-correlation (PyTorch's conv2d) of
 * the 4x4 map. The result is [[2,3],[1,3]], the input of the first example, which ties the two
 * worked examples together. */
static void test_c_is_the_convolution(void **state) {
    (void)state;
    float y[4], direct[4];
    apply_c(seed_feature_map, y);
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++) {
            float acc = 0;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    acc += seed_feature_map[(oy + ky) * 4 + ox + kx] * seed_kernel[ky * 3 + kx];
            direct[oy * 2 + ox] = acc;
        }
    assert_true(equal_exactly("C x vs direct convolution", y, direct, 4));
    assert_true(equal_exactly("C x vs seed input", y, seed_input, 4));
}

/* The transposed convolution of v is C^T v: first for the seed's own v, then for random
 * integer-valued v (integers keep every sum exact, so equality is exact for every algorithm). */
static void test_transposed_convolution_is_c_transposed(void **state) {
    (void)state;
    tconv_shape s = seed_shape();
    float want[16], got[16], v[4];
    apply_c_transposed(seed_input, want);
    assert_true(equal_exactly("C^T v vs seed output", want, seed_output, 16));
    tu_rng rng;
    tu_seed(&rng, 20240601);
    for (int trial = 0; trial < 8; trial++) {
        for (int i = 0; i < 4; i++) v[i] = (float)tu_range(&rng, -9, 9);
        apply_c_transposed(v, want);
        for (int a = TCONV_ALGO_REFERENCE; a < TCONV_ALGO_COUNT; a++) {
            for (int i = 0; i < 16; i++) got[i] = (float)NAN;
            tconv_status st = tconv_forward(&s, (tconv_algo)a, v, seed_kernel, NULL, got);
            if (a == TCONV_ALGO_GEMM_BLAS && st == TCONV_ERR_UNSUPPORTED) continue; /* no BLAS */
            assert_int_equal(st, TCONV_OK);
            assert_true(equal_exactly(tconv_algo_name((tconv_algo)a), got, want, 16));
        }
    }
}

/* Adjointness, the reason "transposed" is the right name: <C x, v> == <x, C^T v> with C x from
 * the seed's matrix and C^T v from the library, exactly, for integer-valued data. */
static void test_adjoint_identity(void **state) {
    (void)state;
    tconv_shape s = seed_shape();
    float cx[4], ctv[16];
    const float *x = seed_feature_map, *v = seed_input;
    apply_c(x, cx);
    assert_int_equal(tconv_forward(&s, TCONV_ALGO_DIRECT, v, seed_kernel, NULL, ctv), TCONV_OK);
    double lhs = 0, rhs = 0;
    for (int i = 0; i < 4; i++) lhs += (double)cx[i] * v[i];
    for (int i = 0; i < 16; i++) rhs += (double)x[i] * ctv[i];
    assert_true(lhs == rhs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example_every_algo_and_isa),
        cmocka_unit_test(test_seed_example_forward),
        cmocka_unit_test(test_sparse_matrix_is_seed_c_transposed),
        cmocka_unit_test(test_c_is_the_convolution),
        cmocka_unit_test(test_transposed_convolution_is_c_transposed),
        cmocka_unit_test(test_adjoint_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
