/* AUTO: picks an algorithm per shape, from the benchmark run recorded in RESULTS.md. */
#include "../core/plan.h"

/* Tuned on the real layers of bench/shapes/layers.txt (AVX2, Zen 3, run vm-20261121-2252):
 * - gemm wins every layer with at least 48 input channels per group (DCGAN, pix2pix, U-Net,
 *   Mask R-CNN, CycleGAN, FSRCNN 56->1, and the 128->3 output layers): the reduction over input
 *   channels feeds a register-blocked GEMM running near peak, and col2im is comparatively cheap;
 * - direct wins with fewer input channels (ENet 32->32, the FCN upscores with 21 channels and
 *   k = 2s, the single-channel upsample), where the GEMM is too thin and col2im dominates.
 * Inputs under 4x4 stay on direct: the GEMM's N dimension (pixels) would be a fraction of a tile.
 * zero_insert and sparse are never chosen: they do more work (s^2 more multiply-adds, or an index
 * per multiply-add) and exist to be compared. */
tconv_algo tconv_auto_choose(const tconv_geometry *g) {
    if (g->cin_g >= 48 && g->in_plane >= 16) return TCONV_ALGO_GEMM;
    return TCONV_ALGO_DIRECT;
}
