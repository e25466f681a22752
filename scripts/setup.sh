#!/usr/bin/env bash
# Installs the Debian packages tconv needs (only the missing ones); sudo when not root.
# Every package a step uses is named here: apt-get runs with --no-install-recommends, so nothing
# may come in only as a Recommends (scripts/check-fresh.sh proves the list on a brand-new root).
set -euo pipefail

packages=(
  # gcc Release build, tests and tconv-bench (build-essential: gcc, g++, make, libc6-dev; cmake
  # only Recommends make and gcc).
  build-essential make cmake pkg-config
  libcpuid-dev libcmocka-dev libopenblas-dev
  libbenchmark-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev
  # clang ASan+UBSan build: the sanitizer (and libFuzzer) runtimes are libclang-rt-14-dev, only a
  # Recommends of clang; llvm-14 brings llvm-symbolizer (also a Recommends, through llvm-14-dev),
  # without which a sanitizer report has no function names or lines.
  clang libclang-rt-14-dev llvm-14
  # report.py (matplotlib's Agg backend; its Recommends python3-tk is not used), perf_ci.sh
  # (valgrind's callgrind and the python3 gate scripts).
  python3 python3-matplotlib valgrind
  # git: the commit recorded in the benchmark JSON and the perf gate's build of the baseline commit.
  git
  # CI steps: the AVX-512 build on SIMDe emulation, coverage reports.
  libsimde-dev gcovr
  # scripts/test-install.sh: cpack -G DEB reads dependencies with dpkg-shlibdeps (dpkg-dev) and
  # inspects binaries with file.
  dpkg-dev file
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
echo "setup: installing ${missing[*]}"
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
