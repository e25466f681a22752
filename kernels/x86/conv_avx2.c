/* Tap-list convolution micro-kernel for AVX2+FMA: 16 output channels, pixel or channel vectors. */
#include <immintrin.h>

#include "../dispatch/ukernels.h"

#define MR 16 /* output channels per call: a packed [c][MR] weight row is two vectors */
#define VW 8  /* floats per vector */
/* Channels per block: a block's x rows and weights stay in L1 while every tap and every row
 * group uses them (over all channels, each tap or group would stream them from L2 again). */
#define CB 32
#include "conv_tile.h"

/* Stores lanes [0, n) of v as pixels j.. of output row m: one vector store when pixels are
 * contiguous and the vector is whole, else through a stack tile (direct's phase outputs are
 * stride_w apart, and a partial vector must not write past the segment). */
INLINE void store_pixels(const conv_job *jb, size_t m, size_t j, __m256 v, int n) {
    float *y = jb->y + m * jb->y_cstride + j * jb->y_pstride;
    if (jb->y_pstride == 1 && n == VW) {
        _mm256_storeu_ps(y, v);
        return;
    }
    float tile[VW];
    _mm256_storeu_ps(tile, v);
    for (int k = 0; k < n; k++) y[(size_t)k * jb->y_pstride] = tile[k];
}

/* ---- pixel vectors: R output channels x NV vectors of 8 pixels, weights broadcast ---- */

/* Rows r0..r0+R-1, pixels from j, channels [c0, c0 + cn). The last vector is clamped to end at
 * `pixels`: it may overlap its neighbour, whose lanes it recomputes bit-identically, so pixels
 * >= 8 needs no tail path. Per channel: NV loads and R broadcasts feed R*NV FMAs (both issue at
 * 2 loads/cycle on Zen 3, so R*NV >= R+NV keeps the FMA pipes the limit). Sums start from the
 * bias on the first channel block, continue from `part` otherwise, and go to y after the last. */
INLINE void pv_tile(const conv_job *jb, size_t r0, const int R, size_t j, const int NV, size_t c0,
                    size_t cn, __m256 *part) {
    __m256 acc[8][8];
    size_t jl = min_size(j + (size_t)(NV - 1) * VW, jb->pixels - VW);
    const ptrdiff_t dl = (ptrdiff_t)jl - (ptrdiff_t)j;
    if (c0 == 0) {
        EACH8(m, 0, R, const __m256 b = _mm256_broadcast_ss(jb->bias + r0 + m);
              EACH8(v, 0, NV, acc[m][v] = b));
    } else {
        EACH8(m, 0, R, EACH8(v, 0, NV, acc[m][v] = part[m * NV + v]));
    }
    const size_t xs = jb->x_cstride;
    for (size_t t = 0; t < jb->taps; t++) {
        const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR + r0;
        for (size_t c = 0; c < cn; c++, xp += xs, wp += MR) {
            __m256 xv[8];
            EACH8(v, 0, NV - 1, xv[v] = _mm256_loadu_ps(xp + v * VW));
            xv[NV - 1] = _mm256_loadu_ps(xp + dl);
            EACH8(m, 0, R, __m256 wb = _mm256_broadcast_ss(wp + m);
                  EACH8(v, 0, NV, acc[m][v] = _mm256_fmadd_ps(wb, xv[v], acc[m][v])));
        }
    }
    if (c0 + cn < jb->channels) {
        EACH8(m, 0, R, EACH8(v, 0, NV, part[m * NV + v] = acc[m][v]));
        return;
    }
    EACH8(m, 0, R, EACH8(v, 0, NV - 1, store_pixels(jb, r0 + m, j + (size_t)v * VW, acc[m][v], VW));
          store_pixels(jb, r0 + m, jl, acc[m][NV - 1], VW));
}

/* Fewer than 8 pixels: one masked vector (masked-off lanes never fault). U accumulator sets split
 * the channel sum so R*U chains hide the FMA latency. */
INLINE void pv_short(const conv_job *jb, size_t r0, const int R, const int U) {
    const int n = (int)jb->pixels;
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 acc[4][4];
    EACH4(m, 0, R, acc[0][m] = _mm256_broadcast_ss(jb->bias + r0 + m);
          EACH4(u, 1, U, acc[u][m] = _mm256_setzero_ps()));
    const size_t xs = jb->x_cstride;
    for (size_t t = 0; t < jb->taps; t++) {
        const float *xp = jb->x_taps[t], *wp = jb->w_taps[t] + r0;
        size_t c = 0;
        for (; c + U <= jb->channels; c += U, xp += U * xs, wp += U * MR) {
            EACH4(u, 0, U, __m256 xv = _mm256_maskload_ps(xp + u * xs, mask);
                  EACH4(m, 0, R,
                        acc[u][m] =
                            _mm256_fmadd_ps(_mm256_broadcast_ss(wp + u * MR + m), xv, acc[u][m])));
        }
        for (; c < jb->channels; c++, xp += xs, wp += MR) {
            __m256 xv = _mm256_maskload_ps(xp, mask);
            EACH4(m, 0, R, acc[0][m] = _mm256_fmadd_ps(_mm256_broadcast_ss(wp + m), xv, acc[0][m]));
        }
    }
    EACH4(m, 0, R, EACH4(u, 1, U, acc[0][m] = _mm256_add_ps(acc[0][m], acc[u][m]));
          store_pixels(jb, r0 + m, 0, acc[0][m], n));
}

typedef void pv_tile_fn(const conv_job *jb, size_t r0, size_t j, size_t c0, size_t cn,
                        __m256 *part);
#define PV_TILE(R, NV)                                                                             \
    static void pv_tile_##R##x##NV(const conv_job *jb, size_t r0, size_t j, size_t c0, size_t cn,  \
                                   __m256 *part) {                                                 \
        pv_tile(jb, r0, R, j, NV, c0, cn, part);                                                   \
    }
/* clang-format off */
PV_TILE(1, 1) PV_TILE(1, 2) PV_TILE(1, 3) PV_TILE(1, 4) PV_TILE(1, 5) PV_TILE(1, 6) PV_TILE(1, 7)
PV_TILE(1, 8) PV_TILE(2, 1) PV_TILE(2, 2) PV_TILE(2, 3) PV_TILE(2, 4) PV_TILE(3, 1) PV_TILE(3, 2)
PV_TILE(3, 3) PV_TILE(4, 1) PV_TILE(4, 2) PV_TILE(4, 3) PV_TILE(5, 1) PV_TILE(5, 2) PV_TILE(6, 1)
PV_TILE(6, 2) PV_TILE(7, 1) PV_TILE(8, 1)

/* [R-1][nv-1]: full tiles hold 8 (one row), 8 (two rows) or 12 accumulators, enough independent
 * chains for 2 FMA/cycle at 4 cycles latency with the x vectors still in 16 ymm registers. */
static pv_tile_fn *const pv_tiles[8][8] = {
    {pv_tile_1x1, pv_tile_1x2, pv_tile_1x3, pv_tile_1x4, pv_tile_1x5, pv_tile_1x6, pv_tile_1x7,
     pv_tile_1x8},
    {pv_tile_2x1, pv_tile_2x2, pv_tile_2x3, pv_tile_2x4},
    {pv_tile_3x1, pv_tile_3x2, pv_tile_3x3},
    {pv_tile_4x1, pv_tile_4x2, pv_tile_4x3},
    {pv_tile_5x1, pv_tile_5x2},
    {pv_tile_6x1, pv_tile_6x2},
    {pv_tile_7x1},
    {pv_tile_8x1},
};
/* clang-format on */

static void pv_short_1(const conv_job *jb, size_t r0) { pv_short(jb, r0, 1, 4); }
static void pv_short_2(const conv_job *jb, size_t r0) { pv_short(jb, r0, 2, 4); }
static void pv_short_3(const conv_job *jb, size_t r0) { pv_short(jb, r0, 3, 2); }
static void pv_short_4(const conv_job *jb, size_t r0) { pv_short(jb, r0, 4, 2); }
static void (*const pv_shorts[4])(const conv_job *, size_t) = {pv_short_1, pv_short_2, pv_short_3,
                                                               pv_short_4};

/* Rows in balanced groups of at most 4, pixels in balanced tiles of at most 3 vectors (8 for one
 * row, 4 for two) (28 pixels: 2 + 2 vectors, not 3 + 1, whose single vector per row leaves too few
 * FMA chains). Within a pixel tile, each block of CB channels runs every row group before the next
 * block, so the block's x lines come from L2 once and are reused from L1 (a whole tile of 128
 * channels fills L1 and the groups would evict each other); partial sums wait in `part` meanwhile.
 */
static void pv_all(const conv_job *jb) {
    /* 32-bit and constant divisors: 64-bit divisions per call cost as much as a short
     * call's arithmetic (1->1 upsample: 11% of the time). */
    const size_t nvec = (jb->pixels + VW - 1) / VW;
    /* Phase rows of one or two vectors take groups of up to 8 or 6 channels (8 or 12 FMA chains;
     * 4x1 tiles were 4 chains, half of what two FMA pipes of latency 4 need). */
    const unsigned rows = (unsigned)jb->rows, groups = jb->pixels < VW ? (rows + 3) / 4
                                                       : nvec == 1     ? (rows + 7) / 8
                                                       : nvec == 2     ? (rows + 5) / 6
                                                                       : (rows + 3) / 4;
    const unsigned base = rows / groups, extra = rows % groups;
    size_t tiles;
    switch (jb->rows) {
    case 1: tiles = (nvec + 7) / 8; break;
    case 2: tiles = (nvec + 3) / 4; break;
    default: tiles = (nvec + 2) / 3; break;
    }
    const size_t nv_base = nvec / tiles, nv_extra = nvec - nv_base * tiles;
    __m256 part[4][12];
    for (size_t i = 0, j = 0; i < tiles; i++) {
        const size_t nv = nv_base + (i < nv_extra);
        for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
            const size_t cn = min_size(jb->channels - c0, CB);
            for (size_t g = 0, r0 = 0; g < groups; g++) {
                const size_t r = base + (g < extra);
                if (jb->pixels < VW) {
                    if (c0 == 0) pv_shorts[r - 1](jb, r0);
                } else {
                    pv_tiles[r - 1][nv - 1](jb, r0, j, c0, cn, part[g]);
                }
                r0 += r;
            }
        }
        j += nv * VW;
    }
}

/* ---- channel vectors: NW vectors of 8 channels per pixel, x broadcast ---- */

/* NP pixels from j for channels [0, 8*NW); U accumulator sets split the channel sum so that
 * U*NW*NP chains are in flight even for one pixel. Results go through a stack tile since each
 * channel is its own plane. */
INLINE void cv_tile(const conv_job *jb, size_t j, const int NW, const int NP, const int U) {
    __m256 acc[4][2][8];
    EACH8(p, 0, NP,
          EACH2(k, 0, NW, acc[0][k][p] = _mm256_loadu_ps(jb->bias + k * VW);
                EACH4(u, 1, U, acc[u][k][p] = _mm256_setzero_ps())));
    const size_t xs = jb->x_cstride;
    for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
        const size_t cn = min_size(jb->channels - c0, CB);
        for (size_t t = 0; t < jb->taps; t++) {
            const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR;
            size_t c = 0;
            for (; c + U <= cn; c += U, xp += U * xs, wp += U * MR) {
                EACH4(u, 0, U, __m256 wv[2];
                      EACH2(k, 0, NW, wv[k] = _mm256_loadu_ps(wp + u * MR + k * VW)); EACH8(
                          p, 0, NP, __m256 xb = _mm256_broadcast_ss(xp + u * xs + p); EACH2(
                              k, 0, NW, acc[u][k][p] = _mm256_fmadd_ps(wv[k], xb, acc[u][k][p]))));
            }
            for (; c < cn; c++, xp += xs, wp += MR) {
                __m256 wv[2];
                EACH2(k, 0, NW, wv[k] = _mm256_loadu_ps(wp + k * VW));
                EACH8(p, 0, NP, __m256 xb = _mm256_broadcast_ss(xp + p);
                      EACH2(k, 0, NW, acc[0][k][p] = _mm256_fmadd_ps(wv[k], xb, acc[0][k][p])));
            }
        }
    }
    float tile[8][MR];
    EACH8(p, 0, NP,
          EACH2(k, 0, NW, EACH4(u, 1, U, acc[0][k][p] = _mm256_add_ps(acc[0][k][p], acc[u][k][p]));
                _mm256_storeu_ps(tile[p] + k * VW, acc[0][k][p])));
    const size_t rows = min_size(jb->rows, (size_t)NW * VW); /* cv_all picks NW to cover rows */
    for (size_t m = 0; m < rows; m++) {
        float *y = jb->y + m * jb->y_cstride + j * jb->y_pstride;
        EACH8(p, 0, NP, y[(size_t)p * jb->y_pstride] = tile[p][m]);
    }
}

typedef void cv_tile_fn(const conv_job *jb, size_t j);
#define CV_TILE(NW, NP, U)                                                                         \
    static void cv_tile_##NW##x##NP(const conv_job *jb, size_t j) { cv_tile(jb, j, NW, NP, U); }
/* One channel vector (rows <= 8): 1 + NP loads per NP FMAs, load-bound at 2 loads/cycle; U makes
 * at least 8 chains. Two channel vectors: 2 + NP loads per 2*NP FMAs. */
/* clang-format off */
CV_TILE(1, 1, 4) CV_TILE(1, 2, 4) CV_TILE(1, 3, 3) CV_TILE(1, 4, 2) CV_TILE(1, 5, 2)
CV_TILE(1, 6, 2) CV_TILE(1, 7, 1) CV_TILE(1, 8, 1) CV_TILE(2, 1, 4) CV_TILE(2, 2, 2)
CV_TILE(2, 3, 2) CV_TILE(2, 4, 1) CV_TILE(2, 5, 1) CV_TILE(2, 6, 1)
static cv_tile_fn *const cv_tiles[2][8] = {
    {cv_tile_1x1, cv_tile_1x2, cv_tile_1x3, cv_tile_1x4, cv_tile_1x5, cv_tile_1x6, cv_tile_1x7,
     cv_tile_1x8},
    {cv_tile_2x1, cv_tile_2x2, cv_tile_2x3, cv_tile_2x4, cv_tile_2x5, cv_tile_2x6},
};
/* clang-format on */

/* Pixels in balanced tiles of at most 8 (one channel vector) or 6 (two): 7 = 4 + 3, not 6 + 1. */
static void cv_all(const conv_job *jb) {
    const size_t nw = jb->rows > VW ? 2 : 1, np_max = nw == 2 ? 6 : 8;
    const size_t tiles = (jb->pixels + np_max - 1) / np_max;
    const size_t base = jb->pixels / tiles, extra = jb->pixels % tiles;
    for (size_t i = 0, j = 0; i < tiles; i++) {
        const size_t np = base + (i < extra);
        cv_tiles[nw - 1][np - 1](jb, j);
        j += np;
    }
}

/* Channel vectors pay off when most of their lanes hold real channels and the pixel run is too
 * short to fill pixel vectors (DCGAN's phase rows split into 7 and 1 pixels). */
static int use_channel_vectors(size_t rows, size_t pixels) {
    return (rows > VW && pixels < 2 * VW) || (rows > 4 && pixels < VW);
}

void tconv_f32_conv_ukernel_16x8__avx2(size_t rows, size_t pixels, size_t taps,
                                       const float *const *x_taps, size_t x_cstride,
                                       size_t channels, const float *const *w_taps,
                                       const float *bias, float *y, size_t y_cstride,
                                       size_t y_pstride) {
    const conv_job jb = {x_taps, w_taps,   bias,      y,         rows,     pixels,
                         taps,   channels, x_cstride, y_cstride, y_pstride};
    if (pixels == 0 || rows == 0) return;
    if (use_channel_vectors(rows, pixels))
        cv_all(&jb);
    else
        pv_all(&jb);
}
