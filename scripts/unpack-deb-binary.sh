#!/usr/bin/env bash
# Unpacks one program from a Debian package WITHOUT installing the package
# (installing would bring its service with it), and prints the program's
# path. What fetch-irqbalance.sh and fetch-promtool.sh share.
#   scripts/unpack-deb-binary.sh PACKAGE PATH_IN_PACKAGE CACHE_DIR
#   e.g. scripts/unpack-deb-binary.sh prometheus usr/bin/promtool /var/cache/irqbpfd/prometheus
# Layout: CACHE_DIR/<deb name>/PATH_IN_PACKAGE, and the stable link
# CACHE_DIR/<program name> -> it. Idempotent: when the link resolves to an
# executable, it only prints the path. Downloads with apt (`apt-get update`
# once if there are no package lists yet); the .deb is deleted once unpacked.
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: unpack-deb-binary.sh PACKAGE PATH_IN_PACKAGE CACHE_DIR" >&2; exit 2; }
package="$1"
inner="$2"
dir="$3"
link="$dir/$(basename "$inner")"

if [ -x "$link" ]; then
  readlink -f "$link"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$dir")" ] && [ ! -w "$dir" ]; then
  echo "unpack-deb-binary.sh: cannot write $dir (run as root or pass a writable cache dir)" >&2
  exit 1
fi

mkdir -p "$dir/download"
cd "$dir/download"
# apt's sandbox user cannot write here; downloading as root is what we mean.
download() { apt-get download -q -o APT::Sandbox::User=root "$package" >/dev/null 2>&1; }
if ! download; then
  # No package lists yet (fresh machine): fetch them once and retry.
  apt-get update -q >/dev/null
  if ! download; then
    echo "unpack-deb-binary.sh: apt-get download $package failed" >&2
    exit 1
  fi
fi

deb="$(ls -t "${package}"_*.deb | head -n 1)"
name="${deb%.deb}"
rm -rf "$dir/$name.tmp"
dpkg-deb -x "$deb" "$dir/$name.tmp"
if [ ! -x "$dir/$name.tmp/$inner" ]; then
  rm -rf "$dir/$name.tmp"
  echo "unpack-deb-binary.sh: $deb has no executable $inner" >&2
  exit 1
fi
rm -rf "$dir/$name"
mv "$dir/$name.tmp" "$dir/$name"
rm -f "$dir/download/$deb"
ln -sfn "$name/$inner" "$link"
readlink -f "$link"
