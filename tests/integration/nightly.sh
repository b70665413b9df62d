#!/usr/bin/env bash
# Nightly pins (issue 16, item 5): a wheel source that names its index and allows
# pre-releases ({"wheel": "fixture-torch", "index": URL, "pre": true}), on a loopback PEP 503
# index serving dated pre-releases of a fixture wheel.
#  1. `lock` pins the version the index serves (dev20261130) and the file's sha256.
#  2. The index adds dev20261201: `lock`, `plan` and `build` keep the pin (same key, same
#     lock), and `fetch` on a fresh cache downloads the locked version, not the newest;
#     `build --locked` and `fetch --locked` refuse (exit 2) naming both versions and the
#     index; nothing of the lock changes.
#  3. `lock --update torch_nightly` moves the pin to dev20261201 and the key changes; a
#     plain `lock` afterwards changes nothing; `lock --update torch` (the name the recipe
#     provides) moves it too.
#  4. The locked file vanishes from the index: `--locked` says so (exit 2); with the index
#     down `--locked` is an environment error (exit 3) naming it, and `--frozen` builds
#     from the cache.
# usage: nightly.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" nightly
. "$SRC/tests/integration/fixtures/ext_project.sh"
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_PRE
# pip's own index is one that is never there: only the recipe's index may be read
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
	PIP_RETRIES=0 PIP_TIMEOUT=5 PIP_INDEX_URL=http://127.0.0.1:9/nowhere/simple/

www=$work/www
mkdir -p "$www/files" "$work/wheels"
python3 - "$work/wheels" <<'EOF'
import sys, zipfile
def wheel(name, version, requires=()):
    di = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + \
        "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{name}/__init__.py": f"__version__ = {version!r}\n", f"{di}/METADATA": meta,
             f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as z:
        for k, v in files.items():
            z.writestr(zipfile.ZipInfo(k, (2026, 1, 1, 0, 0, 0)), v)
        z.writestr(zipfile.ZipInfo(f"{di}/RECORD", (2026, 1, 1, 0, 0, 0)),
                   "".join(f"{k},,\n" for k in files) + f"{di}/RECORD,,\n")
# the nightly requires a wheel whose name sorts before its own (the lock lists a source's
# files by name: the first of them is not the nightly's)
wheel("aaa_dep", "1.0")
wheel("fixture_torch", "2.10.0.dev20261130", ["aaa-dep"])
wheel("fixture_torch", "2.10.0.dev20261201", ["aaa-dep"])
wheel("fixture_torch", "2.10.0.dev20261202", ["aaa-dep"])
EOF
old=fixture_torch-2.10.0.dev20261130-py3-none-any.whl
new=fixture_torch-2.10.0.dev20261201-py3-none-any.whl
newer=fixture_torch-2.10.0.dev20261202-py3-none-any.whl
serve() { # FILE...: the index serves exactly these wheels
	rm -rf "$www/files" "$www/simple"
	mkdir -p "$www/files"
	for f in aaa_dep-1.0-py3-none-any.whl "$@"; do cp "$work/wheels/$f" "$www/files/"; done
	python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$www" >/dev/null || fail "cannot index $www"
}
serve "$old"
start_server "$work/git" "$www"
[ -n "$port" ] || { fail "the loopback server did not start"; finish nightly; }
index=http://127.0.0.1:$port/files/simple/

pyv=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
cat >"$p/recipes/torch_nightly.json" <<EOF
{ "name": "torch_nightly", "version": "2.10", "provides": "torch", "builder": "wheel",
  "source": { "wheel": "fixture-torch", "index": "$index", "pre": true } }
EOF
set_file default '["torch_nightly"]' "[\"$pyv\"]"
lock=$p/ptbuild.lock
variant=torch_nightly/cpu-py$pyv
lockget() { # PYTHON_EXPR over the lock as L
	python3 - "$lock" "$1" <<'EOF'
import json, sys
L = json.loads("".join(l for l in open(sys.argv[1]) if not l.startswith("//")))
print(eval(sys.argv[2]))
EOF
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
lock_sum() { sha "$lock"; }

# ---- 1. lock pins the version the index serves ---------------------------------------------
expect 0 "lock" -- pt lock
contains "says what it pinned" "fixture-torch 2.10.0.dev20261130"
[ "$(lockget 'L["sources"]["torch_nightly"]["version"]')" = 2.10.0.dev20261130 ] ||
	fail "the lock does not record the resolved version: $(cat "$lock")"
[ "$(lockget '[f["name"] for f in L["sources"]["torch_nightly"]["files"]]')" = "['aaa_dep-1.0-py3-none-any.whl', '$old']" ] ||
	fail "the pinned files (the nightly and what it requires): $(cat "$lock")"
[ "$(lockget 'L["sources"]["torch_nightly"]["files"][1]["sha256"]')" = "$(sha "$work/wheels/$old")" ] ||
	fail "the pinned file's sha256"
[ "$(lockget 'L["sources"]["torch_nightly"]["source"]["index"]')" = "$index" ] ||
	fail "the lock's source spec lacks the index"
key1=$(lockget "L['variants']['$variant']['key']")
sum1=$(lock_sum)

# ---- 2. the index moves: the pin holds, --locked refuses ----------------------------------
serve "$old" "$new"
expect 0 "lock without --update" -- pt lock
[ "$(lock_sum)" = "$sum1" ] || fail "lock without --update moved the pin: $(cat "$lock")"
expect 0 "plan" -- pt plan --json
contains "plan keeps the locked key" "$key1"
expect 0 "build keeps the pin" -- pt build
[ "$(lock_sum)" = "$sum1" ] || fail "build changed the lock"
# a fresh cache (another runner): the locked nightly is downloaded, not the index's newest
mv "$work/cache" "$work/cache.warm"
expect 0 "fetch on a fresh cache keeps the pin" -- pt fetch
[ -f "$work/cache/dist/$(sha "$work/wheels/$old")/$old" ] ||
	fail "fetch on a fresh cache did not download the locked $old: $(ls -R "$work/cache/dist" 2>&1)"
[ -n "$(find "$work/cache/dist" -name aaa_dep-1.0-py3-none-any.whl)" ] ||
	fail "fetch on a fresh cache did not download what the nightly requires"
[ -z "$(find "$work/cache/dist" -name "$new")" ] || fail "fetch on a fresh cache downloaded $new"
[ "$(lock_sum)" = "$sum1" ] || fail "fetch changed the lock"
rm -rf "$work/cache"
mv "$work/cache.warm" "$work/cache"
for cmd in build fetch; do
	expect 2 "$cmd --locked with a moved nightly" -- pt $cmd --locked
	contains "$cmd --locked names both versions" "torch_nightly: the index now serves fixture-torch 2.10.0.dev20261201 where the lock has 2.10.0.dev20261130"
	contains "$cmd --locked names the index" "$index"
	contains "$cmd --locked says what to do" "ptbuild lock --update torch_nightly"
done
[ "$(lock_sum)" = "$sum1" ] || fail "a refused --locked changed the lock"

# ---- 3. lock --update moves it; the key changes, and only then ----------------------------
expect 0 "lock --update torch_nightly" -- pt lock --update torch_nightly
[ "$(lockget 'L["sources"]["torch_nightly"]["version"]')" = 2.10.0.dev20261201 ] ||
	fail "lock --update did not move the pin: $(cat "$lock")"
[ "$(lockget 'L["sources"]["torch_nightly"]["files"][1]["sha256"]')" = "$(sha "$work/wheels/$new")" ] ||
	fail "the moved pin's sha256"
key2=$(lockget "L['variants']['$variant']['key']")
[ "$key2" != "$key1" ] || fail "the key did not change when the pin moved"
sum2=$(lock_sum)
expect 0 "lock again" -- pt lock
[ "$(lock_sum)" = "$sum2" ] || fail "a second lock changed the lock"
expect 0 "build --locked at the new pin" -- pt build --locked
# --locked on a fresh cache (a fresh CI runner): the wheel and what it requires are
# downloaded, and so is a required wheel the cache lost while it kept the wheel
mv "$work/cache" "$work/cache.warm"
# ... but a build that compiles nothing (here: only the wheel source itself; on a runner,
# every variant from the remote output cache) downloads none of what the wheel requires
expect 0 "build --locked on a fresh cache, nothing to compile" -- pt build --locked
[ -z "$(find "$work/cache/dist" -name aaa_dep-1.0-py3-none-any.whl)" ] ||
	fail "a build that compiles nothing downloaded what the pinned wheel requires"
expect 0 "fetch --locked on a fresh cache" -- pt fetch --locked
[ -f "$work/cache/dist/$(sha "$work/wheels/$new")/$new" ] || fail "fetch --locked on a fresh cache lacks $new"
dep=$(find "$work/cache/dist" -name aaa_dep-1.0-py3-none-any.whl)
[ -n "$dep" ] || fail "fetch --locked on a fresh cache did not download what the wheel requires"
rm -f "$dep"
expect 0 "fetch --locked with the required wheel gone" -- pt fetch --locked
[ -n "$(find "$work/cache/dist" -name aaa_dep-1.0-py3-none-any.whl)" ] ||
	fail "fetch --locked did not download the required wheel the cache lost"
rm -rf "$work/cache"
mv "$work/cache.warm" "$work/cache"
# the name a recipe provides means that recipe: `lock --update torch` moves torch_nightly
serve "$old" "$new" "$newer"
expect 0 "lock --update torch (the provided name)" -- pt lock --update torch
[ "$(lockget 'L["sources"]["torch_nightly"]["version"]')" = 2.10.0.dev20261202 ] ||
	fail "lock --update torch did not move the recipe that provides torch: $(cat "$lock")"
expect 2 "lock --update of a name nothing in the plan is or provides" -- pt lock --update torchh
contains "names it" 'unknown recipe "torchh" after --update'
serve "$old" "$new"
expect 0 "lock --update torch_nightly (the newest is dev20261201 again)" -- pt lock --update torch_nightly
[ "$(lock_sum)" = "$sum2" ] || fail "moving the pin back did not give the same lock"

# ---- 4. the locked file vanishes; the index goes down ---------------------------------------
serve "$old"
expect 2 "build --locked when the locked nightly was deleted" -- pt build --locked
contains "says the locked version is gone" "torch_nightly: the index $index no longer serves fixture-torch 2.10.0.dev20261201"
contains "names the locked file" "$new"
contains "names the index's newest" "its newest is 2.10.0.dev20261130"
[ "$(lock_sum)" = "$sum2" ] || fail "a refused --locked changed the lock"
# An extension built against the pinned nightly, on a fresh runner with --locked: its venv
# gets the nightly and what it requires, though the pinning step fetched only the nightly.
q=$work/q
mkdir -p "$q" && cp -a "$p/recipes" "$p/toolchains" "$q/"
make_repo extn
cat >"$q/recipes/extn.json" <<EOF
{ "name": "extn", "version": "1.0", "source": { "git": "file://$work/git/extn", "ref": "v1" },
  "depends": ["torch"], "build": ["\${python}", "ext_build.py", "\${out}"],
  "env": { "EXT_NAME": "extn", "EXT_NEEDS": "fixture_torch" } }
EOF
echo "{ \"targets\": [\"extn\"], \"use\": { \"torch\": \"torch_nightly\" }, \"toolchains\": [\"cpu\"], \"python\": [\"$pyv\"] }" >"$q/recipes/sets/default.json"
expect 0 "lock with an extension" -- env PTBUILD_CACHE="$work/cache-q1" "$PTBUILD" -C "$q" lock
expect 0 "build --locked of the extension on a fresh cache" -- \
	env PTBUILD_CACHE="$work/cache-q2" "$PTBUILD" -C "$q" build --locked
contains "the extension built" "1 built"
kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_pid=
expect 3 "build --locked with the index down" -- pt build --locked
contains "names the index" "$index"
expect 0 "build --frozen with the index down" -- pt build --frozen
[ "$(lock_sum)" = "$sum2" ] || fail "build --frozen changed the lock"

finish nightly
