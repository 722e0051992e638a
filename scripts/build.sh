#!/usr/bin/env bash
# Configures and builds irqbpfd. Usage: scripts/build.sh [release|asan] [cmake args...]
#   release (default): build/release, RelWithDebInfo
#   asan:              build/asan, Debug with AddressSanitizer + UndefinedBehaviorSanitizer
# The binaries land in build/<kind>/bin. Warnings are errors here (and so in
# CI, which runs scripts/test.sh); a plain cmake configure leaves them
# warnings. Pass -DIRQBPFD_WERROR=OFF to override.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
[ $# -gt 0 ] && shift
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DIRQBPFD_SANITIZE=ON) ;;
  *) echo "build.sh: unknown build kind '$kind' (release or asan)" >&2; exit 2 ;;
esac

flags+=(-DIRQBPFD_WERROR=ON)

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S . -B "build/$kind" "${generator[@]}" "${flags[@]}" "$@"
cmake --build "build/$kind" --parallel "$(nproc)"
