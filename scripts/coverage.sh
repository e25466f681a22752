#!/usr/bin/env bash
# Line coverage of kernels/ under the test suite: gcc --coverage build in build/coverage, ctest,
# a per-file gcovr table, and a failure when any kernel or driver file is below the threshold.
# Usage: scripts/coverage.sh [min-percent]   (default 95)
# Files this machine cannot execute are left out of the threshold, each with a printed note:
# kernels of ISAs the CPU lacks (tconv-info says "compiled yes, supported no") and the other
# architecture's directory (kernels/arm on x86: tested under qemu by scripts/test-neon.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/coverage
min=${1:-95}
jobs=$(nproc)

# gcovr from Debian (only when missing; sudo when not root; the dpkg lock may be held by others).
if ! command -v gcovr >/dev/null; then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  echo "coverage: installing gcovr"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends gcovr
fi

# Release-like, but -O1: higher levels merge and move lines, which blurs per-line counts. The
# linker flags pull in libgcov for every executable and the shared library.
# -fprofile-update=atomic: the plans run on a thread pool, and plain counter updates race (gcov
# then reports negative branch counts that gcovr refuses to parse). TCONV_COVERAGE_BUILD:
# test_threads rotates ISAs as under sanitizers (tests/test_threads.c says why).
echo "== gcc --coverage build (-O1) in $build =="
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic -DTCONV_COVERAGE_BUILD=1" \
  -DCMAKE_EXE_LINKER_FLAGS="--coverage" -DCMAKE_SHARED_LINKER_FLAGS="--coverage" >/dev/null
cmake --build "$build" -j "$jobs"

# Counters accumulate across runs: start from zero so the figures are this run's. The caller's
# ISA caps would leave kernels unrun, so the figures never depend on them.
find "$build" -name '*.gcda' -delete
unset TCONV_FORCE_ISA TCONV_MAX_ISA
echo "== ctest =="
# Atomic counters slow the hang tests' plan-time loops (tests/test_hostile.c): give them more time.
TCONV_TEST_HANG_SECONDS=300 ctest --test-dir "$build" --output-on-failure -j "$jobs"

# What this machine cannot execute. tconv-info prints "isa compiled supported" rows.
excludes=()
notes=()
arch=$(uname -m)
case $arch in
  x86_64 | amd64) foreign=arm foreign_isas=" neon " ;;
  aarch64 | arm64) foreign=x86 foreign_isas=" sse41 avx2 avx512 " ;;
  *) foreign="" foreign_isas="" ;;
esac
if [[ -n $foreign ]]; then
  excludes+=(--exclude "$root/kernels/$foreign/")
  notes+=("kernels/$foreign/ excluded: not compiled on $arch (see scripts/test-neon.sh for NEON under qemu)")
fi
while read -r isa compiled supported; do
  if [[ $compiled == yes && $supported == no ]]; then
    excludes+=(--exclude "$root/kernels/.*_${isa}\.c")
    notes+=("kernels/*_${isa}.c excluded: compiled, but this CPU cannot execute $isa")
  elif [[ $compiled == no && $foreign_isas != *" $isa "* ]]; then
    notes+=("$isa: not compiled by this toolchain, so it has no coverage data")
  fi
done < <("$build/tools/tconv-info" | awk '$2 == "yes" || $2 == "no" { print $1, $2, $3 }')

echo "== line coverage of kernels/ (gcovr) =="
summary=$build/coverage-summary.json
cd "$root"
# Only the library's objects are searched (not CMake's compiler-identification leftovers).
gcovr --root "$root" --filter "$root/kernels/" "${excludes[@]}" --txt - \
  --json-summary "$summary" --json-summary-pretty "$build/kernels"
for n in "${notes[@]}"; do echo "note: $n"; done

# Per-file threshold (gcovr's --fail-under-line only checks the total).
/usr/bin/python3 - "$summary" "$min" <<'EOF'
import json, sys
summary, minimum = json.load(open(sys.argv[1])), float(sys.argv[2])
low = [(f["filename"], f["line_percent"]) for f in summary["files"]
       if f["line_total"] and f["line_percent"] < minimum]
for name, pct in low:
    print(f"coverage: {name} at {pct:.1f}% lines, below {minimum:g}%")
print(f"coverage: total {summary['line_percent']:.1f}% lines over {len(summary['files'])} files; "
      f"{'all' if not low else len(summary['files']) - len(low)} at or above {minimum:g}%")
sys.exit(1 if low else 0)
EOF
