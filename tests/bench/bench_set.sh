#!/usr/bin/env bash
# Figures for a bundled build set on real software (no pass/fail on speed): a cold build of
# the set against a warm rebuild with its outputs, work trees and venvs dropped and every cache
# kept (compile cache, downloads, mirrors, the environment store), as a fresh checkout or a
# rebuild after `torch` moved sees it. Needs PyPI (or PIP_INDEX_URL) unless SEED_DIST names a
# ptbuild download cache (`<cache>/dist`) to start from: downloads then do not count as build.
# It takes as long as the cold build of the set (pyg: about 20 minutes on 2 cores), so it is
# not part of ci/test.sh; the e2e (tests/e2e/scatter.sh) prints the same figure for
# torch_scatter on every CI run.
# usage: bench_set.sh PTBUILD SOURCE_DIR [SET] [WORK_DIR]
#   SET: a set of SOURCE_DIR/recipes/sets (default: pyg, four PyG extensions against torch 2.9.1)
#   WORK_DIR: where the project copy and its cache go (default: a fresh temp dir, removed)
set -uo pipefail
PTBUILD=$(realpath "$1")
SRC=$(realpath "$2")
SET=${3:-pyg}
if [ -n "${4:-}" ]; then
	work=$4
	rm -rf "$work" && mkdir -p "$work"
else
	work=$(mktemp -d /tmp/ptbuild-bench-set-XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
p=$work/p
mkdir -p "$p"
cp -r "$SRC/recipes" "$SRC/toolchains" "$SRC/patches" "$p/"
export PTBUILD_CACHE=$work/cache
mkdir -p "$PTBUILD_CACHE"
[ -n "${SEED_DIST:-}" ] && cp -al "$SEED_DIST" "$PTBUILD_CACHE/dist"
pt() { "$PTBUILD" -C "$p" "$@"; }
now() { date +%s.%N; }
run() { # WHAT: a build of the set that must succeed; prints nothing, sets $secs
	local t0
	t0=$(now)
	pt build --set "$SET" >"$work/$1.log" 2>&1 || {
		echo "bench_set: the $1 build failed; its output:" >&2
		tail -30 "$work/$1.log" >&2
		exit 1
	}
	secs=$(python3 -c "print(f'{$(now) - $t0:.1f}')")
}
pt fetch --set "$SET" >"$work/fetch.log" 2>&1 || {
	echo "bench_set: fetch failed:" >&2
	tail -20 "$work/fetch.log" >&2
	exit 1
}
run cold
cold=$secs
# du counts a file with several links once, where it first meets it: the store, then what
# the venvs add to it
sizes() { du -sm "$PTBUILD_CACHE/envs" "$p/build/venv" 2>/dev/null | cut -f1 | tr '\n' ' '; }
if [ -d "$PTBUILD_CACHE/envs" ]; then read -r store venvs <<<"$(sizes)"
else store=0 venvs=$(du -sm "$p/build/venv" | cut -f1); fi
rm -rf "$PTBUILD_CACHE/out" "$p/build/work" "$p/build/venv"
run warm
warm=$secs
python3 - "$SET" "$cold" "$warm" "${venvs:-0}" "${store:-0}" <<'PY'
import sys
name, cold, warm, venvs, store = sys.argv[1], *map(float, sys.argv[2:])
print(f"bench set {name}: cold {cold:.1f} s, warm {warm:.1f} s (outputs, work trees and venvs "
      f"dropped; caches kept): {cold / max(warm, 0.01):.1f}x (target >= 40x); "
      f"after the cold build the venvs add {venvs:.0f} MB to a {store:.0f} MB environment "
      "store (du counts each hardlinked file once)")
PY
