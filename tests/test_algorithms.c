/* Every algorithm x every usable ISA against the reference over structured sweeps of shapes. */
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

/* Hard cap on the padding the dilation sweep tries (its kernel span grows with d). */
#define DILATED_PAD_CAP 6
/* A sweep stops after this many failed runs: enough to diagnose, without drowning the log. */
#define MAX_FAILURES 25

/* Sanitized builds are about 8x slower per run (Debug -O0 plus ASan's mmap and malloc hooks), so
 * there each (shape, algorithm) runs under one ISA, rotating, instead of under all of them:
 * every shape and algorithm is still covered and every ISA sees its share of the shapes.
 * TCONV_TEST_FULL=1 in the environment restores the full product. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif
#ifndef TCONV_TEST_EMULATED /* set by tests/CMakeLists.txt for cross builds run under qemu */
#define TCONV_TEST_EMULATED 0
#endif
#ifndef SANITIZED_BUILD
#define SANITIZED_BUILD 0
#endif

/* The algorithms and ISAs under test, discovered once in the group setup. */
static struct {
    tconv_algo algos[TCONV_ALGO_COUNT];
    int n_algos;
    const char *isas[16];
    int n_isas;
    int rotate_isas; /* 1: one ISA per (shape, algorithm), see SANITIZED_BUILD */
} cfg;

/* Counters of one sweep; the id keeps seeds distinct across sweeps. */
typedef struct sweep {
    const char *name;
    uint64_t id;
    size_t shapes, runs, failures;
} sweep;

/* One spatial axis: input, kernel, stride, padding, output padding, dilation. */
typedef struct axis {
    int64_t i, k, s, p, op, d;
} axis;

/* ---- configuration ------------------------------------------------------------------------ */

/* gemm_blas is absent when the library was built without OpenBLAS; planning a 1x1 problem
 * tells us, so it is skipped with a message rather than failing every case. */
static int gemm_blas_available(void) {
    tconv_shape s = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    float w = 1;
    tconv_plan *plan = NULL;
    tconv_status st = tconv_plan_create(&s, TCONV_ALGO_GEMM_BLAS, &w, NULL, &plan);
    tconv_plan_destroy(plan);
    if (st == TCONV_ERR_UNSUPPORTED) {
        printf("skip algorithm gemm_blas: %s\n", tconv_last_error());
        return 0;
    }
    return 1; /* any other failure shows up (and fails) in the sweeps */
}

static int setup(void **state) {
    (void)state;
    static const tconv_algo all[] = {TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT,    TCONV_ALGO_GEMM,
                                     TCONV_ALGO_SPARSE,      TCONV_ALGO_GEMM_BLAS, TCONV_ALGO_AUTO};
    cfg.n_algos = 0;
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++)
        if (all[a] != TCONV_ALGO_GEMM_BLAS || gemm_blas_available())
            cfg.algos[cfg.n_algos++] = all[a];
    cfg.n_isas = 0;
    for (int i = 0; i < tconv_isa_count() && cfg.n_isas < 16; i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa)) continue; /* other architecture or not built */
        if (!tconv_isa_supported(isa)) {
            printf("skip isa %s: compiled but this CPU lacks it\n", isa);
            continue;
        }
        cfg.isas[cfg.n_isas++] = isa;
    }
    const char *full = getenv("TCONV_TEST_FULL");
    int run_all = full && strcmp(full, "1") == 0;
    /* Under emulation (qemu) the SIMD ISA gets the whole matrix and scalar, the same C as the
     * natively tested scalar kernels, is left to random_check, golden and seed tests here. */
    if (TCONV_TEST_EMULATED && cfg.n_isas > 1 && !run_all) {
        printf("emulated build: scalar left out of the shape matrix (TCONV_TEST_FULL=1 runs it)\n");
        memmove(cfg.isas, cfg.isas + 1, (size_t)(--cfg.n_isas) * sizeof cfg.isas[0]);
    }
    printf("algorithms:");
    for (int a = 0; a < cfg.n_algos; a++) printf(" %s", tconv_algo_name(cfg.algos[a]));
    printf("\nisas:");
    for (int i = 0; i < cfg.n_isas; i++) printf(" %s", cfg.isas[i]);
    printf("\n");
    cfg.rotate_isas = SANITIZED_BUILD && cfg.n_isas > 1 && !run_all;
    if (cfg.rotate_isas)
        printf("sanitized build: each (shape, algorithm) runs under one rotating ISA "
               "(TCONV_TEST_FULL=1 runs all)\n");
    return cfg.n_isas > 0 ? 0 : -1; /* scalar is always there */
}

/* ---- shapes ------------------------------------------------------------------------------- */

static tconv_shape make_shape(int64_t batch, int64_t cin, int64_t cout, int64_t groups, axis h,
                              axis w) {
    /* The field order of tconv_shape: batch, cin, cout, then h/w pairs, then groups. */
    return (tconv_shape){batch, cin, cout, h.i,  w.i,  h.k, w.k, h.s,
                         w.s,   h.p, w.p,  h.op, w.op, h.d, w.d, groups};
}

static tconv_shape square_shape(int64_t batch, int64_t cin, int64_t cout, int64_t groups, axis a) {
    return make_shape(batch, cin, cout, groups, a, a);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Largest padding that keeps the output >= 1: (i-1)s + d(k-1) + op + 1 - 2p >= 1. */
static int64_t max_valid_pad(const axis *a) {
    return ((a->i - 1) * a->s + a->d * (a->k - 1) + a->op) / 2;
}

/* Paddings worth trying: those that crop into the kernel's reach d(k-1), plus one stride period
 * beyond it (every phase of the crop against the stride). Larger ones only remove more interior
 * rows in a pattern already seen, while their count grows with (i-1)*s. */
static int64_t pad_end(const axis *a) {
    return min64(max_valid_pad(a), a->d * (a->k - 1) + a->s - 1);
}

/* Output padding must stay below max(stride, dilation) (PyTorch's rule). */
static int64_t op_limit(const axis *a) { return a->s > a->d ? a->s : a->d; }

/* ---- running ------------------------------------------------------------------------------ */

/* splitmix64's finaliser: a well-mixed bit out of a counter. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Seed per case, unique across sweeps, shapes, algorithms and ISAs. The low bit picks the
 * guard-page edge in tu_run_case; it is a hash bit of the shape index, so every (algo, isa)
 * pair meets both the leading and the trailing guard page whichever subset of shapes it runs
 * (a plain alternation would lock to one edge when the runs per shape are even). */
static uint64_t case_seed(const sweep *sw, int a, int i) {
    uint64_t seed =
        (sw->id << 48) | ((uint64_t)sw->shapes << 12) | ((uint64_t)a << 7) | ((uint64_t)i << 1);
    return seed | ((mix64(sw->shapes) ^ (uint64_t)a ^ (uint64_t)i) & 1);
}

/* Runs one shape under every algorithm and ISA (or one rotating ISA, see SANITIZED_BUILD);
 * tu_run_case prints the details of a failure. */
static void run_shape(sweep *sw, const tconv_shape *s, int with_bias) {
    if (sw->failures >= MAX_FAILURES) return;
    for (int a = 0; a < cfg.n_algos; a++)
        for (int i = 0; i < cfg.n_isas; i++) {
            if (cfg.rotate_isas && (size_t)i != (sw->shapes + (size_t)a) % (size_t)cfg.n_isas)
                continue;
            sw->runs++;
            /* One data set per shape (one reference for all runs), guard edge per run. */
            uint64_t seed = case_seed(sw, a, i);
            if (!tu_run_case_ex(s, cfg.algos[a], cfg.isas[i], case_seed(sw, 0, 0) & ~1ull,
                                (int)(seed & 1), with_bias))
                sw->failures++;
        }
    sw->shapes++;
}

/* Half of the shapes get a bias, in pairs, so it is not locked to any loop's parity. */
static int alternate_bias(const sweep *sw) { return (int)((sw->shapes >> 1) & 1); }

static void finish(const sweep *sw) {
    printf("sweep %s: %zu shapes x %d algorithms x %d isas%s = %zu runs, %zu failed\n", sw->name,
           sw->shapes, cfg.n_algos, cfg.n_isas, cfg.rotate_isas ? " (rotating)" : "", sw->runs,
           sw->failures);
    if (sw->failures >= MAX_FAILURES)
        printf("sweep %s stopped early: too many failures\n", sw->name);
    assert_int_equal(sw->failures, 0);
}

/* Every output padding and every padding up to p_cap of a square axis. The channel count
 * alternates between two configurations with the parity of the fields, so both meet every
 * input, kernel, stride and output padding without doubling the sweep. */
static void run_all_pads(sweep *sw, axis a, int64_t p_cap, const int64_t chans[2][2]) {
    for (a.op = 0; a.op < op_limit(&a); a.op++) {
        int64_t p_end = min64(pad_end(&a), p_cap);
        for (a.p = 0; a.p <= p_end; a.p++) {
            const int64_t *c = chans[(a.i + a.k + a.s + a.op + a.p) & 1];
            tconv_shape s = square_shape(1, c[0], c[1], 1, a);
            run_shape(sw, &s, alternate_bias(sw));
        }
    }
}

/* ---- sweeps ------------------------------------------------------------------------------- */

/* (a) square, dilation 1: every input 1..9, kernel 1..7, stride 1..4, output padding and
 * padding (see pad_end), with 1 -> 1 and 2 -> 3 channels. */
static void test_sweep_a_square(void **state) {
    (void)state;
    static const int64_t chans[2][2] = {{1, 1}, {2, 3}};
    sweep sw = {"a (square, d=1)", 1, 0, 0, 0};
    for (int64_t i = 1; i <= 9; i++)
        for (int64_t k = 1; k <= 7; k++)
            for (int64_t s = 1; s <= 4; s++) {
                axis a = {i, k, s, 0, 0, 1};
                run_all_pads(&sw, a, INT64_MAX, chans);
            }
    finish(&sw);
}

/* (b) dilation 2..3: kernel, stride, padding and output padding (which dilation allows up to
 * d - 1 even at stride 1) for a few input sizes. The paddings grow with d(k-1), so to bound the
 * sweep the kernels are 1..5 and the padding at most DILATED_PAD_CAP; dilated kernels up to 7
 * are in sweep c. */
static void test_sweep_b_dilation(void **state) {
    (void)state;
    static const int64_t inputs[] = {1, 2, 5, 9};
    static const int64_t chans[2][2] = {{1, 2}, {3, 2}};
    sweep sw = {"b (dilation 2..3)", 2, 0, 0, 0};
    for (int64_t d = 2; d <= 3; d++)
        for (size_t n = 0; n < sizeof inputs / sizeof inputs[0]; n++)
            for (int64_t k = 1; k <= 5; k++)
                for (int64_t s = 1; s <= 4; s++) {
                    axis a = {inputs[n], k, s, 0, 0, d};
                    run_all_pads(&sw, a, DILATED_PAD_CAP, chans);
                }
    finish(&sw);
}

/* Per-axis configurations whose pairs (h != w) make the rectangular sweep. Every field takes
 * several values, and some pairs differ in a single field (input, kernel, stride, padding, op or
 * dilation only) so an h/w mix-up of that one field cannot hide. */
static const axis rect_axes[] = {
    {1, 1, 1, 0, 0, 1}, {4, 2, 2, 1, 0, 1}, {4, 3, 2, 1, 0, 1}, {4, 3, 3, 1, 0, 1},
    {4, 3, 3, 2, 0, 1}, {4, 3, 3, 2, 2, 1}, {4, 3, 3, 2, 2, 2}, {2, 3, 1, 1, 0, 1},
    {5, 2, 2, 0, 1, 1}, {3, 4, 3, 1, 2, 1}, {7, 3, 2, 1, 1, 1}, {6, 1, 4, 0, 3, 1},
    {3, 3, 1, 0, 1, 2}, {2, 2, 3, 1, 0, 2}, {4, 3, 2, 2, 2, 3}, {9, 7, 2, 3, 1, 1},
    {1, 6, 2, 2, 1, 1}, {8, 5, 1, 4, 0, 1}, {4, 3, 2, 1, 1, 1},
};

/* (c) rectangular: every ordered pair of distinct axis configurations, 2 -> 3 channels. */
static void test_sweep_c_rectangular(void **state) {
    (void)state;
    sweep sw = {"c (rectangular)", 3, 0, 0, 0};
    size_t n = sizeof rect_axes / sizeof rect_axes[0];
    for (size_t h = 0; h < n; h++)
        for (size_t w = 0; w < n; w++) {
            if (h == w) continue;
            tconv_shape s = make_shape(1, 2, 3, 1, rect_axes[h], rect_axes[w]);
            run_shape(&sw, &s, alternate_bias(&sw));
        }
    finish(&sw);
}

/* A few spatial configurations (square and one rectangular) for the channel sweeps. */
static const axis spatial_h[] = {{5, 3, 1, 1, 0, 1}, {4, 4, 2, 1, 0, 1}, {3, 3, 2, 0, 1, 1},
                                 {6, 2, 3, 1, 2, 1}, {4, 3, 1, 2, 1, 2}, {3, 2, 2, 0, 1, 1}};
static const axis spatial_w[] = {{5, 3, 1, 1, 0, 1}, {4, 4, 2, 1, 0, 1}, {3, 3, 2, 0, 1, 1},
                                 {6, 2, 3, 1, 2, 1}, {4, 3, 1, 2, 1, 2}, {5, 4, 1, 2, 0, 1}};
#define N_SPATIAL (sizeof spatial_h / sizeof spatial_h[0])

/* One channel configuration across every spatial configuration and the given batches. */
static void run_channels(sweep *sw, int64_t cin, int64_t cout, int64_t groups, int64_t max_batch) {
    for (int64_t batch = 1; batch <= max_batch; batch++)
        for (size_t n = 0; n < N_SPATIAL; n++) {
            tconv_shape s = make_shape(batch, cin, cout, groups, spatial_h[n], spatial_w[n]);
            run_shape(sw, &s, alternate_bias(sw));
        }
}

/* (d) groups 1..3 with every channel count 1..5 they divide, depthwise (groups == in == out,
 * and with a channel multiplier), batch 1 and 2. */
static void test_sweep_d_groups(void **state) {
    (void)state;
    sweep sw = {"d (groups, depthwise, batch)", 4, 0, 0, 0};
    for (int64_t g = 1; g <= 3; g++)
        for (int64_t cin = g; cin <= 5; cin += g)
            for (int64_t cout = g; cout <= 5; cout += g) run_channels(&sw, cin, cout, g, 2);
    /* Depthwise beyond 3 channels, then depthwise with channel multipliers 2 and 3. */
    for (int64_t c = 4; c <= 8; c++) run_channels(&sw, c, c, c, 2);
    run_channels(&sw, 2, 4, 2, 2);
    run_channels(&sw, 3, 9, 3, 2);
    finish(&sw);
}

/* (e) larger channel counts with small spatial sizes: register/cache blocking remainders. */
static void test_sweep_e_large_channels(void **state) {
    (void)state;
    static const int64_t configs[][3] = {/* cin, cout, groups */
                                         {16, 24, 1},  {16, 24, 2}, {16, 24, 4}, {16, 24, 8},
                                         {33, 17, 1},  {17, 33, 1}, {64, 64, 1}, {64, 64, 4},
                                         {64, 64, 64}, {5, 64, 1},  {64, 3, 1},  {24, 40, 8}};
    sweep sw = {"e (large channels)", 5, 0, 0, 0};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++)
        run_channels(&sw, configs[c][0], configs[c][1], configs[c][2], 1);
    tconv_shape s = make_shape(2, 33, 17, 1, spatial_h[1], spatial_w[5]); /* batch 2 */
    run_shape(&sw, &s, 1);
    finish(&sw);
}

/* (f) stride >= kernel, up to stride 7: k == s tiles the output without overlap; s > k leaves
 * output pixels no tap reaches (bias only, or 0), which an algorithm must still write. The
 * paddings cover one stride period (every phase of the crop). Dilation 2 makes the kernel's
 * reach, not its size, the thing the stride is compared with. */
static void test_sweep_f_stride_vs_kernel(void **state) {
    (void)state;
    static const int64_t inputs[] = {1, 3, 6};
    static const int64_t chans[2][2] = {{2, 3}, {1, 2}};
    sweep sw = {"f (stride >= kernel)", 6, 0, 0, 0};
    for (int64_t k = 1; k <= 4; k++)
        for (int64_t s = k; s <= k + 3; s++)
            for (size_t n = 0; n < sizeof inputs / sizeof inputs[0]; n++)
                for (int64_t d = 1; d <= 2; d++) {
                    axis a = {inputs[n], k, s, 0, 0, d};
                    run_all_pads(&sw, a, s - 1, chans);
                }
    finish(&sw);
}

/* Shapes i < n of batch 1, one group: channels ch[i] (in, out) and axes h[i], w[i]; every shape
 * with bias except the one at without_bias. */
static void run_table(sweep *sw, size_t n, const int64_t (*ch)[2], const axis *h, const axis *w,
                      size_t without_bias) {
    for (size_t i = 0; i < n; i++) {
        tconv_shape shape = make_shape(1, ch[i][0], ch[i][1], 1, h[i], w[i]);
        run_shape(sw, &shape, i != without_bias);
    }
}

/* (g) long rows and long reductions, which the small sweeps above never reach:
 * - rows of 64 to 129 pixels, so the contiguous (stride-1) and stride-2 col2im adds take their
 *   four-vectors-per-step loop under every ISA (16 floats per step for SSE4.1, 32 for AVX2, 64
 *   for AVX-512) and then each kind of remainder (a partial step, single vectors, scalars), and
 *   AVX-512's stride-3 adds their full and partial 16-element steps;
 * - 1024 input channels under a 3x3 or 4x4 kernel, whose packed weights per output-channel block
 *   exceed direct's L2 budget, so direct walks column phases outermost (its DCGAN loop order).
 * Few rows and few output channels keep each run cheap. */
static void test_sweep_g_long_rows(void **state) {
    (void)state;
    static const int64_t widths[] = {64, 67, 100, 129};
    sweep sw = {"g (long rows, long reductions)", 7, 0, 0, 0};
    for (size_t n = 0; n < sizeof widths / sizeof widths[0]; n++)
        for (int64_t s = 1; s <= 3; s++)
            for (int64_t k = 1; k <= 3; k += 2) {
                axis h = {2, k, 1, k / 2, 0, 1}, w = {widths[n], k, s, k / 2, s - 1, 1};
                tconv_shape shape = make_shape(1, 2, 3, 1, h, w);
                run_shape(&sw, &shape, alternate_bias(&sw));
            }
    /* ... and 2100 channels with taps that never overlap (k <= s): K spans several KC blocks
     * (partial sums in col) on every CPU, since gemm_blocking caps a pass at 2048 rows of K (1024
     * no longer splits with a 2 MiB L2). k == s without padding, where gemm writes y from each
     * GEMM tile; 1x1 stride 1, where the partial sums of every pass go to y itself; padding,
     * output padding and k < s (outputs no tap reaches keep the bias), which gemm runs as GEMM
     * + col2im. */
    static const axis deep[] = {{4, 3, 1, 1, 0, 1}, {3, 4, 2, 1, 0, 1}, {5, 2, 2, 0, 0, 1},
                                {5, 2, 3, 1, 2, 1}, {4, 1, 1, 0, 0, 1}, {9, 1, 2, 0, 1, 1}};
    for (size_t n = 0; n < sizeof deep / sizeof deep[0]; n++) {
        tconv_shape shape = square_shape(1, 2100, 3, 1, deep[n]);
        run_shape(&sw, &shape, 1);
    }
    /* ... and overlapping taps on wide inputs with few channels, whose col (M x H*W) exceeds half
     * of any L2 up to 4 MiB, so gemm runs GEMM and col2im in bands of output rows: padding and
     * output padding, dilation, and k < s (rows no tap reaches between bands). */
    static const axis band_h[] = {{64, 3, 2, 1, 1, 1}, {50, 4, 2, 1, 0, 2}, {70, 2, 3, 0, 2, 1}};
    static const axis band_w[] = {{600, 3, 2, 1, 1, 1}, {700, 4, 2, 1, 0, 2}, {500, 3, 1, 1, 0, 1}};
    for (size_t n = 0; n < sizeof band_h / sizeof band_h[0]; n++) {
        tconv_shape shape = make_shape(1, 2, 3, 1, band_h[n], band_w[n]);
        run_shape(&sw, &shape, n != 1);
    }
    /* ... and few GEMM rows (Cout*Kh*Kw) over many input pixels, where gemm reads full NR-column
     * slivers of x in place and packs only the last, narrower one (at most 8 MR tiles): DCGAN's
     * last layer (64 -> 3, k4 s2 p1; M 48), M 96 (8 tiles of 12 at AVX-512, 16 of 6 at AVX2:
     * the packed panels there), M 112 (past the limit everywhere), a fused k2 s2 one, and 9x11
     * inputs (99 columns: three full 32-column slivers and a 3-column one). */
    static const int64_t few_rows[][2] = {{64, 3}, {5, 6}, {5, 7}, {7, 2}};
    static const axis few_h[] = {
        {32, 4, 2, 1, 0, 1}, {9, 4, 2, 1, 1, 1}, {9, 4, 1, 2, 0, 1}, {9, 2, 2, 0, 0, 1}};
    static const axis few_w[] = {
        {32, 4, 2, 1, 0, 1}, {11, 4, 2, 1, 1, 1}, {11, 4, 1, 2, 0, 1}, {11, 2, 2, 0, 0, 1}};
    run_table(&sw, sizeof few_h / sizeof few_h[0], few_rows, few_h, few_w, 2);
    /* ... and one-column kernels that never overlap: 1x1 stride 1 unpadded, where gemm's
     * micro-kernel writes y itself (M 30: a 6-row edge tile, the AVX-512 8-row path; without
     * bias too), and strides 2 and 3 with output padding (a 2-row kernel on the last), outputs
     * no tap reaches between rows of 9 to 20 columns. */
    static const int64_t one_col_ch[][2] = {{40, 30}, {40, 30}, {24, 20}, {9, 7}, {5, 13}};
    static const axis one_col_h[] = {{9, 1, 1, 0, 0, 1},
                                     {9, 1, 1, 0, 0, 1},
                                     {7, 1, 2, 0, 1, 1},
                                     {5, 1, 3, 0, 2, 1},
                                     {6, 2, 3, 0, 1, 1}};
    static const axis one_col_w[] = {{13, 1, 1, 0, 0, 1},
                                     {13, 1, 1, 0, 0, 1},
                                     {20, 1, 2, 0, 1, 1},
                                     {11, 1, 3, 0, 0, 1},
                                     {17, 1, 2, 0, 0, 1}};
    run_table(&sw, sizeof one_col_h / sizeof one_col_h[0], one_col_ch, one_col_h, one_col_w, 1);
    /* ... and the fused k == s == 2 stores of the AVX-512 pairs kernel (gemm: a 12-row tile's
     * (kx 0, kx 1) row pairs interleaved into y from registers): slivers inside one input row
     * (64 columns), crossing rows (48: the old scatter), a last one of 24 columns (masked stores)
     * and of 16 (the 12x16 path), a 4-row edge tile (M 28 = 12 + 12 + 4), kernel rows 4 with
     * stride 4 (ky stepping past 2), and M 120 (the blocked loop instead of the slivers). */
    static const int64_t pairs_ch[][2] = {{20, 7}, {33, 7}, {9, 30}, {17, 5}, {12, 15}};
    static const axis pairs_h[] = {{3, 2, 2, 0, 0, 1},
                                   {2, 2, 2, 0, 0, 1},
                                   {1, 2, 2, 0, 0, 1},
                                   {2, 4, 4, 0, 0, 1},
                                   {3, 2, 2, 0, 0, 1}};
    static const axis pairs_w[] = {{64, 2, 2, 0, 0, 1},
                                   {48, 2, 2, 0, 0, 1},
                                   {56, 2, 2, 0, 0, 1},
                                   {40, 2, 2, 0, 0, 1},
                                   {64, 2, 2, 0, 0, 1}};
    run_table(&sw, sizeof pairs_h / sizeof pairs_h[0], pairs_ch, pairs_h, pairs_w, 2);
    /* ... and gemm's col2im rows held in AVX-512 registers (outputs at most 64 wide, kernel 2 to
     * 16 wide): 64-wide rows (four vectors), stride 3 with dilation 2 and output padding (29: a
     * masked tail), a 17-row kernel (past the taps list: the plain path), and rectangular. */
    static const int64_t rows_ch[][2] = {{6, 5}, {3, 4}, {2, 3}, {4, 7}};
    static const axis rows_h[] = {
        {6, 4, 2, 1, 0, 1}, {5, 3, 3, 1, 2, 2}, {3, 17, 1, 8, 0, 1}, {4, 5, 1, 2, 0, 1}};
    static const axis rows_w[] = {
        {32, 4, 2, 1, 0, 1}, {9, 3, 3, 1, 2, 2}, {3, 17, 1, 8, 0, 1}, {20, 2, 3, 0, 1, 1}};
    run_table(&sw, sizeof rows_h / sizeof rows_h[0], rows_ch, rows_h, rows_w, 1);
    finish(&sw);
}

/* ---- the checker itself ------------------------------------------------------------------- */

/* Buffers and a correct DIRECT result for a small shape with bias, used to tamper with. */
typedef struct fixture {
    tconv_shape s;
    float *x, *w, *b, *y, *ref, *mag;
    size_t ny;
} fixture;

static void fixture_init(fixture *f) {
    axis h = {3, 3, 2, 1, 1, 1}, w = {4, 2, 1, 0, 0, 1};
    f->s = make_shape(1, 3, 2, 1, h, w);
    size_t nx = tu_x_elems(&f->s), nw = tu_w_elems(&f->s);
    f->ny = tu_y_elems(&f->s);
    f->x = malloc(nx * sizeof(float)), f->w = malloc(nw * sizeof(float));
    f->b = malloc(2 * sizeof(float)), f->y = malloc(f->ny * sizeof(float));
    f->ref = malloc(f->ny * sizeof(float)), f->mag = malloc(f->ny * sizeof(float));
    assert_true(f->x && f->w && f->b && f->y && f->ref && f->mag);
    tu_rng rng;
    tu_seed(&rng, 77);
    tu_fill(&rng, f->x, nx), tu_fill(&rng, f->w, nw), tu_fill(&rng, f->b, 2);
    assert_int_equal(tconv_forward(&f->s, TCONV_ALGO_DIRECT, f->x, f->w, f->b, f->y), TCONV_OK);
    assert_int_equal(tconv_forward(&f->s, TCONV_ALGO_REFERENCE, f->x, f->w, f->b, f->ref),
                     TCONV_OK);
    /* The bound scales with |b| + sum |x||w|: the reference on absolute values computes it. */
    float *ax = malloc(nx * sizeof(float)), *aw = malloc(nw * sizeof(float)), ab[2];
    assert_true(ax && aw);
    for (size_t i = 0; i < nx; i++) ax[i] = fabsf(f->x[i]);
    for (size_t i = 0; i < nw; i++) aw[i] = fabsf(f->w[i]);
    for (int i = 0; i < 2; i++) ab[i] = fabsf(f->b[i]);
    assert_int_equal(tconv_forward(&f->s, TCONV_ALGO_REFERENCE, ax, aw, ab, f->mag), TCONV_OK);
    free(ax), free(aw);
    assert_true(tu_check_output(&f->s, "direct", NULL, f->x, f->w, f->b, f->y));
}

static void fixture_free(fixture *f) {
    free(f->x), free(f->w), free(f->b), free(f->y), free(f->ref), free(f->mag);
}

/* The bound of tu_check_output for element i, recomputed from its documented formula. */
static double bound_at(const fixture *f, size_t i) {
    double L = (double)(f->s.in_channels / f->s.groups * f->s.kernel_h * f->s.kernel_w);
    return TU_BOUND_C * L * ldexp(1.0, -24) * (double)f->mag[i];
}

/* One element moved just past its bound must fail and moved by half its bound must pass: the
 * bound in force is the documented one, neither looser nor much tighter. A gross error fails. */
static void test_checker_catches_perturbation(void **state) {
    (void)state;
    fixture f;
    fixture_init(&f);
    size_t k = f.ny / 2;
    double bound = bound_at(&f, k);
    float outside = f.ref[k] + (float)bound;
    while (fabs((double)outside - f.ref[k]) <= bound) outside = nextafterf(outside, INFINITY);
    outside = nextafterf(nextafterf(outside, INFINITY), INFINITY); /* a few ULP beyond */
    f.y[k] = outside;
    printf("expect one MISMATCH below (checker self-test):\n");
    assert_false(tu_check_output(&f.s, "tampered", NULL, f.x, f.w, f.b, f.y));
    float inside = f.ref[k] + (float)(bound / 2);
    assert_true(fabs((double)inside - f.ref[k]) <= bound);
    f.y[k] = inside;
    assert_true(tu_check_output(&f.s, "tampered", NULL, f.x, f.w, f.b, f.y));
    f.y[k] = f.ref[k] + 1e-3f; /* a gross error, far above the bound */
    assert_false(tu_check_output(&f.s, "tampered", NULL, f.x, f.w, f.b, f.y));
    fixture_free(&f);
}

/* An output left NaN (never written) must fail: all of it, a single element, or an infinity. */
static void test_checker_catches_unwritten(void **state) {
    (void)state;
    fixture f;
    fixture_init(&f);
    float *nan_y = malloc(f.ny * sizeof(float));
    assert_non_null(nan_y);
    for (size_t i = 0; i < f.ny; i++) nan_y[i] = NAN;
    printf("expect MISMATCH lines below (checker self-test):\n");
    assert_false(tu_check_output(&f.s, "unwritten", NULL, f.x, f.w, f.b, nan_y));
    f.y[f.ny - 1] = NAN;
    assert_false(tu_check_output(&f.s, "last-unwritten", NULL, f.x, f.w, f.b, f.y));
    f.y[f.ny - 1] = INFINITY;
    assert_false(tu_check_output(&f.s, "infinite", NULL, f.x, f.w, f.b, f.y));
    free(nan_y);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_catches_perturbation),
        cmocka_unit_test(test_checker_catches_unwritten),
        cmocka_unit_test(test_sweep_a_square),
        cmocka_unit_test(test_sweep_b_dilation),
        cmocka_unit_test(test_sweep_c_rectangular),
        cmocka_unit_test(test_sweep_d_groups),
        cmocka_unit_test(test_sweep_e_large_channels),
        cmocka_unit_test(test_sweep_f_stride_vs_kernel),
        cmocka_unit_test(test_sweep_g_long_rows),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
