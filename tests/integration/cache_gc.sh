#!/usr/bin/env bash
# `ptbuild cache du | gc` (issue 17, item 5): du's numbers are du(1)'s; gc --dry-run lists
# exactly the unreferenced output entry, mirror, dist file and env entry and removes nothing;
# gc removes exactly those; a build running beside `gc --max-size 0` keeps everything it uses
# and succeeds; --max-size evicts the least recently used first (a cache hit counts as a
# use); a gc killed between moving and deleting leaves a usable cache; two gcs are kept
# apart; bad options exit 2; explain's hint names `ptbuild cache gc`.
# usage: cache_gc.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" cache_gc
. "$SRC/tests/integration/fixtures/ext_project.sh"
cache=$work/cache
sha() { sha256sum "$1" | cut -d' ' -f1; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
key_of() { # RECIPE [SET]: its key in the plan
	pt plan ${2:+--set "$2"} --json | python3 -c "import json,sys
print([v['key'] for v in json.load(sys.stdin)['variants'] if v['recipe'] == '$1'][0])"
}
mirror_of() { ls -d "$cache/git/$1"-*.git 2>/dev/null | head -1; }
# the removed entries of a gc --json answer in $out, "part:name" sorted, one per line
removed() { printf '%s' "$out" | python3 -c "import json,sys
print('\n'.join(sorted(e['part'] + ':' + e['name'] for e in json.load(sys.stdin)['removed'])))"; }
ls_cache() { (cd "$cache" && find out dist git envs -mindepth 1 -maxdepth 1 | sort); }

# ---- fixtures ------------------------------------------------------------------------------
# one recipe built at v1 then v2 (one venv: each built variant costs one, seconds on a loaded
# machine), needing a prebuilt wheel from dist/; one only fetched then dropped; an archive
python3 - "$work" <<'PY'
import sys, zipfile
di = "depw-1.0.dist-info"
files = {"depw/__init__.py": "NAME = 'depw'\n",
         f"{di}/METADATA": "Metadata-Version: 2.1\nName: depw\nVersion: 1.0\n",
         f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
with zipfile.ZipFile(f"{sys.argv[1]}/depw-1.0-py3-none-any.whl", "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
    z.writestr(f"{di}/RECORD", "".join(f"{k},,\n" for k in files) + f"{di}/RECORD,,\n")
PY
wheel_sha=$(sha "$work/depw-1.0-py3-none-any.whl")
cat >"$p/recipes/depw.json" <<J
{ "name": "depw", "version": "1.0", "builder": "wheel",
  "source": { "wheel": "file://$work/depw-1.0-py3-none-any.whl", "sha256": "$wheel_sha" } }
J
for r in one gone; do make_repo $r; done
recipe one v1 '{ "EXT_NAME": "one" }' '["depw"]'
recipe gone v1 '{ "EXT_NAME": "gone" }'
mkdir -p "$work/arch/arch-1.0" && echo data >"$work/arch/arch-1.0/f"
tar -C "$work/arch" -cf "$work/arch-1.0.tar" arch-1.0
cat >"$p/recipes/arch.json" <<J
{ "name": "arch", "version": "1.0", "builder": "generic",
  "source": { "archive": "file://$work/arch-1.0.tar", "sha256": "$(sha "$work/arch-1.0.tar")", "strip": 1 },
  "build": ["true"] }
J
set_file default '["one"]'
set_file dropped '["gone", "arch"]'
expect 0 "lock" -- pt lock
expect 0 "first build" -- pt build
expect 0 "fetch the dropped recipes" -- pt fetch --set dropped
one_v1=$(key_of one); gone_mirror=$(mirror_of gone)
dist_entry=$(sha "$work/arch-1.0.tar")
[ -d "$cache/dist/$dist_entry" ] || fail "the archive is not in $cache/dist"
[ -f "$cache/dist/$wheel_sha/depw-1.0-py3-none-any.whl" ] || fail "the prebuilt wheel is not in $cache/dist"
[ -n "$gone_mirror" ] || fail "no mirror of gone"
rm "$p/recipes/gone.json" "$p/recipes/arch.json" "$p/recipes/sets/dropped.json"
recipe one v2 '{ "EXT_NAME": "one" }' '["depw"]'
expect 0 "lock again" -- pt lock
expect 0 "second build" -- pt build
one_v2=$(key_of one)
[ "$one_v1" != "$one_v2" ] || fail "one's key did not change"
# the environment store: the builds' own entries (the venv's and those it was linked from:
# referenced), and fakes: one entry unused for 30 days, one used now, and what a writer leaves
real_envs=$(cd "$cache/envs" && find . -mindepth 1 -maxdepth 1 -type d | sed 's,^\./,,' | sort)
[ -n "$real_envs" ] || fail "the builds made no environment store entry"
mkdir -p "$cache/envs/old0digest" "$cache/envs/new1digest" "$cache/envs/tmp2digest.tmp-1"
head -c 20000 /dev/urandom >"$cache/envs/old0digest/lib.so"
ln "$cache/envs/old0digest/lib.so" "$cache/envs/old0digest/lib-link.so" # counted once
touch "$cache/envs/new1digest/used" "$cache/envs/tmp2digest.lock"
touch -d '30 days ago' "$cache/envs/old0digest/used"
# a live file of a build that died (its lock is not held)
mkdir -p "$cache/live" && echo '{"started": 1, "keys": []}' >"$cache/live/999999999.json"
touch "$cache/live/999999999.lock"

# ---- du: the numbers du(1) gives -------------------------------------------------------------
expect 0 "du" -- pt --json cache du
du_json=$out
for part in out dist git envs ccache; do
	want=$(du -sB1 "$cache/$part" | cut -f1)
	got=$(printf '%s' "$du_json" | jq_py "d['parts']['$part']['bytes']")
	[ "$got" = "$want" ] || fail "du $part: $got bytes, du(1) says $want"
done
want=$(du -sB1 "$cache" | cut -f1)
got=$(printf '%s' "$du_json" | jq_py "d['total']")
[ "$got" = "$want" ] || fail "du total: $got bytes, du(1) says $want"
got=$(printf '%s' "$du_json" | jq_py "d['parts']['out']['entries'], d['parts']['git']['entries'], d['parts']['dist']['entries'], d['parts']['envs']['entries']")
nenvs=$(( $(printf '%s\n' "$real_envs" | wc -l) + 2 ))
[ "$got" = "2 2 2 $nenvs" ] || fail "du entries (out git dist envs): $got, expected 2 2 2 $nenvs"
expect 0 "du text" -- pt cache du
contains "du names the cache" "cache $cache"
contains "du lists envs" "envs"

# ---- gc --dry-run: exactly the unreferenced ones, nothing removed ---------------------------
# --keep 0: the recent env entry goes too (only live builds reference env entries)
want_removed=$(printf '%s\n' "dist:$dist_entry" "envs:new1digest" "envs:old0digest" \
	"git:$(basename "$gone_mirror")" "out:$one_v1" | sort)
before=$(ls_cache)
expect 0 "gc --dry-run (default --keep 7)" -- pt --json cache gc --dry-run
[ "$(removed)" = "envs:old0digest" ] || fail "--keep 7 would remove $(removed), expected only the old env entry"
expect 0 "gc --dry-run --keep 0" -- pt --json cache gc --dry-run --keep 0
[ "$(removed)" = "$want_removed" ] || fail "dry run lists:
$(removed)
expected:
$want_removed"
[ "$(ls_cache)" = "$before" ] || fail "--dry-run removed something"
[ -f "$cache/live/999999999.json" ] || fail "--dry-run removed the stale live file"
expect 0 "gc --dry-run text" -- pt cache gc --dry-run --keep 0
contains "dry run line" "would remove out    $one_v1 (one/cpu-py3.11)"
contains "dry run summary" "gc: would remove 5 entries"

# ---- gc: removes exactly those ---------------------------------------------------------------
expect 0 "gc --keep 0" -- pt --json cache gc --keep 0
[ "$(removed)" = "$want_removed" ] || fail "gc removed:
$(removed)"
after=$(ls_cache)
[ "$(comm -13 <(printf '%s\n' "$after") <(printf '%s\n' "$before") | sed 's,^\([a-z]*\)/,\1:,' | sort)" = "$want_removed" ] ||
	fail "gc removed other entries than it said: before
$before
after
$after"
[ -d "$cache/out/$one_v2" ] || fail "gc removed the referenced entry $one_v2"
[ -n "$(mirror_of one)" ] || fail "gc removed a referenced mirror"
[ -d "$cache/dist/$wheel_sha" ] || fail "gc removed the pinned wheel"
for e in $real_envs; do
	[ -d "$cache/envs/$e" ] || fail "gc removed the store entry $e that the project's venv was linked from (or its base)"
done
[ -d "$cache/envs/tmp2digest.tmp-1" ] && [ -f "$cache/envs/tmp2digest.lock" ] ||
	fail "gc removed a writer's temp or lock in envs/"
[ -e "$cache/live/999999999.json" ] && fail "gc left the stale live file"
[ -z "$(ls -A "$cache/trash" 2>/dev/null)" ] || fail "gc left its trash"
[ -d "$cache/ccache" ] || fail "gc touched ccache"
expect 0 "no-op build after gc" -- pt build
contains "nothing rebuilt" "0 built, 1 cached"

# ---- explain names the command -------------------------------------------------------------
mv "$cache/out/$one_v2" "$work/one-entry"
expect 0 "explain a removed entry" -- pt explain one
contains "explain's hint" "removed by hand or by \`ptbuild cache gc\`"
mv "$work/one-entry" "$cache/out/$one_v2"

# ---- a build beside gc --max-size 0: what it uses survives, it succeeds ----------------------
# one at v1 again, blocked in its build step: it installs depw from dist/ into its venv (the
# same venv: nothing new to create) and reads one's mirror
recipe one v1 "{ \"EXT_NAME\": \"one\", \"EXT_BLOCK\": \"$work/block\" }" '["depw"]'
expect 0 "lock for the blocked build" -- pt lock
touch "$work/block"
"$PTBUILD" -C "$p" build >"$work/slow.out" 2>&1 &
slow_pid=$!
for _ in $(seq 300); do [ -s "$work/block.pid" ] && break; sleep 0.1; done
[ -s "$work/block.pid" ] || fail "the blocked build never started: $(cat "$work/slow.out")"
read -r _ sleep_pid <"$work/block.pid"
ls "$cache/live/"*.json >/dev/null 2>&1 || fail "the running build has no live file"
expect 0 "gc --max-size 0 beside a build" -- pt --json cache gc --max-size 0 --keep 0
printf '%s' "$out" | jq_py "d['running_builds']" | grep -qx 1 || fail "gc did not see the running build: $out"
# --max-size 0 leaves only what the running build uses: its venv's store entry (touched when
# the build reused the venv) stays; the entries that one was linked from may go
venv_entry=$(sed -n 's/^entry //p' "$p/build/venv/cpu-py3.11/one/.ptbuild-env")
[ -n "$venv_entry" ] && [ -d "$cache/envs/$venv_entry" ] || fail "gc removed the store entry of the running build's venv ($venv_entry)"
[ "$(removed | grep -v '^envs:')" = "out:$one_v2" ] || fail "beside the build, gc removed $(removed), expected one's v2 entry (no running build uses it) and at most the store entries the venv was linked from"
for e in $(removed | sed -n 's/^envs://p'); do
	printf '%s\n' "$real_envs" | grep -qx "$e" && [ "$e" != "$venv_entry" ] || fail "beside the build, gc removed the store entry $e"
done
[ -f "$cache/dist/$wheel_sha/depw-1.0-py3-none-any.whl" ] || fail "gc removed the wheel the running build installs"
[ -n "$(mirror_of one)" ] || fail "gc removed the mirror the running build uses"
kill "$sleep_pid" 2>/dev/null
wait "$slow_pid"; rc=$?
[ "$rc" = 0 ] || fail "the build beside gc: exit $rc: $(cat "$work/slow.out")"
grep -q "venv .* is up to date" "$p/build/logs/cpu-py3.11/one.log" || fail "the blocked build made a new venv (slow)"
rm -f "$work/block" "$work/block.pid"
blocked_key=$(key_of one)
[ -f "$cache/out/$blocked_key/manifest.json" ] || fail "the build beside gc left no entry"
[ -z "$(ls "$cache/live/"*.json 2>/dev/null)" ] || fail "the finished build left its live file"

# ---- --max-size: least recently used first; a cache hit is a use -----------------------------
mirror=$(mirror_of one)
touch -d '3 days ago' "$cache/out/$blocked_key"
find "$mirror" -maxdepth 2 -exec touch -d '2 days ago' {} +
touch -d '1 day ago' "$cache/dist/$wheel_sha" "$cache/dist/$wheel_sha/"*
lru_first() { # MAX: the entries gc --max-size MAX would remove
	expect 0 "gc --dry-run --max-size $1" -- pt --json cache gc --dry-run --keep 365 --max-size "$1"
	printf '%s' "$out" | jq_py "' '.join(e['part'] + ':' + e['name'] for e in d['removed'])"
}
expect 0 "sizes" -- pt --json cache gc --dry-run --keep 365
total=$(printf '%s' "$out" | jq_py "d['kept']")
[ "$(lru_first $((total - 1)))" = "out:$blocked_key" ] ||
	fail "over by one byte, gc would remove $(lru_first $((total - 1))), expected the least recently used (one's entry, 3 days)"
expect 0 "a cached build: one's entry is a hit" -- pt build
contains "cached" "0 built, 1 cached"
[ "$(lru_first $((total - 1)))" = "git:$(basename "$mirror")" ] ||
	fail "after a hit on one's entry, gc would remove $(lru_first $((total - 1))), expected the mirror (2 days)"
expect 0 "gc --max-size" -- pt --json cache gc --keep 365 --max-size $((total - 1))
[ "$(removed)" = "git:$(basename "$mirror")" ] || fail "gc --max-size removed $(removed), expected the mirror"
[ -d "$cache/out/$blocked_key" ] && [ -d "$cache/dist/$wheel_sha" ] || fail "gc --max-size removed more"

# ---- a killed gc leaves the cache usable; the next one empties the trash ---------------------
expect 137 "gc killed after moving" -- env PTBUILD_FAULT=gc "$PTBUILD" -C "$p" cache gc --max-size 0 --keep 0
[ -n "$(ls -A "$cache/trash" 2>/dev/null)" ] || fail "the killed gc left nothing in its trash (fault point not reached?)"
expect 0 "du after a killed gc" -- pt cache du
contains "du counts the trash" "other"
expect 0 "build after a killed gc" -- pt build
expect 0 "gc after a killed gc" -- pt cache gc
[ -z "$(ls -A "$cache/trash" 2>/dev/null)" ] || fail "the next gc did not empty the trash"
expect 0 "no-op build" -- pt build
contains "cached" "0 built, 1 cached"

# ---- two gcs apart; bad options ---------------------------------------------------------------
(flock -n 9 && sleep 3) 9>"$cache/gc.lock" &
holder=$!
sleep 0.3
expect 3 "a second gc" -- pt cache gc
contains "another gc" "another \`ptbuild cache gc\` is running"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect 2 "bad --max-size" -- pt cache gc --max-size lots
contains "size message" "--max-size wants a size such as 10GiB, 512M or 0, not \"lots\""
expect 2 "bad --keep" -- pt cache gc --keep -1
contains "keep message" "--keep wants a number of days"
expect 2 "unknown subcommand" -- pt cache gd
contains "did you mean" "did you mean \"ptbuild cache gc\"?"
expect 2 "no subcommand" -- pt cache
expect 2 "an operand" -- pt cache du extra
expect 2 "unknown flag" -- pt cache gc --dryrun
contains "flag hint" "did you mean \"--dry-run\"?"
for h in "cache --help" "cache du --help" "cache gc --help" "help cache"; do
	expect 0 "$h" -- pt $h
	contains "$h usage" "usage: ptbuild cache"
done
expect 0 "main help" -- pt --help
contains "main help lists cache" "cache    du | gc"

finish cache_gc
