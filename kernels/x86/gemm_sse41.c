/* GEMM micro-kernel, SSE4.1: 6x8 tile in 12 xmm accumulators over packed A [k][6], B [k][8]. */
#include <smmintrin.h>

#include "../dispatch/ukernels.h"

#define MR 6
#define NR 8

/* Edge tile (mr < MR or nr < NR): copies only the valid part of the spilled tile, so no byte
 * outside the mr x nr block of C is read or written. Rare enough that scalar copies are fine. */
static void store_partial(const float tile[MR][NR], size_t mr, size_t nr, float *c, size_t ldc,
                          int accumulate) {
    for (size_t i = 0; i < mr; i++, c += ldc)
        for (size_t j = 0; j < nr; j++) c[j] = accumulate ? c[j] + tile[i][j] : tile[i][j];
}

/* One row of a full tile, adding C's old values when accumulating. */
static inline void store_row(float *c, __m128 lo, __m128 hi, int accumulate) {
    if (accumulate) {
        lo = _mm_add_ps(lo, _mm_loadu_ps(c));
        hi = _mm_add_ps(hi, _mm_loadu_ps(c + 4));
    }
    _mm_storeu_ps(c, lo);
    _mm_storeu_ps(c + 4, hi);
}

/* A value of the packed A row splatted across a vector: SSE has no broadcast load, so one
 * shuffle per A element per k step (6 shuffles per 24 multiply-adds). */
#define SPLAT(v, i) _mm_shuffle_ps(v, v, _MM_SHUFFLE(i, i, i, i))

/* No FMA in SSE: separate multiply and add, which run on different pipes, so the 12 accumulator
 * chains (add latency 3) keep both busy. 12 accumulators + 2 B + A + product = 16 xmm; gcc still
 * keeps two accumulators on the stack, yet a spill-free 4x8 tile measured no faster. */
void tconv_f32_gemm_ukernel_6x8__sse41(size_t mr, size_t nr, size_t k, const float *a,
                                       const float *b, size_t ldb, float *c, size_t ldc,
                                       int accumulate) {
    __m128 c0l = _mm_setzero_ps(), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;
    __m128 c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l;
    for (size_t p = 0; p < k; p++, a += MR, b += ldb) {
        const __m128 bl = _mm_loadu_ps(b), bh = _mm_loadu_ps(b + 4);
        const __m128 a03 = _mm_loadu_ps(a);
        /* a[4], a[5] via a 64-bit load (a 16-byte one would read past the end of A), through
         * __m128i, which may alias floats. */
        const __m128 a45 =
            _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(a + 4)));
        __m128 ai = SPLAT(a03, 0);
        c0l = _mm_add_ps(c0l, _mm_mul_ps(ai, bl)), c0h = _mm_add_ps(c0h, _mm_mul_ps(ai, bh));
        ai = SPLAT(a03, 1);
        c1l = _mm_add_ps(c1l, _mm_mul_ps(ai, bl)), c1h = _mm_add_ps(c1h, _mm_mul_ps(ai, bh));
        ai = SPLAT(a03, 2);
        c2l = _mm_add_ps(c2l, _mm_mul_ps(ai, bl)), c2h = _mm_add_ps(c2h, _mm_mul_ps(ai, bh));
        ai = SPLAT(a03, 3);
        c3l = _mm_add_ps(c3l, _mm_mul_ps(ai, bl)), c3h = _mm_add_ps(c3h, _mm_mul_ps(ai, bh));
        ai = SPLAT(a45, 0);
        c4l = _mm_add_ps(c4l, _mm_mul_ps(ai, bl)), c4h = _mm_add_ps(c4h, _mm_mul_ps(ai, bh));
        ai = SPLAT(a45, 1);
        c5l = _mm_add_ps(c5l, _mm_mul_ps(ai, bl)), c5h = _mm_add_ps(c5h, _mm_mul_ps(ai, bh));
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
    _mm_storeu_ps(tile[0], c0l), _mm_storeu_ps(tile[0] + 4, c0h);
    _mm_storeu_ps(tile[1], c1l), _mm_storeu_ps(tile[1] + 4, c1h);
    _mm_storeu_ps(tile[2], c2l), _mm_storeu_ps(tile[2] + 4, c2h);
    _mm_storeu_ps(tile[3], c3l), _mm_storeu_ps(tile[3] + 4, c3h);
    _mm_storeu_ps(tile[4], c4l), _mm_storeu_ps(tile[4] + 4, c4h);
    _mm_storeu_ps(tile[5], c5l), _mm_storeu_ps(tile[5] + 4, c5h);
    store_partial(tile, mr, nr, c, ldc, accumulate);
}
