/* ISA-neutral helpers shared by the x86 conv micro-kernels: straight-line tile macros, the job. */
#ifndef TCONV_X86_CONV_TILE_H
#define TCONV_X86_CONV_TILE_H

#include <stddef.h>

#define INLINE static inline __attribute__((always_inline))
/* Register tiles are arrays indexed by constants, which compilers keep in registers. EACHn runs
 * stmt for i = lo..hi-1 (hi a constant after inlining) as straight-line code rather than
 * a loop to unroll: clang leaves some such loops rolled (and ignores "GCC unroll"), and one
 * variable index puts the whole tile in memory. */
#define EACH_1(i, k, lo, hi, ...)                                                                  \
    {                                                                                              \
        const int i = k;                                                                           \
        if (i >= (lo) && i < (hi)) {                                                               \
            __VA_ARGS__;                                                                           \
        }                                                                                          \
    }
/* EACHn covers i < n: the tile dimension it walks has n entries. */
#define EACH2(i, lo, hi, ...)                                                                      \
    do {                                                                                           \
        EACH_1(i, 0, lo, hi, __VA_ARGS__) EACH_1(i, 1, lo, hi, __VA_ARGS__)                        \
    } while (0)
#define EACH4(i, lo, hi, ...)                                                                      \
    do {                                                                                           \
        EACH_1(i, 0, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 1, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 2, lo, hi, __VA_ARGS__) EACH_1(i, 3, lo, hi, __VA_ARGS__)                        \
    } while (0)
#define EACH8(i, lo, hi, ...)                                                                      \
    do {                                                                                           \
        EACH4(i, lo, hi, __VA_ARGS__);                                                             \
        EACH_1(i, 4, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 5, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 6, lo, hi, __VA_ARGS__) EACH_1(i, 7, lo, hi, __VA_ARGS__)                        \
    } while (0)

#define EACH16(i, lo, hi, ...)                                                                     \
    do {                                                                                           \
        EACH8(i, lo, hi, __VA_ARGS__);                                                             \
        EACH_1(i, 8, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 9, lo, hi, __VA_ARGS__)                                                          \
        EACH_1(i, 10, lo, hi, __VA_ARGS__)                                                         \
        EACH_1(i, 11, lo, hi, __VA_ARGS__)                                                         \
        EACH_1(i, 12, lo, hi, __VA_ARGS__)                                                         \
        EACH_1(i, 13, lo, hi, __VA_ARGS__)                                                         \
        EACH_1(i, 14, lo, hi, __VA_ARGS__) EACH_1(i, 15, lo, hi, __VA_ARGS__)                      \
    } while (0)

/* The call's arguments, gathered so the tile helpers take one pointer. */
typedef struct conv_job {
    const float *const *x_taps;
    const float *const *w_taps;
    const float *bias;
    float *y;
    size_t rows, pixels, taps, channels, x_cstride, y_cstride, y_pstride;
} conv_job;

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

#endif
