#!/usr/bin/env bash
# Cross-builds tconv for AArch64 (NEON) and runs every test under qemu user-mode emulation.
# Installs what it needs (only the missing packages; sudo when not root). Correctness only: timings
# under qemu mean nothing, so nothing here is timed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/aarch64"
jobs=$(nproc)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Host tools, and arm64 libraries through Debian multiarch (needs the arm64 architecture).
# libc6-dev-arm64-cross (crt files, libc headers) is only a Recommends of the cross gcc, which
# --no-install-recommends leaves out: name it.
host_packages=(cmake pkg-config gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
arm64_packages=(libcmocka-dev:arm64)
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "test-neon: adding the arm64 architecture (dpkg --add-architecture arm64)"
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
  need_update=1
fi
missing=()
for p in "${host_packages[@]}" "${arm64_packages[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} > 0)) || ! installed libopenblas-dev:arm64; then need_update=1; fi
if ((need_update)); then "${sudo_cmd[@]}" apt-get update -qq; fi
if ((${#missing[@]} > 0)); then
  echo "test-neon: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
fi

# OpenBLAS for arm64 only when it installs next to the amd64 one without removing anything;
# otherwise gemm_blas is built out and returns TCONV_ERR_UNSUPPORTED (the tests skip it).
openblas=OFF
if installed libopenblas-dev:arm64; then
  openblas=ON
else
  plan=$(apt-get install -s --no-install-recommends libopenblas-dev:arm64 2>/dev/null || true)
  if [[ -n $plan && $plan != *$'\nRemv '* ]] &&
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends libopenblas-dev:arm64; then
    openblas=ON
  fi
fi
if [[ $openblas == OFF ]]; then
  echo "test-neon: libopenblas-dev:arm64 not installable here: building without OpenBLAS"
fi

# pthreadpool for arm64 in a private prefix: libpthreadpool-dev:arm64 cannot be installed next to
# the amd64 one (apt would remove libpthreadpool-dev and libxnnpack-dev), so its two packages are
# downloaded and extracted under build/ (see cmake/toolchain-aarch64.cmake).
sysroot="$root/build/arm64-sysroot"
if [[ ! -f $sysroot/usr/include/pthreadpool.h ||
  ! -e $sysroot/usr/lib/aarch64-linux-gnu/libpthreadpool.so.0 ]]; then
  echo "test-neon: extracting libpthreadpool-dev:arm64 and libpthreadpool0:arm64 into $sysroot"
  debs=$(mktemp -d)
  if ! (cd "$debs" && apt-get download libpthreadpool-dev:arm64 libpthreadpool0:arm64 >/dev/null); then
    "${sudo_cmd[@]}" apt-get update -qq
    (cd "$debs" && apt-get download libpthreadpool-dev:arm64 libpthreadpool0:arm64 >/dev/null)
  fi
  mkdir -p "$sysroot"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  rm -rf "$debs"
fi

echo "== aarch64 cross build (gcc, Release, warnings as errors, OpenBLAS $openblas) =="
cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DTCONV_WERROR=ON -DTCONV_WITH_OPENBLAS="$openblas" \
  -DTCONV_ARM64_SYSROOT="$sysroot"
cmake --build "$build" -j "$jobs"

# libcpuid is x86-only: the arm library must not depend on it.
if aarch64-linux-gnu-readelf -d "$build/kernels/libtconv.so" | grep -qi cpuid; then
  echo "test-neon: libtconv.so for arm links libcpuid" >&2
  exit 1
fi

# Every test runs through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64-static, see the toolchain).
echo "== ctest under qemu-aarch64 =="
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900

# The dispatcher picks NEON by default, honours TCONV_FORCE_ISA, and refuses an x86 ISA loudly.
# Same command as CMAKE_CROSSCOMPILING_EMULATOR in cmake/toolchain-aarch64.cmake.
emulator=(qemu-aarch64-static -L /usr/aarch64-linux-gnu
  -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:$sysroot/usr/lib/aarch64-linux-gnu)
info() { "${emulator[@]}" "$@" "$build/tools/tconv-info" | grep '^selected ISA:'; }
expect() {
  local got
  got=$(info "${@:2}")
  echo "tconv-info ${*:2}: $got"
  [[ $got == "selected ISA: $1" ]] || {
    echo "test-neon: expected '$1'" >&2
    exit 1
  }
}
expect neon
expect neon -E TCONV_FORCE_ISA=neon
expect scalar -E TCONV_FORCE_ISA=scalar
expect none -E TCONV_FORCE_ISA=avx2
echo "test-neon: all passed (correctness under emulation only; NEON speed not measured)"
