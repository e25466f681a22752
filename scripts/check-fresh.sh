#!/usr/bin/env bash
# Proves the README's two commands work on a brand-new Debian 12: debootstraps a minimal bookworm
# root, clones the committed HEAD into it and runs `bash scripts/bench.sh` and `bash scripts/test.sh`
# there, which must install everything they need themselves.
#
# Usage (as root; ~15-25 min, needs Debian's archive, not GitHub):
#   bash scripts/check-fresh.sh [--reuse] [--quick-bench] [--bench-args='ARGS'] [--skip-bench|--skip-test]
#
#   --reuse          keep build/fresh-root from an earlier run (faster, but packages installed by
#                    that run are already there, so a missing package can go unnoticed); the
#                    default deletes it and debootstraps a new one.
#   --quick-bench    run bench.sh with a reduced suite: --sweep=none --benchmark_filter='seed|dcgan_ex'
#   --bench-args=A   run bench.sh with these tconv-bench arguments (word-split), e.g.
#                    --bench-args='--sweep=none --benchmark_filter=dcgan'. Env: CHECK_FRESH_BENCH_ARGS.
#   --skip-bench, --skip-test   run only the other command.
# Env: CHECK_FRESH_MIRROR (default http://deb.debian.org/debian).
#
# bench.sh runs first: it installs only setup.sh's list, so a package it needs that only
# test-neon.sh installs would be caught. Logs: build/fresh-root-logs/. Every mount made here is
# undone on every exit path; nothing is deleted while anything is still mounted under the root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fresh=$root/build/fresh-root
logs=$root/build/fresh-root-logs
mirror=${CHECK_FRESH_MIRROR:-http://deb.debian.org/debian}
quick_bench_args="--sweep=none --benchmark_filter=seed|dcgan_ex"
bench_args=${CHECK_FRESH_BENCH_ARGS:-}
reuse=0 run_bench=1 run_test=1

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; }
for arg in "$@"; do
  case $arg in
    --reuse) reuse=1 ;;
    --quick-bench) bench_args=$quick_bench_args ;;
    --bench-args=*) bench_args=${arg#--bench-args=} ;;
    --skip-bench) run_bench=0 ;;
    --skip-test) run_test=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "check-fresh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "check-fresh: must run as root (debootstrap, mount, chroot)" >&2
  exit 2
fi
# /proc/mounts escapes blanks; a plain path keeps the mount checks below exact.
if [[ $fresh =~ [[:space:]\\] ]]; then
  echo "check-fresh: the repository path must not contain blanks or backslashes: $fresh" >&2
  exit 2
fi
commit=$(git -C "$root" rev-parse HEAD)
if [[ -n $(git -C "$root" status --porcelain --untracked-files=no) ]]; then
  echo "check-fresh: note: uncommitted changes are not checked; checking commit $commit"
fi

# Mount points at or below the root, deepest first.
mounts_under_root() {
  awk -v r="$fresh" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r
}
unmount_all() {
  local m
  for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "check-fresh: could not unmount $m" >&2
  done
}
# Deletes the root only when nothing is mounted inside it; --one-file-system as a second guard.
delete_root() {
  unmount_all
  if [[ -n $(mounts_under_root) ]]; then
    echo "check-fresh: still mounted under $fresh, not deleting:" >&2
    mounts_under_root >&2
    exit 1
  fi
  rm -rf --one-file-system "$fresh"
}
# One run at a time: a second run would unmount (and delete) the first one's root.
mkdir -p "$root/build"
exec 9>"$root/build/fresh-root.lock"
flock -n 9 || {
  echo "check-fresh: another check-fresh is running on $fresh" >&2
  exit 2
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$logs"
in_root() {
  chroot "$fresh" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}
apt_in_root="DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600"

# ---- the root -----------------------------------------------------------------------------
root_kind="new bookworm minbase root"
if ((reuse)) && [[ -f $fresh/.check-fresh-ready ]]; then
  root_kind="REUSED root (not a fresh-machine check)"
  echo "check-fresh: reusing $fresh (packages from earlier runs are present)"
else
  ((reuse)) && echo "check-fresh: no finished root to reuse; making a new one"
  [[ -e $fresh ]] && delete_root
  if ! command -v debootstrap >/dev/null; then
    echo "check-fresh: installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends debootstrap
  fi
  echo "check-fresh: debootstrap --variant=minbase bookworm $fresh (log: $logs/debootstrap.log)"
  debootstrap --variant=minbase bookworm "$fresh" "$mirror" >"$logs/debootstrap.log" 2>&1 || {
    tail -20 "$logs/debootstrap.log" >&2
    exit 1
  }
fi

mount -t proc proc "$fresh/proc"
mount -t sysfs sysfs "$fresh/sys"
mount --bind /dev "$fresh/dev"
mount --bind /dev/pts "$fresh/dev/pts"
mount -t tmpfs tmpfs "$fresh/dev/shm"
cp /etc/resolv.conf "$fresh/etc/resolv.conf"

# What an installed Debian 12 has: the point-release, updates and security suites, up to date.
# No daemons may start inside the root (policy-rc.d).
cat >"$fresh/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
EOF
printf '#!/bin/sh\nexit 101\n' >"$fresh/usr/sbin/policy-rc.d"
chmod 755 "$fresh/usr/sbin/policy-rc.d"
echo "check-fresh: apt-get update, upgrade, install git in the root (log: $logs/prepare.log)"
in_root "set -e; $apt_in_root update -qq; $apt_in_root upgrade -y -qq;
  $apt_in_root install -y -qq --no-install-recommends git" >"$logs/prepare.log" 2>&1 || {
  tail -20 "$logs/prepare.log" >&2
  exit 1
}
touch "$fresh/.check-fresh-ready"

# The committed HEAD, through a bundle: the root reaches Debian's archive only.
rm -rf --one-file-system "$fresh/root/tconv" "$fresh/tmp/tconv.bundle"
git -C "$root" bundle create "$fresh/tmp/tconv.bundle" HEAD 2>>"$logs/prepare.log"
in_root "git -c advice.detachedHead=false clone -q /tmp/tconv.bundle /root/tconv" >>"$logs/prepare.log" 2>&1
cloned=$(in_root "git -C /root/tconv rev-parse HEAD")
[[ $cloned == "$commit" ]] || {
  echo "check-fresh: cloned $cloned, expected $commit" >&2
  exit 1
}
echo "check-fresh: commit $commit cloned to $fresh/root/tconv"

# ---- the README's commands -------------------------------------------------------------
failed=0
verdicts=()
run_readme_command() { # name, command line inside /root/tconv
  local name=$1 cmd=$2 start rc=0
  echo "check-fresh: running '$cmd' in the root (log: $logs/$name.log)"
  start=$(date +%s)
  in_root "cd /root/tconv && $cmd" >"$logs/$name.log" 2>&1 || rc=$?
  local secs=$(($(date +%s) - start)) verdict=PASS
  if ((rc != 0)); then
    verdict="FAIL (exit $rc)"
    failed=1
    tail -25 "$logs/$name.log" | sed "s/^/  $name: /"
  fi
  verdicts+=("check-fresh: $name $verdict ($secs s)")
  echo "${verdicts[-1]}"
}
if ((run_bench)); then
  read -r -a words <<<"$bench_args"
  bench_cmd="bash scripts/bench.sh"
  for w in "${words[@]}"; do bench_cmd+=" $(printf '%q' "$w")"; done
  run_readme_command bench.sh "$bench_cmd"
fi
((run_test)) && run_readme_command test.sh "bash scripts/test.sh"

echo
echo "check-fresh: commit $commit, $root_kind"
((run_bench)) && [[ -n $bench_args ]] && echo "check-fresh: bench.sh was reduced: $bench_args"
for v in "${verdicts[@]}"; do echo "$v"; done
exit $failed
