#!/usr/bin/env bash
# Fetches Debian's irqbalance as a peer for the simulator WITHOUT installing
# it: installing the package would enable a service that balances the real
# machine. Downloads the .deb with apt, unpacks it with dpkg-deb into a cache
# dir (scripts/unpack-deb-binary.sh) and prints the path of the unpacked usr/sbin/irqbalance.
#   scripts/fetch-irqbalance.sh [CACHE_DIR]
#   CACHE_DIR: argument, else $IRQBPFD_PEER_DIR, else /var/cache/irqbpfd/peer
# Layout: CACHE_DIR/<deb name>/usr/sbin/irqbalance, and the stable link
# CACHE_DIR/irqbalance -> it (what `irqbpfd simulate --balancer irqbalance`
# and the sim tests look for). Idempotent: when the link resolves to an
# executable, it only prints the path. Run the binary only through the
# simulator's private mount namespace, never on this machine directly.
set -euo pipefail

exec "$(dirname "$0")/unpack-deb-binary.sh" irqbalance usr/sbin/irqbalance "${1:-${IRQBPFD_PEER_DIR:-/var/cache/irqbpfd/peer}}"
