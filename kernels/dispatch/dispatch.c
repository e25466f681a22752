/* Runtime dispatch: resolves TCONV_MAX_ISA / TCONV_FORCE_ISA once and picks kernels per family. */
#include "dispatch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"

static const char *const isa_tags[TCONV_ISA_COUNT] = {
#define TCONV_ISA(tag, arch) #tag,
#include "isa.def"
#undef TCONV_ISA
};

static const char *const isa_archs[TCONV_ISA_COUNT] = {
#define TCONV_ISA(tag, arch) #arch,
#include "isa.def"
#undef TCONV_ISA
};

#if defined(__x86_64__) || defined(_M_X64)
#define TCONV_HOST_ARCH "x86"
#elif defined(__aarch64__)
#define TCONV_HOST_ARCH "arm"
#else
#define TCONV_HOST_ARCH "generic"
#endif

/* Priority only orders ISAs of one architecture, so a cap must name one of them. */
static int isa_of_this_arch(tconv_isa isa) {
    return strcmp(isa_archs[isa], "any") == 0 || strcmp(isa_archs[isa], TCONV_HOST_ARCH) == 0;
}

typedef enum {
    FAMILY_conv,
    FAMILY_gemm,
    FAMILY_col2im,
    FAMILY_sparse,
    FAMILY_sparse_store
} kernel_family;

typedef struct variant_entry {
    kernel_family family;
    tconv_isa isa;
    const char *name;
    union {
        tconv_conv_ukernel_fn *conv;
        tconv_gemm_ukernel_fn *gemm;
        tconv_col2im_ukernel_fn *col2im;
        tconv_sparse_ukernel_fn *sparse;
        tconv_sparse_store_ukernel_fn *sparse_store;
    } fn;
    size_t mr, nr;
} variant_entry;

static const variant_entry variant_table[] = {
#define TCONV_UKERNEL(family, isa, symbol, mr, nr)                                                 \
    {FAMILY_##family, TCONV_ISA_##isa, #symbol, {.family = symbol}, mr, nr},
#include "variants.def"
#undef TCONV_UKERNEL
};
#define VARIANT_COUNT (sizeof variant_table / sizeof variant_table[0])

/* What the environment asked for, resolved once for the whole process. */
typedef struct dispatch_state {
    tconv_cpu_features features;
    tconv_isa chosen;  /* highest usable ISA under the cap, or the forced one */
    int usable;        /* 0 when TCONV_FORCE_ISA / TCONV_MAX_ISA cannot be honoured */
    char refusal[192]; /* why not usable */
} dispatch_state;

static dispatch_state state;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

const char *tconv_isa_tag(tconv_isa isa) {
    return (unsigned)isa < TCONV_ISA_COUNT ? isa_tags[isa] : NULL;
}

int tconv_isa_from_tag(const char *tag, tconv_isa *out) {
    for (int i = 0; tag && i < TCONV_ISA_COUNT; i++) {
        if (strcmp(tag, isa_tags[i]) == 0) {
            *out = (tconv_isa)i;
            return 1;
        }
    }
    return 0;
}

int tconv_isa_has_kernels(tconv_isa isa) {
    for (size_t i = 0; i < VARIANT_COUNT; i++)
        if (variant_table[i].isa == isa) return 1;
    return 0;
}

static int isa_usable(const dispatch_state *st, tconv_isa isa) {
    return st->features.supported[isa] && tconv_isa_has_kernels(isa);
}

/* Explains why `isa` cannot be used, or returns 0 when it can. */
static int describe_unusable(const dispatch_state *st, const char *var, tconv_isa isa, char *msg,
                             size_t n) {
    if (!tconv_isa_has_kernels(isa)) {
        snprintf(msg, n, "%s=%s: ISA '%s' is not compiled into this build of tconv", var,
                 isa_tags[isa], isa_tags[isa]);
        return 1;
    }
    if (!st->features.supported[isa]) {
        snprintf(msg, n, "%s=%s: ISA '%s' is not supported by this CPU/OS (%s)", var, isa_tags[isa],
                 isa_tags[isa], st->features.info.brand);
        return 1;
    }
    return 0;
}

static void resolve_environment(dispatch_state *st) {
    const char *force = getenv("TCONV_FORCE_ISA");
    const char *cap = getenv("TCONV_MAX_ISA");
    tconv_isa isa;
    st->usable = 1;
    if (force && *force) {
        if (!tconv_isa_from_tag(force, &isa)) {
            snprintf(st->refusal, sizeof st->refusal,
                     "TCONV_FORCE_ISA=%s: unknown ISA (use scalar, sse41, avx2, avx512 or neon)",
                     force);
            st->usable = 0;
        } else if (describe_unusable(st, "TCONV_FORCE_ISA", isa, st->refusal, sizeof st->refusal)) {
            st->usable = 0;
        } else {
            st->chosen = isa;
        }
        return;
    }
    tconv_isa limit = (tconv_isa)(TCONV_ISA_COUNT - 1);
    if (cap && *cap && !tconv_isa_from_tag(cap, &limit)) {
        snprintf(st->refusal, sizeof st->refusal,
                 "TCONV_MAX_ISA=%s: unknown ISA (use scalar, sse41, avx2, avx512 or neon)", cap);
        st->usable = 0;
        return;
    }
    if (cap && *cap && !isa_of_this_arch(limit)) {
        snprintf(st->refusal, sizeof st->refusal,
                 "TCONV_MAX_ISA=%s: ISA '%s' is not compiled into this build of tconv (it is not "
                 "an ISA of this architecture, %s)",
                 cap, cap, TCONV_HOST_ARCH);
        st->usable = 0;
        return;
    }
    st->chosen = TCONV_ISA_scalar;
    for (int i = 0; i <= (int)limit; i++)
        if (isa_usable(st, (tconv_isa)i)) st->chosen = (tconv_isa)i;
}

static void init_state(void) {
    tconv_detect_cpu(&state.features);
    state.features.supported[TCONV_ISA_scalar] = 1;
    resolve_environment(&state);
}

static const dispatch_state *get_state(void) {
    pthread_once(&state_once, init_state);
    return &state;
}

/* Best variant of a family whose ISA is at most `isa` (priority is the isa.def order). */
static const variant_entry *best_variant(kernel_family family, tconv_isa isa) {
    const variant_entry *best = NULL;
    for (size_t i = 0; i < VARIANT_COUNT; i++) {
        const variant_entry *v = &variant_table[i];
        if (v->family != family || v->isa > isa) continue;
        if (best == NULL || v->isa > best->isa) best = v;
    }
    return best;
}

/* Fills the kernel set for an ISA already known to be usable. */
static void fill_kernels(tconv_isa isa, tconv_kernels *k) {
    const variant_entry *v;
    k->isa = isa;
    v = best_variant(FAMILY_conv, isa);
    k->conv = (tconv_conv_variant){v->name, v->fn.conv, v->mr, v->nr};
    v = best_variant(FAMILY_gemm, isa);
    k->gemm = (tconv_gemm_variant){v->name, v->fn.gemm, v->mr, v->nr};
    v = best_variant(FAMILY_col2im, isa);
    k->col2im = (tconv_col2im_variant){v->name, v->fn.col2im, v->mr, v->nr};
    v = best_variant(FAMILY_sparse, isa);
    k->sparse = (tconv_sparse_variant){v->name, v->fn.sparse, v->mr, v->nr};
    v = best_variant(FAMILY_sparse_store, isa);
    k->sparse_store = (tconv_sparse_store_variant){v->name, v->fn.sparse_store, v->mr, v->nr};
}

tconv_status tconv_select_kernels(const char *isa_tag, tconv_kernels *out) {
    const dispatch_state *st = get_state();
    if (isa_tag == NULL) {
        if (!st->usable) return tconv_fail(TCONV_ERR_UNSUPPORTED, "%s", st->refusal);
        fill_kernels(st->chosen, out);
        return TCONV_OK;
    }
    tconv_isa isa;
    if (!tconv_isa_from_tag(isa_tag, &isa))
        return tconv_fail(TCONV_ERR_INVALID, "options.isa (%s) is not a known ISA tag", isa_tag);
    char msg[192];
    if (describe_unusable(st, "options.isa", isa, msg, sizeof msg))
        return tconv_fail(TCONV_ERR_UNSUPPORTED, "%s", msg);
    fill_kernels(isa, out);
    return TCONV_OK;
}

/* ---- public introspection ---- */

const char *tconv_active_isa(void) {
    const dispatch_state *st = get_state();
    return st->usable ? isa_tags[st->chosen] : "none";
}

int tconv_isa_count(void) { return TCONV_ISA_COUNT; }

const char *tconv_isa_name(int index) {
    return index >= 0 && index < TCONV_ISA_COUNT ? isa_tags[index] : NULL;
}

int tconv_variant_count(void) { return (int)VARIANT_COUNT; }

const char *tconv_variant_name(int index) {
    return index >= 0 && (size_t)index < VARIANT_COUNT ? variant_table[index].name : NULL;
}

int tconv_isa_compiled(const char *tag) {
    tconv_isa isa;
    return tconv_isa_from_tag(tag, &isa) && tconv_isa_has_kernels(isa);
}

int tconv_isa_supported(const char *tag) {
    tconv_isa isa;
    return tconv_isa_from_tag(tag, &isa) && get_state()->features.supported[isa];
}

tconv_status tconv_get_cpu_info(tconv_cpu_info *out) {
    if (out == NULL) return tconv_fail(TCONV_ERR_INVALID, "cpu info output pointer is NULL");
    *out = get_state()->features.info;
    return tconv_succeed();
}
