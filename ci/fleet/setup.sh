#!/usr/bin/env bash
# Step "set up": ptbuild on PATH. With one there already (PTBUILD names it, or `ptbuild`
# is on PATH), nothing to do; else it is built from $PTBUILD_SOURCE (default: the
# repository this script is in) after ci/install-deps.sh, into $PTBUILD_SOURCE/build/ci,
# and that directory is put on $GITHUB_PATH when that is set.
# usage: setup.sh
set -euo pipefail
if command -v "${PTBUILD:-ptbuild}" >/dev/null; then
	"${PTBUILD:-ptbuild}" --version 2>/dev/null || true
	exit 0
fi
src=${PTBUILD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "${PTBUILD_SKIP_DEPS:-0}" != 1 ]; then "$src/ci/install-deps.sh"; fi
cmake -S "$src" -B "$src/build/ci" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$src/build/ci" -j"$(nproc)" --target ptbuild
if [ -n "${GITHUB_PATH:-}" ]; then echo "$src/build/ci" >>"$GITHUB_PATH"; fi
echo "ptbuild built: $src/build/ci/ptbuild"
