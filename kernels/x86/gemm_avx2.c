/* GEMM micro-kernel, AVX2+FMA: 6x16 tile in 12 ymm accumulators over packed A [k][6], B [k][16]. */
#include <immintrin.h>

#include "../dispatch/ukernels.h"

#define MR 6
#define NR 16

/* Edge tile (mr < MR or nr < NR): copies only the valid part of the spilled tile, so no byte
 * outside the mr x nr block of C is read or written. Rare enough that scalar copies are fine. */
static void store_partial(const float tile[MR][NR], size_t mr, size_t nr, float *c, size_t ldc,
                          int accumulate) {
    for (size_t i = 0; i < mr; i++, c += ldc)
        for (size_t j = 0; j < nr; j++) c[j] = accumulate ? c[j] + tile[i][j] : tile[i][j];
}

/* One row of a full tile, adding C's old values when accumulating. */
static inline void store_row(float *c, __m256 lo, __m256 hi, int accumulate) {
    if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
}

/* Per k step: two B vectors and six A broadcasts feed 12 independent FMAs, more than the 8 in
 * flight that two 4-cycle FMA pipes need. 12 accumulators + 2 B + 1 broadcast fit the 16 ymm
 * registers; they are named variables because gcc keeps an array of vectors in memory. */
void tconv_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t k, const float *a,
                                       const float *b, size_t ldb, float *c, size_t ldc,
                                       int accumulate) {
    __m256 c0l = _mm256_setzero_ps(), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;
    __m256 c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l;
    for (size_t p = 0; p < k; p++, a += MR, b += ldb) {
        /* Packed A 1 KiB (about 43 k steps) ahead, as in the AVX-512 kernel: with K in one
         * pass (gemm_blocking) A streams from L3. Shared Xeon, driver best of 1 s, t1, three
         * interleaved runs: pix2pix decoder 57.5-58.5 -> 62.9-65.5 GFLOP/s, U-Net deep
         * 74.7-75.7 -> 77.4-78.9 (76-77 before the blocking change). */
        _mm_prefetch((const char *)(a + 256), _MM_HINT_T0);
        const __m256 bl = _mm256_loadu_ps(b), bh = _mm256_loadu_ps(b + 8);
        __m256 ai = _mm256_broadcast_ss(a + 0);
        c0l = _mm256_fmadd_ps(ai, bl, c0l), c0h = _mm256_fmadd_ps(ai, bh, c0h);
        ai = _mm256_broadcast_ss(a + 1);
        c1l = _mm256_fmadd_ps(ai, bl, c1l), c1h = _mm256_fmadd_ps(ai, bh, c1h);
        ai = _mm256_broadcast_ss(a + 2);
        c2l = _mm256_fmadd_ps(ai, bl, c2l), c2h = _mm256_fmadd_ps(ai, bh, c2h);
        ai = _mm256_broadcast_ss(a + 3);
        c3l = _mm256_fmadd_ps(ai, bl, c3l), c3h = _mm256_fmadd_ps(ai, bh, c3h);
        ai = _mm256_broadcast_ss(a + 4);
        c4l = _mm256_fmadd_ps(ai, bl, c4l), c4h = _mm256_fmadd_ps(ai, bh, c4h);
        ai = _mm256_broadcast_ss(a + 5);
        c5l = _mm256_fmadd_ps(ai, bl, c5l), c5h = _mm256_fmadd_ps(ai, bh, c5h);
    }
    if (mr == MR && nr == NR) {
        store_row(c + 0 * ldc, c0l, c0h, accumulate);
        store_row(c + 1 * ldc, c1l, c1h, accumulate);
        store_row(c + 2 * ldc, c2l, c2h, accumulate);
        store_row(c + 3 * ldc, c3l, c3h, accumulate);
        store_row(c + 4 * ldc, c4l, c4h, accumulate);
        store_row(c + 5 * ldc, c5l, c5h, accumulate);
        return;
    }
    float tile[MR][NR];
    _mm256_storeu_ps(tile[0], c0l), _mm256_storeu_ps(tile[0] + 8, c0h);
    _mm256_storeu_ps(tile[1], c1l), _mm256_storeu_ps(tile[1] + 8, c1h);
    _mm256_storeu_ps(tile[2], c2l), _mm256_storeu_ps(tile[2] + 8, c2h);
    _mm256_storeu_ps(tile[3], c3l), _mm256_storeu_ps(tile[3] + 8, c3h);
    _mm256_storeu_ps(tile[4], c4l), _mm256_storeu_ps(tile[4] + 8, c4h);
    _mm256_storeu_ps(tile[5], c5l), _mm256_storeu_ps(tile[5] + 8, c5h);
    store_partial(tile, mr, nr, c, ldc, accumulate);
}
