/* Variant list: the expected number of micro-kernels is compiled, one per family and ISA, named by
 * scheme. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tconv.h"

#ifndef TCONV_EXPECTED_VARIANTS
#error "CMake passes TCONV_EXPECTED_VARIANTS: compiled ISAs x kernel families"
#endif

static const char *const families[] = {"conv", "gemm", "col2im", "sparse", "sparse_store"};

/* CMake derives the count from the ISAs its probes compiled; a missing file or row fails here. */
static void test_expected_count(void **state) {
    (void)state;
    printf("compiled variants: %d (expected %d)\n", tconv_variant_count(), TCONV_EXPECTED_VARIANTS);
    for (int i = 0; i < tconv_variant_count(); i++) printf("  %s\n", tconv_variant_name(i));
    assert_int_equal(tconv_variant_count(), TCONV_EXPECTED_VARIANTS);
    assert_null(tconv_variant_name(tconv_variant_count()));
    assert_null(tconv_variant_name(-1));
}

/* Does `name` follow tconv_f32_<family>_ukernel_...__<isa>? */
static int named_as(const char *name, const char *family, const char *isa) {
    char prefix[64], suffix[32];
    snprintf(prefix, sizeof prefix, "tconv_f32_%s_ukernel_", family);
    snprintf(suffix, sizeof suffix, "__%s", isa);
    size_t n = strlen(name), m = strlen(suffix);
    return strncmp(name, prefix, strlen(prefix)) == 0 && n > m && strcmp(name + n - m, suffix) == 0;
}

/* Every compiled ISA has exactly one variant of every family, so no algorithm falls back quietly.
 */
static void test_one_per_family_and_isa(void **state) {
    (void)state;
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa)) continue;
        for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
            int found = 0;
            for (int v = 0; v < tconv_variant_count(); v++)
                found += named_as(tconv_variant_name(v), families[f], isa);
            if (found != 1)
                fail_msg("ISA %s has %d %s variants, expected 1", isa, found, families[f]);
        }
    }
}

/* A plan pinned to an ISA uses that ISA's kernels (not a lower fallback). */
static void test_plans_use_their_isa(void **state) {
    (void)state;
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *isa = tconv_isa_name(i);
        if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
        for (int a = TCONV_ALGO_ZERO_INSERT; a <= TCONV_ALGO_SPARSE; a++) {
            const char *kernel = tconv_kernel_name((tconv_algo)a, 0, isa);
            assert_non_null(kernel);
            char suffix[32];
            snprintf(suffix, sizeof suffix, "__%s", isa);
            if (strstr(kernel, suffix) == NULL)
                fail_msg("algo %s under %s uses %s", tconv_algo_name((tconv_algo)a), isa, kernel);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_count),
        cmocka_unit_test(test_one_per_family_and_isa),
        cmocka_unit_test(test_plans_use_their_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
