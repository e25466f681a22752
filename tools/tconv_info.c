/* tconv-info: prints the CPU, the ISAs detected and compiled, and each algorithm's kernels. */
#include <stdio.h>
#include <string.h>

#include "tconv.h"

static void print_isas(void) {
    printf("%-8s %-9s %-9s\n", "isa", "compiled", "supported");
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *tag = tconv_isa_name(i);
        printf("%-8s %-9s %-9s\n", tag, tconv_isa_compiled(tag) ? "yes" : "no",
               tconv_isa_supported(tag) ? "yes" : "no");
    }
}

static void print_kernels(void) {
    printf("\nselected ISA: %s\n", tconv_active_isa());
    if (*tconv_last_error()) printf("  (%s)\n", tconv_last_error());
    for (int a = TCONV_ALGO_REFERENCE; a < TCONV_ALGO_COUNT; a++) {
        printf("%-12s", tconv_algo_name((tconv_algo)a));
        for (int loop = 0; loop < 3; loop++) {
            const char *name = tconv_kernel_name((tconv_algo)a, loop, NULL);
            if (name) printf(" %s", name);
        }
        if (tconv_kernel_name((tconv_algo)a, 0, NULL) == NULL) printf(" (%s)", tconv_last_error());
        printf("\n");
    }
}

int main(void) {
    tconv_cpu_info cpu;
    tconv_get_cpu_info(&cpu);
    printf("cpu: %s (vendor %s, family %d, model %d, stepping %d)\n", cpu.brand, cpu.vendor,
           cpu.family, cpu.model, cpu.stepping);
    printf("caches: L1d %d KiB, L2 %d KiB, L3 %d KiB\n", cpu.l1d_kb, cpu.l2_kb, cpu.l3_kb);
    printf("detection: %s\n", cpu.detection);
    /* TCONV_AVX512_EMULATION test builds say so in the detection string (x86_features.c). */
    if (strstr(cpu.detection, "avx512: emulated"))
        printf("avx512: emulated (SIMDe on AVX2+FMA; a test build: avx512 speed and code are not "
               "AVX-512's)\n");
    printf("\n");
    print_isas();
    print_kernels();
    return 0;
}
