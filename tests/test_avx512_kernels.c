/* AVX-512 kernels ran: plans pinned to avx512 per algorithm family, their kernels, vs the
 * reference. */
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

#ifndef TCONV_EXPECT_AVX512_EMULATED /* tests/CMakeLists.txt sets it in TCONV_AVX512_EMULATION */
#define TCONV_EXPECT_AVX512_EMULATED 0
#endif

#define ISA "avx512"

/* Shapes whose sizes are not multiples of the vector width (16), the conv/sparse tile (16
 * channels) or the gemm tile (12 x 32), so every family takes its masked tails; stride 2 takes
 * col2im's strided path, 1 -> 1 channel the sparse single-channel path. */
static const tconv_shape shapes[] = {
    /* batch, cin, cout, ih, iw, kh, kw, sh, sw, ph, pw, oph, opw, dh, dw, groups */
    {1, 20, 19, 5, 5, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* DCGAN-like, 10x10 output */
    {1, 3, 17, 7, 37, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1}, /* 37-wide rows: 2 vectors + 5 */
    {2, 5, 33, 6, 23, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 1}, /* stride 2, 47-wide rows, batch 2 */
    {1, 6, 34, 4, 9, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2, 2},  /* groups, dilation, output padding */
    {1, 1, 1, 13, 13, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1}, /* 1 -> 1 upsampling */
    {1, 48, 24, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* long reductions (gemm k loop) */
    /* direct's channel vectors (9-16 channels, phase rows under 16 pixels): one tile of 9..15
     * pixels, channel blocks of 32 (cin 40), stride-2 phase rows of 14. */
    {1, 5, 12, 3, 9, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {1, 5, 12, 3, 11, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {1, 5, 9, 2, 13, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {1, 40, 16, 3, 15, 4, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1},
    {1, 5, 10, 2, 14, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    /* direct's bias-only fills (tconv_f32_fill__avx512) around kernel_w = 1 phase rows, with
     * output padding: whole planes of 285 and 2 x 3 x 1517 floats whose ends are not 64-byte
     * aligned, and rows no kernel row reaches, which the row tiles leave out. */
    {1, 1, 1, 5, 7, 1, 1, 3, 3, 0, 0, 2, 1, 1, 1, 1},
    {2, 2, 3, 3, 5, 1, 1, 8, 8, 0, 0, 3, 5, 1, 1, 1},
    /* Pixel vectors in 6 x 3 tiles over two channel blocks (40 channels): three row groups' partial
     * sums (16 rows as 6 + 5 + 5, 18 sums each) wait side by side. */
    {1, 40, 16, 3, 40, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    /* direct's row phases (kernel_w == stride_w, 12+ output and 32+ input channels): stride 2 with
     * 9 pixels and 13 rows; stride 3 with 17 pixels (tiles 6 + 6 + 5), 20 channels (a block of 4
     * rows) and output padding along h (bias-only rows); three kernel rows per output row at
     * stride_h 1; groups. */
    {1, 40, 13, 3, 9, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
    {1, 33, 20, 2, 17, 3, 3, 3, 3, 0, 0, 1, 0, 1, 1, 1},
    {1, 36, 16, 4, 11, 3, 2, 1, 2, 1, 0, 0, 0, 1, 1, 1},
    {1, 64, 24, 2, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 2},
    /* direct's row phases for k4 s2 p1 (ov_tile, 12+ output and 32+ input channels): one
     * pixel (a tile that is first and last), 13 pixels (first and last tiles of 7 and 6) over a
     * block of 16 and one of 4 rows, 29 (10 + 10 + 9: a middle tile; 20 columns, two transposes),
     * 12 pixels (24 columns) with groups and batch 2, and kernel_h 3 at stride_h 1. */
    {1, 32, 12, 3, 1, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    {1, 33, 20, 3, 13, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    {1, 40, 16, 2, 29, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    {2, 64, 24, 3, 12, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 2},
    {1, 32, 16, 4, 8, 3, 4, 1, 2, 1, 1, 0, 0, 1, 1, 1},
    /* and k3 s2 p1 (CycleGAN, ENet): output padding 1 (2 iw columns) over 26 pixels (three tiles,
     * 9 + 9 + 8), none (2 iw - 1: the last tile stores one column fewer) with one pixel and with
     * 13, and k3 s2 p1 op1 along h too with groups. */
    {1, 34, 16, 3, 26, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {1, 32, 13, 2, 1, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    {1, 32, 17, 3, 13, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1},
    {1, 64, 24, 4, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
    /* direct's packed rows at a pitch past their width (65 and 72 floats -> 80, 5 lines) with
     * pixel vectors that prefetch 8 channels ahead, past a block and past the last channel:
     * CycleGAN-like k3 s2 p1 with output padding on a power-of-two plane (4 x 64), 6 x 4 and 5 x 4
     * tiles over two channel blocks (40 channels; 11 output channels, so not row phases); stride 1
     * with 19 channels. */
    {1, 40, 11, 4, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {1, 19, 17, 2, 70, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    /* direct's rowconv path (kernel_w a multiple of stride_w >= 8): 8 lanes per input column
     * with the row's first vector starting left of the output (pad 4), one lane per column
     * (stride 16), two weight slots per tap (stride 32) with pad 33 and output padding, k == s
     * with groups, and stride_h != stride_w; 21, 19 and 17 channels in uneven groups of 8. */
    {1, 21, 21, 3, 5, 16, 16, 8, 8, 4, 4, 0, 0, 1, 1, 1},   /* FCN-8s-like, 40 columns */
    {1, 5, 19, 2, 3, 32, 32, 16, 16, 0, 17, 0, 3, 1, 1, 1}, /* FCN-16s-like, 33 columns */
    {1, 3, 9, 2, 2, 64, 64, 32, 32, 0, 33, 0, 5, 1, 1, 1},  /* FCN-32s-like, 36 columns */
    {1, 4, 6, 3, 3, 8, 8, 8, 8, 3, 2, 0, 1, 1, 1, 2},       /* k == s, groups, 21 columns */
    {1, 2, 17, 3, 4, 3, 16, 2, 8, 1, 7, 1, 0, 1, 1, 1},     /* 3x16 kernel, 26 columns */
    /* rowconv's expanded rows (stride_w 2/4/8, 1-3 channels below 8): stride 2 with pad 1,
     * stride 4 with pad 5 and output padding, stride 2 with three taps per lane and pad 19 (the
     * first vector starts 16 columns in), stride 8 with three taps per lane, and groups. */
    {1, 5, 3, 3, 13, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},    /* 28 columns */
    {1, 3, 2, 4, 9, 8, 8, 4, 4, 5, 5, 0, 1, 1, 1, 1},     /* 31 columns */
    {1, 2, 1, 3, 26, 6, 6, 2, 2, 3, 19, 0, 0, 1, 1, 1},   /* 18 columns */
    {1, 7, 7, 3, 6, 24, 24, 8, 8, 12, 12, 0, 3, 1, 1, 1}, /* 43 columns */
    {1, 4, 6, 3, 7, 4, 4, 2, 2, 1, 1, 0, 1, 1, 1, 2},     /* 15 columns, 3 per group */
    /* Wide strides with other than two taps per lane (the two-tap tiles are compiled apart):
     * three (kernel_w 48, stride 16) and one (k == s = 32). */
    {1, 3, 5, 2, 3, 16, 48, 16, 16, 0, 5, 0, 0, 1, 1, 1}, /* 70 columns */
    {1, 2, 3, 2, 3, 32, 32, 32, 32, 0, 0, 0, 0, 1, 1, 1}, /* 96 columns */
    /* Masked lanes (kernel_w not a multiple of stride_w): k < s with output padding (bias-only
     * rows and columns), k5 s2 with groups of 3, stride 3 (three weight classes, two taps per
     * lane), stride 5 with pad 19 (vector 0 of class 1), stride 6 with k < s, stride 7 with two
     * taps, stride 12 (three classes, no masked lane), many channels with one tap per lane at
     * stride 4 and 8, and wide strides: k24 s16 (two taps, the second half masked) and k10 s32
     * (two classes, k < s). */
    {1, 2, 3, 4, 13, 3, 3, 4, 4, 0, 1, 0, 2, 1, 1, 1},    /* 51 columns */
    {1, 4, 6, 5, 11, 5, 5, 2, 2, 2, 2, 0, 1, 1, 1, 2},    /* 22 columns */
    {1, 3, 2, 6, 9, 4, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},     /* 26 columns */
    {1, 2, 1, 3, 12, 2, 7, 5, 5, 0, 19, 0, 3, 1, 1, 1},   /* 27 columns */
    {1, 1, 2, 4, 7, 3, 2, 2, 6, 1, 0, 0, 5, 1, 1, 1},     /* 43 columns */
    {1, 2, 3, 2, 5, 2, 10, 1, 7, 0, 4, 0, 0, 1, 1, 1},    /* 30 columns */
    {1, 2, 2, 2, 5, 2, 12, 2, 12, 0, 0, 0, 0, 1, 1, 1},   /* 60 columns */
    {1, 7, 9, 3, 10, 3, 3, 4, 4, 1, 1, 0, 0, 1, 1, 1},    /* 37 columns */
    {1, 5, 13, 2, 4, 6, 6, 8, 8, 0, 2, 0, 1, 1, 1, 1},    /* 27 columns */
    {1, 2, 3, 2, 3, 16, 24, 16, 16, 0, 5, 0, 0, 1, 1, 1}, /* 46 columns */
    {1, 3, 2, 2, 3, 3, 10, 2, 32, 0, 0, 0, 7, 1, 1, 1},   /* 81 columns */
};
/* The shapes from the first expanded-row one on take direct's rowconv path. */
#define ROWCONV_SHAPES 18
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

static int avx512_usable(void) { return tconv_isa_compiled(ISA) && tconv_isa_supported(ISA); }

/* A build with TCONV_AVX512_EMULATION must say so, and a native build must not. */
static void test_reports_how_avx512_runs(void **state) {
    (void)state;
    tconv_cpu_info cpu;
    assert_int_equal(tconv_get_cpu_info(&cpu), TCONV_OK);
    int emulated = strstr(cpu.detection, "avx512: emulated") != NULL;
    printf("avx512: %s (compiled %s, supported %s)\n",
           emulated ? "emulated (SIMDe on AVX2+FMA)" : "native",
           tconv_isa_compiled(ISA) ? "yes" : "no", tconv_isa_supported(ISA) ? "yes" : "no");
    printf("detection: %s\n", cpu.detection);
    assert_int_equal(emulated, TCONV_EXPECT_AVX512_EMULATED);
    /* Emulation runs on AVX2+FMA, so it is usable exactly where avx2 is. */
    if (emulated) assert_int_equal(tconv_isa_supported(ISA), tconv_isa_supported("avx2"));
}

/* Prints the kernels `algo` uses under avx512 and checks each is an avx512 variant; gemm_blas's
 * first loop is OpenBLAS. */
static void check_kernel_names(tconv_algo algo) {
    for (int loop = 0; loop < 3; loop++) {
        const char *name = tconv_kernel_name(algo, loop, ISA);
        if (name == NULL) break;
        printf("  %-11s loop %d: %s\n", tconv_algo_name(algo), loop, name);
        if (algo == TCONV_ALGO_GEMM_BLAS && loop == 0) continue;
        size_t n = strlen(name), m = strlen("__" ISA);
        if (n < m || strcmp(name + n - m, "__" ISA) != 0)
            fail_msg("%s under %s uses %s", tconv_algo_name(algo), ISA, name);
    }
    assert_non_null(tconv_kernel_name(algo, 0, ISA));
}

/* One run of a plan pinned to avx512 on guarded buffers (data at the leading or trailing guard
 * page), checked against the reference. The plan that is inspected is the one that runs. */
static int run_pinned(const tconv_shape *s, tconv_algo algo, uint64_t seed, int at_end) {
    tu_rng rng;
    tu_seed(&rng, seed);
    tu_guarded gx = {0}, gw = {0}, gb = {0}, gy = {0};
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    int ok = tu_guarded_alloc(&gx, nx, at_end) && tu_guarded_alloc(&gw, nw, at_end) &&
             tu_guarded_alloc(&gb, (size_t)s->out_channels, at_end) &&
             tu_guarded_alloc(&gy, ny, at_end);
    assert_true(ok);
    tu_fill(&rng, gx.data, nx);
    tu_fill(&rng, gw.data, nw);
    tu_fill(&rng, gb.data, (size_t)s->out_channels);
    for (size_t i = 0; i < ny; i++) gy.data[i] = NAN; /* every output must be written */
    tconv_plan_options opt = {.isa = ISA};
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create_ex(s, algo, gw.data, gb.data, &opt, &plan);
    if (st != TCONV_OK) fail_msg("plan %s/%s: %s", tconv_algo_name(algo), ISA, tconv_last_error());
    if (strcmp(tconv_plan_isa(plan), ISA) != 0)
        fail_msg("plan %s pinned to %s runs %s", tconv_algo_name(algo), ISA, tconv_plan_isa(plan));
    st = tconv_plan_run(plan, gx.data, gy.data);
    tconv_plan_destroy(plan);
    if (st != TCONV_OK) fail_msg("run %s/%s: %s", tconv_algo_name(algo), ISA, tconv_last_error());
    ok = tu_check_output(s, tconv_algo_name(algo), ISA, gx.data, gw.data, gb.data, gy.data);
    tu_guarded_free(&gx), tu_guarded_free(&gw), tu_guarded_free(&gb), tu_guarded_free(&gy);
    return ok;
}

/* gemm_blas is absent without OpenBLAS: its plan says so, and the case is skipped. */
static int algo_available(tconv_algo algo) {
    tconv_shape s = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float w = 1;
    tconv_plan_options opt = {.isa = ISA};
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create_ex(&s, algo, &w, NULL, &opt, &plan);
    tconv_plan_destroy(plan);
    if (st == TCONV_ERR_UNSUPPORTED && algo == TCONV_ALGO_GEMM_BLAS) {
        printf("skip gemm_blas: %s\n", tconv_last_error());
        return 0;
    }
    return 1; /* any other failure fails in run_pinned */
}

static void run_algo(tconv_algo algo) {
    if (!avx512_usable()) {
        printf("skip: avx512 is %s\n",
               tconv_isa_compiled(ISA) ? "not supported by this CPU/OS" : "not compiled in");
        skip();
    }
    if (!algo_available(algo)) skip();
    check_kernel_names(algo);
    int failures = 0;
    for (size_t i = 0; i < SHAPE_COUNT; i++) {
        for (int at_end = 0; at_end <= 1; at_end++) {
            int ok = run_pinned(&shapes[i], algo, 1000 + i, at_end);
            char desc[256];
            tu_shape_string(&shapes[i], desc, sizeof desc);
            printf("  %s %s/%s %s (data at the %s guard page)\n", ok ? "ok  " : "FAIL",
                   tconv_algo_name(algo), ISA, desc, at_end ? "trailing" : "leading");
            failures += !ok;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_conv_family_zero_insert(void **state) {
    (void)state;
    run_algo(TCONV_ALGO_ZERO_INSERT);
}

static void test_conv_family_direct(void **state) {
    (void)state;
    run_algo(TCONV_ALGO_DIRECT);
}

static void test_gemm_and_col2im_families(void **state) {
    (void)state;
    run_algo(TCONV_ALGO_GEMM);
}

static void test_col2im_family_gemm_blas(void **state) {
    (void)state;
    run_algo(TCONV_ALGO_GEMM_BLAS);
}

static void test_sparse_family(void **state) {
    (void)state;
    run_algo(TCONV_ALGO_SPARSE);
}

/* The plan says which kernel it runs: direct takes its rowconv path on an FCN-like shape (stride
 * 8, kernel 16, finite weights) and its phase kernel on a DCGAN-like one; loop 1 of gemm is its
 * col2im; a loop the algorithm lacks and a NULL plan give NULL. */
static const char *plan_kernel(const tconv_shape *s, tconv_algo algo, int loop, char *buf,
                               size_t n) {
    size_t nw = tu_w_elems(s);
    float *w = calloc(nw, sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < nw; i++) w[i] = 0.25f;
    tconv_plan_options opt = {.isa = ISA};
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create_ex(s, algo, w, NULL, &opt, &plan), TCONV_OK);
    const char *name = tconv_plan_kernel_name(plan, loop);
    snprintf(buf, n, "%s", name ? name : "(null)");
    tconv_plan_destroy(plan);
    free(w);
    return buf;
}

static void test_plan_kernel_names(void **state) {
    (void)state;
    if (!avx512_usable()) skip();
    const tconv_shape fcn = {1, 5, 21, 6, 7, 16, 16, 8, 8, 4, 4, 0, 0, 1, 1, 1};
    const tconv_shape dcgan = {1, 20, 19, 5, 5, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1};
    char buf[128];
    assert_string_equal(plan_kernel(&fcn, TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                        "tconv_f32_rowconv_ukernel__avx512");
    /* The expanded-row, wide and masked shapes at the end of `shapes` do run rowconv. */
    for (size_t i = SHAPE_COUNT - ROWCONV_SHAPES; i < SHAPE_COUNT; i++)
        assert_string_equal(plan_kernel(&shapes[i], TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                            "tconv_f32_rowconv_ukernel__avx512");
    assert_string_equal(plan_kernel(&dcgan, TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                        tconv_kernel_name(TCONV_ALGO_DIRECT, 0, ISA));
    /* k == s (2 or 3) unpadded with 12+ output and 32+ input channels: row phases, as k4 s2 p1
     * (DCGAN's kind) and k3 s2 p1 (CycleGAN's) with as many channels (ov_tile). With fewer channels
     * (measured slower there), padding or output padding along w (k == s), padding 2 or 0, k5, k4
     * with output padding, or dilation: the phase kernel. */
    const tconv_shape row_phases[] = {{1, 256, 256, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
                                      {1, 32, 12, 4, 16, 3, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1},
                                      {1, 512, 256, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
                                      {1, 128, 64, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof row_phases / sizeof row_phases[0]; i++)
        assert_string_equal(plan_kernel(&row_phases[i], TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                            "tconv_f32_conv_phases_ukernel_16__avx512");
    const tconv_shape phase_kernel[] = {{1, 32, 8, 4, 16, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
                                        {1, 16, 16, 4, 16, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
                                        {1, 32, 16, 4, 16, 2, 2, 2, 2, 0, 1, 0, 0, 1, 1, 1},
                                        {1, 32, 16, 4, 16, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1, 1},
                                        {1, 32, 16, 4, 8, 4, 4, 2, 2, 1, 2, 0, 0, 1, 1, 1},
                                        {1, 32, 16, 4, 8, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1},
                                        {1, 32, 16, 4, 8, 5, 5, 2, 2, 1, 1, 0, 0, 1, 1, 1},
                                        {1, 32, 16, 4, 8, 4, 4, 2, 2, 1, 1, 0, 1, 1, 1, 1},
                                        {1, 32, 16, 4, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 2, 1},
                                        {1, 31, 16, 4, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
                                        {1, 32, 11, 4, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}};
    for (size_t i = 0; i < sizeof phase_kernel / sizeof phase_kernel[0]; i++)
        assert_string_equal(plan_kernel(&phase_kernel[i], TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                            tconv_kernel_name(TCONV_ALGO_DIRECT, 0, ISA));
    /* A stride_w of 2^36 on a one-column input: 2^32 rowconv weight classes for a row of one
     * vector would be 2^40 packed weights and more; the phase kernel takes it. */
    const tconv_shape huge_stride = {1, 1, 1, 1, 1, 1, 2, 1, (int64_t)1 << 36, 0, 0, 0, 0, 1, 1, 1};
    assert_string_equal(plan_kernel(&huge_stride, TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                        tconv_kernel_name(TCONV_ALGO_DIRECT, 0, ISA));
    /* Where masks measured slower (choose_rowconv): kernel_w 1, and many channels with under
     * 5/8 of the lanes live (k2 s4) or stride 2. */
    const tconv_shape phase_wins[] = {{1, 1, 1, 5, 9, 1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 1},
                                      {1, 8, 8, 5, 9, 2, 2, 4, 4, 0, 0, 0, 0, 1, 1, 1},
                                      {1, 8, 8, 5, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof phase_wins / sizeof phase_wins[0]; i++)
        assert_string_equal(plan_kernel(&phase_wins[i], TCONV_ALGO_DIRECT, 0, buf, sizeof buf),
                            tconv_kernel_name(TCONV_ALGO_DIRECT, 0, ISA));
    assert_string_equal(plan_kernel(&fcn, TCONV_ALGO_GEMM, 1, buf, sizeof buf),
                        tconv_kernel_name(TCONV_ALGO_GEMM, 1, ISA));
    assert_string_equal(plan_kernel(&fcn, TCONV_ALGO_DIRECT, 3, buf, sizeof buf), "(null)");
    assert_null(tconv_plan_kernel_name(NULL, 0));
}

#define ROWCONV "tconv_f32_rowconv_ukernel__avx512"
#define ROW_PHASES "tconv_f32_conv_phases_ukernel_16__avx512"

/* y = the plan of `algo` (pinned to avx512 unless the reference) on x; direct must run
 * direct_kernel. */
static void run_plain(const tconv_shape *s, tconv_algo algo, const float *x, const float *w,
                      const float *b, float *y, const char *direct_kernel) {
    tconv_plan_options opt = {.isa = algo == TCONV_ALGO_REFERENCE ? NULL : ISA};
    tconv_plan *plan = NULL;
    assert_int_equal(tconv_plan_create_ex(s, algo, w, b, &opt, &plan), TCONV_OK);
    if (algo == TCONV_ALGO_DIRECT)
        assert_string_equal(tconv_plan_kernel_name(plan, 0), direct_kernel);
    assert_int_equal(tconv_plan_run(plan, x, y), TCONV_OK);
    tconv_plan_destroy(plan);
}

/* Non-finite values poisoned into x (POISON_X) or w of shape i, seeded by `seed`: every output
 * the reference leaves finite (no product with them) must be bit for bit the output with zeros
 * there, which matches the double-precision reference; every other output must be non-finite.
 * Direct must run `kernel`. */
enum { POISON_X, POISON_W };
static void check_nonfinite(size_t i, int what, unsigned seed, const char *kernel) {
    const tconv_shape *s = &shapes[i];
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    float *x0 = malloc(nx * sizeof *x0), *x1 = malloc(nx * sizeof *x1);
    float *w0 = malloc(nw * sizeof *w0), *w1 = malloc(nw * sizeof *w1);
    float *b = malloc((size_t)s->out_channels * sizeof *b);
    float *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1);
    float *r1 = malloc(ny * sizeof *r1);
    assert_true(x0 && x1 && w0 && w1 && b && y0 && y1 && r1);
    tu_rng rng;
    tu_seed(&rng, seed);
    tu_fill(&rng, x0, nx), tu_fill(&rng, w0, nw), tu_fill(&rng, b, (size_t)s->out_channels);
    memcpy(x1, x0, nx * sizeof *x0), memcpy(w1, w0, nw * sizeof *w0);
    if (what == POISON_X)
        for (size_t j = 2; j < nx; j += 5) x0[j] = 0, x1[j] = j % 3 ? INFINITY : NAN;
    else
        for (size_t j = 3; j < nw; j += 997) w0[j] = 0, w1[j] = j % 2 ? INFINITY : NAN;
    run_plain(s, TCONV_ALGO_DIRECT, x0, w0, b, y0, kernel);
    assert_true(tu_check_output(s, "direct", ISA, x0, w0, b, y0));
    run_plain(s, TCONV_ALGO_DIRECT, x1, w1, b, y1, kernel);
    run_plain(s, TCONV_ALGO_REFERENCE, x1, w1, b, r1, NULL);
    size_t finite = 0, bad = 0;
    for (size_t j = 0; j < ny; j++) {
        int ok = isfinite(r1[j]) ? memcmp(&y0[j], &y1[j], sizeof(float)) == 0 : !isfinite(y1[j]);
        finite += isfinite(r1[j]) != 0;
        if (!ok && bad++ < 5)
            printf("MISMATCH shape %zu output %zu: reference %g, direct %g (zeros: %g)\n", i, j,
                   (double)r1[j], (double)y1[j], (double)y0[j]);
    }
    printf("  shape %zu: %zu of %zu outputs finite, %zu mismatches\n", i, finite, ny, bad);
    assert_int_equal(bad, 0);
    assert_true(finite > 0 && finite < ny); /* both kinds of output were checked */
    free(x0), free(x1), free(w0), free(w1), free(b), free(y0), free(y1), free(r1);
}

/* Infinite and NaN inputs on the masked rowconv shapes: a masked lane that multiplied its zero
 * weight by inf would turn a finite output (often the bias alone, k < s) into NaN. */
static void test_rowconv_nonfinite_inputs(void **state) {
    (void)state;
    if (!avx512_usable()) skip();
    for (size_t i = SHAPE_COUNT - 11; i < SHAPE_COUNT; i++)
        check_nonfinite(i, POISON_X, 7000 + (unsigned)i, ROWCONV);
}

/* Infinite and NaN weights on the k4/k3 s2 p1 row-phase shapes: the tiles multiply only inside the
 * input, never a zero-padded column by inf (NaN where the reference has no product). */
static int overlapping_row_phases(const tconv_shape *s) {
    int k4 = s->kernel_w == 4 && s->out_pad_w == 0, k3 = s->kernel_w == 3;
    return (k4 || k3) && s->stride_w == 2 && s->pad_w == 1 && s->dilation_w == 1 &&
           s->in_channels / s->groups >= 32 && s->out_channels / s->groups >= 12;
}

static void test_row_phases_nonfinite_weights(void **state) {
    (void)state;
    if (!avx512_usable()) skip();
    size_t checked = 0;
    for (size_t i = 0; i < SHAPE_COUNT; i++)
        if (overlapping_row_phases(&shapes[i]))
            check_nonfinite(i, POISON_W, 8000 + (unsigned)i, ROW_PHASES), checked++;
    assert_int_equal(checked, 10); /* the nine row-phase shapes and the long-reduction one */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_how_avx512_runs),
        cmocka_unit_test(test_plan_kernel_names),
        cmocka_unit_test(test_rowconv_nonfinite_inputs),
        cmocka_unit_test(test_row_phases_nonfinite_weights),
        cmocka_unit_test(test_conv_family_zero_insert),
        cmocka_unit_test(test_conv_family_direct),
        cmocka_unit_test(test_gemm_and_col2im_families),
        cmocka_unit_test(test_col2im_family_gemm_blas),
        cmocka_unit_test(test_sparse_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
