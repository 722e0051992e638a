#!/usr/bin/env bash
# Builds the Debian package: a release build (scripts/build.sh release),
# then CPack's DEB generator over its install tree. Prints the path of the
# .deb on stdout (the build's own output goes to stderr).
#   scripts/build-deb.sh [OUTPUT_DIR]     default: build/deb
# Install it with `dpkg -i`, which starts the daemon unless a policy-rc.d
# says otherwise; tests/package install it with starting forbidden.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-build/deb}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

scripts/build.sh release >&2
rm -f "$out"/irqbpfd_*.deb
(cd build/release && cpack -G DEB -B "$out") >&2
deb="$(ls "$out"/irqbpfd_*.deb)"
echo "$deb"
