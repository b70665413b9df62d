#!/usr/bin/env bash
# Figures for sharding (issue 16, item 4; no pass/fail on speed): the fixture matrix of
# shard_project.sh (8 variants, two chains, builds that sleep 10 s in all x SHARD_SCALE)
# on one machine against 2 shards on two "runners" (project copies, their own caches) at
# the same time, each with one job slot (-j 1: a runner of one core, so that the figure
# is about the split, not about parallel jobs on this machine). Venvs are made by a warm-up
# build first, so both figures measure builds (--force). Target: the makespan of 2 shards
# within 15% of half the one-machine time.
# usage: bench_shards.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" bench-shards
. "$SRC/tests/integration/fixtures/shard_project.sh"
now() { date +%s.%N; }
pt lock >/dev/null 2>&1 || { echo "bench_shards: lock failed" >&2; exit 1; }
pt build -j 1 >/dev/null 2>&1 || { echo "bench_shards: the warm-up build failed" >&2; exit 1; }
t0=$(now); pt build -j 1 --force >/dev/null 2>&1; t1=$(now)
ptin() { local dir=$1 cache=$2; shift 2; PTBUILD_CACHE=$cache "$PTBUILD" -C "$dir" "$@"; }
copy_project "$work/a/p"
copy_project "$work/deeper/b/p"
ptin "$work/a/p" "$work/cache-a" build -j 1 --shard 1/2 >/dev/null 2>&1 &
ptin "$work/deeper/b/p" "$work/cache-b" build -j 1 --shard 2/2 >/dev/null 2>&1 &
wait
# the warm-ups recorded each runner's own shard: give both the one machine's records again,
# so that they split alike (docs/building.md, "Sharding")
for d in "$work/a/p" "$work/deeper/b/p"; do rm -rf "$d/build/state" && cp -r "$p/build/state" "$d/build/"; done
expected=$(ptin "$work/a/p" "$work/cache-a" plan --matrix 2 --json | python3 -c '
import json, sys
print(" ".join(str(e["expected_seconds"]) for e in json.load(sys.stdin)["include"]))')
t2=$(now)
ptin "$work/a/p" "$work/cache-a" build -j 1 --shard 1/2 --force >/dev/null 2>&1 &
pa=$!
ptin "$work/deeper/b/p" "$work/cache-b" build -j 1 --shard 2/2 --force >/dev/null 2>&1 &
pb=$!
wait $pa; ea=$(now)
wait $pb; eb=$(now)
python3 - "$t0" "$t1" "$t2" "$ea" "$eb" "$expected" <<'PY'
import sys
t0, t1, t2, ea, eb = map(float, sys.argv[1:6])
exp = sys.argv[6].split()
one = t1 - t0
a, b = ea - t2, eb - t2
span = max(a, b)
print(f"bench_shards: one machine {one:.1f} s; 2 shards at once: {a:.1f} s and {b:.1f} s, "
      f"makespan {span:.1f} s = {span / (one / 2) * 100:.0f}% of half the one-machine time "
      f"(target <= 115%); plan's expected seconds per shard: {', '.join(exp)}")
PY
