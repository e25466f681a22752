/* The one include of the AVX-512 kernels: native <immintrin.h>, or SIMDe on AVX2+FMA for CI
 * machines without AVX-512 (TCONV_AVX512_EMULATED, set by CMake's TCONV_AVX512_EMULATION). */
#ifndef TCONV_AVX512_INTRIN_H
#define TCONV_AVX512_INTRIN_H

#if defined(TCONV_AVX512_EMULATED)
#include "avx512_simde.h"
#else
#include <immintrin.h>
#endif

#include <stddef.h>

/* Lanes [0, n) of a 16-float vector, for n <= 16 (all 16 for larger n). */
static inline __mmask16 lanes_upto(size_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

#endif
