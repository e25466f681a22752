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
 * DERIVATION. Run results/fit/vm-20261129-1820-fit.json (committed):
 * build/release/bench/tconv-bench
 * --sweep=default --threads=1 --peers=none --benchmark_filter='^(direct|gemm|sparse)/avx512/'
 * --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true, on the 2-vCPU Xeon
 * (Sapphire Rapids class, AVX-512; 2026-11-29, idle: load 3.6 falling), 107 sweep shapes and the 18
 * real layers, medians of 3, after direct's rowconv path, the L2-sized GEMM blocking and sparse's
 * quad runs. Rule: the lowest estimate among direct, gemm and sparse (tconv_auto_choose).
 * In-sample hit rate (choice within 10% of the fastest of ours): 16 of 18 layers, 75 of 107 sweep
 * shapes (70%); choosing between direct and gemm only: 56 of 107. Leave-one-out on the same run:
 * 13 of 18 layers, 75 of 107. Why not 90%: (1) noise: on this run, the fastest algorithm of one
 * repetition is within 10% of the fastest median on only 97-99 of 107 shapes, so even a perfect
 * predictor from one measurement tops out near 91%; (2) the three algorithms' costs are not
 * power laws of the same counts (sparse's quads, direct's rowconv path): richer models did better
 * but not enough for their size (leave-one-out: all pairwise products of these features plus log
 * cout, stride, taps and in_plane with ridge 10, 82 of 107 and 15 of 18; 3-nearest-neighbour
 * table, 80 of 107 and 15 of 18). tune = 1 measures instead. Only avx512 was swept: the other
 * ISAs use these coefficients with their own tile sizes. */

enum { FEATURES = 11 };
typedef struct model {
    double direct[FEATURES], gemm[FEATURES], sparse[FEATURES];
} model;

static const model fitted_avx512 = {
    {-22.5505, -3.98642, 2.59989, 2.35241, 0.537048, 1.62634, 0.702439, 1.88212, 0.464545, 0.30076,
     -1.18447},
    {-22.4595, -2.11216, 2.30014, 0.937122, -0.0866588, 0.377881, 0.531557, 0.595543, 0.0716661,
     0.340519, -0.169185},
    {-23.4948, -8.64806, 6.34891, 3.27059, -0.0304877, 3.23788, 0.601998, 2.48342, 0.0718176,
     0.597758, 0.226871},
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

tconv_algo tconv_auto_choose_dense(const tconv_geometry *g, const tconv_kernels *k) {
    double direct = tconv_auto_cost(g, k, TCONV_ALGO_DIRECT);
    double gemm = tconv_auto_cost(g, k, TCONV_ALGO_GEMM);
    return gemm < direct ? TCONV_ALGO_GEMM : TCONV_ALGO_DIRECT;
}

/* Before the weights are read: direct, gemm or sparse, whichever the model (fitted on dense
 * weights) says is fastest. sparse is often fastest on dense weights too, on small shapes (few
 * channels or 16x16 planes: its zero-padded phase streams and quads against direct's per-row
 * set-up): fastest of the three on 49 of the 107 sweep shapes of vm-20261129-1820-fit. Sparse
 * weights are AUTO's other decision: after the plan has read w, tconv_plan_create_ex switches to
 * sparse when the density is at or below the crossover (tconv_sparse_preferred). */
tconv_algo tconv_auto_choose(const tconv_geometry *g, const tconv_kernels *k) {
    tconv_algo dense = tconv_auto_choose_dense(g, k);
    double sparse = tconv_auto_cost(g, k, TCONV_ALGO_SPARSE);
    return sparse < tconv_auto_cost(g, k, dense) ? TCONV_ALGO_SPARSE : dense;
}
