#!/usr/bin/env bash
# README's first command: installs the dependencies, builds ptbuild, checks the machine and
# runs the main job on the bundled default build set.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
build/ptbuild doctor || true   # a report; exit 3 only when a compiler or Python is missing
build/ptbuild plan --set default
