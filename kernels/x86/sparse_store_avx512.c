/* Sparse store-back, AVX-512F: output rows from stride-phase layout by in-register transposes of
 * (column phases) x (16 cells) blocks, for power-of-two strides up to 16 and multiples of 16. */
#include "avx512_intrin.h"

#include "../dispatch/sparse_store.h"

/* Why: the portable loop writes one float per store at stride `stride`; on FCN-8s (stride 8,
 * 224x224 outputs) that store-back cost more than all the multiply-adds. Here a block of g phase
 * rows x 16 cells is loaded as g vectors and interleaved by log2(g) rounds of two-source
 * permutes (row i zipped with row i + g/2: after the last round the vectors hold the cells in
 * output order), then stored whole: log2(g) permutes per 16 outputs. */
static inline __m512 zip_lo(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    return _mm512_permutex2var_ps(a, idx, b);
}
static inline __m512 zip_hi(__m512 a, __m512 b) {
    const __m512i idx =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}

/* One round: row i (m vectors) zipped with row i + rows/2 into row i of 2m vectors. */
static inline __attribute__((always_inline)) void zip_round(__m512 *t, size_t rows, size_t m) {
    __m512 u[16];
#pragma GCC unroll 16
    for (size_t i = 0; i < rows / 2; i++)
#pragma GCC unroll 16
        for (size_t j = 0; j < m; j++) {
            __m512 a = t[i * m + j], b = t[(i + rows / 2) * m + j];
            u[i * 2 * m + 2 * j] = zip_lo(a, b), u[i * 2 * m + 2 * j + 1] = zip_hi(a, b);
        }
#pragma GCC unroll 16
    for (size_t v = 0; v < rows * m; v++) t[v] = u[v];
}

static inline __mmask16 first_lanes(size_t have, size_t from) {
    size_t lanes = have > from ? have - from : 0;
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1u);
}

/* Cells [q0, q0 + 16) of column phases [p0, p0 + g): g vectors of output. Lanes past the row's
 * end are neither read nor written (masked), so no tail loop. g is a constant after inlining. */
static inline __attribute__((always_inline)) void store_block(size_t g, size_t n, size_t stride,
                                                              const float *acc, size_t phase_stride,
                                                              float bias, float *y, size_t q0,
                                                              size_t p0, size_t whole, size_t rem) {
    /* No division here (a div per row, then per block, cost a fifth of the kernel's time): phase
     * px holds whole = n / stride cells, one more when px < rem = n % stride (computed once by
     * the caller). Every loop is unrolled (g constant) so t stays in registers. */
    __m512 t[16];
#pragma GCC unroll 16
    for (size_t r = 0; r < g; r++) {
        size_t px = p0 + r, cells = whole + (px < rem);
        t[r] = _mm512_maskz_loadu_ps(first_lanes(cells, q0), acc + px * phase_stride + q0);
    }
    /* Rounds: rows of m vectors each (rows * m = g); each round halves rows and doubles m. */
    if (g >= 2) zip_round(t, g, 1);
    if (g >= 4) zip_round(t, g / 2, 2);
    if (g >= 8) zip_round(t, g / 4, 4);
    if (g >= 16) zip_round(t, g / 8, 8);
    const __m512 b = _mm512_set1_ps(bias);
#pragma GCC unroll 16
    for (size_t j = 0; j < g; j++) {
        size_t off = (q0 + j * 16 / g) * stride + p0; /* vector j: 16/g cells of g phases */
        if (off >= n) break;
        _mm512_mask_storeu_ps(y + off, first_lanes(n, off), _mm512_add_ps(t[j], b));
    }
}

void tconv_f32_sparse_store_ukernel_16x1__avx512(size_t n, size_t stride, const float *acc,
                                                 size_t phase_stride, float bias, float *y) {
    int pow2 = stride && (stride & (stride - 1)) == 0;
    if (!pow2 || (stride > 16 && stride % 16)) {
        sparse_store_portable(n, stride, acc, phase_stride, bias, y);
        return;
    }
    size_t g = stride < 16 ? stride : 16, whole = n / stride, rem = n % stride;
    size_t cells = whole + (rem != 0);
    for (size_t q0 = 0; q0 < cells; q0 += 16)
        for (size_t p0 = 0; p0 < stride && p0 < n; p0 += g) switch (g) {
#define STORE_CASE(k)                                                                              \
    case k: store_block(k, n, stride, acc, phase_stride, bias, y, q0, p0, whole, rem); break;
                STORE_CASE(1)
                STORE_CASE(2)
                STORE_CASE(4)
                STORE_CASE(8)
                STORE_CASE(16)
#undef STORE_CASE
            default: break;
            }
}
