#!/usr/bin/env bash
# Installs every Debian 12 package irqbpfd needs to build, test and benchmark.
# Idempotent: packages already present are left alone by apt. Run as root
# (or through sudo); CI runs it from .ci/run on a clean machine. At the end it
# unpacks Debian's irqbalance (never installed: scripts/fetch-irqbalance.sh)
# as the simulator's peer balancer.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config make git bzip2 ca-certificates
  # BPF: clang compiles bpf/, bpftool generates the skeleton, libbpf loads it
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  # topology
  libhwloc-dev hwloc-nox
  # libraries
  libcli11-dev nlohmann-json3-dev libfmt-dev libcpp-httplib-dev
  libsystemd-dev libtomlplusplus-dev libncurses-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev jq
  # the irqbalance peer's runtime libraries (the package itself is only
  # unpacked, see fetch-irqbalance.sh); util-linux for unshare(1)
  libglib2.0-0 libnuma1 libcap-ng0 libncursesw6 libsystemd0 util-linux
  # the .deb (tests/package, scripts/build-deb.sh): dpkg-shlibdeps for
  # Depends, file for CPack's binary detection and the stripped check,
  # systemd-analyze to verify the unit, man to lint the man page, strace to
  # hold the daemon's system calls against the unit's filter
  dpkg-dev file systemd man-db strace
  # the API: wrk for its load benchmark, tmux to drive `irqbpfctl top`
  # (promtool is unpacked from the prometheus package, see fetch-promtool.sh)
  wrk tmux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# checkbashisms for tests/package, unpacked from devscripts without
# installing it (the package pulls in ~40 others and a perl upgrade); it
# needs only perl-base. Optional: the test says so when it is absent.
fetch_checkbashisms() {
  [ "$(id -u)" -eq 0 ] || return 0
  local path
  if path="$("$(dirname "$0")/unpack-deb-binary.sh" devscripts usr/bin/checkbashisms /var/cache/irqbpfd/devscripts)"; then
    echo "install-deps.sh: checkbashisms at $path"
  else
    echo "install-deps.sh: could not unpack devscripts; checkbashisms checks will be skipped" >&2
  fi
}

fetch_peer() {
  local peer promtool
  peer="$("$(dirname "$0")/fetch-irqbalance.sh")"
  echo "install-deps.sh: irqbalance peer at $peer"
  promtool="$("$(dirname "$0")/fetch-promtool.sh")"
  echo "install-deps.sh: promtool at $promtool"
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  fetch_peer
  fetch_checkbashisms
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E "$0" "$@"
  fi
  echo "install-deps.sh: needs root to run apt-get (no sudo found)" >&2
  exit 1
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
fetch_peer
fetch_checkbashisms
