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
 * DERIVATION. Run results/fit/vm-20261130-0314-fit.json (committed):
 * build/release/bench/tconv-bench
 * --sweep=default --threads=1 --peers=none --benchmark_filter='^(direct|gemm|sparse)/avx512/'
 * --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true, on the 2-vCPU Xeon
 * (Sapphire Rapids class, AVX-512; 2026-11-30, the second core idle), 107 sweep shapes and the 18
 * real layers, medians of 3, after direct's row-phases kernel (k == s with many channels), its
 * bias-only rows outside the row tiles and rowconv's one-call row tile. Rule: the lowest estimate
 * among direct, gemm and sparse (tconv_auto_choose). Ridge weight 30 (every term, the constant
 * too): with 105 terms per algorithm and 125 shapes, plain least squares overfits. Hit rate
 * (choice within 10% of the fastest of ours), leave-one-out (each shape predicted by a fit without
 * it) / in-sample, sweep of 107 and layers of 18:
 *   ridge 3:    95 / 15 leave-one-out,  99 / 16 in-sample
 *   ridge 10:   93 / 15,                100 / 18
 *   ridge 30:   95 / 16,                 99 / 18   (these coefficients)
 *   ridge 100:  94 / 17,                 99 / 18
 *   + a flag for direct's row-phases kernel: 94-95 / 14, no better
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
    {-0.143155,  -0.58719,    -0.602563,   -0.449073,   -0.401919,   -0.0624612,  -0.232032,
     -0.116905,  -0.0064049,  -0.0704662,  -0.171771,   -0.0398046,  -0.00813065, -0.00894179,
     0.058196,   0.0286317,   0.00634117,  0.0307438,   -0.00806578, 0.0699819,   -0.0123005,
     0.0173234,  -0.0662961,  -0.017197,   -0.00906471, 0.023847,    0.020348,    0.00222237,
     -0.0432993, -0.0185967,  -0.00724916, 0.0426578,   0.0110535,   0.0173234,   -0.0805302,
     -0.0421397, -0.0210332,  0.0218096,   0.0219663,   0.0385585,   0.0278593,   -0.0989031,
     -0.103802,  -0.0275047,  0.00632558,  -0.0971799,  0.0301105,   -0.0507103,  0.0037787,
     -0.0824444, 0.00688722,  -0.0346346,  0.0828495,   0.0190607,   -0.0535207,  0.125246,
     0.0111138,  0.0935649,   -0.0357944,  0.0711833,   0.152589,    0.173189,    -0.0459047,
     -0.0180044, 0.0882111,   -0.0944825,  0.0146066,   0.00929151,  0.0532153,   -0.58579,
     -0.110925,  -0.00335464, -0.202469,   -0.0469311,  -0.0530403,  -0.0299761,  -0.000948365,
     0.0180484,  0.0298128,   -0.158026,   0.0296508,   0.0151415,   0.0133343,   0.0493088,
     -0.0064049, 0.00567663,  -0.0177581,  0.00326184,  0.00326184,  0.00589657,  -0.0752254,
     0.0181042,  -0.0369458,  0.00973158,  -0.00224313, 0.0465078,   0.0352974,   -0.0225429,
     0.00796656, -0.0398046,  -0.00813065, -0.00894179, -0.00813065, 0.0160558,   -0.00894179},
    {-0.14487,    -0.571594,  -0.585404,   -0.447159,   -0.404627,  -0.0529497, -0.258284,
     -0.113673,   -0.0043297, -0.0739237,  -0.178001,   -0.0490243, -0.0102256, -0.0159948,
     0.0379544,   0.0390342,  -0.0118628,  0.0324796,   -0.0404291, 0.0853128,  -0.0306473,
     0.0044375,   -0.0682941, -0.00456505, 0.00329694,  0.0275985,  0.0254541,  0.0421604,
     -0.0440164,  0.00952865, -0.025389,   0.0457404,   -0.0102491, 0.0044375,  -0.0836614,
     -0.0235567,  -0.0107566, 0.0251319,   0.0246172,   0.0305875,  0.00687251, -0.139318,
     -0.0636234,  -0.0224904, -0.00245514, -0.0675645,  0.0412296,  -0.0424286, -0.00316022,
     -0.0925367,  -0.0135108, -0.0331052,  0.0236957,   0.00328339, -0.0370664, 0.0947107,
     -0.00865022, 0.0563429,  -0.0353421,  0.0786359,   0.193872,   0.134692,   -0.0867322,
     -0.0130575,  0.0863537,  -0.119918,   -0.0255157,  0.0213609,  0.0879749,  -0.64389,
     -0.0988088,  -0.0015585, -0.223138,   -0.0564344,  -0.0669807, -0.0454401, -0.0298706,
     0.0259929,   0.0206201,  -0.176191,   0.0420106,   0.0590987,  0.0107568,  0.0290157,
     -0.0043297,  0.0182811,  -0.0120045,  0.00254016,  0.00254016, 0.00401979, -0.0802587,
     0.0039408,   -0.0502696, 0.00923995,  -0.00385362, 0.0493599,  0.0387063,  -0.0283515,
     -0.00528723, -0.0490243, -0.0102256,  -0.0159948,  -0.0102256, 0.00262612, -0.0159948},
    {-0.138821,   -0.564873,   -0.569527,   -0.431081,   -0.392128,    -0.0361061,  -0.252172,
     -0.123856,   -0.00348608, -0.0801396,  -0.178109,   -0.0396847,   -0.00492777, -0.0158977,
     -0.119805,   -0.0139552,  0.0228425,   -0.0277396,  0.0349417,    0.0757177,   -0.00741108,
     0.0250828,   0.00300093,  -0.0311168,  -0.0103363,  0.00805055,   0.0236205,   0.112569,
     0.0056215,   -0.0233868,  0.0538997,   0.06557,     0.118352,     0.0250828,   -0.0067456,
     -0.0382911,  -0.0269217,  0.00189835,  0.023313,    0.0845185,    0.065275,    -0.0652594,
     -0.0952389,  0.0340651,   -0.0168804,  -0.101589,   0.0607044,    -0.00766937, 0.0159476,
     -0.10718,    0.0313911,   0.00652396,  0.0270134,   0.00754368,   -0.0412057,  0.112587,
     0.0198496,   0.076122,    -0.0274996,  0.0936819,   0.17849,      0.193776,    -0.0229928,
     -0.0218748,  0.157585,    -0.0812306,  -0.0217674,  -0.000174217, 0.0903878,   -0.648293,
     -0.121943,   0.00783437,  -0.277611,   -0.0842738,  -0.0338916,   -0.0135233,  -0.0215506,
     0.0224667,   0.06514,     -0.161308,   0.0151319,   0.0099508,    -0.00397443, 0.0390859,
     -0.00348608, 0.0027354,   -0.00966547, 0.00284342,  0.00284342,   -0.00102007, -0.118807,
     -0.0227988,  -0.0367583,  0.00565809,  -0.00960848, 0.0502591,    0.0468262,   -0.0136627,
     0.000685779, -0.0396847,  -0.00492777, -0.0158977,  -0.00492777,  -0.00310494, -0.0158977},
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
