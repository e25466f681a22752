#!/usr/bin/env bash
# Rewrites the committed performance baselines from this checkout (commit the diff with the change).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build "$build" -j "$(nproc)" --target tconv-gate tconv-bench >/dev/null
/usr/bin/python3 "$root/scripts/perf_gate.py" update --gate "$build/perf/tconv-gate"
/usr/bin/python3 "$root/scripts/perf_timing.py" update --bench "$build/bench/tconv-bench"
git -C "$root" status --short perf/baselines
