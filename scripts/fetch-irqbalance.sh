#!/usr/bin/env bash
# Fetches Debian's irqbalance as a peer for the simulator WITHOUT installing
# it: installing the package would enable a service that balances the real
# machine. Downloads the .deb with apt, unpacks it with dpkg-deb into a cache
# dir and prints the path of the unpacked usr/sbin/irqbalance.
#   scripts/fetch-irqbalance.sh [CACHE_DIR]
#   CACHE_DIR: argument, else $IRQBPFD_PEER_DIR, else /var/cache/irqbpfd/peer
# Layout: CACHE_DIR/<deb name>/usr/sbin/irqbalance, and the stable link
# CACHE_DIR/irqbalance -> it (what `irqbpfd simulate --balancer irqbalance`
# and the sim tests look for). Idempotent: when the link resolves to an
# executable, it only prints the path. Run the binary only through the
# simulator's private mount namespace, never on this machine directly.
set -euo pipefail

dir="${1:-${IRQBPFD_PEER_DIR:-/var/cache/irqbpfd/peer}}"
link="$dir/irqbalance"

if [ -x "$link" ]; then
  readlink -f "$link"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$dir")" ] && [ ! -w "$dir" ]; then
  echo "fetch-irqbalance.sh: cannot write $dir (run as root or pass a writable CACHE_DIR)" >&2
  exit 1
fi

mkdir -p "$dir/download"
cd "$dir/download"
# apt's sandbox user cannot write here; downloading as root is what we mean.
download() { apt-get download -q -o APT::Sandbox::User=root irqbalance >/dev/null 2>&1; }
if ! download; then
  # No package lists yet (fresh machine): fetch them once and retry.
  apt-get update -q >/dev/null
  if ! download; then
    echo "fetch-irqbalance.sh: apt-get download irqbalance failed" >&2
    exit 1
  fi
fi

deb="$(ls -t irqbalance_*.deb | head -n 1)"
name="${deb%.deb}"
rm -rf "$dir/$name.tmp"
dpkg-deb -x "$deb" "$dir/$name.tmp"
rm -rf "$dir/$name"
mv "$dir/$name.tmp" "$dir/$name"
ln -sfn "$name/usr/sbin/irqbalance" "$link"
readlink -f "$link"
