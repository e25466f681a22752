/* Tap-list convolution micro-kernel for SSE4.1: 8 output channels, pixel or channel vectors. */
#include <smmintrin.h>

#include "../dispatch/ukernels.h"

#define MR 8 /* output channels per call: a packed [c][MR] weight row is two vectors */
#define VW 4 /* floats per vector */
/* Channels per block: the taps of one block reuse their x rows from L1 (with the tap loop
 * outside the channel loop, every tap would stream all channels from L2 again). */
#define CB 32
#include "conv_tile.h"

/* No FMA before AVX2: a multiply and an add, which Zen 3 issues on separate pipes (2 each). */
INLINE __m128 mul_add(__m128 a, __m128 b, __m128 acc) { return _mm_add_ps(acc, _mm_mul_ps(a, b)); }

/* Lane k of v in all four lanes: one shuffle instead of a load and a shuffle per broadcast. */
#define LANE(v, k) _mm_shuffle_ps(v, v, _MM_SHUFFLE(k, k, k, k))

/* Stores the 4 lanes of v as pixels j.. of output row m: one vector store when pixels are
 * contiguous, else through a stack tile (direct's phase outputs are stride_w apart). */
INLINE void store_pixels(const conv_job *jb, size_t m, size_t j, __m128 v) {
    float *y = jb->y + m * jb->y_cstride + j * jb->y_pstride;
    if (jb->y_pstride == 1) {
        _mm_storeu_ps(y, v);
        return;
    }
    float tile[VW];
    _mm_storeu_ps(tile, v);
    for (int k = 0; k < VW; k++) y[(size_t)k * jb->y_pstride] = tile[k];
}

/* ---- pixel vectors: R output channels x NV vectors of 4 pixels, weights broadcast ---- */

/* Rows r0..r0+R-1 (r0 + 4 <= MR, so one load fetches their weights), pixels from j. The last
 * vector is clamped to end at `pixels`: it may overlap its neighbour, whose lanes it recomputes
 * bit-identically, so pixels >= 4 needs no tail path. */
INLINE void pv_tile(const conv_job *jb, size_t r0, const int R, size_t j, const int NV) {
    __m128 acc[4][8];
    size_t jl = min_size(j + (size_t)(NV - 1) * VW, jb->pixels - VW);
    const ptrdiff_t dl = (ptrdiff_t)jl - (ptrdiff_t)j;
    const __m128 b = _mm_loadu_ps(jb->bias + r0);
    EACH8(v, 0, NV, if (R > 0) acc[0][v] = LANE(b, 0); if (R > 1) acc[1][v] = LANE(b, 1);
          if (R > 2) acc[2][v] = LANE(b, 2); if (R > 3) acc[3][v] = LANE(b, 3));
    const size_t xs = jb->x_cstride;
    for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
        const size_t cn = min_size(jb->channels - c0, CB);
        for (size_t t = 0; t < jb->taps; t++) {
            const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR + r0;
            for (size_t c = 0; c < cn; c++, xp += xs, wp += MR) {
                __m128 xv[8], wb[4];
                EACH8(v, 0, NV - 1, xv[v] = _mm_loadu_ps(xp + v * VW));
                xv[NV - 1] = _mm_loadu_ps(xp + dl);
                const __m128 w4 = _mm_loadu_ps(wp);
                if (R > 0) wb[0] = LANE(w4, 0);
                if (R > 1) wb[1] = LANE(w4, 1);
                if (R > 2) wb[2] = LANE(w4, 2);
                if (R > 3) wb[3] = LANE(w4, 3);
                EACH4(m, 0, R, EACH8(v, 0, NV, acc[m][v] = mul_add(wb[m], xv[v], acc[m][v])));
            }
        }
    }
    EACH4(m, 0, R, EACH8(v, 0, NV - 1, store_pixels(jb, r0 + m, j + (size_t)v * VW, acc[m][v]));
          store_pixels(jb, r0 + m, jl, acc[m][NV - 1]));
}

typedef void pv_tile_fn(const conv_job *jb, size_t r0, size_t j);
#define PV_TILE(R, NV)                                                                             \
    static void pv_tile_##R##x##NV(const conv_job *jb, size_t r0, size_t j) {                      \
        pv_tile(jb, r0, R, j, NV);                                                                 \
    }
/* clang-format off */
PV_TILE(1, 1) PV_TILE(1, 2) PV_TILE(1, 3) PV_TILE(1, 4) PV_TILE(1, 5) PV_TILE(1, 6) PV_TILE(1, 7)
PV_TILE(1, 8) PV_TILE(2, 1) PV_TILE(2, 2) PV_TILE(2, 3) PV_TILE(2, 4) PV_TILE(3, 1) PV_TILE(3, 2)
PV_TILE(3, 3) PV_TILE(4, 1) PV_TILE(4, 2)

/* [R-1][nv-1]: full tiles hold 8 or 9 accumulators (the add latency of 3 cycles needs 6 chains
 * for 2 adds/cycle), leaving registers for the x vectors, a broadcast and a product. */
static pv_tile_fn *const pv_tiles[4][8] = {
    {pv_tile_1x1, pv_tile_1x2, pv_tile_1x3, pv_tile_1x4, pv_tile_1x5, pv_tile_1x6, pv_tile_1x7,
     pv_tile_1x8},
    {pv_tile_2x1, pv_tile_2x2, pv_tile_2x3, pv_tile_2x4},
    {pv_tile_3x1, pv_tile_3x2, pv_tile_3x3},
    {pv_tile_4x1, pv_tile_4x2},
};
/* clang-format on */

/* Rows in balanced groups of at most 4 (at most two: MR is 8), pixels in balanced tiles of at
 * most 2 vectors (8 for one row, 4 for two, 3 for three). Every pixel tile runs all row groups back
 * to back so its x rows come from L2 once, then from L1. */
static void pv_all(const conv_job *jb) {
    /* 32-bit and constant divisors: 64-bit divisions per call cost as much as a short
     * call's arithmetic (1->1 upsample: 11% of the time). */
    const unsigned rows = (unsigned)jb->rows, groups = (rows + 3) / 4;
    const unsigned base = rows / groups, extra = rows % groups;
    const size_t nvec = (jb->pixels + VW - 1) / VW;
    size_t tiles;
    switch (jb->rows) {
    case 1: tiles = (nvec + 7) / 8; break;
    case 2: tiles = (nvec + 3) / 4; break;
    case 3: tiles = (nvec + 2) / 3; break;
    default: tiles = (nvec + 1) / 2; break;
    }
    const size_t nv_base = nvec / tiles, nv_extra = nvec - nv_base * tiles;
    for (size_t i = 0, j = 0; i < tiles; i++) {
        const size_t nv = nv_base + (i < nv_extra);
        for (size_t g = 0, r0 = 0; g < groups; g++) {
            const size_t r = base + (g < extra);
            pv_tiles[r - 1][nv - 1](jb, r0, j);
            r0 += r;
        }
        j += nv * VW;
    }
}

/* ---- channel vectors: NW vectors of 4 channels per pixel, x broadcast ---- */

/* NP pixels from j for channels [0, 4*NW); U accumulator sets split the channel sum so that
 * U*NW*NP chains are in flight even for one pixel. x is read one float at a time, so runs
 * shorter than a vector never read past the segment. Results go through a stack tile since
 * each channel is its own plane. */
INLINE void cv_tile(const conv_job *jb, size_t j, const int NW, const int NP, const int U) {
    __m128 acc[4][2][8];
    EACH8(p, 0, NP,
          EACH2(k, 0, NW, acc[0][k][p] = _mm_loadu_ps(jb->bias + k * VW);
                EACH4(u, 1, U, acc[u][k][p] = _mm_setzero_ps())));
    const size_t xs = jb->x_cstride;
    for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
        const size_t cn = min_size(jb->channels - c0, CB);
        for (size_t t = 0; t < jb->taps; t++) {
            const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR;
            size_t c = 0;
            for (; c + U <= cn; c += U, xp += U * xs, wp += U * MR) {
                EACH4(u, 0, U, __m128 wv[2];
                      EACH2(k, 0, NW, wv[k] = _mm_loadu_ps(wp + u * MR + k * VW));
                      EACH8(p, 0, NP, const __m128 xb = _mm_load1_ps(xp + u * xs + p);
                            EACH2(k, 0, NW, acc[u][k][p] = mul_add(wv[k], xb, acc[u][k][p]))));
            }
            for (; c < cn; c++, xp += xs, wp += MR) {
                __m128 wv[2];
                EACH2(k, 0, NW, wv[k] = _mm_loadu_ps(wp + k * VW));
                EACH8(p, 0, NP, const __m128 xb = _mm_load1_ps(xp + p);
                      EACH2(k, 0, NW, acc[0][k][p] = mul_add(wv[k], xb, acc[0][k][p])));
            }
        }
    }
    float tile[8][MR];
    EACH8(p, 0, NP,
          EACH2(k, 0, NW, EACH4(u, 1, U, acc[0][k][p] = _mm_add_ps(acc[0][k][p], acc[u][k][p]));
                _mm_storeu_ps(tile[p] + k * VW, acc[0][k][p])));
    const size_t rows = min_size(jb->rows, (size_t)NW * VW); /* cv_all picks NW to cover rows */
    for (size_t m = 0; m < rows; m++) {
        float *y = jb->y + m * jb->y_cstride + j * jb->y_pstride;
        EACH8(p, 0, NP, y[(size_t)p * jb->y_pstride] = tile[p][m]);
    }
}

typedef void cv_tile_fn(const conv_job *jb, size_t j);
#define CV_TILE(NW, NP, U)                                                                         \
    static void cv_tile_##NW##x##NP(const conv_job *jb, size_t j) { cv_tile(jb, j, NW, NP, U); }
/* Enough chains for the add latency: U*NW*NP >= 6 where registers allow. */
/* clang-format off */
CV_TILE(1, 1, 4) CV_TILE(1, 2, 4) CV_TILE(1, 3, 2) CV_TILE(1, 4, 2) CV_TILE(1, 5, 1)
CV_TILE(1, 6, 1) CV_TILE(1, 7, 1) CV_TILE(1, 8, 1) CV_TILE(2, 1, 4) CV_TILE(2, 2, 2)
CV_TILE(2, 3, 1) CV_TILE(2, 4, 1) CV_TILE(2, 5, 1) CV_TILE(2, 6, 1)
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

/* Channel vectors for runs shorter than a vector (no masked loads before AVX), and for short
 * runs with most channel lanes filled (DCGAN's phase rows of 8 pixels, split at borders). */
static int use_channel_vectors(size_t rows, size_t pixels) {
    return pixels < VW || (rows > 4 && pixels < 2 * VW);
}

void tconv_f32_conv_ukernel_8x4__sse41(size_t rows, size_t pixels, size_t taps,
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
