#!/usr/bin/env bash
# Per-interrupt cost of irqbpfd's BPF programs (hardirq pair and full set)
# against an empty program on the same tracepoints, bracketed on the irq
# tracepoints themselves (see tests/bench/RESULTS.md for the method).
#   scripts/bench-bpf-cost.sh [bench_bpf_cost options]   e.g. --rounds 9 --reads 4000 --json FILE
# Builds the release tree (build/release), then runs build/release/bin/bench_bpf_cost.
# Needs root (exit 2 otherwise). Loads and detaches BPF programs; writes no
# IRQ affinity; its temporary read file under /var/tmp is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "bench-bpf-cost.sh: needs root for BPF" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! scripts/build.sh release >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench-bpf-cost.sh: build failed" >&2
  exit 1
fi

echo "machine: $(uname -r), $(nproc) CPUs, VM: $(systemd-detect-virt --vm 2>/dev/null || echo unknown-virt)," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
exec build/release/bin/bench_bpf_cost "$@"
