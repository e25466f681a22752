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
 *   N = in_plane rounded up to the tile), log in_w (row length: per-row set-up), and whether
 *   direct takes its rowconv path (tconv_direct_takes_rowconv: a different kernel with its own
 *   costs, 2-5x faster than the phase path where it is taken; the bench labels direct's rows with
 *   it, which is where tune_auto.py reads it), and on that path whether lanes are masked
 *   (kernel_w not a multiple of stride_w) and whether stride_w does not divide 16 (weight
 *   classes, slower tiles).
 *
 * DERIVATION. Run results/fit/vm-20261130-0002-fit.json (committed):
 * build/release/bench/tconv-bench
 * --sweep=default --threads=1 --peers=none --benchmark_filter='^(direct|gemm|sparse)/avx512/'
 * --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true, on the 2-vCPU Xeon
 * (Sapphire Rapids class, AVX-512; 2026-11-30, the second core idle), 107 sweep shapes and the 18
 * real layers, medians of 3, after rowconv's masked lanes and general strides and gemm's narrower
 * fusion. Rule: the lowest estimate among direct, gemm and sparse (tconv_auto_choose). Ridge
 * weight 10 (every term, the constant too): with 105 terms per algorithm and 125 shapes, plain
 * least squares overfits. Hit rate (choice within 10% of the fastest of ours), leave-one-out (each
 * shape predicted by a fit without it), sweep / layers:
 *   the 11 features of the previous model (no rowconv flags):      80 / 16 of 107 / 18
 *   + rowconv taken:                                                81 / 16
 *   + rowconv taken, masked lanes, stride_w not dividing 16:        87 / 16  (in-sample 89 / 18)
 *   + gemm fused (every output one tap), or log k and log s:        no better
 * ridge weights 1 / 3 / 30 on the 12-feature model: 78 / 79 / 80 of 107. On the previous fit run
 * (vm-20261129-2129, before masks) the rowconv flag alone took leave-one-out from 85 to 96 of 107.
 * The held-out figure (the auto rows of the next bench run) is in README.md and RESULTS.md.
 * Between runs, even a lookup of one run's fastest algorithm per shape hits only 103-105 of 107 on
 * another (the algorithms are often within 10% of each other); a shape table would get near that
 * on the sweep but leave-one-out showed it does not carry to other shapes. tune = 1 measures
 * instead. Only avx512 was swept: the other ISAs use these coefficients with their own tile sizes
 * (rowconv is AVX-512 only, so its flags are 0 there).
 */

enum { FEATURES = 14, TERMS = FEATURES + (FEATURES - 1) * FEATURES / 2 };
typedef struct model {
    double direct[TERMS], gemm[TERMS], sparse[TERMS];
} model;

static const model fitted_avx512 = {
    {-0.181751,  -0.598095,   -0.624302,   -0.416049,   -0.439646,   -0.0842864,  -0.294191,
     -0.152926,  -0.0163505,  -0.0917848,  -0.179865,   -0.0407658,  -0.00645089, -0.00201501,
     0.0383463,  0.0210295,   0.0102048,   0.0579585,   -0.0107437,  0.0960659,   -0.010826,
     0.0421472,  -0.0472711,  0.00198485,  -0.0308512,  0.0171991,   0.0137143,   0.00814363,
     -0.0404366, -0.00406797, -0.0119289,  0.0589106,   0.0272935,   0.0421472,   -0.077323,
     -0.0278748, -0.0446499,  0.0194173,   0.0151569,   0.0261814,   0.0643542,   -0.0989755,
     -0.0901151, -0.0245339,  -0.00975625, -0.138133,   0.0362386,   -0.0572978,  0.0164618,
     -0.0525813, -0.0560757,  -0.00477804, 0.0630223,   0.00384997,  -0.101822,   0.231425,
     -0.0130846, 0.16124,     -0.0353521,  0.0973336,   0.160722,    0.149922,    -0.0409574,
     -0.0111557, 0.117575,    -0.0673075,  0.0378191,   0.000419252, 0.0409494,   -0.662068,
     -0.108378,  -0.0364087,  -0.231971,   -0.048092,   -0.0343245,  -0.0182211,  0.0247809,
     0.0202528,  0.0643006,   -0.162785,   0.0193747,   -0.0365876,  0.00341226,  0.0227126,
     -0.0163505, 0.0232143,   -0.0453333,  -0.00838941, -0.00838941, 0.0156644,   -0.0774616,
     0.0561301,  -0.0482133,  0.0644537,   0.00677645,  0.0184421,   0.0506897,   -0.0178857,
     0.0268962,  -0.0407658,  -0.00645089, -0.00201501, -0.00645089, 0.0231041,   -0.00201501},
    {-0.187184,   -0.577526,   -0.606149,   -0.436454,  -0.454685,  -0.0591453,  -0.343121,
     -0.135104,   -0.00441701, -0.0867135,  -0.200288,  -0.0592545, -0.0115663,  -0.0172169,
     0.0510751,   0.0451064,   -0.00866487, 0.0643526,  -0.0662468, 0.126457,    -0.0406644,
     0.00912158,  -0.0432354,  0.0212832,   -0.0168168, 0.0315438,  0.0319764,   0.0373116,
     -0.0628622,  0.0330618,   -0.0327669,  0.0472514,  -0.0274603, 0.00912158,  -0.0765258,
     -0.0108664,  -0.0437937,  0.0278513,   0.0302605,  0.0193506,  -0.00202572, -0.144995,
     -0.0139547,  -0.0456537,  -0.0231601,  -0.105341,  0.0289456,  -0.0473222,  -0.00273556,
     -0.0810951,  -0.0587716,  -0.0269696,  -0.0182857, 0.00673181, -0.0268845,  0.190024,
     -0.0254974,  0.128731,    -0.0377888,  0.0668883,  0.185781,   0.0783111,   -0.0883702,
     -0.00239132, 0.117124,    -0.104761,   -0.0272456, 0.0263482,  0.0918738,   -0.792596,
     -0.073865,   -0.0103335,  -0.226943,   -0.0509229, -0.0725953, -0.0531471,  -0.042176,
     0.0341798,   0.0359181,   -0.14511,    0.0440593,  0.030224,   0.0085627,   0.019593,
     -0.00441701, 0.0404169,   -0.0122466,  0.00385479, 0.00385479, 0.0159648,   -0.0442036,
     0.0361006,   -0.0794909,  0.0345419,   0.00685494, 0.0308287,  0.0717575,   -0.0320685,
     -0.01273,    -0.0592545,  -0.0115663,  -0.0172169, -0.0115663, 0.0268058,   -0.0172169},
    {-0.174573,   -0.592988,   -0.602387,   -0.417741,   -0.412435,   -0.039636,   -0.331819,
     -0.169239,   -0.00574337, -0.100434,   -0.185716,   -0.0371021,  -0.00374761, -0.0257542,
     -0.177251,   -0.0471611,  0.072143,    -0.00190638, 0.0672317,   0.089579,    -0.0368575,
     0.0420936,   0.0240985,   -0.0167317,  -0.0344292,  0.0136255,   0.0227982,   0.121811,
     0.0113553,   -0.014259,   0.0702555,   0.0946703,   0.189932,    0.0420936,   0.00561294,
     -0.0241231,  -0.0637064,  0.00383412,  0.0199714,   0.0923502,   0.09217,     -0.0255224,
     -0.0724552,  0.0590926,   -0.0178831,  -0.13263,    0.0617576,   0.0241416,   -0.0050957,
     -0.153182,   -0.0222918,  0.0357987,   0.0125226,   0.0462971,   -0.0650216,  0.220987,
     -0.00513594, 0.125114,    -0.0200678,  0.140214,    0.166832,    0.17112,     -0.0163909,
     -0.0331736,  0.187373,    -0.0517434,  -0.0578824,  0.00071338,  0.146783,    -0.777622,
     -0.115324,   0.0106149,   -0.317941,   -0.0809797,  0.00950171,  -0.0109613,  -0.0442882,
     0.0332741,   0.0938479,   -0.189928,   0.032292,    -0.0151694,  0.0268322,   0.0260555,
     -0.00574337, 0.0100746,   -0.015924,   0.00435466,  0.00435466,  -0.00712431, -0.127454,
     0.0163793,   -0.0474034,  0.021765,    -0.0163718,  0.0247308,   0.0875069,   -0.0103906,
     -0.00444183, -0.0371021,  -0.00374761, -0.0257542,  -0.00374761, -0.025164,   -0.0257542},
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
    f[11] = tconv_direct_takes_rowconv(g, k);
    f[12] = f[11] && s->kernel_w % s->stride_w != 0;
    f[13] = f[11] && 16 % s->stride_w != 0;
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
