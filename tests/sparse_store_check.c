/* sparse_store_check: every compiled sparse store-back kernel the CPU supports against its
 * definition, y[j] = bias + acc[(j % stride) * phase_stride + j / stride], for strides 1..70 and
 * row lengths 1..300; nothing past y[n - 1] is written and no junk acc column is read. Plain C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/ukernels.h"
#include "tconv.h"

typedef struct store_variant {
    const char *isa, *name;
    tconv_sparse_store_ukernel_fn *fn;
} store_variant;

/* The variant table, from the dispatcher's X-macro list: sparse_store rows only. */
#define TCONV_UKERNEL(family, isa, symbol, mr, nr) TCONV_UKERNEL_##family(isa, symbol)
#define TCONV_UKERNEL_sparse_store(isa, symbol) {#isa, #symbol, symbol},
#define TCONV_UKERNEL_gemm(isa, symbol)
#define TCONV_UKERNEL_conv(isa, symbol)
#define TCONV_UKERNEL_col2im(isa, symbol)
#define TCONV_UKERNEL_sparse(isa, symbol)
static const store_variant variants[] = {
#include "dispatch/variants.def"
};
#undef TCONV_UKERNEL

#define SLACK 40
#define SENTINEL 1234.5f

static int checks, failures;

/* One (n, stride) case: phase rows 3 floats longer than their cells, the extra ones NaN (a junk
 * column read into y would show), acc ending right after the last phase. */
static void check_case(const store_variant *v, size_t n, size_t stride) {
    size_t phases = stride < n ? stride : n, cells = (n + stride - 1) / stride;
    size_t phase_stride = cells + 3;
    float *acc = malloc(phases * phase_stride * sizeof *acc);
    float *y = malloc((n + SLACK) * sizeof *y);
    for (size_t i = 0; i < phases * phase_stride; i++)
        acc[i] = i % phase_stride < (n - i / phase_stride + stride - 1) / stride
                     ? (float)((i * 7919) % 1000) * 0.25f - 100.0f
                     : NAN;
    for (size_t j = 0; j < n + SLACK; j++) y[j] = SENTINEL;
    const float bias = 0.5f;
    v->fn(n, stride, acc, phase_stride, bias, y);
    for (size_t j = 0; j < n + SLACK; j++) {
        float want = j < n ? bias + acc[(j % stride) * phase_stride + j / stride] : SENTINEL;
        checks++;
        if (!(y[j] == want)) {
            if (failures++ < 10)
                printf("  %s: n %zu stride %zu: y[%zu] = %g, expected %g\n", v->name, n, stride, j,
                       y[j], want);
        }
    }
    free(acc), free(y);
}

int main(void) {
    int tested = 0, skipped = 0;
    printf("sparse_store_check: strides 1..70, n 1..300, exact values, sentinels past n\n");
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const store_variant *v = &variants[i];
        if (!tconv_isa_supported(v->isa)) {
            printf("  %-46s skipped: this CPU lacks %s\n", v->name, v->isa);
            skipped++;
            continue;
        }
        int before = failures;
        for (size_t stride = 1; stride <= 70; stride++)
            for (size_t n = 1; n <= 300; n += n < 40 ? 1 : 7) check_case(v, n, stride);
        printf("  %-46s %s\n", v->name, failures == before ? "ok" : "FAILED");
        tested++;
    }
    printf("%d variants tested, %d skipped, %d values checked, %d failed\n", tested, skipped,
           checks, failures);
    return failures != 0 || tested == 0;
}
