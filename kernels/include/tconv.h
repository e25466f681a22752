/* tconv: 2D transposed convolution (PyTorch ConvTranspose2d semantics) on CPUs, public C11 API. */
#ifndef TCONV_H
#define TCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; everything declared here is exported. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Problem description. Tensors are NCHW and contiguous:
 *   x    [batch, in_channels, in_h, in_w]
 *   w    [in_channels, out_channels / groups, kernel_h, kernel_w]   (PyTorch's layout)
 *   bias [out_channels] or NULL
 *   y    [batch, out_channels, out_h, out_w], fully overwritten
 * out_h = (in_h - 1) * stride_h - 2 * pad_h + dilation_h * (kernel_h - 1) + out_pad_h + 1. */
typedef struct tconv_shape { /* 16 fields, all int64_t, in this order */
    int64_t batch, in_channels, out_channels, in_h, in_w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    int64_t out_pad_h, out_pad_w, dilation_h, dilation_w, groups;
} tconv_shape;

typedef enum tconv_status {
    TCONV_OK = 0,
    TCONV_ERR_INVALID = 1,    /* bad argument; tconv_last_error() names the field and value */
    TCONV_ERR_NOMEM = 2,      /* allocation failed; nothing leaked */
    TCONV_ERR_UNSUPPORTED = 3 /* not available in this build or on this CPU (e.g. a forced ISA) */
} tconv_status;

typedef enum tconv_algo {
    TCONV_ALGO_AUTO = 0,        /* picks one of the others per shape (documented heuristic) */
    TCONV_ALGO_REFERENCE = 1,   /* output-centric gather, double accumulation: the oracle */
    TCONV_ALGO_ZERO_INSERT = 2, /* insert zeros, pad, flip the kernel, stride-1 convolution */
    TCONV_ALGO_DIRECT = 3,      /* zero-free stride-phase (sub-pixel) decomposition */
    TCONV_ALGO_GEMM = 4,        /* col = W^T X with our blocked GEMM, then col2im */
    TCONV_ALGO_SPARSE = 5,      /* y = C^T x with C^T built once in CSR */
    TCONV_ALGO_GEMM_BLAS = 6    /* GEMM + col2im with OpenBLAS cblas_sgemm (one OpenBLAS thread
                                   per tile; the plan's threads run the tiles) */
} tconv_algo;

#define TCONV_ALGO_COUNT 7

/* ---- one-shot API ---------------------------------------------------------------------- */

tconv_status tconv_output_size(const tconv_shape *s, int64_t *out_h, int64_t *out_w);

/* Same as tconv_plan_create + tconv_plan_run + tconv_plan_destroy. */
tconv_status tconv_forward(const tconv_shape *s, tconv_algo algo, const float *x, const float *w,
                           const float *bias /* may be NULL */, float *y);

const char *tconv_status_string(tconv_status st);
/* Thread-local: why the last failing call on this thread failed ("" after a success). */
const char *tconv_last_error(void);
/* ISA tag the dispatcher selected: "scalar", "sse41", "avx2", "avx512" or "neon";
 * "none" when TCONV_FORCE_ISA / TCONV_MAX_ISA names an ISA that cannot be used. */
const char *tconv_active_isa(void);

/* ---- plan API: all per-shape work once, then cheap runs ------------------------------ */

typedef struct tconv_plan tconv_plan;

typedef struct tconv_plan_options {
    /* NULL: the dispatcher's choice (honours TCONV_MAX_ISA / TCONV_FORCE_ISA).
     * Otherwise an ISA tag to use exactly for this plan; it must be compiled in and supported
     * by the CPU, else TCONV_ERR_UNSUPPORTED. Benchmarks and tests use it to run every variant. */
    const char *isa;
    /* 0: TCONV_NUM_THREADS if set (and not ""), else every CPU this process may run on
     * (sched_getaffinity), but no more than one per 2^20 multiply-adds of the shape (a tiny
     * problem runs on the caller alone); 1: the calling thread only, no pool; N: exactly N
     * threads (the caller and N-1 pool workers). tconv_plan_threads says what was chosen.
     * Negative or above 4096: TCONV_ERR_INVALID. y is bit-for-bit the same for every count. */
    int threads;
    /* Optional pthreadpool_t owned by the caller (shared with XNNPACK, say); when set, threads
     * is ignored and the plan runs on that pool, which must outlive the plan. */
    void *threadpool;
    /* Reserved for tuning (single-core performance and AUTO); must be 0 (else INVALID). */
    int tune;
} tconv_plan_options;

/* Validates the shape, resolves dispatch, packs the weights (copied: w and bias may be freed
 * after this call), builds algorithm tables and allocates scratch. */
tconv_status tconv_plan_create(const tconv_shape *s, tconv_algo algo, const float *w,
                               const float *bias, tconv_plan **out);
tconv_status tconv_plan_create_ex(const tconv_shape *s, tconv_algo algo, const float *w,
                                  const float *bias, const tconv_plan_options *options,
                                  tconv_plan **out);
/* Computes y from x on the plan's threads. A plan owns scratch memory: run one plan from one
 * caller thread at a time (create one plan per caller thread to run the same shape concurrently;
 * plans may share a caller's pool, whose parallel sections then take turns). */
tconv_status tconv_plan_run(tconv_plan *plan, const float *x, float *y);
void tconv_plan_destroy(tconv_plan *plan); /* NULL is ignored */

tconv_algo tconv_plan_algo(const tconv_plan *plan);     /* resolved: never AUTO */
const char *tconv_plan_isa(const tconv_plan *plan);     /* ISA tag of the plan's kernels */
size_t tconv_plan_memory_bytes(const tconv_plan *plan); /* packed weights + tables + scratch */
/* Threads a plan runs on, the calling thread included (1: no pool); 0 for NULL. */
int tconv_plan_threads(const tconv_plan *plan);

/* ---- introspection ---------------------------------------------------------------------- */

const char *tconv_algo_name(tconv_algo algo); /* "direct", ...; NULL for an unknown value */
/* Parses an algorithm name; returns TCONV_ERR_INVALID for an unknown one. */
tconv_status tconv_algo_from_name(const char *name, tconv_algo *out);

/* FLOP counts (one multiply-add = 2 FLOPs): nominal = 2*N*Cin*(Cout/g)*Kh*Kw*H*W; useful counts
 * only the taps that land inside the output (cropped by padding), as oneDNN's benchdnn does. */
tconv_status tconv_flops(const tconv_shape *s, double *nominal, double *useful);

/* ISA tags known to this build, in priority order within each architecture. */
int tconv_isa_count(void);
const char *tconv_isa_name(int index);    /* NULL when out of range */
int tconv_isa_compiled(const char *tag);  /* 1 when this build has kernels for the ISA */
int tconv_isa_supported(const char *tag); /* 1 when the CPU and OS can run it */

/* Every compiled micro-kernel variant in variants.def order, e.g.
 * "tconv_f32_gemm_ukernel_4x4__scalar" (the ISA tag follows the double underscore). */
int tconv_variant_count(void);
const char *tconv_variant_name(int index); /* NULL when out of range */

typedef struct tconv_cpu_info {
    char vendor[32];
    char brand[64];
    int family, model, stepping;
    int l1d_kb, l2_kb, l3_kb; /* -1 when unknown */
    char detection[128];      /* how features were detected and any correction applied */
} tconv_cpu_info;
tconv_status tconv_get_cpu_info(tconv_cpu_info *out);

/* Name of the micro-kernel an algorithm uses for one of its hot loops under an ISA, e.g.
 * tconv_kernel_name(TCONV_ALGO_DIRECT, 0, "avx2") == "tconv_f32_conv_ukernel_4x1__scalar".
 * Returns NULL when the algorithm has no loop with that index or the ISA is unknown.
 * isa NULL means the dispatcher's current choice. */
const char *tconv_kernel_name(tconv_algo algo, int loop_index, const char *isa);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* TCONV_H */
