/* x86 without CPU identification: scalar only, said so, and SIMD ISAs refused as unsupported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libcpuid.h>

#include "testutil.h"

/* This definition takes the place of libcpuid's for the statically linked library, as on a
 * (virtual) machine without the CPUID instruction or where libcpuid cannot read it. */
int cpuid_present(void) { return 0; }

/* Run as `test_cpuid_failure` (no TCONV_* variables) or `test_cpuid_failure forced` with
 * TCONV_FORCE_ISA=avx2 (tests/CMakeLists.txt sets the environment). */
static int forced_mode;

static void expect_message_has(const char *needle) {
    if (strstr(tconv_last_error(), needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", tconv_last_error(), needle);
}

static void test_detection_reports_failure(void **state) {
    (void)state;
    tconv_cpu_info cpu;
    assert_int_equal(tconv_get_cpu_info(&cpu), TCONV_OK);
    printf("brand \"%s\", detection \"%s\"\n", cpu.brand, cpu.detection);
    assert_string_equal(cpu.brand, "unknown x86 CPU");
    assert_non_null(strstr(cpu.detection, "libcpuid failed"));
    assert_non_null(strstr(cpu.detection, "scalar only"));
    assert_int_equal(cpu.l1d_kb, -1); /* unknown, not 0 */
    assert_int_equal(cpu.l2_kb, -1);
    assert_int_equal(cpu.l3_kb, -1);
    /* SIMD ISAs are compiled in but not claimed for a CPU nobody identified. */
    static const char *const simd[] = {"sse41", "avx2", "avx512"};
    assert_true(tconv_isa_supported("scalar"));
    for (size_t i = 0; i < sizeof simd / sizeof simd[0]; i++)
        if (tconv_isa_supported(simd[i])) fail_msg("%s claimed as supported", simd[i]);
}

/* By default the library still works, on scalar kernels. */
static void test_default_is_scalar(void **state) {
    (void)state;
    if (forced_mode) skip();
    assert_string_equal(tconv_active_isa(), "scalar");
    tconv_shape s = {1, 2, 3, 4, 5, 3, 3, 2, 1, 1, 0, 1, 0, 1, 1, 1};
    assert_true(tu_run_case(&s, TCONV_ALGO_DIRECT, NULL, 5, 1));
    assert_true(tu_run_case(&s, TCONV_ALGO_GEMM, "scalar", 6, 0));
}

/* Asking for a SIMD ISA of a compiled build, per plan or per process, is refused as unsupported
 * (not as "not compiled"), naming the request. */
static void test_simd_refused(void **state) {
    (void)state;
    tconv_shape s = {1, 2, 3, 4, 5, 3, 3, 2, 1, 1, 0, 1, 0, 1, 1, 1};
    float w[2 * 3 * 9] = {0};
    tconv_plan *plan = (tconv_plan *)&s;
    if (!tconv_isa_compiled("avx2")) {
        printf("skip: avx2 not compiled into this build\n");
        skip();
    }
    if (forced_mode) {
        assert_string_equal(tconv_active_isa(), "none");
        assert_int_equal(tconv_plan_create(&s, TCONV_ALGO_DIRECT, w, NULL, &plan),
                         TCONV_ERR_UNSUPPORTED);
        expect_message_has("TCONV_FORCE_ISA=avx2");
    } else {
        tconv_plan_options opt = {.isa = "avx2"};
        assert_int_equal(tconv_plan_create_ex(&s, TCONV_ALGO_DIRECT, w, NULL, &opt, &plan),
                         TCONV_ERR_UNSUPPORTED);
        expect_message_has("options.isa=avx2");
    }
    expect_message_has("not supported by this CPU");
    expect_message_has("unknown x86 CPU");
    assert_null(plan);
}

int main(int argc, char **argv) {
    forced_mode = argc > 1 && strcmp(argv[1], "forced") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection_reports_failure),
        cmocka_unit_test(test_default_is_scalar),
        cmocka_unit_test(test_simd_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
