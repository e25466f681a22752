#!/usr/bin/env bash
# ThreadSanitizer: builds build/tsan (clang -fsanitize=thread) and runs the threaded tests under it.
# pthreadpool is Debian's uninstrumented library; kernels/core/parallel.c tells TSan about its
# hand-offs (caller -> tasks -> caller), so races between our own tasks are still reported.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/tsan"
jobs=$(nproc)

echo "== clang ThreadSanitizer build =="
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTCONV_WERROR=ON \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread"
cmake --build "$build" -j "$jobs" --target test_threads test_dispatch

# test_threads: options, caller pools, two plans at once (own pools and a shared one), and the
# determinism matrix at 1, 2, 3 and 7 threads; test_dispatch_default: concurrent first use.
# halt_on_error: a race fails the run instead of scrolling past.
echo "== ctest under ThreadSanitizer =="
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir "$build" --output-on-failure -j "$jobs" -R '^(test_threads|test_dispatch_default)$'
echo "test-tsan: passed"
