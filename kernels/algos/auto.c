/* AUTO: picks an algorithm per shape. First heuristic, to be tuned against the benchmark. */
#include "../core/plan.h"

/* - direct never multiplies an inserted zero and needs no big buffers: the default;
 * - gemm wins when the GEMM is large and square-ish (many input and output channels), where a
 *   register-blocked GEMM runs near peak and col2im's extra traffic is small by comparison.
 * zero_insert and sparse are never chosen: they do more work (s^2 more multiply-adds, or
 * gathers through an index per multiply-add) and exist to be compared. */
tconv_algo tconv_auto_choose(const tconv_geometry *g) {
    size_t gemm_m = g->cout_g * g->taps;
    if (g->cin_g >= 64 && gemm_m >= 256 && g->in_plane >= 16) return TCONV_ALGO_GEMM;
    return TCONV_ALGO_DIRECT;
}
