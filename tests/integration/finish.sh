#!/usr/bin/env bash
# A job's finishing (stamp, repack, verify) runs in a child, `ptbuild __finish`, off the
# scheduler's loop (issue 17, item 4): the log shows the child's argv and its lines as before;
# while one job's big wheel is being deflated, another job finishes and a third starts; the
# wheels are what they were; the hidden command is not in --help and refuses bad arguments.
# usage: finish.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" finish
. "$SRC/tests/integration/fixtures/ext_project.sh"

for r in big short after; do make_repo $r; done
# big: a wheel with 64 MiB of random data, stored by the fixture, deflated by the repack
recipe big v1 "{ \"EXT_NAME\": \"big\", \"EXT_PAD\": \"$((48 << 20))\" }"
# short waits in its build until big's collect began (EXT_BLOCK: released by killing its sleep)
recipe short v1 "{ \"EXT_NAME\": \"short\", \"EXT_BLOCK\": \"$work/block\" }"
recipe after v1 '{ "EXT_NAME": "after" }' '["short"]'
set_file default '["big", "after"]'
logs=$p/build/logs/cpu-py3.11
before() { python3 -c "import sys; sys.exit(0 if float('$1') < float('$2') else 1)"; }
first_mark() { sed -n 's/^# ptbuild: [a-z]* at //p' "$1" | head -1; }

expect 0 "lock" -- pt lock
touch "$work/block"
release() {
	for _ in $(seq 1200); do
		if grep -q "^# ptbuild: collect at" "$logs/big.log" 2>/dev/null && [ -s "$work/block.pid" ]; then
			kill "$(cut -d' ' -f2 "$work/block.pid")"
			return
		fi
		sleep 0.05
	done
}
release &
releaser=$!
expect 0 "build" -- pt build -j 2
kill "$releaser" 2>/dev/null
wait "$releaser" 2>/dev/null
contains "all built" "3 built, 0 cached"
grep -q "^\$ .*/ptbuild __finish .*/big\.finish\.json$" "$logs/big.log" ||
	fail "the big job's log lacks the __finish argv: $(grep '^\$' "$logs/big.log")"
grep -q "^# ptbuild: big-1.0-.*\.whl -> big-1.0-.*\.whl (version 1.0, SOURCE_DATE_EPOCH=" \
	"$logs/big.log" || fail "the child's stamp line is not in the log: $(cat "$logs/big.log")"
grep -q "^# ptbuild: verify big-1.0-.*: .* 0 findings$" "$logs/big.log" ||
	fail "the child's verify line is not in the log"
# the driver kept going: while big was being finished, short finished and after started
c0=$(log_time "$logs/big.log" collect); c1=$(log_time "$logs/big.log" finished)
s1=$(log_time "$logs/short.log" finished); a0=$(first_mark "$logs/after.log")
if [ -n "$c0" ] && [ -n "$c1" ] && [ -n "$s1" ] && [ -n "$a0" ]; then
	before "$c0" "$a0" && before "$a0" "$c1" ||
		fail "after started at $a0, not while big was finishing ($c0-$c1; short finished $s1)"
else
	fail "missing phase times: big collect $c0 finished $c1, short $s1, after $a0"
fi
# nothing of the finisher is left
[ -z "$(ls "$p/build/tmp/cpu-py3.11" 2>/dev/null | grep finish)" ] ||
	fail "the finisher's files were left: $(ls "$p/build/tmp/cpu-py3.11")"
key=$(pt plan --json | python3 -c 'import json,sys; print([v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"] == "big"][0])')
whl=$(ls "$work/cache/out/$key/"big-*.whl)
python3 - "$whl" <<'PY' || fail "the finished wheel is not the deterministic repack"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [i.filename for i in z.infolist()]
assert names == sorted(names[:-3]) + names[-3:], names
assert names[-1].endswith(".dist-info/RECORD"), names
assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
assert z.testzip() is None
PY

# the hidden command: not listed, never suggested, and it refuses what it cannot read
expect 0 "help" -- "$PTBUILD" --help
lacks "__finish is hidden" "__finish"
expect 2 "a near miss" -- "$PTBUILD" _finish
lacks "__finish is not suggested" "__finish"
expect 2 "no arguments" -- "$PTBUILD" __finish
contains "usage" "usage: ptbuild __finish ARGS.json"
echo '{ "dir": 1, "verify": {} }' >"$work/bad.json"
expect 2 "bad arguments" -- "$PTBUILD" __finish "$work/bad.json"
contains "names the member" "\"dir\" must be a string"
finish finish
