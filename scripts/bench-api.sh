#!/usr/bin/env bash
# Load on the local API while the daemon balances: wrk against /v1/status
# and /metrics on loopback, with the daemon running its loop on this machine
# (BPF collector, --dry-run: it plans every cycle and writes nothing). Prints
# wrk's figures and the daemon's cycle time (from /v1/status) before and
# during the load.
#   sudo scripts/bench-api.sh [SECONDS_PER_ENDPOINT] [CONNECTIONS]
# Defaults: 20 s, 16 connections, 2 wrk threads. Needs root (BPF) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
conns="${2:-16}"
[ "$(id -u)" -eq 0 ] || { echo "bench-api.sh: needs root (the BPF collector)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench-api.sh: wrk not installed (scripts/install-deps.sh)" >&2; exit 2; }
scripts/build.sh release >/dev/null
work="$(mktemp -d)"
port=5099
echo "# defaults" > "$work/none.conf"
build/release/bin/irqbpfd --dry-run --collector bpf --interval 1 --listen "127.0.0.1:$port" \
  --socket "$work/sock" --token-file "$work/token" --lock-file "$work/lock" --config "$work/none.conf" \
  2> "$work/daemon.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v1/irqs" >/dev/null 2>&1 && break
  sleep 0.1
done
cycle_ms() { curl -sf "http://127.0.0.1:$port/v1/status" | jq -r '.cycle_ms'; }
sample_cycles() {  # n samples one second apart: "min median max" of cycle_ms
  local n="$1" out=()
  for _ in $(seq "$n"); do out+=("$(cycle_ms)"); sleep 1; done
  printf '%s\n' "${out[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.2f %.2f %.2f", a[1], a[int((NR+1)/2)], a[NR]}'
}
echo "machine: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "daemon: $(curl -sf "http://127.0.0.1:$port/v1/status" | jq -c '{collector, interval_s, dry_run}')"
echo "cycle_ms idle (min median max over 10 s): $(sample_cycles 10)"
for path in /v1/status /metrics; do
  echo
  echo "== wrk -t2 -c$conns -d${duration}s --latency http://127.0.0.1:$port$path"
  sample_cycles "$duration" > "$work/during" &
  sampler=$!
  wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port$path"
  wait $sampler
  echo "cycle_ms during (min median max): $(cat "$work/during")"
done
echo
echo "daemon still answering: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/status")"
