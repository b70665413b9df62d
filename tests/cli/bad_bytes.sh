#!/usr/bin/env bash
# Bytes that are not UTF-8 text in a recipe (invalid UTF-8, a NUL, UTF-16 with and without
# a byte order mark) are refused at file:line:col with a hint, exit 2, by every command
# that reads the recipe, and the lock is left exactly as it was; a UTF-8 byte order mark is
# accepted. Bytes from outside (a file name) never make --json output invalid UTF-8.
# usage: bad_bytes.sh PTBUILD SOURCE_DIR
set -euo pipefail
ptbuild=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptbuild-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
export PTBUILD_CACHE=$work/cache

fail() { echo "FAIL: $*" >&2; exit 1; }

# A project with one archive source on a file:// URL, so `lock` works without a network.
mkdir -p "$work/src/foo-1.0" "$work/p/recipes/sets" "$work/p/toolchains"
echo "print('foo')" >"$work/src/foo-1.0/setup.py"
tar -C "$work/src" -czf "$work/foo-1.0.tar.gz" foo-1.0
sha=$(sha256sum "$work/foo-1.0.tar.gz" | cut -d' ' -f1)
p=$work/p
recipe=$p/recipes/foo.json
# write_recipe BYTES: the recipe, with an env value's bytes on line 2 from column 20
write_recipe() {
	{
		printf '{ "name": "foo", "version": "1.0",\n'
		printf '  "env": {"NOTE": "%b"},\n' "$1"
		printf '  "source": {"archive": "file://%s/foo-1.0.tar.gz", "sha256": "%s", "strip": 1} }\n' \
			"$work" "$sha"
	} >"$recipe"
}
write_recipe 'caf'
good=$(cat "$recipe")
printf '{ "name": "cpu", "tag": "cpu" }\n' >"$p/toolchains/cpu.json"
printf '{ "targets": ["foo"], "toolchains": ["cpu"], "python": ["3.11"] }\n' >"$p/recipes/sets/default.json"
"$ptbuild" -C "$p" -q lock || fail "lock of the good project exited $?"
cp "$p/ptbuild.lock" "$work/lock.before"
listing() { (cd "$p" && find . -print | LC_ALL=C sort); }
listing >"$work/files.before"

# refused NAME EXPECT HINT: every command refuses the recipe as it is now, exit 2, with
# EXPECT and HINT on stderr (and in --json), and leaves the lock and the project unchanged.
refused() {
	local name=$1 expect=$2 hint=$3 args rc
	for args in "lock" "lock --update" "plan" "fetch"; do
		rc=0
		"$ptbuild" -C "$p" $args >"$work/out" 2>"$work/err" || rc=$?
		[ "$rc" = 2 ] || { cat "$work/err" >&2; fail "$name: '$args' exited $rc, not 2"; }
		grep -qF -- "$expect" "$work/err" || { cat "$work/err" >&2; fail "$name: '$args' does not say: $expect"; }
		grep -qF -- "hint: $hint" "$work/err" || { cat "$work/err" >&2; fail "$name: '$args' gives no hint: $hint"; }
		cmp -s "$p/ptbuild.lock" "$work/lock.before" || fail "$name: '$args' changed ptbuild.lock"
		listing | cmp -s - "$work/files.before" || fail "$name: '$args' left files behind"
	done
	rc=0
	"$ptbuild" -C "$p" --json plan >"$work/out" 2>/dev/null || rc=$?
	[ "$rc" = 2 ] || fail "$name: --json plan exited $rc, not 2"
	python3 - "$work/out" "$expect" <<'PY' || fail "$name: --json plan: bad answer"
import json, sys
answer = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert answer["ok"] is False
d = answer["diagnostics"][0]
where = "%s:%d:%d: error: %s" % (d["file"], d["line"], d["col"], d["message"])
assert sys.argv[2] in where, where
PY
	echo "$name: refused by lock, lock --update, plan, fetch and --json plan; lock unchanged"
}

write_recipe 'caf\xe9'
refused "Latin-1 byte" "recipes/foo.json:2:23: error: not valid UTF-8: byte 0xe9" "save the file as UTF-8"
write_recipe 'caf\xed\xa0\x80'
refused "UTF-8 surrogate" "recipes/foo.json:2:23: error: not valid UTF-8: byte 0xed" "save the file as UTF-8"
write_recipe 'caf\0'
refused "NUL byte" "recipes/foo.json:2:23: error: a NUL byte (0x00) is not allowed in a JSON file" \
	"this is not a text file, or one in another encoding"
write_recipe 'caf\\u0000'
refused "escaped NUL" "recipes/foo.json:2:23: error: invalid JSON: \\u0000 (a NUL character) is not allowed" \
	"remove it"
printf '%s\n' "$good" | iconv -f UTF-8 -t UTF-16 >"$recipe" # with a byte order mark
refused "UTF-16 with a BOM" "recipes/foo.json:1:1: error: the file is UTF-16 (it starts with the byte order mark FF FE)" \
	"save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8"
printf '%s\n' "$good" | iconv -f UTF-8 -t UTF-16BE >"$recipe"
refused "UTF-16BE without a BOM" "recipes/foo.json:1:1: error: the file looks like UTF-16BE" \
	"save it as UTF-8, e.g. iconv -f UTF-16BE -t UTF-8"

# A UTF-8 byte order mark is accepted and is not an input: the lock stays as it was.
printf '\xef\xbb\xbf%s\n' "$good" >"$recipe"
"$ptbuild" -C "$p" -q lock || fail "a UTF-8 byte order mark: lock exited $?"
"$ptbuild" -C "$p" -q fetch --locked || fail "a UTF-8 byte order mark: fetch --locked exited $?"
cmp -s "$p/ptbuild.lock" "$work/lock.before" || fail "a UTF-8 byte order mark changed the lock"
echo "UTF-8 byte order mark: accepted, same lock"

# The lock itself goes through the same reader.
printf '%s\n' "$good" >"$recipe"
sed -i '5s/$/ \/\/ caf\xe9/' "$p/ptbuild.lock"
cp "$p/ptbuild.lock" "$work/lock.before"
rc=0
"$ptbuild" -C "$p" plan 2>"$work/err" >/dev/null || rc=$?
[ "$rc" = 2 ] || fail "a lock with invalid UTF-8: plan exited $rc, not 2"
grep -qE 'ptbuild.lock:5:22: error: not valid UTF-8: byte 0xe9' "$work/err" ||
	{ cat "$work/err" >&2; fail "a lock with invalid UTF-8 is not located"; }
cmp -s "$p/ptbuild.lock" "$work/lock.before" || fail "plan changed the lock"
echo "ptbuild.lock with invalid UTF-8: refused at its line"

# Bytes from outside the files (here a file name in Latin-1) reach --json output as U+FFFD:
# the answer is still UTF-8 JSON.
rm "$p/ptbuild.lock"
printf '{ "name": "bar", "version": 1 }\n' >"$p/recipes/caf"$'\xe9'".json"
rc=0
"$ptbuild" -C "$p" --json plan >"$work/out" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "a recipe with an error in a Latin-1 file name: --json plan exited $rc, not 2"
python3 - "$work/out" <<'PY' || fail "--json output with a Latin-1 file name is not UTF-8 JSON"
import json, sys
answer = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))  # strict: raises on bad bytes
files = {d["file"] for d in answer["diagnostics"]}
assert any(f.endswith("recipes/caf\ufffd.json") for f in files), files
PY
echo "--json output: a Latin-1 file name written as U+FFFD, valid UTF-8"
