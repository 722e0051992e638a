#!/usr/bin/env bash
# Fetches promtool from Debian's prometheus package WITHOUT installing it
# (the package brings a Prometheus server and its service; the tests need
# only `promtool check metrics`). Downloads the .deb with apt, unpacks it
# with dpkg-deb into a cache dir and prints the path of promtool.
#   scripts/fetch-promtool.sh [CACHE_DIR]
#   CACHE_DIR: argument, else $IRQBPFD_PROMTOOL_DIR, else /var/cache/irqbpfd/prometheus
# Layout: CACHE_DIR/<deb name>/usr/bin/promtool and the link CACHE_DIR/promtool
# (what tests/daemon's metrics test runs). Idempotent.
set -euo pipefail

dir="${1:-${IRQBPFD_PROMTOOL_DIR:-/var/cache/irqbpfd/prometheus}}"
link="$dir/promtool"
if [ -x "$link" ]; then
  readlink -f "$link"
  exit 0
fi
mkdir -p "$dir/download"
cd "$dir/download"
download() { apt-get download -q -o APT::Sandbox::User=root prometheus >/dev/null 2>&1; }
if ! download; then
  apt-get update -q >/dev/null
  if ! download; then
    echo "fetch-promtool.sh: apt-get download prometheus failed" >&2
    exit 1
  fi
fi
deb="$(ls -t prometheus_*.deb | head -n 1)"
name="${deb%.deb}"
rm -rf "$dir/$name.tmp"
dpkg-deb -x "$deb" "$dir/$name.tmp"
rm -rf "$dir/$name"
mv "$dir/$name.tmp" "$dir/$name"
rm -f "$dir/download/$deb"   # 30 MB we no longer need
ln -sfn "$name/usr/bin/promtool" "$link"
readlink -f "$link"
