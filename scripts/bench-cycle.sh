#!/usr/bin/env bash
# The daemon's cost per cycle on a simulated machine: CPU per cycle (median),
# peak resident size (VmHWM) and threads of `irqbpfd --collector proc` with
# the API on, and of irqbalance on the same files when it can run here.
# Builds nothing: it uses build/release/bin/irqbpfd (or $IRQBPFD_BIN).
#
# Usage: scripts/bench-cycle.sh [SCENARIO]    (default tests/bench/scenarios/big-256.toml)
# Environment:
#   CYCLES=15        cycles measured per process (after the start-up one)
#   INTERVAL=2       seconds between cycles (both daemons)
#   IRQBPFD_BIN      the irqbpfd binary
#   IRQBALANCE       the irqbalance binary (default: the simulator's peer);
#                    NO_IRQBALANCE=1 skips it. It needs root (mount namespace).
#   BENCH_DIR        where the fake root goes (default: a fresh dir in /dev/shm)
#
# How: `irqbpfd simulate SCENARIO --ticks 3 --keep-root DIR` makes the fake
# root (tmpfs); the daemon runs on it (`--root DIR --collector proc
# --interval N --dry-run`, API on 127.0.0.1 and its Unix socket) while a
# sampler reads every task's /proc/PID/task/TID/schedstat (run time in ns)
# every 10 ms. A cycle is a burst of run time; bursts apart by more than a
# quarter of the interval are separate cycles. The first burst (start-up:
# topology, inventory) is reported apart. Threads and VmHWM come from
# /proc/PID/status before any API request; then /v1/status and /metrics are
# asked CYCLES times each and VmHWM is read again. irqbalance runs the same
# way in a private mount namespace with the fake files bind-mounted over
# /proc/interrupts, /proc/stat, /proc/irq, /sys/devices/system/{cpu,node}
# and /sys/bus/pci/devices (as the simulator's peer does); it rewrites
# affinities in the fake root, so it runs after irqbpfd.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario="${1:-tests/bench/scenarios/big-256.toml}"
cycles="${CYCLES:-15}"
interval="${INTERVAL:-2}"
bin="${IRQBPFD_BIN:-build/release/bin/irqbpfd}"
irqbalance="${IRQBALANCE:-/var/cache/irqbpfd/peer/irqbalance_1.9.2-1_amd64/usr/sbin/irqbalance}"
[ -x "$bin" ] || { echo "bench-cycle: no $bin (build it first: scripts/build.sh release)" >&2; exit 2; }
[ -f "$scenario" ] || { echo "bench-cycle: no scenario $scenario" >&2; exit 2; }

dir="${BENCH_DIR:-$(mktemp -d /dev/shm/bench-cycle.XXXXXX)}"
root="$dir/root"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"
}
trap cleanup EXIT

echo "scenario: $scenario"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs," \
  "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
  "kernel $(uname -r)"
echo "binary: $bin ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ', modified'))"
"$bin" simulate "$scenario" --ticks 3 --keep-root "$root" >"$dir/simulate.log" 2>&1 ||
  { echo "bench-cycle: simulate failed:" >&2; tail -5 "$dir/simulate.log" >&2; exit 1; }
echo "fake root: $(grep -c '^ *[0-9]*:' "$root/proc/interrupts") IRQ rows, $(head -1 "$root/proc/interrupts" | wc -w) CPUs," \
  "/proc/interrupts $(stat -c %s "$root/proc/interrupts") bytes"

# sample PID SECONDS OUT: per-burst CPU (ms), then Threads/VmHWM.
sample() {
  python3 - "$1" "$2" "$interval" <<'EOF'
import os, sys, time
pid, seconds, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
def runtime():
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return None
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that exited: its time is in no task any more
    return total
gap = interval / 4
prev = runtime() or 0
# What ran before the first sample (exec, start-up) counts in the first burst.
bursts, cur, last_change = [], prev, time.monotonic()
end = time.monotonic() + seconds
while time.monotonic() < end:
    time.sleep(0.01)
    now = runtime()
    if now is None:
        break
    t = time.monotonic()
    if now > prev:
        if last_change is not None and t - last_change > gap and cur > 0:
            bursts.append(cur)
            cur = 0
        cur += now - prev
        last_change = t
    prev = now
if cur > 0:
    bursts.append(cur)
print(" ".join(f"{b / 1e6:.2f}" for b in bursts))
EOF
}
status_of() { grep -E '^(Threads|VmHWM|VmRSS):' "/proc/$1/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.2f}" if v else "-")' "$@"; }

summarize() {  # NAME BURSTS...
  local name="$1"; shift
  local bursts=("$@")
  [ "${#bursts[@]}" -gt 1 ] || { echo "$name: too few cycles seen (${bursts[*]:-none})"; return; }
  local rest=("${bursts[@]:1}")
  echo "$name: start-up ${bursts[0]} ms; CPU per cycle median $(median "${rest[@]}") ms over ${#rest[@]} cycles" \
    "(min $(printf '%s\n' "${rest[@]}" | sort -g | head -1), max $(printf '%s\n' "${rest[@]}" | sort -g | tail -1))"
  echo "$name: every cycle (ms): ${rest[*]}"
}

port=$((20000 + RANDOM % 20000))
seconds=$(python3 -c "print(($cycles + 1) * $interval + $interval / 2)")
"$bin" --root "$root" --collector proc --interval "$interval" --dry-run --force \
  --listen "127.0.0.1:$port" --log-level warning >"$dir/irqbpfd.log" 2>&1 &
dpid=$!
pids+=("$dpid")
bursts=$(sample "$dpid" "$seconds")
kill -0 "$dpid" 2>/dev/null || { echo "bench-cycle: irqbpfd exited:" >&2; tail -5 "$dir/irqbpfd.log" >&2; exit 1; }
before=$(status_of "$dpid")
# shellcheck disable=SC2086
summarize irqbpfd $bursts
echo "irqbpfd: no API client yet: $before"
for _ in $(seq "$cycles"); do
  curl -s -o /dev/null "http://127.0.0.1:$port/v1/status"
  curl -s -o /dev/null "http://127.0.0.1:$port/metrics"
done
echo "irqbpfd: after $cycles x (/v1/status, /metrics): $(status_of "$dpid")"
sleep 3
echo "irqbpfd: 3 s later: $(status_of "$dpid")"
curl -s "http://127.0.0.1:$port/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("irqbpfd: its own cycle_ms (wall) of the last cycle:", s.get("cycle_ms", s.get("last_cycle_ms", "?")))' 2>/dev/null || true
kill "$dpid"; wait "$dpid" 2>/dev/null || true

if [ -n "${NO_IRQBALANCE:-}" ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || [ ! -x "$irqbalance" ]; then
  echo "irqbalance: skipped (needs root and $irqbalance)"
  exit 0
fi
mkdir -p "$dir/run"
unshare -m --propagation private bash -c '
  set -e
  r="$1"; shift
  for p in /proc/interrupts /proc/stat /proc/irq /sys/devices/system/cpu /sys/devices/system/node /sys/bus/pci/devices; do
    mount --bind "$r$p" "$p"
  done
  mkdir -p /run/irqbalance && mount -t tmpfs -o size=1m tmpfs /run/irqbalance
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
' bash "$root" "$irqbalance" --foreground "--interval=$interval" >"$dir/irqbalance.log" 2>&1 &
upid=$!
pids+=("$upid")
# unshare execs bash which execs irqbalance: the same pid once it runs.
for _ in $(seq 50); do
  [ "$(cat "/proc/$upid/comm" 2>/dev/null)" = irqbalance ] && break
  sleep 0.1
done
bursts=$(sample "$upid" "$seconds")
# shellcheck disable=SC2086
summarize irqbalance $bursts
echo "irqbalance: $(status_of "$upid")"
