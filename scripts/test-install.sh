#!/usr/bin/env bash
# Embedding test: installs tconv into a temporary prefix and builds examples/ against that prefix
# only (CMake package and pkg-config, shared and static), checks the version, the installed
# headers and the exported symbols; then builds the Debian packages, installs them with apt-get,
# builds the example against /usr and removes the packages again.
#
#   bash scripts/test-install.sh [BUILD_DIR]     (default build/release, built if needed)
#
# The Debian part installs into the system and needs root; it is skipped, saying so, when not
# root or when TCONV_SKIP_DEB_INSTALL=1. The packages are removed on exit, even on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
mkdir -p "$build"
build=$(cd "$build" && pwd) # absolute: the RPATH check below looks for it
jobs=$(nproc)
apt_get=(apt-get -o DPkg::Lock::Timeout=900)
deb_packages=(libtconv0 libtconv-dev tconv-tools)

tmp=$(mktemp -d /tmp/tconv-install.XXXXXX)
debs_installed=0
cleanup() {
  local rc=$?
  if ((debs_installed)); then
    echo "== removing the tconv Debian packages =="
    DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" purge -y -qq "${deb_packages[@]}" >/dev/null ||
      echo "test-install: FAILED to remove ${deb_packages[*]}; remove them by hand" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "test-install: FAIL: $*" >&2
  exit 1
}
pass() { echo "  ok: $*"; }

# ---- the build and the facts the checks compare against ---------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc -DTCONV_WERROR=ON
fi
cmake --build "$build" -j "$jobs"
# The one source of the version: project(tconv VERSION x.y.z) in the top-level CMakeLists.txt.
version=$(sed -nE 's/^project\(tconv VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' "$root/CMakeLists.txt")
[[ -n $version ]] || fail "no project(tconv VERSION ...) in CMakeLists.txt"
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
[[ -n $libdir ]] || fail "CMAKE_INSTALL_LIBDIR not in $build/CMakeCache.txt"
echo "== tconv $version, build $build, libdir $libdir =="

# Runs an example binary; checks the version it reports and the layer's output size.
run_example() {
  local label=$1 binary=$2 out
  shift 2
  out=$(env "$@" "$binary") || fail "$label: the example failed: $out"
  grep -qx "tconv_version: $version (header $version)" <<<"$out" ||
    fail "$label: version line is not 'tconv_version: $version (header $version)': $out"
  grep -qx "output: 1 x 256 x 16 x 16" <<<"$out" || fail "$label: wrong output size: $out"
  pass "$label runs: $(grep -E '^(algorithm|time)' <<<"$out" | paste -sd ';' -)"
}

# The binary must load libtconv.so.0 from $1 (shared) or not at all (static: $1 = "none").
check_links() {
  local label=$1 expect_dir=$2 binary=$3 needed resolved
  shift 3
  needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if [[ $expect_dir == none ]]; then
    grep -q '^libtconv' <<<"$needed" && fail "$label: static build still needs $(grep libtconv <<<"$needed")"
    pass "$label: no libtconv in NEEDED (static)"
    return
  fi
  grep -qx 'libtconv.so.0' <<<"$needed" || fail "$label: NEEDED lacks libtconv.so.0: $needed"
  resolved=$(env "$@" ldd "$binary" | awk '$1 == "libtconv.so.0" {print $3}')
  [[ $(readlink -f "$(dirname "$resolved")") == $(readlink -f "$expect_dir") ]] ||
    fail "$label: libtconv.so.0 resolves to '$resolved', not into $expect_dir"
  if readelf -d "$binary" | grep -E 'R(UN)?PATH' | grep -qF "$build"; then
    fail "$label: RPATH/RUNPATH points into the build tree $build"
  fi
  pass "$label: NEEDED libtconv.so.0 -> $resolved"
}

# Configures and builds examples/ with CMake; $1 label, $2 build dir, then extra cmake arguments.
build_with_cmake() {
  local label=$1 dir=$2 found
  shift 2
  cmake -S "$root/examples" -B "$dir" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "$@" >"$dir.log" 2>&1 ||
    fail "$label: configure failed: $(cat "$dir.log")"
  cmake --build "$dir" >>"$dir.log" 2>&1 || fail "$label: build failed: $(cat "$dir.log")"
  found=$(sed -n 's/^tconv_DIR:PATH=//p' "$dir/CMakeCache.txt")
  echo "  $label: find_package(tconv) used $found" >&2
  printf '%s\n' "$found"
}

# Copies examples/ out of the tree (a project elsewhere) and runs make; $1 label, $2 dir, $3 target.
build_with_make() {
  local label=$1 dir=$2 target=$3
  mkdir -p "$dir"
  cp "$root/examples/Makefile" "$root/examples/tconv_example.c" "$dir/"
  make -C "$dir" "$target" >"$dir.log" 2>&1 || fail "$label: make failed: $(cat "$dir.log")"
}

# ---- 1. install into a temporary prefix ---------------------------------------------------------
prefix=$tmp/prefix
echo "== cmake --install into $prefix =="
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
plib=$prefix/$libdir
for f in "$plib/libtconv.so.$version" "$plib/libtconv_static.a" "$prefix/bin/tconv-info" \
  "$plib/cmake/tconv/tconvConfig.cmake" "$plib/pkgconfig/tconv.pc" "$plib/pkgconfig/tconv_static.pc"; do
  [[ -e $f ]] || fail "not installed: $f"
done
soname=$(readelf -d "$plib/libtconv.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == libtconv.so.0 ]] || fail "SONAME is '$soname', not libtconv.so.0"
pass "installed; SONAME $soname"
if [[ -e $build/bench/tconv-bench ]]; then
  [[ -x $prefix/bin/tconv-bench ]] || fail "tconv-bench was built but not installed"
fi
LD_LIBRARY_PATH=$plib "$prefix/bin/tconv-info" >/dev/null || fail "installed tconv-info does not run"
pass "installed tconv-info runs"

# ---- 2. the installed headers: exactly the public ones, self-contained ---------------------------
headers=$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort | paste -sd ' ' -)
[[ $headers == "tconv.h tconv_version.h" ]] || fail "installed headers are '$headers', want 'tconv.h tconv_version.h'"
echo '#include <tconv.h>' | cc -std=c11 -fsyntax-only -Wall -Werror -I"$prefix/include" -x c - ||
  fail "tconv.h does not compile with only the installed include directory"
pass "headers: $headers (self-contained)"

# ---- 3. exported symbols = the functions the installed headers declare --------------------------
exported=$(nm -D --defined-only "$plib/libtconv.so" | awk '{print $3}' | sort -u)
declared=$(cc -E -P -I"$prefix/include" "$prefix/include/tconv.h" |
  grep -oE '\btconv_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:](]//g' | sort -u)
bad=$(grep -v '^tconv_' <<<"$exported" || true)
[[ -z $bad ]] || fail "libtconv.so exports symbols outside the tconv_ namespace: $(paste -sd ' ' - <<<"$bad")"
undeclared=$(comm -23 <(echo "$exported") <(echo "$declared"))
[[ -z $undeclared ]] || fail "libtconv.so exports symbols no installed header declares: $(paste -sd ' ' - <<<"$undeclared")"
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
[[ -z $missing ]] || fail "declared in tconv.h but not exported: $(paste -sd ' ' - <<<"$missing")"
pass "libtconv.so exports exactly the $(wc -l <<<"$exported") functions tconv.h declares"

# ---- 4. the example against the prefix: CMake package, shared and static ----------------------
echo "== examples/ with find_package(tconv), CMAKE_PREFIX_PATH=$prefix =="
for variant in shared static; do
  dir=$tmp/cmake-$variant
  static=OFF
  [[ $variant == static ]] && static=ON
  found=$(build_with_cmake "cmake $variant" "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DTCONV_EXAMPLE_STATIC=$static)
  [[ $found == "$plib/cmake/tconv" ]] || fail "cmake $variant: tconv found at '$found', not in $prefix"
  if [[ $variant == shared ]]; then
    check_links "cmake shared" "$plib" "$dir/tconv_example" LD_LIBRARY_PATH="$plib"
  else
    check_links "cmake static" none "$dir/tconv_example"
  fi
  run_example "cmake $variant" "$dir/tconv_example" LD_LIBRARY_PATH="$plib"
done

# ---- 5. the example against the prefix: make + pkg-config -------------------------------------
echo "== examples/Makefile with PKG_CONFIG_PATH=$plib/pkgconfig =="
export PKG_CONFIG_PATH=$plib/pkgconfig
[[ $(pkg-config --modversion tconv) == "$version" ]] || fail "pkg-config tconv version is not $version"
pcdir=$(pkg-config --variable=pcfiledir tconv)
[[ $(readlink -f "$pcdir") == $(readlink -f "$plib/pkgconfig") ]] || fail "pkg-config found tconv in $pcdir"
build_with_make "make shared" "$tmp/make" tconv_example
check_links "make shared" "$plib" "$tmp/make/tconv_example" LD_LIBRARY_PATH="$plib"
run_example "make shared" "$tmp/make/tconv_example" LD_LIBRARY_PATH="$plib"
build_with_make "make static" "$tmp/make" tconv_example_static
check_links "make static" none "$tmp/make/tconv_example_static"
run_example "make static" "$tmp/make/tconv_example_static"
unset PKG_CONFIG_PATH

# ---- 6. Debian packages -------------------------------------------------------------------------
echo "== cpack -G DEB =="
(cd "$build" && cpack -G DEB -B "$tmp/deb" >"$tmp/cpack.log" 2>&1) || fail "cpack failed: $(cat "$tmp/cpack.log")"
arch=$(dpkg --print-architecture)
for p in "${deb_packages[@]}"; do
  deb=$tmp/deb/${p}_${version}_$arch.deb
  [[ -f $deb ]] || fail "cpack did not make $deb"
  echo "  $p: Depends: $(dpkg-deb -f "$deb" Depends)"
done
for p in libtconv-dev tconv-tools; do
  dpkg-deb -f "$tmp/deb/${p}_${version}_$arch.deb" Depends | grep -qF "libtconv0 (= $version)" ||
    fail "$p does not depend on libtconv0 (= $version)"
done
dpkg-deb -c "$tmp/deb/libtconv0_${version}_${arch}.deb" | grep -q "/libtconv.so.0 -> " ||
  fail "libtconv0 lacks the libtconv.so.0 link"
pass "packages built with the expected dependencies"

if [[ ${TCONV_SKIP_DEB_INSTALL:-0} == 1 || $(id -u) -ne 0 ]]; then
  echo "== SKIPPED: installing the Debian packages (needs root; TCONV_SKIP_DEB_INSTALL=${TCONV_SKIP_DEB_INSTALL:-0}) =="
  echo "test-install: PASS (prefix install, CMake and pkg-config builds; Debian packages built, not installed)"
  exit 0
fi
for p in "${deb_packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    fail "$p is already installed on this system; this test would replace and then remove it"
  fi
done
echo "== apt-get install the Debian packages into the system =="
debs_installed=1 # from here on, the trap removes them
DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq --no-install-recommends \
  "$tmp"/deb/*.deb >"$tmp/apt.log" 2>&1 || fail "apt-get install failed: $(cat "$tmp/apt.log")"
syslib=/usr/$libdir
[[ -e $syslib/libtconv.so.0 ]] || fail "$syslib/libtconv.so.0 not installed by libtconv0"
tconv-info >/dev/null || fail "tconv-info from tconv-tools does not run"
pass "installed $(dpkg-query -W -f='${Package} ${Version}, ' "${deb_packages[@]}")tconv-info runs"

echo "== examples/ against /usr =="
for variant in shared static; do
  dir=$tmp/sys-cmake-$variant
  static=OFF
  [[ $variant == static ]] && static=ON
  found=$(build_with_cmake "cmake $variant" "$dir" -DTCONV_EXAMPLE_STATIC=$static)
  [[ $found == "$syslib/cmake/tconv" ]] || fail "cmake $variant: tconv found at '$found', not $syslib/cmake/tconv"
  if [[ $variant == shared ]]; then
    check_links "system cmake shared" "$syslib" "$dir/tconv_example"
  else
    check_links "system cmake static" none "$dir/tconv_example"
  fi
  run_example "system cmake $variant" "$dir/tconv_example"
done
pcdir=$(pkg-config --variable=pcfiledir tconv)
[[ $pcdir == "$syslib/pkgconfig" ]] || fail "pkg-config found tconv in $pcdir, not $syslib/pkgconfig"
build_with_make "system make shared" "$tmp/sys-make" tconv_example
check_links "system make shared" "$syslib" "$tmp/sys-make/tconv_example"
run_example "system make shared" "$tmp/sys-make/tconv_example"
build_with_make "system make static" "$tmp/sys-make" tconv_example_static
check_links "system make static" none "$tmp/sys-make/tconv_example_static"
run_example "system make static" "$tmp/sys-make/tconv_example_static"

echo "test-install: PASS (prefix install, CMake and pkg-config builds, Debian packages installed, used and removed)"
