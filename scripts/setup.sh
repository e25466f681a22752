#!/usr/bin/env bash
# Installs the Debian packages tconv needs (only the missing ones); sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang
  libcpuid-dev libcmocka-dev libopenblas-dev
  libbenchmark-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev
  python3 python3-matplotlib valgrind
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
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
