/* Rowconv micro-kernel for AVX-512 (direct's rowconv path): 16 consecutive output columns per
 * vector, every column phase at once, and the input-row expansion it reads. Its own file so the
 * two halves of the AVX-512 direct kernels compile in parallel: their unrolled tiles were the
 * longest compile of every build (conv_avx512.c, 1.3 MB of code, ~3 min under ASan in CI). */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

#include "conv_tile.h"

/* ---- rowconv: 16 consecutive output columns per vector, all column phases at once ----
 * FCN's upscores (21 channels, k = 2s, s = 8/16/32) lost here on the phase path: a phase row's
 * pixels are stride_w apart in y, so each vector left through a stack tile as 16 scalar stores,
 * and 21 rows split into a 16-row block of 4x2 tiles plus a 5-row block of latency-bound 3x2 and
 * 2x2 tiles. Here output channels are only the register tile's other axis (any count, in balanced
 * groups of at most TCONV_ROWCONV_MAX_ROWS) and every store is one masked vector store. See
 * tconv_rowconv_job. */

/* Lanes [lo, hi) of v stored to y + ox0 + lo.., 0 <= lo < hi <= 16; ox0 may be negative (the
 * row's first vector starts pad_w mod 16 columns left of the output), so those lanes are shifted
 * down first and y + ox0 is never formed. */
INLINE void rc_store(float *y, int64_t ox0, int64_t lo, int64_t hi, __m512 v) {
    if (lo == 0) {
        _mm512_mask_storeu_ps(y + ox0, lanes_upto((size_t)hi), v);
        return;
    }
    const __m512i shift =
        _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32((int)lo));
    _mm512_mask_storeu_ps(y, lanes_upto((size_t)(hi - lo)),
                          _mm512_permutexvar_ps(_mm512_and_si512(shift, _mm512_set1_epi32(15)), v));
}

/* Output channels r0..r0+R-1 x vectors v0, v0 + C, .., (P of them, all of class h so they share
 * the weight slots; for stride_w >= 16, stride_w/16 = C vectors span one input column). NARROW
 * (stride_w < 16): a vector covers about 16/stride_w input columns, each value repeated stride_w
 * times: one unaligned load from the expanded rows (tconv_rowconv_job), shared by the R channels.
 * It was a masked load of the 16/stride_w values plus a vpermps per (channel, row tap, t,
 * vector), and the permutes compete with the 512-bit FMAs for port 5. Else a vector is one
 * broadcast input value. The multiply-adds are masked to the lanes with a real tap (merge
 * masking on the accumulator: the same vfmadd231ps, no extra instruction). */
INLINE void rc_tile(const tconv_rowconv_job *jb, size_t r0, const int R, size_t v0, const int P,
                    size_t C, size_t h, const int NARROW, const int TAPS, const int MASKED) {
    /* TAPS: taps per lane known at compile time (0: jb->taps_per_lane). */
    const size_t T = TAPS ? (size_t)TAPS : jb->taps_per_lane;
    /* NARROW 1: one class (stride_w divides 16), so the vectors' offsets are constants (a
     * runtime 16*C stride cost FCN-like c32 k8 s8 30%); NARROW 2: any C. */
    if (NARROW == 1) C = 1, h = 0;
    const size_t sw = jb->stride, q = jb->pad - jb->pad % 16 + 16 * v0;
    /* NARROW: lane l at t reads expanded column q + l - t*sw; else input column q/sw - t, the
     * next vector's mstep columns on. */
    const size_t m0 = NARROW ? q : q / sw;
    const size_t mstep = NARROW ? 16 * C : 1, xstep = NARROW ? sw : 1; /* wide: sw = 16C */
    __m512 acc[8][8];
    EACH8(r, 0, R, const __m512 b = _mm512_set1_ps(jb->bias[r0 + r]);
          EACH8(p, 0, P, acc[r][p] = b));
    /* This channel group's weights of one kernel row: [ci][slot][r][16], contiguous. */
    const size_t slot_stride = (size_t)R * 16, slot_t = C * slot_stride;
    const size_t c_stride = jb->slots * slot_stride, group = r0 * jb->channels * jb->slots * 16;
    const uint16_t *masks = jb->lane_masks + h;
    /* Kernel rows outer, channels inner: a row tap's weights ([ci][slot][r][16]) are then one
     * forward stream and its x rows one stride, where channels outer alternated between the row
     * taps' regions. Thread CPU ms, min of 41 x 5 runs, avx512 t1, 3 interleaved rounds, base /
     * this: FCN-8s 1.46-1.50 / 1.40-1.41, c32 i16 k8 s8 0.36 / 0.31-0.32, c32 k16 s8 p4 1.54-1.58
     * / 1.41-1.45, c21 i28 k4 s4 0.127-0.137 / 0.120-0.122; FCN-16s, the 1 -> 1 upsample
     * unchanged. With x (or the weights) read from one fixed place FCN-8s took 1.29, so the
     * memory side is ~15% of it. Not kept: channel blocks whose weights fit 8/16/24 KB, partial
     * sums on the stack (1.71 / 1.52-1.59 / 1.49 against 1.41-1.43 unblocked), and software
     * prefetch of the next channel's x lines (1.68-1.70). */
    for (size_t rt = 0; rt < jb->row_taps; rt++)
        for (size_t c = 0; c < jb->channels; c++) {
            const float *xr = jb->x_rows[rt] + c * jb->x_cstride + m0;
            const float *wr = jb->w_rows[rt] + group + c * c_stride + h * slot_stride;
            for (size_t t = 0; t < T; t++, xr -= xstep, wr += slot_t) {
                const __mmask16 k = MASKED ? (__mmask16)masks[t * C] : (__mmask16)0xFFFF;
                __m512 xv[8];
                if (NARROW)
                    EACH8(p, 0, P, xv[p] = _mm512_loadu_ps(xr + (size_t)p * mstep));
                else
                    EACH8(p, 0, P, xv[p] = _mm512_set1_ps(xr[(size_t)p * mstep]));
                EACH8(r, 0, R, const __m512 wv = _mm512_loadu_ps(wr + (size_t)r * 16);
                      EACH8(p, 0, P,
                            acc[r][p] = MASKED ? _mm512_mask3_fmadd_ps(wv, xv[p], acc[r][p], k)
                                               : _mm512_fmadd_ps(wv, xv[p], acc[r][p])));
            }
        }
    const int64_t out_w = (int64_t)jb->out_w;
    EACH8(
        p, 0, P, const int64_t ox0 = (int64_t)(16 * (v0 + (size_t)p * C)) - (int64_t)(jb->pad % 16);
        const int64_t lo = ox0 < 0 ? -ox0 : 0;
        const int64_t hi = out_w - ox0 < 16 ? out_w - ox0 : 16; if (lo < hi) {
            EACH8(r, 0, R,
                  rc_store(jb->y + (r0 + (size_t)r) * jb->y_cstride, ox0, lo, hi, acc[r][p]));
        });
}

/* h: the class of vector v0, (q/16) mod C, passed in (a division per tile call was up to 25% of
 * a one-channel row). */
typedef void rc_tile_fn(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C, size_t h);
#define RC_TILE(R, P)                                                                              \
    static void rc_tile_n##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 1, 0, 0);                                                  \
    }                                                                                              \
    static void rc_tile_w##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 0, 0, 0);                                                  \
    }                                                                                              \
    static void rc_tile_t##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 0, 2, 0);                                                  \
    }                                                                                              \
    static void rc_tile_m##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 1, 0, 1);                                                  \
    }                                                                                              \
    static void rc_tile_v##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 0, 0, 1);                                                  \
    }                                                                                              \
    static void rc_tile_g##R##x##P(const tconv_rowconv_job *jb, size_t r0, size_t v0, size_t C,    \
                                   size_t h) {                                                     \
        rc_tile(jb, r0, R, v0, P, C, h, 2, 0, 1);                                                  \
    }
/* clang-format off */
RC_TILE(1, 1) RC_TILE(1, 2) RC_TILE(1, 3) RC_TILE(1, 4) RC_TILE(1, 5) RC_TILE(1, 6) RC_TILE(1, 7)
RC_TILE(1, 8) RC_TILE(2, 1) RC_TILE(2, 2) RC_TILE(2, 3) RC_TILE(2, 4) RC_TILE(2, 5) RC_TILE(2, 6)
RC_TILE(2, 7) RC_TILE(2, 8) RC_TILE(3, 1) RC_TILE(3, 2) RC_TILE(3, 3) RC_TILE(3, 4) RC_TILE(3, 5)
RC_TILE(3, 6) RC_TILE(3, 7) RC_TILE(4, 1) RC_TILE(4, 2) RC_TILE(4, 3) RC_TILE(4, 4) RC_TILE(4, 5)
RC_TILE(4, 6) RC_TILE(5, 1) RC_TILE(5, 2) RC_TILE(5, 3) RC_TILE(5, 4) RC_TILE(5, 5) RC_TILE(6, 1)
RC_TILE(6, 2) RC_TILE(6, 3) RC_TILE(6, 4)
#define RC_TABLE(k)                                                                                \
    {{rc_tile_##k##1x1, rc_tile_##k##1x2, rc_tile_##k##1x3, rc_tile_##k##1x4, rc_tile_##k##1x5,     \
      rc_tile_##k##1x6, rc_tile_##k##1x7, rc_tile_##k##1x8},                                       \
     {rc_tile_##k##2x1, rc_tile_##k##2x2, rc_tile_##k##2x3, rc_tile_##k##2x4, rc_tile_##k##2x5,     \
      rc_tile_##k##2x6, rc_tile_##k##2x7, rc_tile_##k##2x8},                                       \
     {rc_tile_##k##3x1, rc_tile_##k##3x2, rc_tile_##k##3x3, rc_tile_##k##3x4, rc_tile_##k##3x5,     \
      rc_tile_##k##3x6, rc_tile_##k##3x7},                                                         \
     {rc_tile_##k##4x1, rc_tile_##k##4x2, rc_tile_##k##4x3, rc_tile_##k##4x4, rc_tile_##k##4x5,     \
      rc_tile_##k##4x6},                                                                           \
     {rc_tile_##k##5x1, rc_tile_##k##5x2, rc_tile_##k##5x3, rc_tile_##k##5x4, rc_tile_##k##5x5},    \
     {rc_tile_##k##6x1, rc_tile_##k##6x2, rc_tile_##k##6x3, rc_tile_##k##6x4}}
/* [kind][R-1][P-1]: R*P accumulators + P input vectors + a weight vector within 32 zmm
 * registers (one fewer vector per tile while NARROW held a permute index). Kinds: wide, narrow,
 * and wide with two taps per lane (k = 2s, FCN): with T a constant the compiler unrolls the t
 * loop, and as a wide vector p at tap t broadcasts input column m0 + p - t (mstep = 1), the two
 * taps share P - 1 of their broadcasts (P + 1 loads instead of 2P). Bench, avx512 t1, thread CPU
 * ms, medians of 5, base / this, 3 interleaved rounds: FCN-16s 3.37-3.47 / 2.61-2.69 (59-61% ->
 * 77-78% of peak), FCN-32s 3.61-3.87 / 2.92-3.14 (53-57% -> 66-70%). Then masked kinds (some
 * lane holds no tap): wide (v), narrow of one weight class (m) and narrow of any class count (g,
 * strides not dividing 16). The unmasked kinds stay apart: masked multiply-adds everywhere (a
 * mask load per tap, the mask register in every FMA) plus a general-stride expand made the
 * 1 -> 1 upsample 1.17x as slow, the tiles 12% of that (perf, cpu-clock samples). */
static rc_tile_fn *const rc_tiles[6][TCONV_ROWCONV_MAX_ROWS][8] = {
    RC_TABLE(w), RC_TABLE(n), RC_TABLE(t), RC_TABLE(v), RC_TABLE(m), RC_TABLE(g)};
static const unsigned rc_max_vectors[TCONV_ROWCONV_MAX_ROWS] = {8, 8, 7, 6, 5, 4};
/* clang-format on */

/* Channel groups of at most TCONV_ROWCONV_MAX_ROWS (balanced: 21 = 6 + 5 + 5 + 5), each over
 * every vector of the row, so the group's weights (channels x row taps x T x R vectors: 32 KB for
 * FCN) come from L1 for its later vector tiles. Vectors go class by class (v, v + C, ..), in
 * balanced tiles. */
/* A whole row of P vectors (0..P-1) in one call when the weight classes alternate (C > 1, stride_w
 * < 16; taken only for 1-3 output channels, see tconv_direct_takes_rowconv) and the row fits one
 * tile: vector p has class (h0 + p) mod C, so it loads its own weight vector and mask, where
 * rc_tile groups vectors by class to share them. Short rows otherwise went as one tile call per
 * class, each with one vector (i16 k2 s3 c1: three calls of P = 1 per row, whose set-up was most
 * of the time). With div_small below, thread CPU us, avx512 t1, min of 5 repetitions, medians of
 * 5 interleaved runs against 7eb86f1: i16 c1 k2 s3 1.87 -> 0.88 (gemm 0.69-0.71), k3 s3 2.52 ->
 * 1.09, k4 s3 p1 2.75 -> 1.38, k5 s3 p1 3.00 -> 1.66, k6 s3 p2 3.06 -> 1.74, k7 s3 p2 3.49 ->
 * 2.32, k8 s3 p3 3.56 -> 2.45. */
INLINE void rc_row_tile(const tconv_rowconv_job *jb, const int R, const int P, size_t C,
                        size_t h0) {
    const size_t T = jb->taps_per_lane, sw = jb->stride, q = jb->pad - jb->pad % 16;
    const size_t slot_stride = (size_t)R * 16, slot_t = C * slot_stride;
    const size_t c_stride = jb->slots * slot_stride;
    size_t hs[8];
    EACH8(p, 0, P, hs[p] = p == 0 ? h0 : hs[p - 1] + 1 == C ? 0 : hs[p - 1] + 1);
    __m512 acc[8][8]; /* 8 x 8 as in rc_tile: EACH8 names every index (clang -Warray-bounds) */
    EACH8(r, 0, R, const __m512 b = _mm512_set1_ps(jb->bias[r]); EACH8(p, 0, P, acc[r][p] = b));
    for (size_t c = 0; c < jb->channels; c++)
        for (size_t rt = 0; rt < jb->row_taps; rt++) {
            const float *xr = jb->x_rows[rt] + c * jb->x_cstride + q;
            const float *wr = jb->w_rows[rt] + c * c_stride;
            for (size_t t = 0; t < T; t++, xr -= sw, wr += slot_t) {
                const uint16_t *masks = jb->lane_masks + t * C;
                EACH8(p, 0, P, const __m512 xv = _mm512_loadu_ps(xr + 16 * (size_t)p);
                      const __mmask16 k = (__mmask16)masks[hs[p]];
                      const float *wp = wr + hs[p] * slot_stride;
                      EACH8(r, 0, R,
                            acc[r][p] = _mm512_mask3_fmadd_ps(_mm512_loadu_ps(wp + (size_t)r * 16),
                                                              xv, acc[r][p], k)));
            }
        }
    const int64_t out_w = (int64_t)jb->out_w;
    EACH8(
        p, 0, P, const int64_t ox0 = 16 * (int64_t)p - (int64_t)(jb->pad % 16);
        const int64_t lo = ox0 < 0 ? -ox0 : 0;
        const int64_t hi = out_w - ox0 < 16 ? out_w - ox0 : 16; if (lo < hi) {
            EACH8(r, 0, R, rc_store(jb->y + (size_t)r * jb->y_cstride, ox0, lo, hi, acc[r][p]));
        });
}

typedef void rc_row_tile_fn(const tconv_rowconv_job *jb, size_t C, size_t h0);
#define RC_ROW_TILE(R, P)                                                                          \
    static void rc_row_tile_##R##x##P(const tconv_rowconv_job *jb, size_t C, size_t h0) {          \
        rc_row_tile(jb, R, P, C, h0);                                                              \
    }
/* clang-format off */
RC_ROW_TILE(1, 1) RC_ROW_TILE(1, 2) RC_ROW_TILE(1, 3) RC_ROW_TILE(1, 4) RC_ROW_TILE(1, 5)
RC_ROW_TILE(1, 6) RC_ROW_TILE(1, 7) RC_ROW_TILE(1, 8) RC_ROW_TILE(2, 1) RC_ROW_TILE(2, 2)
RC_ROW_TILE(2, 3) RC_ROW_TILE(2, 4) RC_ROW_TILE(2, 5) RC_ROW_TILE(2, 6) RC_ROW_TILE(2, 7)
RC_ROW_TILE(2, 8) RC_ROW_TILE(3, 1) RC_ROW_TILE(3, 2) RC_ROW_TILE(3, 3) RC_ROW_TILE(3, 4)
RC_ROW_TILE(3, 5) RC_ROW_TILE(3, 6) RC_ROW_TILE(3, 7)
#define RC_ROW_MAX_ROWS 3
static rc_row_tile_fn *const rc_row_tiles[RC_ROW_MAX_ROWS][8] = {
    {rc_row_tile_1x1, rc_row_tile_1x2, rc_row_tile_1x3, rc_row_tile_1x4, rc_row_tile_1x5,
     rc_row_tile_1x6, rc_row_tile_1x7, rc_row_tile_1x8},
    {rc_row_tile_2x1, rc_row_tile_2x2, rc_row_tile_2x3, rc_row_tile_2x4, rc_row_tile_2x5,
     rc_row_tile_2x6, rc_row_tile_2x7, rc_row_tile_2x8},
    {rc_row_tile_3x1, rc_row_tile_3x2, rc_row_tile_3x3, rc_row_tile_3x4, rc_row_tile_3x5,
     rc_row_tile_3x6, rc_row_tile_3x7}};
/* clang-format on */

/* a/b for the tile schedule below, whose quotients are mostly known without dividing: 64-bit
 * divisions by the run-time class count and tile sizes were 55% of this function's samples, a
 * quarter of direct's time, on i16 k2 s3 c1 (perf, avx512 t1; 3 classes of one vector a row). */
static size_t div_small(size_t a, size_t b) { return a < b ? 0 : a < 2 * b ? 1 : a / b; }

void tconv_f32_rowconv_ukernel__avx512(const tconv_rowconv_job *jb) {
    const size_t rows = jb->rows,
                 groups = rows <= TCONV_ROWCONV_MAX_ROWS
                              ? 1
                              : (rows + TCONV_ROWCONV_MAX_ROWS - 1) / TCONV_ROWCONV_MAX_ROWS,
                 base = groups == 1 ? rows : rows / groups, extra = rows - base * groups;
    const size_t nv = (jb->out_w + jb->pad % 16 + 15) / 16;
    const size_t C = jb->classes;
    /* Class cls holds vectors cls, cls + C, ..: per_class of them, one more below rem. */
    const size_t per_class = div_small(nv, C), rem = nv - per_class * C;
    const int kind = jb->stride < 16          ? (C > 1        ? 5
                                                 : jb->masked ? 4
                                                              : 1)
                     : jb->masked             ? 3
                     : jb->taps_per_lane == 2 ? 2
                                              : 0;
    if (kind == 5 && rows <= RC_ROW_MAX_ROWS && nv <= rc_max_vectors[rows - 1]) {
        rc_row_tiles[rows - 1][nv - 1](jb, C, jb->class0);
        return;
    }
    for (size_t g = 0, r0 = 0; g < groups; g++) {
        const size_t R = base + (g < extra), pmax = rc_max_vectors[R - 1];
        for (size_t cls = 0, h = jb->class0; cls < C && cls < nv;
             cls++, h = h + 1 == C ? 0 : h + 1) {
            const size_t count = per_class + (cls < rem),
                         tiles = count <= pmax ? 1 : div_small(count + pmax - 1, pmax);
            const size_t p_base = tiles == 1 ? count : count / tiles,
                         p_extra = count - p_base * tiles;
            for (size_t i = 0, k = 0; i < tiles; i++) {
                const size_t P = p_base + (i < p_extra);
                rc_tiles[kind][R - 1][P - 1](jb, r0, cls + k * C, C, h);
                k += P;
            }
        }
        r0 += R;
    }
}

/* Lane l of expanded vector j (columns 16j + l) reads input column floor((16j + l)/stride), which
 * is (16j)/stride plus idx[l] = floor(((16j) mod stride + l)/stride): a pattern that repeats
 * every C = stride/gcd(stride, 16) vectors, built once per call by counting (no divisions). */
static void expand_patterns(size_t stride, size_t C, __m512i *idx) {
    for (size_t c = 0; c < C; c++) {
        int32_t lane[16];
        for (size_t l = 0, col = 0, rem = (16 * c) % stride; l < 16; l++) {
            lane[l] = (int32_t)col;
            if (++rem == stride) rem = 0, col++;
        }
        idx[c] = _mm512_loadu_si512(lane);
    }
}

/* Rows of input columns x[0..n) to xe[0..n*stride), each column repeated stride (2 to 15) times:
 * per vector of 16 expanded columns, one masked load of the (at most 9) columns it repeats, a
 * permute and a store. */
void tconv_f32_rowconv_expand__avx512(size_t rows, size_t n, size_t stride, const float *x,
                                      size_t x_rstride, float *xe, size_t xe_rstride) {
    const size_t C = tconv_rowconv_classes(stride);
    const size_t total = n * stride, step = 16 / stride, step_rem = 16 % stride;
    __m512i idx[16];
    expand_patterns(stride, C, idx);
    if (C == 1) { /* stride 2, 4, 8: every vector repeats 16/stride whole columns */
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < n; j += step) {
                const size_t m = n - j < step ? n - j : step;
                const __m512 v = _mm512_maskz_loadu_ps(lanes_upto(m), x + i * x_rstride + j);
                _mm512_mask_storeu_ps(xe + i * xe_rstride + j * stride, lanes_upto(m * stride),
                                      _mm512_permutexvar_ps(idx[0], v));
            }
        return;
    }
    for (size_t i = 0; i < rows; i++) {
        const float *xi = x + i * x_rstride;
        float *xei = xe + i * xe_rstride;
        /* first = 16j/stride and rem = 16j mod stride, kept by counting. */
        for (size_t j = 0, c = 0, first = 0, rem = 0; 16 * j < total; j++) {
            const size_t left = total - 16 * j, avail = n - first;
            const __m512 v = _mm512_maskz_loadu_ps(lanes_upto(avail < 16 ? avail : 16), xi + first);
            _mm512_mask_storeu_ps(xei + 16 * j, lanes_upto(left < 16 ? left : 16),
                                  _mm512_permutexvar_ps(idx[c], v));
            c = c + 1 == C ? 0 : c + 1;
            first += step, rem += step_rem;
            if (rem >= stride) rem -= stride, first++;
        }
    }
}
