# Dispatch tests: dispatch is resolved once per process from the environment, so the same binary
# runs once per environment, each ctest entry with its own mode argument and variables.

# Huge requests in test_validation (the NOMEM cases) must return NULL under ASan, not abort.
set_tests_properties(test_validation PROPERTIES ENVIRONMENT "ASAN_OPTIONS=allocator_may_return_null=1")

add_executable(test_dispatch test_dispatch.c)
target_link_libraries(test_dispatch PRIVATE tconv_testutil Threads::Threads)

# An ISA tag of the other architecture: never compiled into this build.
if(TCONV_ARCH STREQUAL "arm")
  set(TCONV_FOREIGN_ISA avx2)
  set(TCONV_ARCH_ISAS scalar neon)
  set(TCONV_CAP_ISAS scalar)
elseif(TCONV_ARCH STREQUAL "x86")
  set(TCONV_FOREIGN_ISA neon)
  set(TCONV_ARCH_ISAS scalar sse41 avx2 avx512)
  set(TCONV_CAP_ISAS scalar avx2)
else()
  set(TCONV_FOREIGN_ISA neon)
  set(TCONV_ARCH_ISAS scalar)
  set(TCONV_CAP_ISAS scalar)
endif()

# tconv_add_dispatch_test(name FORCE value-or-"" MAX value-or-"" ARGS mode...): variables given
# as "" are unset, so a developer's own TCONV_* settings cannot leak into a test.
function(tconv_add_dispatch_test name)
  cmake_parse_arguments(PARSE_ARGV 1 T "" "FORCE;MAX" "ARGS")
  set(mods)
  foreach(var FORCE MAX)
    if(T_${var} STREQUAL "")
      list(APPEND mods "TCONV_${var}_ISA=unset:")
    else()
      list(APPEND mods "TCONV_${var}_ISA=set:${T_${var}}")
    endif()
  endforeach()
  add_test(NAME ${name} COMMAND test_dispatch ${T_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS dispatch ENVIRONMENT_MODIFICATION "${mods}"
                                          TIMEOUT 120)
endfunction()

# 8 threads whose first library call is simultaneous; the default is the highest usable ISA.
tconv_add_dispatch_test(test_dispatch_default ARGS default)
# Unusable values are refused loudly (status, message naming the variable, value and reason).
tconv_add_dispatch_test(test_dispatch_force_bogus FORCE bogus ARGS refused TCONV_FORCE_ISA)
tconv_add_dispatch_test(test_dispatch_force_foreign FORCE ${TCONV_FOREIGN_ISA}
                        ARGS refused TCONV_FORCE_ISA)
tconv_add_dispatch_test(test_dispatch_max_bogus MAX bogus ARGS refused TCONV_MAX_ISA)
tconv_add_dispatch_test(test_dispatch_max_foreign MAX ${TCONV_FOREIGN_ISA} ARGS refused TCONV_MAX_ISA)
# A cap picks the highest usable ISA not above it.
foreach(isa IN LISTS TCONV_CAP_ISAS)
  tconv_add_dispatch_test(test_dispatch_max_${isa} MAX ${isa} ARGS max-check)
endforeach()
# Each ISA of this architecture forced in turn; unavailable ones are reported as skipped.
foreach(isa IN LISTS TCONV_ARCH_ISAS)
  tconv_add_dispatch_test(test_dispatch_force_${isa} FORCE ${isa} ARGS force-check)
  set_tests_properties(test_dispatch_force_${isa} PROPERTIES
                       SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endforeach()

# x86 without CPU identification (libcpuid's cpuid_present replaced by the test): scalar by
# default, and SIMD ISAs refused as unsupported per plan and through TCONV_FORCE_ISA.
if(TCONV_ARCH STREQUAL "x86")
  add_executable(test_cpuid_failure test_cpuid_failure.c)
  target_link_libraries(test_cpuid_failure PRIVATE tconv_testutil)
  add_test(NAME test_cpuid_failure COMMAND test_cpuid_failure)
  add_test(NAME test_cpuid_failure_forced COMMAND test_cpuid_failure forced)
  set_tests_properties(test_cpuid_failure PROPERTIES LABELS dispatch ENVIRONMENT_MODIFICATION
                       "TCONV_FORCE_ISA=unset:;TCONV_MAX_ISA=unset:")
  set_tests_properties(test_cpuid_failure_forced PROPERTIES LABELS dispatch ENVIRONMENT_MODIFICATION
                       "TCONV_FORCE_ISA=set:avx2;TCONV_MAX_ISA=unset:")
endif()
