#!/usr/bin/env bash
# Build venvs from the environment store (<cache>/envs/): two variants sharing a dependency
# closure cost one unpack; a venv holds links, not a copy; venvs removed are linked again
# without pip; a build writing into a dependency's file fails (as root: found by the store's
# manifest, the entry dropped and re-made; as a non-root user: the read-only store file
# refuses the write) and leaves the store and the other venvs as they were.
# usage: envstore.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" envstore
. "$SRC/tests/integration/fixtures/ext_project.sh"

for r in base one two bad; do make_repo $r; done
recipe base v1 '{ "EXT_NAME": "base" }'
recipe one v1 '{ "EXT_NAME": "one", "EXT_NEEDS": "base" }' '["base"]'
recipe two v1 '{ "EXT_NAME": "two", "EXT_NEEDS": "base" }' '["base"]'
# "bad" appends to its dependency's module, then builds as the others do.
cat >"$p/recipes/bad.json" <<EOR
{ "name": "bad", "version": "1.0",
  "source": { "git": "file://$work/git/bad", "ref": "v1" },
  "depends": ["base"],
  "build": ["\${python}", "-c",
            "import base, runpy, sys; open(base.__file__, 'a').write('# written by bad\\\\n'); sys.argv = ['ext_build.py', sys.argv[1]]; runpy.run_path('ext_build.py', run_name='__main__')",
            "\${out}"],
  "env": { "EXT_NAME": "bad" } }
EOR
set_file default '["one", "two"]'
set_file all '["one", "two", "bad"]'
set_file one '["one"]'
set_file bad '["bad"]'
logs=$p/build/logs/cpu-py3.11
venvs=$p/build/venv/cpu-py3.11
site=lib/python3.11/site-packages
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
key_of() { pt plan --json --set all | python3 -c 'import json,sys; print(next(v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"] == sys.argv[1]))' "$1"; }

# ---- two variants, one closure: one unpack, two links ---------------------------------------
expect 0 "lock" -- pt lock --set all
expect 0 "first build" -- pt build -j 2
contains "built" "3 built"
made=$(cat "$logs/one.log" "$logs/two.log" | grep -c "made store entry .*(closure,")
[ "$made" = 1 ] || fail "the closure of one and two was unpacked $made times, not once: $(cat "$logs/one.log" "$logs/two.log")"
for r in one two; do
	grep -q "# ptbuild: env [0-9a-f]* from the store (linked [0-9]* files" "$logs/$r.log" ||
		fail "$r's venv was not linked from the store: $(cat "$logs/$r.log")"
	grep -q "fixture: imported base from $venvs/$r/" "$logs/$r.log" ||
		fail "$r did not import base from its own venv"
	grep -q "^VIRTUAL_ENV=$venvs/$r\$\|VIRTUAL_ENV='*$venvs/$r'*\$" "$venvs/$r/bin/activate" ||
		fail "$r's bin/activate does not name its venv: $(grep VIRTUAL_ENV= "$venvs/$r/bin/activate")"
	grep -q "$work/cache" "$venvs/$r/pyvenv.cfg" "$venvs/$r/bin/pip" &&
		fail "$r's venv names the store path"
done
closure=$(sed -n 's/^# ptbuild: made store entry .*\/envs\/\([0-9a-f]*\) (closure,.*/\1/p' "$logs/one.log" "$logs/two.log")
entry=$work/cache/envs/$closure
[ -f "$entry/manifest" ] && [ -f "$entry/used" ] || fail "no complete store entry $entry"
ls -d "$work/cache/envs/"*.tmp-* >/dev/null 2>&1 && fail "temporary store dirs left"
[ -w "$entry/venv/$site/base/__init__.py" ] && [ "$(id -u)" != 0 ] && fail "a store file is writable"
[ "$(stat -c %a "$entry/venv/$site/base/__init__.py")" = 444 ] || fail "store file mode is not 0444"
# du counts a hardlinked file once: what a venv adds beside the store.
entry_kb=$(du -sk "$entry" | cut -f1)
venv_kb=$(du -sk "$entry" "$venvs/one" | sed -n 2p | cut -f1)
[ "$venv_kb" -lt $((entry_kb / 20)) ] ||
	fail "venv one costs $venv_kb KiB beside the closure's $entry_kb KiB"
echo "envstore: closure $entry_kb KiB, a venv $venv_kb KiB beside it"

# ---- venvs removed: linked again from the store, no pip install of the dependencies ----------
rm -rf "$p/build/venv" "$work/cache/out/$(key_of one)" "$work/cache/out/$(key_of two)"
expect 0 "rebuild without venvs" -- pt build -j 2
contains "rebuilt" "2 built, 1 cached"
for r in one two; do
	grep -q "pip install --no-index" "$logs/$r.log" && fail "$r pip-installed its dependencies again"
	grep -q "from the store (linked" "$logs/$r.log" || fail "$r was not linked from the store"
done
base_sha=$(sha "$entry/venv/$site/base/__init__.py")
[ "$(sha "$venvs/one/$site/base/__init__.py")" = "$base_sha" ] || fail "venv one differs from the store"

# ---- isolation as root: found by the manifest, the entry dropped, then re-made --------------
if [ "$(id -u)" = 0 ]; then
	expect 1 "bad build" -- pt build --set bad
	contains "names the file" "the build wrote into $venvs/bad/$site/base/__init__.py"
	grep -q "that store entry is dropped" "$logs/bad.log" || fail "bad's log lacks the message"
	[ -e "$entry" ] && fail "the damaged store entry $entry was kept"
	ls -d "$work/cache/envs/"*.drop-* >/dev/null 2>&1 && fail "a dropped entry was left"
	ls "$work/cache/out/$(key_of bad)" >/dev/null 2>&1 && fail "bad entered the output cache"
	# one's venv shared the written file: its next use links it again from a re-made entry.
	rm -rf "$work/cache/out/$(key_of one)"
	expect 0 "one after bad" -- pt build --set one
	grep -q "linking it again from the store" "$logs/one.log" || fail "one kept its damaged venv: $(cat "$logs/one.log")"
	grep -q "made store entry .*(closure," "$logs/one.log" || fail "the store entry was not re-made"
	[ "$(sha "$venvs/one/$site/base/__init__.py")" = "$base_sha" ] || fail "one's venv still has bad's write"
	[ "$(sha "$entry/venv/$site/base/__init__.py")" = "$base_sha" ] || fail "the re-made store differs"
fi

# ---- isolation as a non-root user: the read-only store file refuses the write ---------------
if [ "$(id -u)" != 0 ]; then
	as_nobody() { pt "$@"; } # this user is not root already
elif ! command -v setpriv >/dev/null; then
	echo "envstore: skipping the non-root part: setpriv is not installed"
else
	# the same project and cache, handed over (chown keeps each file's inode and mtime, so
	# the store's manifests still hold)
	chmod 755 "$work"
	chown -R 65534:65534 "$work"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/home" \
			PTBUILD_CACHE="$work/cache" "$PTBUILD" -C "$p" "$@"
	}
fi
if [ "$(type -t as_nobody)" = function ]; then
	before=$(sha "$entry/venv/$site/base/__init__.py")
	expect 1 "nobody: bad build" -- as_nobody build --set bad
	grep -q "PermissionError" "$logs/bad.log" || fail "nobody: the write did not fail: $(cat "$logs/bad.log")"
	grep -q "from the store (linked" "$logs/bad.log" || fail "nobody: bad's venv was not linked"
	[ -d "$entry" ] || fail "nobody: the store entry went, though nothing changed it"
	[ "$(sha "$entry/venv/$site/base/__init__.py")" = "$before" ] || fail "nobody: the store changed"
	[ "$(sha "$venvs/one/$site/base/__init__.py")" = "$before" ] || fail "nobody: one's venv changed"
	expect 0 "nobody: one still up to date" -- as_nobody build --set one
fi
finish envstore
