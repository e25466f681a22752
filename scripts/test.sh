#!/usr/bin/env bash
# Sets up, then builds and runs every test: gcc Release (-Werror), clang ASan+UBSan, AVX-512 under
# SIMDe emulation (ASan+UBSan), ThreadSanitizer (threaded tests), AArch64 under qemu.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

bash "$root/scripts/setup.sh"

echo "== gcc Release build, warnings as errors (test.sh at ${SECONDS} s) =="
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
  -DTCONV_WERROR=ON
cmake --build "$root/build/release" -j "$jobs"
ctest --test-dir "$root/build/release" --output-on-failure -j "$jobs"

echo "== clang AddressSanitizer + UndefinedBehaviorSanitizer build (test.sh at ${SECONDS} s) =="
cmake -S "$root" -B "$root/build/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTCONV_WERROR=ON -DTCONV_SANITIZE=ON
cmake --build "$root/build/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build/asan" --output-on-failure -j "$jobs"

echo "== AVX-512 kernels under SIMDe emulation (AVX2+FMA underneath), clang ASan+UBSan (test.sh at ${SECONDS} s) =="
bash "$root/scripts/test-avx512-emulated.sh"

echo "== clang ThreadSanitizer build of the threaded tests (test.sh at ${SECONDS} s) =="
bash "$root/scripts/test-tsan.sh"

echo "== AArch64 cross build, NEON, tests under qemu-aarch64 (test.sh at ${SECONDS} s) =="
bash "$root/scripts/test-neon.sh"
echo "== test.sh done in ${SECONDS} s =="
