/* AVX-512 intrinsics through SIMDe on AVX2+FMA, plus the six the Debian SIMDe 0.7.4 lacks. */
#ifndef TCONV_AVX512_SIMDE_H
#define TCONV_AVX512_SIMDE_H

/* The emulated build must not contain one AVX-512 instruction: it proves on machines with
 * AVX-512 that SIMDe, not the CPU, ran the kernels (scripts/test-avx512-emulated.sh checks the
 * objects). With __AVX512F__ SIMDe would forward to the native intrinsics. */
#if defined(__AVX512F__)
#error "TCONV_AVX512_EMULATED needs -mno-avx512f: SIMDe would use native AVX-512"
#endif

/* _mm512_* names and __m512 map to simde_mm512_* / simde__m512. */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

/* Masked load and store lane by lane: a masked-off lane is never read or written, as with the
 * hardware instructions (they do not fault there); tail loads at a guard page depend on it. A
 * plain 64-byte load or store through a temporary would touch the lanes past the mask. */
static inline simde__m512 tconv_simde_maskz_loadu_ps(simde__mmask16 k, const void *mem) {
    const float *src = (const float *)mem;
    float lanes[16] = {0};
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) lanes[i] = src[i];
    return simde_mm512_loadu_ps(lanes);
}

static inline void tconv_simde_mask_storeu_ps(void *mem, simde__mmask16 k, simde__m512 a) {
    float *dst = (float *)mem;
    float lanes[16];
    simde_mm512_storeu_ps(lanes, a);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) dst[i] = lanes[i];
}

/* Lanes outside k keep c: the products there are computed and dropped (rowconv's masked lanes,
 * where a product could be 0 * inf, only need the result to be c). */
static inline simde__m512 tconv_simde_mask3_fmadd_ps(simde__m512 a, simde__m512 b, simde__m512 c,
                                                     simde__mmask16 k) {
    return simde_mm512_mask_mov_ps(c, k, simde_mm512_fmadd_ps(a, b, c));
}

static inline float tconv_simde_cvtss_f32(simde__m512 a) {
    float lanes[16];
    simde_mm512_storeu_ps(lanes, a);
    return lanes[0];
}

/* Lanes set in k take a's lowest lanes in order, the others zero (col2im's rows in registers). */
static inline simde__m512 tconv_simde_maskz_expand_ps(simde__mmask16 k, simde__m512 a) {
    float in[16], out[16] = {0};
    simde_mm512_storeu_ps(in, a);
    for (int i = 0, next = 0; i < 16; i++)
        if ((k >> i) & 1) out[i] = in[next++];
    return simde_mm512_loadu_ps(out);
}

/* Macros, like SIMDe's own aliases, so they win over the declarations in <immintrin.h>, which
 * SIMDe includes for its AVX2 paths. That header (gcc and clang declare the AVX-512 types without
 * -mavx512f) also gives the kernels __mmask16, the same unsigned 16-bit type as simde__mmask16. */
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_cvtss_f32
#undef _mm512_mask3_fmadd_ps
#undef _mm512_shuffle_f32x4
#undef _mm512_maskz_expand_ps
#define _mm512_maskz_loadu_ps(k, mem) tconv_simde_maskz_loadu_ps((k), (mem))
#define _mm512_mask_storeu_ps(mem, k, a) tconv_simde_mask_storeu_ps((mem), (k), (a))
#define _mm512_cvtss_f32(a) tconv_simde_cvtss_f32((a))
#define _mm512_mask3_fmadd_ps(a, b, c, k) tconv_simde_mask3_fmadd_ps((a), (b), (c), (k))
#define _mm512_maskz_expand_ps(k, a) tconv_simde_maskz_expand_ps((k), (a))
/* SIMDe has the function (a macro over its shuffle_i32x4) but no native alias for it. */
#define _mm512_shuffle_f32x4(a, b, imm8) simde_mm512_shuffle_f32x4((a), (b), (imm8))

#endif
