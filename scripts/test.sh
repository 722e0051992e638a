#!/usr/bin/env bash
# Runs the whole test suite: installs missing dependencies, then builds and
# runs every test twice, as a plain RelWithDebInfo build and under
# AddressSanitizer + UndefinedBehaviorSanitizer. Fails if any test fails.
#   scripts/test.sh            both legs
#   scripts/test.sh release    one leg (or: asan)
# Live tests (real /proc, BPF) need root; they never change the machine's
# IRQ affinities. The release leg also builds the .deb and, as root,
# installs and purges it (ctest -L package; tests/package): a temporary
# policy-rc.d forbids starting the daemon meanwhile and is put back after.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

legs=("$@")
[ ${#legs[@]} -eq 0 ] && legs=(release asan)

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for leg in "${legs[@]}"; do
  echo "=== test leg: $leg ==="
  scripts/build.sh "$leg"
  # The 60-cycle steadiness loops on 256 CPUs (label steady) run in the
  # release leg only: under the sanitizers each takes minutes, and the same
  # code runs there in the smaller closed-loop tests.
  exclude=()
  [ "$leg" = asan ] && exclude=(-LE steady)
  ctest --test-dir "build/$leg" --output-on-failure --timeout 600 -j "$(nproc)" "${exclude[@]}"
done
