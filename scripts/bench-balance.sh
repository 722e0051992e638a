#!/usr/bin/env bash
# Balance quality and balancer CPU time, closed loop, in one run per
# scenario: irqbpfd fed exact loads (what BPF measures), irqbpfd fed the
# /proc estimate, and Debian's irqbalance 1.9.2 on the same fake machine
# (in a private mount namespace; the host's IRQs are never touched).
#   scripts/bench-balance.sh [--ticks N] [--out FILE | --update] [SCENARIO.toml...]
# Default: every file in tests/bench/scenarios, 20 ticks. Writes the table to
# stdout and the rows as JSON to build/bench/balance_quality.json (scratch,
# not committed), or to FILE with --out; then times plan() and
# build_snapshot() alone on the 256-CPU scenario with Google Benchmark.
#   --update   write the rows to the committed tests/bench/balance_quality.json
#              instead (the recorded run tests/bench/RESULTS.md quotes): only
#              for a full run you mean to commit.
# Needs root for the irqbalance runs (mount namespace); without root, pass
# --runs replay,proc through BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
ticks=20
json_out=build/bench/balance_quality.json
while [ $# -gt 0 ]; do
  case "$1" in
    --ticks) ticks="${2:?bench-balance.sh: --ticks needs a number}"; shift 2 ;;
    --out) json_out="${2:?bench-balance.sh: --out needs a file}"; shift 2 ;;
    --update) json_out=tests/bench/balance_quality.json; shift ;;
    --) shift; break ;;
    -*) echo "bench-balance.sh: unknown option '$1' (--ticks N, --out FILE, --update)" >&2; exit 2 ;;
    *) break ;;
  esac
done
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(tests/bench/scenarios/*.toml)
runs="${BENCH_RUNS:-replay,proc,irqbalance}"
scripts/build.sh release >/dev/null
[ -x "$(scripts/fetch-irqbalance.sh 2>/dev/null | tail -1)" ] || echo "bench-balance.sh: irqbalance not fetched" >&2
echo "machine: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
# The fake roots live on tmpfs: on ext4 both balancers' reads cost more and
# irqbalance's first scan doubles.
export TMPDIR=/dev/shm
mkdir -p "$(dirname "$json_out")"
build/release/bin/bench_balance_quality --ticks "$ticks" --runs "$runs" --json "$json_out" "${files[@]}"
echo "rows: $json_out"
echo
build/release/bin/bench_balance_plan --scenario tests/bench/scenarios/big-256.toml --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
echo
build/release/bin/bench_snapshot --scenario tests/bench/scenarios/big-256.toml --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
