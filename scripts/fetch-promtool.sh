#!/usr/bin/env bash
# Fetches promtool from Debian's prometheus package WITHOUT installing it
# (the package brings a Prometheus server and its service; the tests need
# only `promtool check metrics`). Downloads the .deb with apt, unpacks it
# with dpkg-deb (scripts/unpack-deb-binary.sh) into a cache dir and prints
# the path of promtool.
#   scripts/fetch-promtool.sh [CACHE_DIR]
#   CACHE_DIR: argument, else $IRQBPFD_PROMTOOL_DIR, else /var/cache/irqbpfd/prometheus
# Layout: CACHE_DIR/<deb name>/usr/bin/promtool and the link CACHE_DIR/promtool
# (what tests/daemon's metrics test runs). Idempotent.
set -euo pipefail

exec "$(dirname "$0")/unpack-deb-binary.sh" prometheus usr/bin/promtool "${1:-${IRQBPFD_PROMTOOL_DIR:-/var/cache/irqbpfd/prometheus}}"
