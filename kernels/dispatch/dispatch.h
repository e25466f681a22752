/* Runtime ISA dispatch: detection results, the variant table and the per-plan kernel set. */
#ifndef TCONV_DISPATCH_H
#define TCONV_DISPATCH_H

#include "tconv.h"
#include "ukernels.h"

typedef enum tconv_isa {
#define TCONV_ISA(tag, arch) TCONV_ISA_##tag,
#include "isa.def"
#undef TCONV_ISA
    TCONV_ISA_COUNT
} tconv_isa;

typedef struct tconv_conv_variant {
    const char *name;
    tconv_conv_ukernel_fn *fn;
    size_t mr, nr;
} tconv_conv_variant;
typedef struct tconv_gemm_variant {
    const char *name;
    tconv_gemm_ukernel_fn *fn;
    size_t mr, nr;
} tconv_gemm_variant;
typedef struct tconv_col2im_variant {
    const char *name;
    tconv_col2im_ukernel_fn *fn;
    size_t mr, nr;
} tconv_col2im_variant;
typedef struct tconv_sparse_variant {
    const char *name;
    tconv_sparse_ukernel_fn *fn;
    size_t mr, nr;
} tconv_sparse_variant;
typedef struct tconv_sparse_store_variant {
    const char *name;
    tconv_sparse_store_ukernel_fn *fn;
    size_t mr, nr;
} tconv_sparse_store_variant;

/* The kernels one plan calls, copied into the plan so the hot path reads no globals. */
typedef struct tconv_kernels {
    tconv_isa isa;
    tconv_conv_variant conv;
    tconv_gemm_variant gemm;
    tconv_col2im_variant col2im;
    tconv_sparse_variant sparse;
    tconv_sparse_store_variant sparse_store;
} tconv_kernels;

/* Features the CPU and OS support, detected once. */
typedef struct tconv_cpu_features {
    int supported[TCONV_ISA_COUNT];
    tconv_cpu_info info;
} tconv_cpu_features;

/* Fills detected features for this architecture (x86/x86_features.c, arm/arm_features.c). */
void tconv_detect_cpu(tconv_cpu_features *out);

const char *tconv_isa_tag(tconv_isa isa);
int tconv_isa_from_tag(const char *tag, tconv_isa *out);
int tconv_isa_has_kernels(tconv_isa isa);

/* Kernels for the dispatcher's choice (isa_tag NULL) or an exact ISA; on failure sets the
 * thread's error message and returns TCONV_ERR_UNSUPPORTED (or INVALID for an unknown tag). */
tconv_status tconv_select_kernels(const char *isa_tag, tconv_kernels *out);

#endif
