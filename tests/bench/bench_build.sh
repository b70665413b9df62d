#!/usr/bin/env bash
# Figures for the build engine, on the fixture extensions (no pass/fail on speed):
#  1. two independent builds (each compiles, then waits 3 s as a stand-in for a long
#     compile) with -j 2, against the same two one after the other: the makespan and how
#     far it is from the ideal (the longer of the two);
#  2. a no-op `ptbuild build` of a set of 10 recipes x the Pythons this machine has (up to
#     two), all cached.
# usage: bench_build.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" bench-build
. "$SRC/tests/integration/fixtures/ext_project.sh"
for r in one two; do
	make_repo $r
	recipe $r v1 "{ \"EXT_NAME\": \"$r\", \"EXT_SLEEP\": \"3\" }"
done
set_file default '["one", "two"]'
now() { date +%s.%N; }
pt lock >/dev/null 2>&1 || { echo "bench_build: lock failed" >&2; exit 1; }
# Venvs first, so that both runs measure builds only.
pt build -j 2 >/dev/null 2>&1 && rm -rf "$work/cache/out"
t0=$(now); pt build -j 1 --force >/dev/null 2>&1; t1=$(now)
one=$(python3 -c "import json; print(json.load(open('$p/build/state/one/cpu-py3.11.json'))['milliseconds']/1000)")
two=$(python3 -c "import json; print(json.load(open('$p/build/state/two/cpu-py3.11.json'))['milliseconds']/1000)")
t2=$(now); pt build -j 2 --force >/dev/null 2>&1; t3=$(now)
python3 - "$t0" "$t1" "$t2" "$t3" "$one" "$two" <<'PY'
import sys
t0, t1, t2, t3, one, two = map(float, sys.argv[1:])
seq, par, ideal = t1 - t0, t3 - t2, max(one, two)
print(f"bench_build: two independent builds: one after the other {seq:.2f} s (-j 1), "
      f"-j 2 makespan {par:.2f} s; ideal {ideal:.2f} s (the longer build); "
      f"{100 * (par - ideal) / ideal:+.1f}% over the ideal (target: within 10%)")
PY
pys=$(for v in 3.11 3.12; do command -v python$v >/dev/null && printf '"%s",' $v; done)
targets=
for i in $(seq 1 10); do
	recipe r$i v1 "{ \"EXT_NAME\": \"r$i\" }" '[]' one
	targets="$targets\"r$i\","
done
set_file many "[${targets%,}]" "[${pys%,}]"
pt lock --set many >/dev/null 2>&1 && pt build --set many -j 2 >/dev/null 2>&1 ||
	{ echo "bench_build: building the set failed" >&2; exit 1; }
n=$(pt plan --set many --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["variants"]))')
best=
for _ in 1 2 3 4 5; do
	t0=$(now); pt build --set many >/dev/null 2>&1; t1=$(now)
	best=$(python3 -c "b='$best'; t=$t1-$t0; print(f'{min(t, float(b)) if b else t:.3f}')")
done
echo "bench_build: no-op build of $n cached variants: best of 5 $best s (target: about 1 s or less)"
