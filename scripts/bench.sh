#!/usr/bin/env bash
# The main job: set up, build Release, run the default benchmark suite with tconv-bench (real
# layers at 1 thread and at every CPU of the process, --threads=1,all; the default i/k/s/p sweep at
# 1 thread), write results/<host>-<date>.json, regenerate RESULTS.md and the plots under results/
# (the scaling plot among them), and print a summary per real layer and thread count.
# Extra arguments go to tconv-bench after the defaults (a later flag wins), e.g. --threads=1,2,4,
# --sweep-threads=1,all, --sweep=full, --cold, --benchmark_min_time=0.5, --benchmark_filter=dcgan
# (see build/release/bench/tconv-bench --help).
# Then a second, short job (not given the extra arguments): sparse weights at 1 thread on the
# selected ISA: DCGAN 512->256, pix2pix decoder 1024->512 and U-Net 128->64 with weights pruned to
# densities 1, 0.3, 0.1, 0.05, and the FCN upscore layers with their bilinear weights, written to
# results/<host>-<date>-density.json (report.py puts it in the same run's "Sparse weights"
# section and results/<host>-<date>_density.png). TCONV_BENCH_DENSITY=0 skips it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_CXX_COMPILER=g++
cmake --build "$root/build/release" -j "$(nproc)"
info=$("$root/build/release/tools/tconv-info")
echo "$info"
echo
isa=$(sed -n 's/^selected ISA: //p' <<<"$info")

bench="$root/build/release/bench/tconv-bench"
if [[ ! -x $bench ]]; then
  echo "bench.sh: $bench was not built (is libbenchmark-dev installed?)" >&2
  exit 1
fi
mkdir -p "$root/results"
host=$(hostname -s 2>/dev/null || hostname)
json="$root/results/${host}-$(date +%Y%m%d-%H%M).json"
# Multi-threaded rows are timed in wall-clock time: other work on the machine shows up in them.
cpus=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v c="$cpus" 'BEGIN { exit !(l > c / 2) }'; then
  echo "bench.sh: warning: load average $load on $cpus CPUs: the multi-threaded rows will be slowed by it" >&2
fi
start=$(date +%s)
"$bench" --threads=1,all --benchmark_out="$json.tmp" --benchmark_out_format=json "$@"
mv "$json.tmp" "$json"
echo "bench.sh: suite took $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s; wrote $json"

if [[ ${TCONV_BENCH_DENSITY:-1} != 0 && -n $isa ]]; then
  density_json="${json%.json}-density.json"
  density_layers='dcgan_512_256|pix2pix_dec_1024_512|unet_up_128_64'
  start=$(date +%s)
  "$bench" --threads=1 --sweep=none --peers=none --weight-density=1,0.3,0.1,0.05 --weights=bilinear \
    --benchmark_filter="^[a-z_]+/${isa}/t1/(d[0-9.]+/(${density_layers})|bilinear/fcn[a-z0-9_]+)\$" \
    --benchmark_out="$density_json.tmp" --benchmark_out_format=json
  mv "$density_json.tmp" "$density_json"
  echo "bench.sh: sparse-weights job took $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s; wrote $density_json"
fi

# Debian's python3 has python3-matplotlib; another python3 first on PATH may not.
py=python3
if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then py=/usr/bin/python3; fi
reading=()
[[ -f $root/results/READING.md ]] && reading=(--reading "$root/results/READING.md")
"$py" "$root/scripts/report.py" --out "$root/RESULTS.md" --plots "$root/results" "${reading[@]}" --summary \
  "$root"/results/*.json
