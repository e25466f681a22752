/* Tap-list convolution micro-kernel for AVX-512: 16 output channels, pixel or channel vectors. */
#include "avx512_intrin.h"

#include <stdint.h>

#include "../dispatch/ukernels.h"

#define MR 16 /* output channels per call: a packed [c][MR] weight row is one vector */
#define VW 16 /* floats per vector */
/* Channels per block: a block's x rows and weights stay in L1 while every tap and every row
 * group uses them (over all channels, each tap or group would stream them from L2 again). Blocks
 * of 64, 96 or 128 channel-taps (CB = that / taps, so 4-tap calls fit L1 too) or of 128 channels
 * measured like 32 on CycleGAN 128 -> 64 (bench, avx512 t1, medians of 5: 115-125 GFLOP/s each,
 * the machine's noise). */
#define CB 32
/* Partial sums of a channel-blocked pixel-vector call: at most 3 row groups of at most 24 sums
 * (6 x 4 tiles; one group of 16 x 1, two of 8 x 2). */
#define PART_GROUPS 3
#define PART_SUMS 24
#include "conv_tile.h"
/* Software prefetch (into L1) of the lines PREFETCH_AHEAD channels ahead, for the pixel vectors
 * (see prefetch_channel) and the row phases. Row phases read one short run of x per channel,
 * x_cstride apart: the x lines of channel c + 8 are prefetched (the run's first and last line), the
 * hardware's stride prefetch having left a stall at the first multiply-add after each new line
 * (perf annotate: 21% of ph_tile_2x13's samples on U-Net 128 -> 64). Thread CPU ms, min of 41 x 5
 * runs, avx512 t1, two interleaved rounds, without / with: U-Net 128 -> 64 2.27-2.30 / 2.01 (one
 * line: 2.19; 4 channels ahead: 1.93- 1.96, 12: 1.91-1.94), CycleGAN-like k3 s2 p1 128 -> 64 at
 * 128x128 17.2-18.4 / 15.7-17.0, Mask R-CNN, DCGAN and pix2pix unchanged (their channels' runs are
 * 8-14 floats of 8x8 and 14x14 rows, already nearby). */
#define PREFETCH_AHEAD 8
/* A prefetch hint for p + off floats, which may lie past the buffer (hints never fault): the
 * address is computed as an integer, so no out-of-bounds pointer is formed (pointer arithmetic
 * past the object would be undefined). */
INLINE void prefetch_floats(const float *p, ptrdiff_t off) {
    __builtin_prefetch((const void *)((uintptr_t)p + (uintptr_t)(off * (ptrdiff_t)sizeof(float))));
}

/* Phase outputs stride_w = s apart (2 <= s <= MAX_SPREAD): 16 pixels span 15s + 1 columns, s
 * vectors; vector k takes lane l from pixel (16k + l)/s where s divides 16k + l. Permute indices
 * and masks are constants (computing them per call cost more than a short call's work). */
#define MAX_SPREAD 8
#define SPREAD_IDX(s, k, l) ((16 * (k) + (l)) / (s))
#define SPREAD_BIT(s, k, l) (((16 * (k) + (l)) % (s) == 0) << (l))
#define SPREAD_ROW(s, k)                                                                           \
    {                                                                                              \
        SPREAD_IDX(s, k, 0), SPREAD_IDX(s, k, 1), SPREAD_IDX(s, k, 2), SPREAD_IDX(s, k, 3),        \
            SPREAD_IDX(s, k, 4), SPREAD_IDX(s, k, 5), SPREAD_IDX(s, k, 6), SPREAD_IDX(s, k, 7),    \
            SPREAD_IDX(s, k, 8), SPREAD_IDX(s, k, 9), SPREAD_IDX(s, k, 10), SPREAD_IDX(s, k, 11),  \
            SPREAD_IDX(s, k, 12), SPREAD_IDX(s, k, 13), SPREAD_IDX(s, k, 14), SPREAD_IDX(s, k, 15) \
    }
#define SPREAD_MASK(s, k)                                                                          \
    (SPREAD_BIT(s, k, 0) | SPREAD_BIT(s, k, 1) | SPREAD_BIT(s, k, 2) | SPREAD_BIT(s, k, 3) |       \
     SPREAD_BIT(s, k, 4) | SPREAD_BIT(s, k, 5) | SPREAD_BIT(s, k, 6) | SPREAD_BIT(s, k, 7) |       \
     SPREAD_BIT(s, k, 8) | SPREAD_BIT(s, k, 9) | SPREAD_BIT(s, k, 10) | SPREAD_BIT(s, k, 11) |     \
     SPREAD_BIT(s, k, 12) | SPREAD_BIT(s, k, 13) | SPREAD_BIT(s, k, 14) | SPREAD_BIT(s, k, 15))
#define SPREAD_TABLE(s)                                                                            \
    {                                                                                              \
        SPREAD_ROW(s, 0), SPREAD_ROW(s, 1), SPREAD_ROW(s, 2), SPREAD_ROW(s, 3), SPREAD_ROW(s, 4),  \
            SPREAD_ROW(s, 5), SPREAD_ROW(s, 6), SPREAD_ROW(s, 7)                                   \
    }
#define SPREAD_MASKS(s)                                                                            \
    {                                                                                              \
        SPREAD_MASK(s, 0), SPREAD_MASK(s, 1), SPREAD_MASK(s, 2), SPREAD_MASK(s, 3),                \
            SPREAD_MASK(s, 4), SPREAD_MASK(s, 5), SPREAD_MASK(s, 6), SPREAD_MASK(s, 7)             \
    }
static const int32_t spread_idx[MAX_SPREAD - 1][MAX_SPREAD][VW] = {
    SPREAD_TABLE(2), SPREAD_TABLE(3), SPREAD_TABLE(4), SPREAD_TABLE(5),
    SPREAD_TABLE(6), SPREAD_TABLE(7), SPREAD_TABLE(8)};
static const uint16_t spread_mask[MAX_SPREAD - 1][MAX_SPREAD] = {
    SPREAD_MASKS(2), SPREAD_MASKS(3), SPREAD_MASKS(4), SPREAD_MASKS(5),
    SPREAD_MASKS(6), SPREAD_MASKS(7), SPREAD_MASKS(8)};

/* Stores lanes [0, n) of v as pixels j.. of output row m: a masked vector store when pixels
 * are contiguous, spread vectors when they are s <= MAX_SPREAD apart, else through a stack tile. */
INLINE void store_pixels(const conv_job *jb, size_t m, size_t j, __m512 v, size_t n) {
    const size_t s = jb->y_pstride;
    float *y = jb->y + m * jb->y_cstride + j * s;
    if (s == 1) {
        _mm512_mask_storeu_ps(y, lanes_upto(n), v);
        return;
    }
    /* Stride 2 (the common one) with constant indices and masks, not table loads and a loop:
     * thread CPU us, avx512 t1, min of 41 samples, 5 interleaved rounds, before / this: ENet
     * 639-667 / 622-681 (medians 685-716 / 655-716), i16 k3 s2 p1 c32 39-41 / 38-39 (4 rounds);
     * CycleGAN 23376-24136 / 23022-23741, DCGAN batch 4 8374-8973 / 8345-8987 (4 rounds). */
    if (s == 2) {
        const __m512i lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
        const size_t span = 2 * n - 1;
        _mm512_mask_storeu_ps(y, (__mmask16)(0x5555 & lanes_upto(span)),
                              _mm512_permutexvar_ps(lo, v));
        if (span > VW)
            _mm512_mask_storeu_ps(y + VW, (__mmask16)(0x5555 & lanes_upto(span - VW)),
                                  _mm512_permutexvar_ps(hi, v));
        return;
    }
    if (s <= MAX_SPREAD) {
        const size_t span = (n - 1) * s + 1; /* columns from the first pixel's */
        for (size_t k = 0; k * VW < span; k++)
            _mm512_mask_storeu_ps(
                y + k * VW, (__mmask16)(spread_mask[s - 2][k] & lanes_upto(span - k * VW)),
                _mm512_permutexvar_ps(_mm512_loadu_si512(spread_idx[s - 2][k]), v));
        return;
    }
    float tile[VW];
    _mm512_storeu_ps(tile, v);
    for (size_t k = 0; k < n; k++) y[k * s] = tile[k];
}

/* ---- pixel vectors: R output channels x NV vectors of 16 pixels, weights broadcast ---- */

/* A block's first row group prefetches PREFETCH_AHEAD channels ahead: that group brings the block's
 * x lines (NV vectors, NV + 1 lines when unaligned) and weight lines from L2 or beyond, where the
 * later groups find them in L1. perf (cpu-clock) on CycleGAN 128 -> 64 put 40% of pv_tile_6x4's
 * samples on its x loads. Bench, avx512 t1, GFLOP/s, medians of 5, base / this, interleaved rounds
 * on the shared 2-core Xeon (with the pitch of direct.c's row_pitch): five rounds: DCGAN batch 4
 * 256 -> 128 (16 x 1 tiles, one group) 117-125 / 137-141, CycleGAN 128 -> 64 114-122 / 120-129;
 * three rounds: i16 k5 s1 p2 c32 123 / 138, k7 s1 p3 c32 120 / 138; ENet 32 -> 32, Mask R-CNN,
 * FCN-8s, fsrcnn unchanged. 4 and 16 channels ahead measured like 8 on CycleGAN; prefetching in
 * every row group no better (118-124 / 120-122), the next block's lines from the second group
 * slower (a replay of CycleGAN's calls: 126 -> 118-120). Only with 16 or more channels, in a loop
 * of its own: the test in the loop and prefetches past a 1-channel call cost i16 k4..k16 s1 c1
 * 15-30% of their time. Default sweep (107 shapes, two rounds): geomean time 1.00x; 32-channel
 * calls of 1-4 taps (i16 k1 s1, i32 k4 s2 p1) 2-5% slower in some rounds, as fast in others (a rule
 * by the call's lines, taps x channels x (NV + 2) > 512, measured the same). */
/* The lines ahead may lie past the call's last channel (prefetch_floats). */
INLINE void prefetch_channel(const float *xp, const float *wp, size_t xs, const int NV) {
    const ptrdiff_t ahead = (ptrdiff_t)(PREFETCH_AHEAD * xs);
    EACH8(v, 0, NV, prefetch_floats(xp, ahead + v * VW));
    prefetch_floats(xp, ahead + NV * VW - 1);
    prefetch_floats(wp, PREFETCH_AHEAD * MR);
}

/* acc += the products of channels [c0, c0 + cn) over every tap; PF (a constant) prefetches. */
INLINE void pv_sums(const conv_job *jb, size_t r0, const int R, size_t j, const int NV,
                    __mmask16 mask, size_t c0, size_t cn, __m512 (*acc)[8], const int PF) {
    const size_t xs = jb->x_cstride;
    for (size_t t = 0; t < jb->taps; t++) {
        const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR + r0;
        for (size_t c = 0; c < cn; c++, xp += xs, wp += MR) {
            if (PF) prefetch_channel(xp, wp, xs, NV);
            __m512 xv[8];
            EACH8(v, 0, NV - 1, xv[v] = _mm512_loadu_ps(xp + v * VW));
            xv[NV - 1] = _mm512_maskz_loadu_ps(mask, xp + (NV - 1) * VW);
            EACH16(m, 0, R, const __m512 wb = _mm512_set1_ps(wp[m]);
                   EACH8(v, 0, NV, acc[m][v] = _mm512_fmadd_ps(wb, xv[v], acc[m][v])));
        }
    }
}

/* Rows r0..r0+R-1, pixels from j, channels [c0, c0 + cn); the last vector holds `tail` (1..16)
 * pixels, loaded and stored under a mask so nothing past the segment is touched. Sums start from
 * the bias on the first channel block, continue from `part` otherwise, and go to y after the
 * last. */
INLINE void pv_tile(const conv_job *jb, size_t r0, const int R, size_t j, const int NV, size_t tail,
                    size_t c0, size_t cn, __m512 *part, int prefetch) {
    __m512 acc[16][8];
    const __mmask16 mask = lanes_upto(tail);
    if (c0 == 0) {
        EACH16(m, 0, R, const __m512 b = _mm512_set1_ps(jb->bias[r0 + m]);
               EACH8(v, 0, NV, acc[m][v] = b));
    } else {
        EACH16(m, 0, R, EACH8(v, 0, NV, acc[m][v] = part[m * NV + v]));
    }
    if (prefetch)
        pv_sums(jb, r0, R, j, NV, mask, c0, cn, acc, 1);
    else
        pv_sums(jb, r0, R, j, NV, mask, c0, cn, acc, 0);
    if (c0 + cn < jb->channels) {
        EACH16(m, 0, R, EACH8(v, 0, NV, part[m * NV + v] = acc[m][v]));
        return;
    }
    EACH16(m, 0, R,
           EACH8(v, 0, NV - 1, store_pixels(jb, r0 + m, j + (size_t)v * VW, acc[m][v], VW));
           store_pixels(jb, r0 + m, j + (size_t)(NV - 1) * VW, acc[m][NV - 1], tail));
}

typedef void pv_tile_fn(const conv_job *jb, size_t r0, size_t j, size_t tail, size_t c0, size_t cn,
                        __m512 *part, int prefetch);
#define PV_TILE(R, NV)                                                                             \
    static void pv_tile_##R##x##NV(const conv_job *jb, size_t r0, size_t j, size_t tail,           \
                                   size_t c0, size_t cn, __m512 *part, int prefetch) {             \
        pv_tile(jb, r0, R, j, NV, tail, c0, cn, part, prefetch);                                   \
    }
/* clang-format off */
PV_TILE(1, 1) PV_TILE(1, 2) PV_TILE(1, 3) PV_TILE(1, 4) PV_TILE(1, 5) PV_TILE(1, 6) PV_TILE(1, 7)
PV_TILE(1, 8) PV_TILE(2, 1) PV_TILE(2, 2) PV_TILE(2, 3) PV_TILE(2, 4) PV_TILE(2, 5) PV_TILE(2, 6)
PV_TILE(3, 1) PV_TILE(3, 2) PV_TILE(3, 3) PV_TILE(3, 4) PV_TILE(4, 1) PV_TILE(4, 2) PV_TILE(4, 3)
PV_TILE(4, 4) PV_TILE(5, 1) PV_TILE(5, 2) PV_TILE(6, 1) PV_TILE(6, 2) PV_TILE(7, 1) PV_TILE(7, 2)
PV_TILE(8, 1) PV_TILE(8, 2) PV_TILE(9, 1) PV_TILE(10, 1) PV_TILE(11, 1) PV_TILE(12, 1)
PV_TILE(13, 1) PV_TILE(14, 1) PV_TILE(15, 1) PV_TILE(16, 1)
PV_TILE(5, 3) PV_TILE(5, 4) PV_TILE(6, 3) PV_TILE(6, 4)

/* [R-1][nv-1]: full tiles hold 8 to 24 accumulators, enough independent FMA chains with x
 * vectors and a broadcast still in 32 zmm registers; R + NV loads feed R*NV FMAs. */
static pv_tile_fn *const pv_tiles[16][8] = {
    {pv_tile_1x1, pv_tile_1x2, pv_tile_1x3, pv_tile_1x4, pv_tile_1x5, pv_tile_1x6, pv_tile_1x7,
     pv_tile_1x8},
    {pv_tile_2x1, pv_tile_2x2, pv_tile_2x3, pv_tile_2x4, pv_tile_2x5, pv_tile_2x6},
    {pv_tile_3x1, pv_tile_3x2, pv_tile_3x3, pv_tile_3x4},
    {pv_tile_4x1, pv_tile_4x2, pv_tile_4x3, pv_tile_4x4},
    {pv_tile_5x1, pv_tile_5x2, pv_tile_5x3, pv_tile_5x4},
    {pv_tile_6x1, pv_tile_6x2, pv_tile_6x3, pv_tile_6x4},
    {pv_tile_7x1, pv_tile_7x2},
    {pv_tile_8x1, pv_tile_8x2},
    {pv_tile_9x1},
    {pv_tile_10x1},
    {pv_tile_11x1},
    {pv_tile_12x1},
    {pv_tile_13x1},
    {pv_tile_14x1},
    {pv_tile_15x1},
    {pv_tile_16x1},
};
/* clang-format on */

/* Rows in balanced groups of at most 6 (all 16 for phase rows of one vector, 8 for two), pixels in
 * balanced tiles of at most 4 vectors (8 for one row, 6 for two), the last vector masked. Groups
 * of 6 (6 x 4 tiles: 10 loads per 24 FMAs, 4 x 4 had 8 per 16) took thread CPU us, avx512 t1, base
 * / this, min of 41 samples, interleaved rounds: ENet 32 -> 32 668-758 / 625-655 (5 rounds),
 * CycleGAN 128 -> 64 22573-23924 / 21614-21948, c32 i64 k4 s2 p1 1039-1043 / 984-1046, c64 i32 k3
 * s1 p1 497-538 / 500-732 (noisy machine). Within a
 * pixel tile, each block of CB channels runs every row group before the next block, so the block's
 * x lines come from L2 once and are reused from L1 (a whole tile of 128 channels would not fit);
 * partial sums wait in `part` meanwhile. */
static void pv_run(const conv_job *jb, __m512 (*part)[PART_SUMS]) {
    /* 32-bit and constant divisors: 64-bit divisions per call cost as much as a short
     * call's arithmetic (1->1 upsample: 11% of the time). */
    const unsigned nvec = (unsigned)((jb->pixels + VW - 1) / VW);
    /* Phase rows of one vector (16x16 inputs) take all 16 channels at once (16 x 1), rows of two
     * vectors groups of up to 8 (8 x 2): the 4 x 1 tiles they got before were 4 FMA chains, half
     * of what two FMA pipes of latency 4 need (perf: pv_tile_4x1 was 41% of the time on i16 k3 s3
     * / k4 s2 / k5 s3 c32, its loop at one FMA per cycle; 8 x 1 gave 0.65-0.78x the time, 16 x 1
     * 0.58-0.74x). */
    const unsigned rows = (unsigned)jb->rows, groups = nvec == 1   ? 1
                                                       : nvec == 2 ? (rows + 7) / 8
                                                                   : (rows + 5) / 6;
    const unsigned base = rows / groups, extra = rows % groups;
    unsigned tiles;
    switch (jb->rows) {
    case 1: tiles = (nvec + 7) / 8; break;
    case 2: tiles = (nvec + 5) / 6; break;
    default: tiles = (nvec + 3) / 4; break;
    }
    const unsigned nv_base = nvec / tiles, nv_extra = nvec - nv_base * tiles;
    const int prefetch = jb->channels >= 2 * PREFETCH_AHEAD;
    for (size_t i = 0, j = 0; i < tiles; i++) {
        const size_t nv = nv_base + (i < nv_extra);
        const size_t tail = min_size(jb->pixels - j - (nv - 1) * VW, VW);
        for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
            const size_t cn = min_size(jb->channels - c0, CB);
            for (size_t g = 0, r0 = 0; g < groups; g++) {
                const size_t r = base + (g < extra);
                pv_tiles[r - 1][nv - 1](jb, r0, j, tail, c0, cn, part ? part[g] : NULL,
                                        prefetch && g == 0);
                r0 += r;
            }
        }
        j += nv * VW;
    }
}

/* Partial sums (4.5 KB) only when channels span several blocks: a 4 KB frame on every call cost
 * its page probe and first touch each time (perf: the hottest spot of pv_all on i16 k4 s8 c1,
 * 16-pixel calls with one tap). */
static __attribute__((noinline)) void pv_all_blocked(const conv_job *jb) {
    __m512 part[PART_GROUPS][PART_SUMS];
    pv_run(jb, part);
}

static void pv_all(const conv_job *jb) {
    if (jb->channels > CB)
        pv_all_blocked(jb);
    else
        pv_run(jb, NULL);
}

/* ---- channel vectors: all 16 channels in one vector per pixel, x broadcast ---- */

/* NP pixels from j; U accumulator sets split the channel sum so that U*NP chains are in flight
 * even for one pixel. Results go through a stack tile since each channel is its own plane. */
INLINE void cv_tile(const conv_job *jb, size_t j, const int NP, const int U) {
    __m512 acc[8][16];
    EACH16(p, 0, NP, acc[0][p] = _mm512_loadu_ps(jb->bias);
           EACH8(u, 1, U, acc[u][p] = _mm512_setzero_ps()));
    const size_t xs = jb->x_cstride;
    for (size_t c0 = 0; c0 < jb->channels; c0 += CB) {
        const size_t cn = min_size(jb->channels - c0, CB);
        for (size_t t = 0; t < jb->taps; t++) {
            const float *xp = jb->x_taps[t] + c0 * xs + j, *wp = jb->w_taps[t] + c0 * MR;
            size_t c = 0;
            for (; c + U <= cn; c += U, xp += U * xs, wp += U * MR) {
                EACH8(u, 0, U, const __m512 wv = _mm512_loadu_ps(wp + u * MR);
                      EACH16(p, 0, NP,
                             acc[u][p] =
                                 _mm512_fmadd_ps(wv, _mm512_set1_ps(xp[u * xs + p]), acc[u][p])));
            }
            for (; c < cn; c++, xp += xs, wp += MR) {
                const __m512 wv = _mm512_loadu_ps(wp);
                EACH16(p, 0, NP, acc[0][p] = _mm512_fmadd_ps(wv, _mm512_set1_ps(xp[p]), acc[0][p]));
            }
        }
    }
    float tile[16][MR];
    EACH16(p, 0, NP, EACH8(u, 1, U, acc[0][p] = _mm512_add_ps(acc[0][p], acc[u][p]));
           _mm512_storeu_ps(tile[p], acc[0][p]));
    for (size_t m = 0; m < jb->rows; m++) {
        float *y = jb->y + m * jb->y_cstride + j * jb->y_pstride;
        EACH16(p, 0, NP, y[(size_t)p * jb->y_pstride] = tile[p][m]);
    }
}

typedef void cv_tile_fn(const conv_job *jb, size_t j);
#define CV_TILE(NP, U)                                                                             \
    static void cv_tile_##NP(const conv_job *jb, size_t j) { cv_tile(jb, j, NP, U); }
/* 1 + NP loads per NP FMAs; U gives at least 8 chains. Up to 15 pixels (a phase row under one
 * vector) go in one tile, so each weight vector is loaded once per row: the packed weights of a
 * row's taps stream from L2 (i16 k16 s1 c32: 512 KB per 16-channel block and row), and with
 * 15 = 8 + 7 pixel tiles every weight vector came twice (perf: the FMA after the weight load
 * held 30% of cv_tile_8's samples). */
/* clang-format off */
CV_TILE(1, 8) CV_TILE(2, 4) CV_TILE(3, 3) CV_TILE(4, 2) CV_TILE(5, 2) CV_TILE(6, 2) CV_TILE(7, 2)
CV_TILE(8, 1) CV_TILE(9, 1) CV_TILE(10, 1) CV_TILE(11, 1) CV_TILE(12, 1) CV_TILE(13, 1)
CV_TILE(14, 1) CV_TILE(15, 1)
static cv_tile_fn *const cv_tiles[15] = {cv_tile_1,  cv_tile_2,  cv_tile_3,  cv_tile_4,  cv_tile_5,
                                         cv_tile_6,  cv_tile_7,  cv_tile_8,  cv_tile_9,  cv_tile_10,
                                         cv_tile_11, cv_tile_12, cv_tile_13, cv_tile_14, cv_tile_15};
/* clang-format on */

/* Pixels (fewer than 16, see use_channel_vectors) in one tile. */
static void cv_all(const conv_job *jb) { cv_tiles[jb->pixels - 1](jb, 0); }

/* Channel vectors pay off when most of the 16 lanes hold real channels and the pixel run fills
 * under one vector (DCGAN's phase rows of 8 pixels). */
static int use_channel_vectors(size_t rows, size_t pixels) { return rows > 8 && pixels < VW; }

void tconv_f32_conv_ukernel_16x16__avx512(size_t rows, size_t pixels, size_t taps,
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

/* ---- row phases: k == s, no padding: every column phase of a row at once, channel vectors ----
 * Output column S*j + k of the row is one tap, input column j with kernel column k, so the S
 * phases read the same input values: one broadcast of x feeds S multiply-adds (one per weight
 * vector of a kernel column), where a call per phase needed a load per multiply-add (the channel
 * vectors' broadcasts, or the pixel vectors' weight broadcasts). The S*NP sums of a tile are S*NP
 * consecutive output columns of 16 channels, written through a stack tile. */
/* Columns col[0..n) (n <= 16) of 16 channels each, as rows: y[m*y_cstride + o] = col[o][m] for
 * m < rows, o < n; a 16x16 transpose in registers (64 shuffles) and one masked store per row. The
 * compiler's own code for the stack tile's scalar copy was 40% of ph_tile_3x8's samples (perf,
 * i16 k3 s3 c32). */
INLINE void store_columns_masked(float *y, size_t y_cstride, size_t rows, const __m512 *col,
                                 const int n, __mmask16 mask) {
    __m512 t[16], u[16];
    EACH8(i, 0, 8, const __m512 a = 2 * i < n ? col[2 * i] : _mm512_setzero_ps();
          const __m512 b = 2 * i + 1 < n ? col[2 * i + 1] : _mm512_setzero_ps();
          t[2 * i] = _mm512_unpacklo_ps(a, b); t[2 * i + 1] = _mm512_unpackhi_ps(a, b));
    /* u[4i + k]: lane L holds channel 4L + k of columns 4i..4i+3. */
    EACH4(i, 0, 4, const __m512d a = _mm512_castps_pd(t[4 * i]);
          const __m512d b = _mm512_castps_pd(t[4 * i + 2]);
          const __m512d c = _mm512_castps_pd(t[4 * i + 1]);
          const __m512d d = _mm512_castps_pd(t[4 * i + 3]);
          u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
          u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
          u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
          u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d)));
    EACH4(k, 0, 4, const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
          const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
          const __m512 w0 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
          const __m512 w1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
          const __m512 out[4] = {_mm512_shuffle_f32x4(v0, w0, 0x88),
                                 _mm512_shuffle_f32x4(v1, w1, 0x88),
                                 _mm512_shuffle_f32x4(v0, w0, 0xDD),
                                 _mm512_shuffle_f32x4(v1, w1, 0xDD)};
          EACH4(L, 0, 4,
                if ((size_t)(4 * L + k) < rows)
                    _mm512_mask_storeu_ps(y + (size_t)(4 * L + k) * y_cstride, mask, out[L])));
}

INLINE void store_columns(float *y, size_t y_cstride, size_t rows, const __m512 *col, const int n) {
    store_columns_masked(y, y_cstride, rows, col, n, lanes_upto((size_t)n));
}

INLINE void ph_tile(const tconv_phases_job *jb, size_t j, const int S, const int NP) {
    __m512 acc[16][4];
    const __m512 b = _mm512_loadu_ps(jb->bias);
    EACH16(p, 0, NP, EACH4(k, 0, S, acc[p][k] = b));
    const size_t xs = jb->x_cstride, ws = jb->w_kx_stride;
    for (size_t r = 0; r < jb->row_taps; r++) {
        const float *xp = jb->x_rows[r] + j, *wp = jb->w_rows[r];
        for (size_t c = 0; c < jb->channels; c++, xp += xs, wp += MR) {
            prefetch_floats(xp, (ptrdiff_t)(PREFETCH_AHEAD * xs));
            prefetch_floats(xp, (ptrdiff_t)(PREFETCH_AHEAD * xs) + NP - 1);
            __m512 wv[4];
            EACH4(k, 0, S, wv[k] = _mm512_loadu_ps(wp + (size_t)k * ws));
            EACH16(p, 0, NP, const __m512 xb = _mm512_set1_ps(xp[p]);
                   EACH4(k, 0, S, acc[p][k] = _mm512_fmadd_ps(wv[k], xb, acc[p][k])));
        }
    }
    /* Column o = p*S + k of the tile; transposed 16 columns at a time. */
    __m512 col[64];
    EACH16(p, 0, NP, EACH4(k, 0, S, col[p * S + k] = acc[p][k]));
    float *y = jb->y + j * (size_t)S;
    store_columns(y, jb->y_cstride, jb->rows, col, NP * S < 16 ? NP * S : 16);
    if (NP * S > 16) store_columns(y + 16, jb->y_cstride, jb->rows, col + 16, NP * S - 16);
}

typedef void ph_tile_fn(const tconv_phases_job *jb, size_t j);
#define PH_TILE(S, NP)                                                                             \
    static void ph_tile_##S##x##NP(const tconv_phases_job *jb, size_t j) { ph_tile(jb, j, S, NP); }
/* clang-format off */
PH_TILE(2, 1) PH_TILE(2, 2) PH_TILE(2, 3) PH_TILE(2, 4) PH_TILE(2, 5) PH_TILE(2, 6) PH_TILE(2, 7)
PH_TILE(2, 8) PH_TILE(2, 9) PH_TILE(2, 10) PH_TILE(2, 11) PH_TILE(2, 12) PH_TILE(2, 13)
PH_TILE(2, 14) PH_TILE(3, 1) PH_TILE(3, 2) PH_TILE(3, 3) PH_TILE(3, 4) PH_TILE(3, 5) PH_TILE(3, 6)
PH_TILE(3, 7) PH_TILE(3, 8)
/* [S-2][NP-1]: S*NP accumulators + S weight vectors + a broadcast within 32 zmm registers. */
static ph_tile_fn *const ph_tiles[2][14] = {
    {ph_tile_2x1, ph_tile_2x2, ph_tile_2x3, ph_tile_2x4, ph_tile_2x5, ph_tile_2x6, ph_tile_2x7,
     ph_tile_2x8, ph_tile_2x9, ph_tile_2x10, ph_tile_2x11, ph_tile_2x12, ph_tile_2x13,
     ph_tile_2x14},
    {ph_tile_3x1, ph_tile_3x2, ph_tile_3x3, ph_tile_3x4, ph_tile_3x5, ph_tile_3x6, ph_tile_3x7,
     ph_tile_3x8}};
static const unsigned ph_max_pixels[2] = {14, 8};
/* clang-format on */

/* ---- overlapping row phases: stride 2, pad 1, kernel_w 4 (DCGAN) or 3 (CycleGAN, ENet) ----
 * Output column 2(j0 + p) takes kernel column 1 of input column j0 + p (and, KW 4, column 3 of
 * j0 + p - 1); column 2(j0 + p) + 1 takes column 2 of j0 + p and column 0 of j0 + p + 1. So one
 * broadcast of x feeds KW multiply-adds, one per kernel column, and a tile of NP input columns owns
 * output columns [2 j0, 2 j0 + 2 NP): its input columns plus the neighbours j0 - 1 (KW 4) and
 * j0 + NP, which the row's first and last tiles (FIRST, LAST) do not have, so nothing is
 * multiplied outside the input and no output is computed that padding crops. The last tile stores
 * up to jb->columns (k3 without output padding: one column fewer). The phase kernel ran these
 * layers as two column phases, at one load per multiply-add (channel vectors: a broadcast of x
 * each; pixel vectors: a broadcast weight each) and, for k4, over zero-padded columns (DCGAN 8x8:
 * 1/15 of its products). */
INLINE void ov_tile(const tconv_phases_job *jb, size_t j0, const int KW, const int NP,
                    const int FIRST, const int LAST) {
    __m512 acc[34]; /* every index EACH16 names (clang -Warray-bounds); 2 NP <= 24 are used */
    const __m512 b = _mm512_loadu_ps(jb->bias);
    EACH16(a, 0, 2 * NP, acc[a] = b);
    EACH8(a, 0, 2 * NP - 16, acc[16 + a] = b);
    const size_t xs = jb->x_cstride, ws = jb->w_kx_stride;
    for (size_t r = 0; r < jb->row_taps; r++) {
        const float *xp = jb->x_rows[r] + j0, *wp = jb->w_rows[r];
        for (size_t c = 0; c < jb->channels; c++, xp += xs, wp += MR) {
            prefetch_floats(xp, (ptrdiff_t)(PREFETCH_AHEAD * xs) - 1);
            prefetch_floats(xp, (ptrdiff_t)(PREFETCH_AHEAD * xs) + NP);
            const __m512 w0 = _mm512_loadu_ps(wp), w1 = _mm512_loadu_ps(wp + ws),
                         w2 = _mm512_loadu_ps(wp + 2 * ws);
            const __m512 w3 = KW == 4 ? _mm512_loadu_ps(wp + 3 * ws) : w2;
            if (KW == 4 && !FIRST) acc[0] = _mm512_fmadd_ps(w3, _mm512_set1_ps(xp[-1]), acc[0]);
            EACH16(p, 0, NP, const __m512 xb = _mm512_set1_ps(xp[p]);
                   acc[2 * p] = _mm512_fmadd_ps(w1, xb, acc[2 * p]);
                   acc[2 * p + 1] = _mm512_fmadd_ps(w2, xb, acc[2 * p + 1]);
                   if (p > 0) acc[2 * p - 1] = _mm512_fmadd_ps(w0, xb, acc[2 * p - 1]);
                   if (KW == 4 && p + 1 < NP) acc[2 * p + 2] =
                       _mm512_fmadd_ps(w3, xb, acc[2 * p + 2]));
            if (!LAST)
                acc[2 * NP - 1] = _mm512_fmadd_ps(w0, _mm512_set1_ps(xp[NP]), acc[2 * NP - 1]);
        }
    }
    float *y = jb->y + 2 * j0;
    const size_t left = LAST ? jb->columns - 2 * j0 : (size_t)(2 * NP);
    store_columns_masked(y, jb->y_cstride, jb->rows, acc, 2 * NP < 16 ? 2 * NP : 16,
                         lanes_upto(left < 16 ? left : 16));
    if (2 * NP > 16)
        store_columns_masked(y + 16, jb->y_cstride, jb->rows, acc + 16, 2 * NP - 16,
                             lanes_upto(left - 16));
}

typedef void ov_tile_fn(const tconv_phases_job *jb, size_t j0);
#define OV_TILE(KW, NP)                                                                            \
    static void ov##KW##_tile_##NP##_only(const tconv_phases_job *jb, size_t j0) {                 \
        ov_tile(jb, j0, KW, NP, 1, 1);                                                             \
    }                                                                                              \
    static void ov##KW##_tile_##NP##_first(const tconv_phases_job *jb, size_t j0) {                \
        ov_tile(jb, j0, KW, NP, 1, 0);                                                             \
    }                                                                                              \
    static void ov##KW##_tile_##NP##_mid(const tconv_phases_job *jb, size_t j0) {                  \
        ov_tile(jb, j0, KW, NP, 0, 0);                                                             \
    }                                                                                              \
    static void ov##KW##_tile_##NP##_last(const tconv_phases_job *jb, size_t j0) {                 \
        ov_tile(jb, j0, KW, NP, 0, 1);                                                             \
    }
#define OV_ROW(KW, NP)                                                                             \
    {                                                                                              \
        ov##KW##_tile_##NP##_mid, ov##KW##_tile_##NP##_first, ov##KW##_tile_##NP##_last,           \
            ov##KW##_tile_##NP##_only                                                              \
    }
#define OV_TILES(KW)                                                                               \
    OV_TILE(KW, 1)                                                                                 \
    OV_TILE(KW, 2)                                                                                 \
    OV_TILE(KW, 3)                                                                                 \
    OV_TILE(KW, 4)                                                                                 \
    OV_TILE(KW, 5)                                                                                 \
    OV_TILE(KW, 6) OV_TILE(KW, 7) OV_TILE(KW, 8) OV_TILE(KW, 9) OV_TILE(KW, 10) OV_TILE(KW, 11)    \
        OV_TILE(KW, 12)
#define OV_TABLE(KW)                                                                               \
    {                                                                                              \
        OV_ROW(KW, 1), OV_ROW(KW, 2), OV_ROW(KW, 3), OV_ROW(KW, 4), OV_ROW(KW, 5), OV_ROW(KW, 6),  \
            OV_ROW(KW, 7), OV_ROW(KW, 8), OV_ROW(KW, 9), OV_ROW(KW, 10), OV_ROW(KW, 11),           \
            OV_ROW(KW, 12)                                                                         \
    }
OV_TILES(3)
OV_TILES(4)
/* [KW-3][NP-1][FIRST + 2 LAST]: 2 NP accumulators + KW weight vectors + a broadcast within 32
 * zmm registers. */
static ov_tile_fn *const ov_tiles[2][12][4] = {OV_TABLE(3), OV_TABLE(4)};
#define OV_MAX_PIXELS 12

static void ov_row(const tconv_phases_job *jb) {
    const unsigned pixels = (unsigned)jb->pixels;
    const unsigned tiles = (pixels + OV_MAX_PIXELS - 1) / OV_MAX_PIXELS;
    const unsigned p_base = pixels / tiles, p_extra = pixels % tiles;
    for (unsigned i = 0, j = 0; i < tiles; i++) {
        const unsigned np = p_base + (i < p_extra);
        ov_tiles[jb->kernel_w - 3][np - 1][(i == 0) + 2 * (i + 1 == tiles)](jb, j);
        j += np;
    }
}

/* The row's input columns in balanced tiles of at most ph_max_pixels. */
void tconv_f32_conv_phases_ukernel_16__avx512(const tconv_phases_job *jb) {
    if (jb->kernel_w != jb->stride) {
        ov_row(jb);
        return;
    }
    const unsigned S = (unsigned)jb->stride, pmax = ph_max_pixels[S - 2];
    const unsigned pixels = (unsigned)jb->pixels, tiles = (pixels + pmax - 1) / pmax;
    const unsigned p_base = pixels / tiles, p_extra = pixels % tiles;
    for (unsigned i = 0, j = 0; i < tiles; i++) {
        const unsigned np = p_base + (i < p_extra);
        ph_tiles[S - 2][np - 1](jb, j);
        j += np;
    }
}

/* y[0..n) = value with 64-byte stores: one masked store up to the next 64-byte boundary (y is
 * float-aligned), then aligned vectors, four per step, and a masked tail. Copies bits, so every
 * element is exactly value. */
void tconv_f32_fill__avx512(float *y, size_t n, float value) {
    const __m512 v = _mm512_set1_ps(value);
    size_t head = ((64 - ((uintptr_t)y & 63)) & 63) / sizeof(float);
    if (head > n) head = n;
    if (head) _mm512_mask_storeu_ps(y, lanes_upto(head), v);
    size_t i = head;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        _mm512_store_ps(y + i, v);
        _mm512_store_ps(y + i + VW, v);
        _mm512_store_ps(y + i + 2 * VW, v);
        _mm512_store_ps(y + i + 3 * VW, v);
    }
    for (; i + VW <= n; i += VW) _mm512_store_ps(y + i, v);
    if (i < n) _mm512_mask_storeu_ps(y + i, lanes_upto(n - i), v);
}
