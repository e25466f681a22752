#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan + UBSan, tests/fuzz/) in build/fuzz and fuzzes the API
# for a bounded time: bash scripts/fuzz.sh [seconds] (default 60). Fails on any finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds]  (a positive whole number of seconds; default 60)" >&2
  exit 2
fi

# What this script needs on Debian 12: clang 14 and its libFuzzer/sanitizer runtimes, plus the
# library's own build dependencies (scripts/setup.sh installs more; it is not needed here).
packages=(build-essential cmake pkg-config clang libclang-rt-14-dev libcpuid-dev libcmocka-dev
          libopenblas-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  echo "fuzz: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

build="$root/build/fuzz"
echo "== building tconv-fuzz (clang, -fsanitize=fuzzer,address,undefined) in $build =="
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTCONV_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target tconv-fuzz
fuzzer="$build/tests/fuzz/tconv-fuzz"

# The fuzzer adds inputs to its corpus directory: it works on a copy in build/, never on the
# committed seeds. Inputs found by earlier runs stay in the copy.
corpus="$build/corpus"
artifacts="$build/artifacts"
log="$build/fuzz.log"
mkdir -p "$corpus" "$artifacts"
cp "$root"/tests/fuzz/corpus/* "$corpus"/
rm -f "$artifacts"/*

echo "== fuzzing for $seconds s (1 job; corpus $corpus, artifacts $artifacts, log $log) =="
rc=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=256 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" 2>&1 | tee "$log" || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
echo "== fuzz: ${execs:-?} executions in total, ${rate:-?} execs/s =="
found=("$artifacts"/*)
if [[ $rc -ne 0 || -e ${found[0]} ]]; then
  echo "fuzz: FAILED (exit $rc): a crash, leak, timeout, out-of-memory or mismatch; see $log" >&2
  for a in "${found[@]}"; do
    [[ -e $a ]] || continue
    echo "fuzz: artifact: $a" >&2
    echo "fuzz: reproduce: ${fuzzer#"$root"/} ${a#"$root"/}  (run from $root)" >&2
  done
  exit 1
fi
echo "fuzz: no findings"
