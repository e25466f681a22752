/* AUTO's heuristic (tune = 0): a cost model fitted to a benchmark sweep picks the algorithm with
 * the lowest estimated time. */
#include <math.h>
#include <stdint.h>

#include "../core/plan.h"

/* The model (log-linear, one per algorithm): one single-thread run of algorithm a takes
 *     exp(sum_i coef[a][i] * feature[i])   seconds,
 * with the features below, fitted per algorithm by least squares on log(time)
 * (scripts/tune_auto.py --fit, which holds the same features in Python). A power law of the work
 * counts fits small and large shapes alike (a sum of per-unit costs fitted on relative error
 * reached 86% of the sweep and 13 of 18 layers). The features say where the algorithms differ:
 *   log useful multiply-adds (taps landing inside the output) and log nominal ones (every tap:
 *   gemm computes the cropped ones too), log output and input elements, log cin_g (the GEMM's
 *   reduction: thin GEMMs run far below peak), log of direct's output-channel tile waste
 *   (round_up(cout_g, mr) / cout_g: why 128->3 layers are slow on direct), log taps per stride
 *   phase (direct's work per phase; below 1 when k < s and phases get no tap at all, where direct
 *   still walks every output), k < s itself, log of the GEMM tile waste (M = cout_g*taps and
 *   N = in_plane rounded up to the tile), log in_w (row length: per-row set-up).
 *
 * DERIVATION. Run: build/release/bench/tconv-bench --sweep=default --threads=1 --peers=none
 * --benchmark_filter='^(direct|gemm|sparse|gemm_blas)/avx512/' --benchmark_repetitions=3
 * --benchmark_enable_random_interleaving=true, on the shared 2-vCPU Xeon (Sapphire Rapids class,
 * AVX-512; 2026-11-29, load 2-13 from other jobs), 107 sweep shapes and the 18 real layers,
 * medians of 3. Rule: the algorithm with the lowest estimate among direct, gemm and sparse
 * (since then sparse was rewritten and left the dense choice: see tconv_auto_choose).
 * In-sample hit rate (choice within 10% of the fastest of ours): 18 of 18 layers, 95 of 107
 * sweep shapes (89%); the two-threshold rule it replaces: 13 of 18 layers and 82% of the sweep on
 * the same run. Checked on a fresh run (same flags, rows auto|auto_tuned|direct|gemm|sparse on
 * avx512 and avx2, no interleaving; scripts/tune_auto.py): avx512 18 of 18 layers and 96 of 107
 * sweep shapes (89.7%), avx2 18 of 18 layers; tune = 1 on that run: 17 of 18 layers and 101 of
 * 106 shapes. The misses are k2-k5 s2 shapes at 16x16 where gemm beats direct by 12-37%, and
 * shapes where sparse and direct are within 15-50% on microsecond runs. Only avx512 was swept (the
 * sweep runs on the dispatcher's ISA): the other ISAs use these coefficients with their own tile
 * sizes, which carry most of the difference between ISAs. */

enum { FEATURES = 11 };
typedef struct model {
    double direct[FEATURES], gemm[FEATURES], sparse[FEATURES];
} model;

static const model fitted_avx512 = {
    {-23.2825, -4.75371, 3.52433, 2.34738, 0.40736, 1.51963, 0.903678, 1.67653, 0.454127, 0.484637,
     -1.17407},
    {-22.8716, -3.50108, 3.02214, 1.63569, -0.0625672, 1.02973, 0.593582, 1.15096, -0.0647021,
     0.303778, -0.214492},
    {-24.5371, -2.01658, 2.53891, 0.590836, 0.0956796, 0.280564, 1.18462, 0.117474, 0.489249,
     0.508407, -0.234562},
};

static double round_up(double v, size_t m) {
    double mm = m ? (double)m : 1.0;
    return ceil(v / mm) * mm;
}

/* log of a count, 0 for an empty one (a shape whose taps all fall outside the output). */
static double log_count(double v) { return log(v > 1 ? v : 1); }

/* The features (see above); doubles: a hostile shape's products overflow size_t but only need to
 * compare. */
static void model_features(const tconv_geometry *g, const tconv_kernels *k, double f[FEATURES]) {
    const tconv_shape *s = &g->s;
    double bg = (double)g->batch * (double)g->groups;
    double pairs = (double)tconv_axis_pairs(s->in_h, s->kernel_h, s->stride_h, s->pad_h,
                                            s->dilation_h, g->out_h) *
                   (double)tconv_axis_pairs(s->in_w, s->kernel_w, s->stride_w, s->pad_w,
                                            s->dilation_w, g->out_w);
    double cin = (double)g->cin_g, cout = (double)g->cout_g, taps = (double)g->taps;
    double plane = (double)g->in_plane;
    double taps_per_phase = taps / ((double)s->stride_h * (double)s->stride_w);
    f[0] = 1;
    f[1] = log_count(bg * cin * cout * pairs);
    f[2] = log_count(bg * cin * cout * taps * plane);
    f[3] = log_count(bg * cout * (double)g->out_plane);
    f[4] = log_count(bg * cin * plane);
    f[5] = log_count(cin);
    f[6] = log(round_up(cout, k->conv.mr) / cout);
    f[7] = log(taps_per_phase > 1.0 / 64 ? taps_per_phase : 1.0 / 64);
    f[8] = s->kernel_h < s->stride_h || s->kernel_w < s->stride_w;
    f[9] = log(round_up(cout * taps, k->gemm.mr) * round_up(plane, k->gemm.nr) /
               (cout * taps * plane));
    f[10] = log_count((double)g->in_w);
}

double tconv_auto_cost(const tconv_geometry *g, const tconv_kernels *k, tconv_algo algo) {
    (void)k->isa; /* one fitted model for every ISA, see DERIVATION */
    const model *m = &fitted_avx512;
    const double *coef = algo == TCONV_ALGO_DIRECT   ? m->direct
                         : algo == TCONV_ALGO_SPARSE ? m->sparse
                                                     : m->gemm;
    double f[FEATURES], sum = 0;
    model_features(g, k, f);
    for (int i = 0; i < FEATURES; i++) sum += coef[i] * f[i];
    return exp(sum);
}

/* Dense weights: direct or gemm, whichever the model says is faster. sparse is not a candidate
 * here: its coefficients were fitted on the CSR sparse that multiplied every weight, before it
 * learned to skip zero weights (a different algorithm now, 7-17x slower on dense big layers,
 * see sparse.c); they serve only tune = 1's budget estimate. Sparse weights are AUTO's other
 * decision: after the plan has read w, tconv_plan_create_ex switches to sparse when the density
 * is at or below the crossover (tconv_sparse_preferred). */
tconv_algo tconv_auto_choose(const tconv_geometry *g, const tconv_kernels *k) {
    double direct = tconv_auto_cost(g, k, TCONV_ALGO_DIRECT);
    double gemm = tconv_auto_cost(g, k, TCONV_ALGO_GEMM);
    return gemm < direct ? TCONV_ALGO_GEMM : TCONV_ALGO_DIRECT;
}
