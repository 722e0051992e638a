#!/usr/bin/env bash
# Balance quality and balancer CPU time, closed loop, in one run per
# scenario: irqbpfd fed exact loads (what BPF measures), irqbpfd fed the
# /proc estimate, and Debian's irqbalance 1.9.2 on the same fake machine
# (in a private mount namespace; the host's IRQs are never touched).
#   scripts/bench-balance.sh [--ticks N] [SCENARIO.toml...]
# Default: every file in tests/bench/scenarios, 20 ticks. Writes the table to
# stdout and the rows to tests/bench/balance_quality.json; then times plan()
# and build_snapshot() alone on the 256-CPU scenario with Google Benchmark.
# Needs root for the irqbalance runs (mount namespace); without root, pass
# --runs replay,proc through BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
ticks=20
if [ "${1:-}" = "--ticks" ]; then ticks="$2"; shift 2; fi
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(tests/bench/scenarios/*.toml)
runs="${BENCH_RUNS:-replay,proc,irqbalance}"
scripts/build.sh release >/dev/null
[ -x "$(scripts/fetch-irqbalance.sh 2>/dev/null | tail -1)" ] || echo "bench-balance.sh: irqbalance not fetched" >&2
echo "machine: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
# The fake roots live on tmpfs: on ext4 both balancers' reads cost more and
# irqbalance's first scan doubles.
export TMPDIR=/dev/shm
build/release/bin/bench_balance_quality --ticks "$ticks" --runs "$runs" --json tests/bench/balance_quality.json "${files[@]}"
echo
build/release/bin/bench_balance_plan --scenario tests/bench/scenarios/big-256.toml --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
echo
build/release/bin/bench_snapshot --scenario tests/bench/scenarios/big-256.toml --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
