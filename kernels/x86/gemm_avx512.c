/* GEMM micro-kernel, AVX-512F: 12x32 tile in 24 zmm accumulators over packed A [k][12], B [k][32].
 */
#include "avx512_intrin.h"

#include "../dispatch/ukernels.h"

#define MR 12
#define NR 32

/* Lanes of the two 16-float halves of a row that hold columns j < nr (nr <= NR). */
static inline __mmask16 lane_mask(size_t nr, size_t half) {
    size_t lanes = nr > half * 16 ? nr - half * 16 : 0;
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1u);
}

/* Rows of the tile in order; edge tiles loop over the first mr rows with masked tails, so no
 * byte outside the mr x nr block of C is read or written (masked-off lanes do not fault). */
static void store_rows(const __m512 rows[MR][2], size_t mr, size_t nr, float *c, size_t ldc,
                       int accumulate) {
    const __mmask16 lo = lane_mask(nr, 0), hi = lane_mask(nr, 1);
    for (size_t i = 0; i < mr; i++, c += ldc) {
        __m512 vlo = rows[i][0], vhi = rows[i][1];
        if (accumulate) {
            vlo = _mm512_add_ps(vlo, _mm512_maskz_loadu_ps(lo, c));
            vhi = _mm512_add_ps(vhi, _mm512_maskz_loadu_ps(hi, c + 16));
        }
        _mm512_mask_storeu_ps(c, lo, vlo);
        _mm512_mask_storeu_ps(c + 16, hi, vhi);
    }
}

/* Row i of the k step: one A broadcast (folded into the FMA as {1to16}) times both B halves. */
#define ROW_FMA(i)                                                                                 \
    ai = _mm512_set1_ps(a[i]);                                                                     \
    c##i##l = _mm512_fmadd_ps(ai, bl, c##i##l);                                                    \
    c##i##h = _mm512_fmadd_ps(ai, bh, c##i##h)

/* Software prefetch distance into packed A, in floats (2 KiB: about 43 k steps, ~500 cycles
 * ahead). A is the big operand of the weight-streaming layers (pix2pix decoder: 32 MiB of packed
 * weights per call, read once from L3): the hardware prefetcher alone, restarting at every 4 KiB
 * page, left the broadcasts waiting on L3. Measured on the shared Xeon (synthetic blocked loop,
 * M 8184 N 64 K 1024, best of 30, three runs each): 103-119 -> 138-159 GFLOP/s; 128..384 floats
 * bought less (131-150), 768 the same as 512. Real layers (driver, best of 1 s, base and this
 * build interleaved): pix2pix decoder 91-96 -> 119-120, U-Net deep 133-137 (one base run 87),
 * DCGAN 130 -> 133, the rest unchanged. One prefetch per k step: a 64-byte line holds 1.3
 * steps of A, and the spare load slot costs nothing against 24 FMAs. */
#define A_PREFETCH_FLOATS 512

/* Row i of the k step when the tile has at most 16 columns: the low B half only. */
#define ROW_FMA_LO(i) c##i##l = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), bl, c##i##l)

/* Tiles of at most 16 columns (the N edge: Mask R-CNN's N = 196 = 6 x 32 + 4) need only the low
 * half of B: 12 FMAs per k step instead of 24, each lane the same FMA chain as in the full tile
 * (so the same bits). Measured (driver, best of 1 s, t1, three interleaved runs, same
 * checksum): Mask R-CNN 129-130 -> 137-138 GFLOP/s; U-Net deep (N 784 = 24.5 x 32) within noise. */
static void ukernel_12x16(size_t mr, size_t nr, size_t k, const float *a, const float *b,
                          size_t ldb, float *c, size_t ldc, int accumulate) {
    __m512 c0l = _mm512_setzero_ps(), c1l = c0l, c2l = c0l, c3l = c0l, c4l = c0l, c5l = c0l;
    __m512 c6l = c0l, c7l = c0l, c8l = c0l, c9l = c0l, c10l = c0l, c11l = c0l;
    for (size_t p = 0; p < k; p++, a += MR, b += ldb) {
        _mm_prefetch((const char *)(a + A_PREFETCH_FLOATS), _MM_HINT_T0);
        const __m512 bl = _mm512_loadu_ps(b);
        ROW_FMA_LO(0);
        ROW_FMA_LO(1);
        ROW_FMA_LO(2);
        ROW_FMA_LO(3);
        ROW_FMA_LO(4);
        ROW_FMA_LO(5);
        ROW_FMA_LO(6);
        ROW_FMA_LO(7);
        ROW_FMA_LO(8);
        ROW_FMA_LO(9);
        ROW_FMA_LO(10);
        ROW_FMA_LO(11);
    }
    const __m512 z = _mm512_setzero_ps();
    const __m512 rows[MR][2] = {{c0l, z}, {c1l, z}, {c2l, z}, {c3l, z}, {c4l, z},  {c5l, z},
                                {c6l, z}, {c7l, z}, {c8l, z}, {c9l, z}, {c10l, z}, {c11l, z}};
    store_rows(rows, mr, nr, c, ldc, accumulate);
}

/* Tiles of at most 8 rows (the M edge: M 32 = 12 + 12 + 8) run 8 rows of FMAs instead of 12:
 * 16 per k step for the full width, 8 for at most 16 columns, each lane the same FMA chain as
 * in the 12-row tile (the same bits). On a 1x1 32 -> 32 channel layer on 16x16 (M 32, K 32,
 * N 256) the 12-row loop spent a third of the last tile's FMAs on zero rows. Measured (bench
 * medians of 5, t1, interleaved with the 12-row build): 5.4 -> 4.8 us there; DCGAN 64->3 (M 48,
 * no edge tile) and FSRCNN x3 (a 9-row edge) unchanged within noise. */
static void ukernel_8x32(size_t mr, size_t nr, size_t k, const float *a, const float *b, size_t ldb,
                         float *c, size_t ldc, int accumulate) {
    __m512 c0l = _mm512_setzero_ps(), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;
    __m512 c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l;
    __m512 c6l = c0l, c6h = c0l, c7l = c0l, c7h = c0l;
    const __m512 z = c0l;
    if (nr <= 16) {
        for (size_t p = 0; p < k; p++, a += MR, b += ldb) {
            const __m512 bl = _mm512_loadu_ps(b);
            ROW_FMA_LO(0);
            ROW_FMA_LO(1);
            ROW_FMA_LO(2);
            ROW_FMA_LO(3);
            ROW_FMA_LO(4);
            ROW_FMA_LO(5);
            ROW_FMA_LO(6);
            ROW_FMA_LO(7);
        }
    } else {
        for (size_t p = 0; p < k; p++, a += MR, b += ldb) {
            _mm_prefetch((const char *)(a + A_PREFETCH_FLOATS), _MM_HINT_T0);
            const __m512 bl = _mm512_loadu_ps(b), bh = _mm512_loadu_ps(b + 16);
            __m512 ai;
            ROW_FMA(0);
            ROW_FMA(1);
            ROW_FMA(2);
            ROW_FMA(3);
            ROW_FMA(4);
            ROW_FMA(5);
            ROW_FMA(6);
            ROW_FMA(7);
        }
    }
    const __m512 rows[MR][2] = {{c0l, c0h}, {c1l, c1h}, {c2l, c2h}, {c3l, c3h},
                                {c4l, c4h}, {c5l, c5h}, {c6l, c6h}, {c7l, c7h},
                                {z, z},     {z, z},     {z, z},     {z, z}};
    store_rows(rows, mr, nr, c, ldc, accumulate);
}

/* The full 12x32 tile's accumulators c0l..c11h over k steps of a and b (the same FMA chains
 * for every caller, so the same bits): declared and run in the caller's scope, 24 named
 * registers (see tconv_f32_gemm_ukernel_12x32__avx512). */
#define TILE_12x32_LOOP()                                                                          \
    __m512 c0l = _mm512_setzero_ps(), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;       \
    __m512 c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l;                       \
    __m512 c6l = c0l, c6h = c0l, c7l = c0l, c7h = c0l, c8l = c0l, c8h = c0l;                       \
    __m512 c9l = c0l, c9h = c0l, c10l = c0l, c10h = c0l, c11l = c0l, c11h = c0l;                   \
    for (size_t p = 0; p < k; p++, a += MR, b += ldb) {                                            \
        _mm_prefetch((const char *)(a + A_PREFETCH_FLOATS), _MM_HINT_T0);                          \
        const __m512 bl = _mm512_loadu_ps(b), bh = _mm512_loadu_ps(b + 16);                        \
        __m512 ai;                                                                                 \
        ROW_FMA(0);                                                                                \
        ROW_FMA(1);                                                                                \
        ROW_FMA(2);                                                                                \
        ROW_FMA(3);                                                                                \
        ROW_FMA(4);                                                                                \
        ROW_FMA(5);                                                                                \
        ROW_FMA(6);                                                                                \
        ROW_FMA(7);                                                                                \
        ROW_FMA(8);                                                                                \
        ROW_FMA(9);                                                                                \
        ROW_FMA(10);                                                                               \
        ROW_FMA(11);                                                                               \
    }

/* Per k step: two B vectors, twelve broadcasts, 24 independent FMAs (2 pipes x 4 cycles need 8 in
 * flight). 24 accumulators + 2 B + broadcast temporaries fit the 32 zmm registers; named
 * variables rather than an array, which gcc keeps in memory. */
void tconv_f32_gemm_ukernel_12x32__avx512(size_t mr, size_t nr, size_t k, const float *a,
                                          const float *b, size_t ldb, float *c, size_t ldc,
                                          int accumulate) {
    if (mr <= 8) {
        ukernel_8x32(mr, nr, k, a, b, ldb, c, ldc, accumulate);
        return;
    }
    if (nr <= 16) {
        ukernel_12x16(mr, nr, k, a, b, ldb, c, ldc, accumulate);
        return;
    }
    TILE_12x32_LOOP();
    const __m512 rows[MR][2] = {{c0l, c0h}, {c1l, c1h}, {c2l, c2h},   {c3l, c3h},
                                {c4l, c4h}, {c5l, c5h}, {c6l, c6h},   {c7l, c7h},
                                {c8l, c8h}, {c9l, c9h}, {c10l, c10h}, {c11l, c11h}};
    store_rows(rows, mr, nr, c, ldc, accumulate);
}

/* Rows a and b of a tile interleaved, plus the bias, into y[0..2nr): y[2j] = bias + a[j],
 * y[2j + 1] = bias + b[j] (lo/hi: the tile's columns 0-15 and 16-31). Two-source permutes pair
 * the lanes; the masks stop at 2nr outputs, so nothing past the run is touched. */
static inline void store_pair(__m512 al, __m512 ah, __m512 bl, __m512 bh, float bias, size_t nr,
                              float *y) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 vb = _mm512_set1_ps(bias);
    const size_t n = 2 * nr;
    _mm512_mask_storeu_ps(y, lanes_upto(n),
                          _mm512_add_ps(_mm512_permutex2var_ps(al, first, bl), vb));
    if (n <= 16) return;
    _mm512_mask_storeu_ps(y + 16, lanes_upto(n - 16),
                          _mm512_add_ps(_mm512_permutex2var_ps(al, second, bl), vb));
    if (n <= 32) return;
    _mm512_mask_storeu_ps(y + 32, lanes_upto(n - 32),
                          _mm512_add_ps(_mm512_permutex2var_ps(ah, first, bh), vb));
    if (n <= 48) return;
    _mm512_mask_storeu_ps(y + 48, lanes_upto(n - 48),
                          _mm512_add_ps(_mm512_permutex2var_ps(ah, second, bh), vb));
}

/* The fused k == s == 2 store (gemm.c, fused_pairs_tile) without the tile's round trip through
 * memory: the accumulators go to y interleaved in registers. The driver's path (store the tile,
 * then interleave it in 16-byte moves of the baseline ISA) was 12% of U-Net 128->64's time under
 * perf, most of it in the 16-byte stores. acc + bias per output, as the driver's a[j] + bias:
 * the same bits. */
void tconv_f32_gemm_pairs_ukernel_12x32__avx512(size_t nr, size_t k, const float *a, const float *b,
                                                size_t ldb, float *const *y, const float *bias) {
    TILE_12x32_LOOP();
    store_pair(c0l, c0h, c1l, c1h, bias[0], nr, y[0]);
    store_pair(c2l, c2h, c3l, c3h, bias[1], nr, y[1]);
    store_pair(c4l, c4h, c5l, c5h, bias[2], nr, y[2]);
    store_pair(c6l, c6h, c7l, c7h, bias[3], nr, y[3]);
    store_pair(c8l, c8h, c9l, c9h, bias[4], nr, y[4]);
    store_pair(c10l, c10h, c11l, c11h, bias[5], nr, y[5]);
}
