#!/usr/bin/env bash
# Userspace cost of one full read of the BPF counter maps (BpfPrograms::read)
# for the synthetic 4096 IRQ x 256 CPU sizing and this machine's own sizing.
#   scripts/bench-bpf-read.sh [google-benchmark flags]   e.g. --benchmark_repetitions=5
# Builds build/release, then runs build/release/bin/bench_bpf_read. Needs root
# (the maps are real BPF maps; programs are loaded but never attached).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-bpf-read.sh: needs root for BPF" >&2; exit 2; }
scripts/build.sh release >/dev/null
echo "machine: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
exec build/release/bin/bench_bpf_read "$@"
