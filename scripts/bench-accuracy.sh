#!/usr/bin/env bash
# Accuracy of irqbalance's /proc estimate against the BPF measurement, per IRQ,
# over loaded windows on this machine. Disk load: O_DIRECT 4 KiB reads of a
# 256 MiB file under /var/tmp (the block device itself cannot be opened here).
#   scripts/bench-accuracy.sh [WINDOWS] [SECONDS]     (default 5 windows of 5 s)
# Needs root (BPF). Prints a Markdown table; writes nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

windows="${1:-5}"
seconds="${2:-5}"
bin=build/release/bin/irqbpfd
[ -x "$bin" ] || scripts/build.sh release >/dev/null
[ "$(id -u)" -eq 0 ] || { echo "bench-accuracy.sh: needs root for BPF" >&2; exit 2; }

file=$(mktemp /var/tmp/irqbpfd-accuracy-XXXXXX)
out=$(mktemp -d)
trap 'kill "${load_pid:-}" 2>/dev/null || true; rm -rf "$file" "$out"' EXIT
dd if=/dev/urandom of="$file" bs=1M count=256 status=none
sync

# Load: random O_DIRECT reads until killed.
(
  blocks=$((256 * 256))
  while :; do
    dd if="$file" of=/dev/null bs=4k count=1 skip=$((RANDOM * 2 % blocks)) iflag=direct status=none
  done
) &
load_pid=$!

for i in $(seq 1 "$windows"); do
  "$bin" --once --dry-run --collector bpf --compare-estimate --sample "$seconds" --format json >"$out/w$i.json"
done
kill "$load_pid" 2>/dev/null || true

echo "Windows: $windows x ${seconds}s, $(uname -r), $(nproc) CPUs; load: O_DIRECT 4 KiB random reads (dd loop)"
echo
echo "| window | IRQ | name | interrupts | measured load (us) | hardirq (us) | softirq (us) | /proc estimate (us) | estimate / measured |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for i in $(seq 1 "$windows"); do
  jq -r --arg w "$i" '
    .irqs[] | select(.count > 0) |
    [ $w, (.irq|tostring), .name, (.count|tostring),
      ((.load_ns/1000)|floor|tostring), ((.hardirq_ns/1000)|floor|tostring), ((.softirq_ns/1000)|floor|tostring),
      (if .estimate_load_ns == null then "-" else ((.estimate_load_ns/1000)|floor|tostring) end),
      (if .estimate_load_ns == null or .load_ns == 0 then "-" else ((.estimate_load_ns / .load_ns * 100 | round) / 100 | tostring) end)
    ] | "| " + join(" | ") + " |"' "$out/w$i.json"
done
echo
echo "Per-CPU unattributed softirq time (not raised by any device IRQ), summed over the windows, in us:"
jq -s -r '
  [ .[] | .cpus[] | {cpu, v: .softirq_unattributed_ns} ] | group_by(.cpu)[] |
  "cpu\(.[0].cpu): " + ([ .[].v | to_entries[] ] | group_by(.key) | map("\(.[0].key)=\((map(.value) | add) / 1000 | floor)") | join(" "))
' "$out"/w*.json
