#!/usr/bin/env bash
# Sets up, builds Release and runs the main job: every algorithm on the seed example and real layers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
cmake --build "$root/build/release" -j "$(nproc)"
"$root/build/release/tools/tconv-info"
echo
"$root/build/release/bench/tconv-demo" "$@"
