#!/usr/bin/env bash
# Performance regression checks for CI: the callgrind gate (with its self-test) and the timing check.
# Usage: scripts/perf_ci.sh [build-dir]   (default build/release; built here if missing)
# Exit: 0 clean (or advisory), 1 regression, 2 infrastructure error, 3 gate skipped loudly.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
out=$build/perf-report
python=/usr/bin/python3
mkdir -p "$out"

if [[ ! -x $build/perf/tconv-gate || ! -x $build/bench/tconv-bench ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null || exit 2
  cmake --build "$build" -j "$(nproc)" --target tconv-gate tconv-bench >/dev/null || exit 2
fi

echo "== performance gate: callgrind instruction counts =="
$python "$root/scripts/perf_gate.py" check --gate "$build/perf/tconv-gate" \
  --report "$out/gate.md" --current "$out/gate-counts.txt"
gate=$?

echo "== performance gate self-test: a deliberately slowed kernel must be caught =="
slow=$build-gate-slowdown
cmake -S "$root" -B "$slow" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc -DTCONV_BUILD_TESTS=OFF \
  -DTCONV_GATE_SLOWDOWN=ON >/dev/null && cmake --build "$slow" -j "$(nproc)" --target tconv-gate >/dev/null
$python "$root/scripts/perf_gate.py" check --gate "$slow/perf/tconv-gate" --report "$out/gate-slowdown.md" \
  >"$out/gate-slowdown.log"
selftest=$?
if [[ $gate -eq 0 && $selftest -ne 1 ]]; then
  echo "perf gate self-test FAILED: the slowed build gave exit $selftest, expected 1 (regression)"
  tail -5 "$out/gate-slowdown.log"
  gate=2
elif [[ $gate -eq 0 ]]; then
  echo "perf gate self-test: slowed build refused as expected ($(grep -c '^| .*REGRESSION' "$out/gate-slowdown.md") rows flagged)"
fi

echo "== timing check: speedup over the reference vs the baseline for this CPU =="
$python "$root/scripts/perf_timing.py" check --bench "$build/bench/tconv-bench" --report "$out/timing.md"
timing=$?

echo "perf reports: $out/gate.md, $out/timing.md"
if ((gate != 0)); then exit $gate; fi
exit $timing
