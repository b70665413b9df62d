#!/usr/bin/env bash
# The build engine on fixture extensions (tiny C projects in git repositories made here,
# built by tests/integration/fixtures/ext_build.py): parallel builds overlap, dependencies
# build first and are installed in the dependent's venv, the output cache skips, explain
# names each kind of change, a changed flag empties the build directory while a changed
# source keeps it, --keep-going, failure output, SIGINT (exit 130) and SIGTERM (re-raised).
# usage: build.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" build
. "$SRC/tests/integration/fixtures/ext_project.sh"

# ---- fixtures ------------------------------------------------------------------------------
for r in base alpha beta broken good slow; do make_repo $r; done
recipe base v1 '{ "EXT_NAME": "base", "EXT_FLAG": "a", "EXT_SLEEP": "1.5" }'
recipe beta v1 '{ "EXT_NAME": "beta", "EXT_SLEEP": "1.5" }'
recipe alpha v1 '{ "EXT_NAME": "alpha", "EXT_NEEDS": "base" }' '["base"]'
recipe broken v1 '{ "EXT_NAME": "broken", "EXT_FAIL": "1" }'
recipe good v1 '{ "EXT_NAME": "good" }'
recipe slow v1 "{ \"EXT_NAME\": \"slow\", \"EXT_BLOCK\": \"$work/block\" }"
recipe dependent v1 '{ "EXT_NAME": "dependent" }' '["broken"]' good
set_file default '["alpha", "beta"]'
set_file fail '["dependent", "good"]'
set_file slow '["slow"]'
before() { python3 -c "import sys; sys.exit(0 if float('$1') < float('$2') else 1)"; }
logs=$p/build/logs/cpu-py3.11

# ---- a first build: parallel, in dependency order ----------------------------------------
expect 0 "lock" -- pt lock
expect 0 "first build" -- pt build -j 2
contains "summary lists alpha" "alpha cpu-py3.11"
contains "summary counts" "3 built, 0 cached"
for r in base beta alpha; do
	[ -f "$logs/$r.log" ] || fail "no log for $r"
done
# base and beta are independent: with -j 2 each gets one slot and their builds overlap.
b0=$(log_time "$logs/base.log" build); b1=$(log_time "$logs/base.log" finished)
c0=$(log_time "$logs/beta.log" build); c1=$(log_time "$logs/beta.log" finished)
a0=$(log_time "$logs/alpha.log" build)
if [ -n "$b0" ] && [ -n "$c0" ]; then
	before "$b0" "$c1" && before "$c0" "$b1" || fail "base ($b0-$b1) and beta ($c0-$c1) did not overlap"
else
	fail "missing phase times in the logs"
fi
before "$b1" "$a0" || fail "alpha's build ($a0) started before base finished ($b1)"
grep -q "MAX_JOBS=1 CMAKE_BUILD_PARALLEL_LEVEL=1" "$logs/base.log" || fail "base did not get one slot"
grep -q "fixture: imported base from .*venv/cpu-py3.11/alpha/" "$logs/alpha.log" ||
	fail "alpha's venv lacks the base wheel: $(cat "$logs/alpha.log")"
grep -q "^\$ .*ccache/bin" "$logs/base.log" && fail "the masquerade dir leaked into argv"
keys=$(pt plan --json | python3 -c 'import json,sys; print(" ".join(v["key"] for v in json.load(sys.stdin)["variants"]))')
for k in $keys; do
	[ -f "$work/cache/out/$k/manifest.json" ] || fail "no output-cache entry for $k"
	ls "$work/cache/out/$k/"*.whl >/dev/null 2>&1 || fail "no wheel in the entry $k"
done
[ -z "$(ls -d "$work/cache/out/"*.tmp-* 2>/dev/null)" ] || fail "temporary output dirs left"

# ---- nothing changed: nothing runs ---------------------------------------------------------
stamp=$(stat -c %Y.%N "$logs/base.log")
expect 0 "no-op build" -- pt build -j 2
contains "no-op: all cached" "0 built, 3 cached"
[ "$(stat -c %Y.%N "$logs/base.log")" = "$stamp" ] || fail "a cached variant was built again"
expect 0 "explain up to date" -- pt explain alpha base
contains "up to date" "up to date"
lacks "nothing to rebuild" "rebuild:"

# ---- explain each kind of change -----------------------------------------------------------
recipe base v1 '{ "EXT_NAME": "base", "EXT_FLAG": "b", "EXT_SLEEP": "1.5" }'
expect 0 "explain env" -- pt explain base alpha
contains "env change" "rebuild: env EXT_FLAG changed 'a' -> 'b'"
contains "dependency" "rebuild: dependency base rebuilt"
expect 0 "build with the new flag" -- pt build
contains "two rebuilt" "2 built, 1 cached"
grep -q "flags changed: removing" "$logs/base.log" || fail "the flag change kept the build dir"
grep -q "CMAKE_FRESH=1" "$logs/base.log" || fail "CMAKE_FRESH not set after a flag change"
grep -q "fixture: build dir was new" "$logs/base.log" || fail "build dir not fresh"

recipe base v2 '{ "EXT_NAME": "base", "EXT_FLAG": "b", "EXT_SLEEP": "1.5" }'
expect 0 "lock v2" -- pt lock
expect 0 "explain ref" -- pt explain base
contains "ref change" "rebuild: source ref v1 -> v2"
contains "commit change" "rebuild: source commit changed"
expect 0 "build v2" -- pt build
grep -q "new sources, same flags: keeping" "$logs/base.log" || fail "a source change dropped the build dir"
grep -q "fixture: build dir was kept" "$logs/base.log" || fail "build dir not reused"
grep -q "CMAKE_FRESH=None" "$logs/base.log" || fail "CMAKE_FRESH set without a flag change"
expect 0 "explain after" -- pt explain base
contains "up to date again" "up to date"

expect 2 "explain unknown" -- pt explain nosuch
contains "unknown target" "\"nosuch\" has no variant in this plan"
expect 2 "explain nothing" -- pt explain
contains "needs a target" "explain needs a TARGET"

# ---- failures ------------------------------------------------------------------------------
expect 1 "failure stops" -- pt build --set fail -j 1
contains "failure names the variant" "error: broken (cpu-py3.11) failed in build"
contains "failure shows the tail" "ext.c:1:1: error: fixture compile error"
contains "tail is 40 lines" "fixture: noise line 49"
lacks "not more than 40 lines" "fixture: noise line 9
"
contains "failure gives the log path" "the whole log: $logs/broken.log"
contains "the other is not started" "good cpu-py3.11                      skipped"
contains "dependent skipped" "dependent cpu-py3.11                 skipped"
expect 1 "keep going" -- pt build --set fail -j 1 --keep-going
contains "independent built" "good cpu-py3.11                      built"
contains "dependent still skipped" "dependent cpu-py3.11                 skipped"
ls "$work/cache/out/"*/manifest.json | xargs grep -l '"recipe": "broken"' >/dev/null 2>&1 &&
	fail "a failed build entered the output cache"

# ---- one build per project at a time ----------------------------------------------------------
flock "$p/build/.ptbuild-build.lock" sleep 3 &
holder=$!
sleep 0.5
expect 3 "a second build" -- pt build
contains "names the other build" "another \`ptbuild build\` is running in this project"
wait $holder

# ---- machine output ------------------------------------------------------------------------
expect 0 "json" -- pt --json build
echo "$out" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith("{")]
r = lines[-1]
assert r["event"] == "result" and r["ok"], r
assert {v["status"] for v in r["variants"]} == {"cached"}, r
assert all(v["wheels"] and v["wheels"][0]["sha256"] for v in r["variants"]), r
' || fail "json result: $out"

# ---- interrupt -----------------------------------------------------------------------------
touch "$work/block"
"$PTBUILD" -C "$p" build --set slow >"$work/slow.out" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$work/block.pid" ] && break; sleep 0.1; done
[ -s "$work/block.pid" ] || fail "the slow build never started: $(cat "$work/slow.out")"
read -r script_pid sleep_pid <"$work/block.pid"
kill -INT $pid
wait $pid
rc=$?
[ "$rc" = 130 ] || fail "interrupt: exit $rc, expected 130: $(cat "$work/slow.out")"
# A zombie waiting for PID 1 to reap it counts as gone.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
sleep 0.2
alive "$script_pid" && fail "the build script survived the interrupt"
alive "$sleep_pid" && fail "the build's child survived the interrupt"
slow_key=$(pt plan --set slow --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["key"])')
[ -e "$work/cache/out/$slow_key" ] && fail "an interrupted build entered the output cache"
[ -z "$(ls -d "$work/cache/out/"*.tmp-* 2>/dev/null)" ] || fail "interrupted: temporary output dir left"
grep -q "cancelled" "$work/slow.out" || fail "the summary does not say cancelled: $(cat "$work/slow.out")"
# SIGTERM: ptbuild cleans up, then dies of the signal, so a parent sees what stopped it.
rm -f "$work/block.pid"
python3 - "$PTBUILD" "$p" "$work" <<'PY' || fail "SIGTERM: $(cat "$work/term.out")"
import os, signal, subprocess, sys, time
ptbuild, project, work = sys.argv[1:]
with open(work + "/term.out", "w") as out:
    child = subprocess.Popen([ptbuild, "-C", project, "build", "--set", "slow"], stdout=out,
                             stderr=subprocess.STDOUT)
    for _ in range(300):
        if os.path.exists(work + "/block.pid") and os.path.getsize(work + "/block.pid"):
            break
        time.sleep(0.1)
    else:
        sys.exit("the slow build never started")
    child.send_signal(signal.SIGTERM)
    rc = child.wait(timeout=60)
if rc != -signal.SIGTERM:
    sys.exit(f"exit status {rc}, expected death by SIGTERM ({-signal.SIGTERM})")
PY
grep -q "cancelled" "$work/term.out" || fail "SIGTERM: the summary does not say cancelled"
[ -e "$work/cache/out/$slow_key" ] && fail "a build stopped by SIGTERM entered the output cache"
rm -f "$work/block"
expect 0 "resume after interrupt" -- pt build --set slow
contains "resumed" "1 built"

finish build
