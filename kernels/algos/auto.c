/* AUTO's heuristic (tune = 0): a cost model fitted to a benchmark sweep picks the algorithm with
 * the lowest estimated time. */
#include <math.h>
#include <stdint.h>

#include "../core/plan.h"

/* The model (log-linear, one per algorithm): one single-thread run of algorithm a takes
 *     exp(sum_i coef[a][i] * term[i])   seconds,
 * where the terms are the features below and every product of two of them (f[i]*f[j],
 * 1 <= i <= j), fitted per algorithm by ridge regression on log(time) (scripts/tune_auto.py
 * --fit, which holds the same features and terms in Python). The products let one feature's
 * effect depend on another (direct's cost per multiply-add depends on the phase row's length and
 * the channel count; sparse's on the plane size), which a sum of power laws could not say. The
 * features say where the algorithms differ:
 *   log useful multiply-adds (taps landing inside the output) and log nominal ones (every tap:
 *   gemm computes the cropped ones too), log output and input elements, log cin_g (the GEMM's
 *   reduction: thin GEMMs run far below peak), log of direct's output-channel tile waste
 *   (round_up(cout_g, mr) / cout_g: why 128->3 layers are slow on direct), log taps per stride
 *   phase (direct's work per phase; below 1 when k < s and phases get no tap at all, where direct
 *   still walks every output), k < s itself, log of the GEMM tile waste (M = cout_g*taps and
 *   N = in_plane rounded up to the tile), log in_w (row length: per-row set-up).
 *
 * DERIVATION. Run results/fit/vm-20261129-2053-fit.json (committed):
 * build/release/bench/tconv-bench
 * --sweep=default --threads=1 --peers=none --benchmark_filter='^(direct|gemm|sparse)/avx512/'
 * --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true, on the 2-vCPU Xeon
 * (Sapphire Rapids class, AVX-512; 2026-11-29, one other benchmark running on the second core),
 * 107 sweep shapes and the 18 real layers, medians of 3, after direct's larger register tiles
 * for short phase rows and gemm's in-place B for small M. Rule: the lowest estimate among direct,
 * gemm and sparse (tconv_auto_choose). Ridge weight 10 (every term, the constant too): with the
 * 66 terms per algorithm and 125 shapes, plain least squares overfits. Hit rate (choice within
 * 10% of the fastest of ours) on the fit run: in-sample 18 of 18 layers and 95 of 107 sweep shapes
 * (88.8%); leave-one-out (each shape predicted by a fit without it) 18 of 18 and 92 of 107
 * (86.0%). The log-linear model of the same 11 features alone: in-sample 83 of 107, leave-one-out
 * 82 of 107 and 16 of 18. A depth-2..6 decision tree on these and other features (k, s, p, k/s,
 * plane sizes, useful fraction) did no better than 80 of 107 leave-one-out (previous fit run).
 * On a held-out run (the bench run vm-20261129-2121, taken after rowconv's expanded rows made
 * direct 1.2-1.8x faster on 1-channel shapes with k a multiple of s) the measured auto rows hit
 * 18 of 18 layers and 92 of 107 sweep shapes (86.0%). A refit on a fit run of that final code
 * (results/fit/vm-20261129-2129-fit.json) scored the same there (92 of 107, 18 of 18; in-sample 90
 * of 107, leave-one-out 85 of 107), so these coefficients were kept. Between runs, even a lookup
 * of one run's fastest algorithm per shape hits only 103-105 of 107 on another; a shape table
 * would get near that on the sweep but leave-one-out showed it does not carry to other shapes.
 * tune = 1 measures instead. Only avx512 was swept: the other ISAs use these coefficients with
 * their own tile sizes. */

enum { FEATURES = 11, TERMS = FEATURES + (FEATURES - 1) * FEATURES / 2 };
typedef struct model {
    double direct[TERMS], gemm[TERMS], sparse[TERMS];
} model;

static const model fitted_avx512 = {
    {-0.195463,  -0.60855,    -0.641222,    -0.410597,   -0.429355,   -0.0750033, -0.340326,
     -0.176916,  -0.00972015, -0.105346,    -0.179087,   0.0407244,   0.0226144,  0.0121578,
     0.0580439,  -0.00784228, 0.111636,     -0.0178333,  0.0583351,   -0.0326582, 0.00382104,
     0.00985372, -0.0458744,  0.0111321,    -0.00964563, 0.0523767,   0.0249514,  0.0583351,
     -0.0752497, -0.0182923,  -0.000775065, 0.0869712,   -0.0530175,  -0.0345603, -0.0298675,
     0.0232462,  -0.140684,   0.0318441,    -0.0797398,  -0.0462524,  0.0517927,  0.00114418,
     -0.140317,  0.203712,    -0.0144622,   0.117254,    0.131298,    -0.039771,  -0.0864172,
     0.130809,   -0.0702073,  -0.688641,    -0.131172,   0.0421838,   -0.282006,  -0.0434823,
     0.0207398,  0.126714,    -0.129356,    0.0178082,   -0.00972015, -0.0122681, -0.02695,
     -0.0373455, 0.0366922,   0.0175386},
    {-0.200565,  -0.57464,    -0.60837,    -0.43042,   -0.444628,   -0.0328981,  -0.412932,
     -0.166517,  -0.00372912, -0.0922738,  -0.208379,  0.0516112,   0.0441326,   0.00488803,
     0.0601945,  -0.0585965,  0.148129,    -0.0486009, 0.0346027,   -0.0581384,  0.0151762,
     0.0366461,  -0.0673027,  0.0217562,   -0.0265941, 0.051197,    -0.0164771,  0.0346027,
     -0.0993877, -0.0198267,  -0.00407498, 0.0258143,  -0.105184,   -0.00726872, -0.0425778,
     -0.0431721, -0.0963154,  0.0236656,   -0.0557782, -0.0635838,  -0.0272614,  0.00798786,
     -0.0282836, 0.230692,    -0.00962475, 0.153902,   0.0814919,   -0.0888011,  -0.00760504,
     0.114259,   -0.107831,   -0.818161,   -0.0720871, -0.00425528, -0.242941,   -0.0568782,
     0.0340878,  0.0879286,   -0.166481,   0.0449096,  -0.00372912, 0.038222,    -0.0103393,
     0.00780137, 0.0583285,   0.0389138},
    {-0.186056,   -0.593593,   -0.611211,  -0.417606,  -0.41218,    -0.0114709,  -0.387968,
     -0.195435,   -0.00715304, -0.104077,  -0.199957,  -0.155185,   -0.0409552,  0.067769,
     0.00676827,  0.0669018,   0.115645,   -0.0331419, 0.0409809,   0.0259667,   -0.0168266,
     0.109946,    -0.00658389, -0.0134102, 0.0838891,  0.085706,    0.175028,    0.0409809,
     -0.00141882, -0.0350616,  0.0742092,  0.126787,   -0.00730913, -0.0504874,  0.0467451,
     -0.0214562,  -0.163726,   0.0647301,  -0.0427243, -0.0143844,  0.0108263,   0.0436025,
     -0.0728972,  0.2309,      0.0074507,  0.132545,   0.195285,    -0.00570133, -0.0332323,
     0.211635,    -0.0585515,  -0.787832,  -0.124857,  0.00675339,  -0.325197,   -0.0943698,
     0.0446104,   0.0975299,   -0.155886,  0.0252038,  -0.00715304, -0.004487,   -0.0198324,
     -0.0868267,  0.00952443,  0.0320472},
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

/* The features, then f[i]*f[j] for 1 <= i <= j (f[0] is the constant 1), in
 * scripts/tune_auto.py's order (model_terms). */
static void model_terms(const double f[FEATURES], double t[TERMS]) {
    int n = 0;
    for (int i = 0; i < FEATURES; i++) t[n++] = f[i];
    for (int i = 1; i < FEATURES; i++)
        for (int j = i; j < FEATURES; j++) t[n++] = f[i] * f[j];
}

double tconv_auto_cost(const tconv_geometry *g, const tconv_kernels *k, tconv_algo algo) {
    (void)k->isa; /* one fitted model for every ISA, see DERIVATION */
    const model *m = &fitted_avx512;
    const double *coef = algo == TCONV_ALGO_DIRECT   ? m->direct
                         : algo == TCONV_ALGO_SPARSE ? m->sparse
                                                     : m->gemm;
    double f[FEATURES], t[TERMS], sum = 0;
    model_features(g, k, f);
    model_terms(f, t);
    for (int i = 0; i < TERMS; i++) sum += coef[i] * t[i];
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
