#!/usr/bin/env bash
# Builds tconv with TCONV_AVX512_EMULATION (the AVX-512 kernels through SIMDe on AVX2+FMA, clang
# ASan+UBSan) and runs every test with avx512 in the ISA matrix, so CPUs without AVX-512 run the
# AVX-512 kernels. Checks the build holds no AVX-512 instruction: on a CPU with AVX-512 that is
# the proof that SIMDe, not the CPU, ran them. Correctness only: nothing here is timed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/avx512-emulated"
jobs=$(nproc)

fail() {
  echo "test-avx512-emulated: $*" >&2
  exit 1
}

# ---- packages: only the missing ones (sudo when not root) --------------------------------------
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
packages=(cmake pkg-config clang binutils libcpuid-dev libcmocka-dev libsimde-dev)
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} > 0)); then
  echo "test-avx512-emulated: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# ---- build ---------------------------------------------------------------------------------------
echo "== clang ASan+UBSan build, AVX-512 emulated through SIMDe (libsimde-dev) on AVX2+FMA =="
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTCONV_WERROR=ON -DTCONV_SANITIZE=ON -DTCONV_AVX512_EMULATION=ON
cmake --build "$build" -j "$jobs"

# ---- no AVX-512 instruction in the library ------------------------------------------------------
# zmm registers, opmask registers (%k0-%k7) and the registers 16-31 exist only with EVEX encoding.
avx512_pattern='zmm|%k[0-7]\b|[xy]mm(1[6-9]|2[0-9]|3[01])\b'
count_avx512() { objdump -d --no-show-raw-insn "$1" | grep -cE "$avx512_pattern" || true; }

# Control: the same pattern finds AVX-512 in a natively compiled kernel, so an empty result below
# means something.
control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
clang -O2 -mavx512f -mavx512bw -mavx512dq -mavx512vl -c "$root/kernels/x86/gemm_avx512.c" \
  -o "$control/gemm_avx512_native.o"
native_hits=$(count_avx512 "$control/gemm_avx512_native.o")
((native_hits > 0)) || fail "control: no AVX-512 instruction found in a native AVX-512 object"
echo "control: native gemm_avx512.o holds $native_hits AVX-512 instructions"

mapfile -t objects < <(find "$build/kernels" -name '*_avx512.c.o' | sort)
# One object per kernels/x86/*_avx512.c source, whatever the number of families.
sources=$(find "$root/kernels/x86" -name '*_avx512.c' | wc -l)
((${#objects[@]} == sources)) || fail "expected $sources avx512 kernel objects, found ${#objects[@]}"
for obj in "${objects[@]}" "$build/kernels/libtconv.so"; do
  hits=$(count_avx512 "$obj")
  echo "$(basename "$obj"): $hits AVX-512 instructions"
  if ((hits > 0)); then
    objdump -d --no-show-raw-insn "$obj" | grep -E "$avx512_pattern" | head -5 >&2
    fail "$(basename "$obj") holds AVX-512 instructions: the emulated build must not"
  fi
done

# ---- tconv-info: emulated, and avx512 compiled, supported and selected -------------------------
info=$("$build/tools/tconv-info")
echo "$info"
grep -q '^avx512: emulated' <<<"$info" || fail "tconv-info does not say 'avx512: emulated'"
grep -qE '^avx512 +yes +yes' <<<"$info" || fail "avx512 is not compiled and supported"
grep -q '^selected ISA: avx512$' <<<"$info" || fail "the dispatcher does not select avx512"

# ---- every test, avx512 in the ISA matrix ----------------------------------------------------------
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== ctest (avx512 emulated) =="
ctest --test-dir "$build" --output-on-failure -j "$jobs"

# The avx512 kernel test must have run its cases, not skipped them.
out=$("$build/tests/test_avx512_kernels" 2>&1) || {
  echo "$out"
  fail "test_avx512_kernels failed"
}
if grep -q 'SKIPPED' <<<"$out"; then
  echo "$out"
  fail "test_avx512_kernels skipped cases: avx512 did not run"
fi
grep '^avx512: emulated' <<<"$out"
echo "test-avx512-emulated: all passed (AVX-512 kernels run through SIMDe; AVX-512 speed and code" \
  "generation not covered)"
