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
 *   classes, slower tiles); else whether it takes its row-phases kernel
 *   (tconv_direct_takes_row_phases: k == s, or stride 2 pad 1 with k4 or k3, many channels).
 *
 * DERIVATION. Run results/fit/vm-20261130-0627-fit.json (committed):
 * build/release/bench/tconv-bench
 * --sweep=default --threads=1 --peers=none --benchmark_filter='^(direct|gemm|sparse)/avx512/'
 * --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true, on the 2-vCPU Xeon
 * (Sapphire Rapids class, AVX-512; 2026-11-30, the second core idle), 107 sweep shapes and the 18
 * real layers, medians of 3, after direct's row phases took k4/k3 s2 p1 and gemm's pairs kernel
 * and col2im rows in registers. Rule: the lowest estimate among direct, gemm and sparse
 * (tconv_auto_choose). Ridge weight 3 (every term, the constant too): with 120 terms per
 * algorithm and 125 shapes, plain least squares overfits. Hit rate (choice within 10% of the
 * fastest of ours), leave-one-out (each shape predicted by a fit without it) / in-sample, sweep of
 * 107 and layers of 18:
 *   without the row-phases flag, ridge 3:  98 / 15 leave-one-out, 102 / 16 in-sample
 *   without it, ridge 30:                  96 / 14,               100 / 16
 *   with it, ridge 1:                      99 / 13,               103 / 17
 *   with it, ridge 3:                      99 / 15,               102 / 17   (these coefficients)
 *   with it, ridge 10:                     96 / 15,               103 / 16
 *   with it, ridge 30:                     96 / 15,               101 / 16
 * In-sample it misses U-Net 128 -> 64 (direct 1.99 ms against gemm's 1.80: 1.10x); left out, also
 * DCGAN batch 4 and the 4x4 DCGAN layer (direct 0.63 ms, gemm 0.50). On the previous fit run
 * (vm-20261130-0314, row phases only for k == s) the flag was no better (94-95 / 14 against
 * 95 / 16 at ridge 30), and ridge 30 was chosen there.
 * On earlier fit runs: the 11 features before the rowconv flags had 80 / 16 (vm-20261130-0002);
 * the three rowconv flags took it to 87 / 16; gemm fused (every output one tap) or log k and
 * log s were no better; the rowconv flag alone took vm-20261129-2129 from 85 to 96 of 107.
 * The held-out figure (the auto rows of the next bench run) is in README.md and RESULTS.md.
 * Between runs, even a lookup of one run's fastest algorithm per shape hits only 103-105 of 107 on
 * another (the algorithms are often within 10% of each other); a shape table would get near that
 * on the sweep but leave-one-out showed it does not carry to other shapes. tune = 1 measures
 * instead. Only avx512 was swept: the other ISAs use these coefficients with their own tile sizes
 * (rowconv is AVX-512 only, so its flags are 0 there).
 */

enum { FEATURES = 15, TERMS = FEATURES + (FEATURES - 1) * FEATURES / 2 };
typedef struct model {
    double direct[TERMS], gemm[TERMS], sparse[TERMS];
} model;

static const model fitted_avx512 = {
    {-0.288439,  -0.603026,  -0.663948,
     -0.32969,   -0.496624,  -0.0984371,
     -0.453498,  -0.246598,  -0.0169559,
     -0.132169,  -0.202479,  -0.0590857,
     -0.0079812, -0.0219531, -0.0501872,
     0.0348538,  0.0177986,  0.0246906,
     0.086767,   -0.0118331, 0.143847,
     -0.0218785, 0.0466845,  -0.0326771,
     0.00897878, -0.0446705, 0.0145506,
     0.0390991,  -0.0772515, 0.00489033,
     -0.0466807, 0.00315528, 0.00524993,
     0.0632078,  0.0153091,  0.0466845,
     -0.103423,  -0.0398961, -0.0705935,
     0.0185922,  0.0393895,  -0.100647,
     0.0210671,  0.0665588,  -0.111004,
     -0.0408419, -0.0310565, 0.00197376,
     -0.190898,  0.00429823, -0.122689,
     0.0359144,  -0.106835,  0.0427754,
     -0.0916061, -0.0206955, -0.000342855,
     0.0456226,  -0.121856,  0.37411,
     0.0144698,  0.281701,   -0.0584288,
     0.0809122,  0.199449,   0.167337,
     0.064014,   -0.0126267, -0.0278329,
     0.187336,   -0.0463375, 0.0645602,
     -0.0141716, 0.113911,   -0.0919881,
     -0.80271,   -0.0228329, -0.0247453,
     -0.18002,   -0.0433722, -0.0135502,
     -0.0107913, -0.052938,  0,
     0.0301667,  0.0742425,  -0.165307,
     0.0244306,  -0.0385398, -0.00532619,
     0.0329437,  -0.0526504, -0.0169559,
     0.0373367,  -0.0470116, 0.00818135,
     0.00818135, 0.0408371,  0,
     -0.0850324, 0.0920525,  -0.0576934,
     0.113783,   0.0322293,  -0.0203445,
     0.0127872,  0.0819953,  -0.0221286,
     -0.0168378, 0.168907,   -0.0590857,
     -0.0079812, -0.0219531, 0,
     -0.0079812, 0.0667935,  0,
     -0.0219531, 0,          -0.0501872},
    {-0.304787,   -0.567849,   -0.632745,    -0.304835,  -0.579831,
     -0.0857049,  -0.563105,   -0.254364,    -0.0144933, -0.121256,
     -0.250849,   -0.072195,   -0.0206634,   -0.02865,   -0.0361706,
     0.0413298,   0.0372557,   0.00880022,   0.104416,   -0.073003,
     0.194366,    -0.0233452,  0.0303437,    -0.0340845, 0.0357561,
     -0.0437506,  0.0509253,   0.0334544,    -0.0562839, 0.03193,
     -0.0674045,  0.0101571,   -0.000756927, 0.0344742,  -0.0264598,
     0.0303437,   -0.0942617,  -0.0463332,   -0.082545,  0.0481031,
     0.024811,    -0.0705796,  0.002783,     0.0524222,  -0.148238,
     0.0653368,   -0.032272,   0.0150445,    -0.179272,  0.0173115,
     -0.0930189,  0.00601549,  -0.104704,    0.0801061,  -0.101931,
     -0.0196982,  -0.0878797,  0.00839652,   -0.11117,   0.345638,
     -0.0118995,  0.297849,    -0.122251,    0.133408,   0.123169,
     0.178446,    -0.0377683,  -0.0623807,   -0.0308022, 0.128183,
     -0.064785,   0.0199093,   -0.00766882,  0.170908,   -0.0936919,
     -0.998741,   -0.00350914, -0.0155422,   -0.190412,  -0.0343668,
     -0.0280468,  -0.051156,   -0.0766181,   0,          0.0418753,
     0.0468135,   -0.118981,   0.0301409,    -0.0117477, 0.0653037,
     -0.0363289,  -0.0556987,  -0.0144933,   0.075255,   -0.0401839,
     0.00971335,  0.00971335,  0.0279961,    0,          -0.0258524,
     0.107649,    -0.105248,   0.121714,     0.0171307,  -0.00190409,
     0.00899109,  0.116864,    -0.057291,    -0.0188706, 0.12675,
     -0.072195,   -0.0206634,  -0.02865,     0,          -0.0206634,
     -0.00784122, 0,           -0.02865,     0,          -0.0361706},
    {-0.245808,    -0.610894,   -0.64184,
     -0.305095,    -0.420414,   -0.0742123,
     -0.443378,    -0.275794,   -0.00868921,
     -0.130789,    -0.172727,   -0.0574425,
     -0.0045773,   -0.0320923,  -0.0247514,
     -0.234345,    -0.0822989,  0.141271,
     0.0337041,    0.107957,    0.0914206,
     -0.100531,    0.0356916,   0.0261729,
     -0.012911,    -0.0372807,  0.022026,
     0.0325031,    -0.0273719,  0.138431,
     0.002037,     -0.0258609,  0.0940723,
     0.112653,     0.277574,    0.0356916,
     -0.0126223,   -0.034703,   -0.0941137,
     -0.00571503,  0.0263503,   -0.0390847,
     0.0885772,    0.126051,    -0.0250134,
     -0.0202947,   0.0981969,   0.00745131,
     -0.209789,    0.0561731,   -0.0142426,
     0.0184023,    -0.16168,    -0.000818603,
     -0.0671597,   0.0558549,   -0.0223937,
     0.0847169,    -0.0883725,  0.350747,
     0.000175185,  0.217817,    -0.0411743,
     0.173569,     0.0899867,   0.162876,
     0.103624,     0.0187112,   -0.0401893,
     0.25094,      -0.0110867,  -0.0228449,
     -0.0157923,   0.190841,    -0.0080509,
     -0.893558,    -0.0588557,  0.00805983,
     -0.278816,    -0.0698049,  -0.0243976,
     -5.70863e-05, -0.0664168,  0,
     0.0534202,    0.0684083,   -0.214874,
     0.0335219,    -0.0291756,  0.035819,
     -0.0020665,   -0.0323321,  -0.00868921,
     0.0126549,    -0.0240916,  -0.0056474,
     -0.0056474,   0.0107827,   0,
     -0.123106,    0.0489405,   -0.0833848,
     0.0361177,    -0.00533103, -0.000509413,
     0.00219816,   0.104196,    -0.012691,
     -0.00959877,  0.065528,    -0.0574425,
     -0.0045773,   -0.0320923,  0,
     -0.0045773,   -0.0168686,  0,
     -0.0320923,   0,           -0.0247514},
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
    f[14] = !f[11] && tconv_direct_takes_row_phases(g, k);
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
