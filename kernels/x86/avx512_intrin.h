/* The one include of the AVX-512 kernels: native <immintrin.h>, or SIMDe on AVX2+FMA for CI
 * machines without AVX-512 (TCONV_AVX512_EMULATED, set by CMake's TCONV_AVX512_EMULATION). */
#ifndef TCONV_AVX512_INTRIN_H
#define TCONV_AVX512_INTRIN_H

#if defined(TCONV_AVX512_EMULATED)
#include "avx512_simde.h"
#else
#include <immintrin.h>
#endif

#endif
