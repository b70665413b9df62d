#!/usr/bin/env bash
# The lock written by the first build (issue 17, item 2), on a fixture project: a wheel
# source ("torch") from a file:// PEP 503 index and two extensions in git repositories.
#  1. `build` without a lock writes one: "wrote ptbuild.lock (3 sources)", and its content
#     is what `ptbuild lock` writes in a twin project.
#  2. The second build resolves nothing (no `pip download`: the project's Python is a
#     wrapper that logs every pip command), leaves the lock byte for byte, says "cached".
#  3. explain, report and collect agree with build (no "rebuild", no "stale"); without any
#     lock they say there is none instead of inventing a difference.
#  4. A changed recipe is resolved again, alone: the other entries stay byte-identical and
#     the change is said; a removed recipe drops out.
#  5. A run that fails before resolving, or while resolving, writes no lock; --no-write-lock
#     writes none; --json says when one is written.
# usage: lock_first.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" lockfirst
. "$SRC/tests/integration/fixtures/ext_project.sh"
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_PRE
# pip's own index is never there: only the recipe's index may be read
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
	PIP_RETRIES=0 PIP_TIMEOUT=5 PIP_INDEX_URL=http://127.0.0.1:9/nowhere/simple/

# the Python ptbuild uses: logs every pip command it runs, then is python3
pyv=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
piplog=$work/pip.log
cat >"$work/python" <<EOF
#!/bin/sh
case "\$*" in *"-m pip"*) echo "\$*" >>"$piplog" ;; esac
exec $(python3 -c 'import sys; print(sys.executable)') "\$@"
EOF
chmod +x "$work/python"
export "PTBUILD_PYTHON_${pyv/./_}=$work/python"
pip_downloads() { grep -c "pip download" "$piplog" 2>/dev/null || true; }

www=$work/www
mkdir -p "$www/files"
python3 - "$www/files" <<'EOF'
import sys, zipfile
name, version = "fixture_torch", "2.1.2"
di = f"{name}-{version}.dist-info"
files = {f"{name}/__init__.py": f"__version__ = {version!r}\n",
         f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
         f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as z:
    for k, v in files.items():
        z.writestr(zipfile.ZipInfo(k, (2026, 1, 1, 0, 0, 0)), v)
    z.writestr(zipfile.ZipInfo(f"{di}/RECORD", (2026, 1, 1, 0, 0, 0)),
               "".join(f"{k},,\n" for k in files) + f"{di}/RECORD,,\n")
EOF
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$www" >/dev/null || fail "cannot index $www"
index=file://$www/simple/

make_repo ext_a
make_repo ext_b
cat >"$p/recipes/torch.json" <<EOF
{ "name": "torch", "version": "2.1.2", "builder": "wheel",
  "source": { "wheel": "fixture-torch==2.1.2", "index": "$index" } }
EOF
recipe ext_a v1 '{ "EXT_NAME": "ext_a", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
recipe ext_b v1 '{ "EXT_NAME": "ext_b", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
set_file default '["ext_a", "ext_b"]' "[\"$pyv\"]"
lock=$p/ptbuild.lock
entry() { # LOCK PYTHON_EXPR over it as L: canonical JSON of that part
	python3 - "$1" "$2" <<'EOF'
import json, sys
L = json.loads("".join(l for l in open(sys.argv[1]) if not l.lstrip().startswith("//")))
print(json.dumps(eval(sys.argv[2]), sort_keys=True))
EOF
}
twin=$work/twin
mkdir -p "$twin" && cp -a "$p/recipes" "$p/toolchains" "$twin/"

# ---- 5a. a run that fails before resolving writes no lock --------------------------------
echo '{ "name": "broken", ' >"$p/recipes/broken.json"
expect 2 "build with a recipe that does not parse" -- pt build
[ ! -e "$lock" ] || fail "a build that failed before resolving wrote $lock"
rm "$p/recipes/broken.json"
# ... and one that fails while resolving (a ref the repository lacks) neither
recipe ext_b v9 '{ "EXT_NAME": "ext_b", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
expect 3 "build with a ref that does not exist" -- pt build
contains "names the ref" "v9"
[ ! -e "$lock" ] || fail "a build whose resolve failed wrote $lock"
[ -z "$(find "$p" -maxdepth 1 -name 'ptbuild.lock*')" ] || fail "a half lock was left: $(ls -a "$p")"
recipe ext_b v1 '{ "EXT_NAME": "ext_b", "EXT_NEEDS": "fixture_torch" }' '["torch"]'

# ---- 1. the first build writes the lock ----------------------------------------------------
: >"$piplog"
expect 0 "first build, no lock" -- pt build
contains "says it wrote the lock" "wrote ptbuild.lock (3 sources)"
contains "built both" "2 built"
[ -f "$lock" ] || fail "the first build wrote no $lock"
[ "$(pip_downloads)" -gt 0 ] || fail "the first build did not resolve the wheel source (pip log: $(cat "$piplog"))"
expect 0 "lock in a twin project (same cache)" -- "$PTBUILD" -C "$twin" lock
cmp -s "$lock" "$twin/ptbuild.lock" ||
	fail "the lock the build wrote differs from what \`ptbuild lock\` writes: $(diff "$lock" "$twin/ptbuild.lock")"
cp "$lock" "$work/lock.1"

# ---- 2. the second build resolves nothing ------------------------------------------------
: >"$piplog"
expect 0 "second build" -- pt build
contains "both cached" "2 cached"
lacks "no lock message" "wrote ptbuild.lock"
[ "$(pip_downloads)" = 0 ] || fail "the second build ran pip download: $(cat "$piplog")"
cmp -s "$lock" "$work/lock.1" || fail "the second build changed the lock: $(diff "$work/lock.1" "$lock")"

# ---- 3. explain, report and collect agree with build -------------------------------------
agree() { # WHEN
	expect 0 "explain ($1)" -- pt explain ext_a ext_b
	contains "explain says up to date ($1)" "up to date"
	lacks "explain invents no rebuild ($1)" "rebuild"
	expect 0 "report ($1)" -- pt report --json
	lacks "report shows nothing stale ($1)" '"stale"'
	contains "report shows them up to date ($1)" '"up to date"'
	rm -rf "$work/house"
	: >"$piplog"
	expect 0 "collect ($1)" -- pt collect --out "$work/house"
	[ -n "$(find "$work/house" -name 'ext_a-*.whl')" ] || fail "collect ($1) has no ext_a wheel: $out"
	lacks "collect builds nothing ($1)" "not built"
}
agree "after a build"
[ "$(pip_downloads)" = 0 ] || fail "collect with the lock ran pip download: $(cat "$piplog")"
# a lock written by hand (`ptbuild lock`) is the same lock
expect 0 "lock by hand" -- pt lock
cmp -s "$lock" "$work/lock.1" || fail "\`ptbuild lock\` after the build changed the lock: $(diff "$work/lock.1" "$lock")"
agree "with a lock by hand"
# without any lock: explain and report say so, they invent no difference
mv "$lock" "$work/lock.away"
expect 0 "explain without a lock" -- pt explain ext_a
lacks "explain without a lock invents no rebuild" "rebuild"
contains "explain without a lock says what to do" "run \`ptbuild build\` or \`ptbuild lock\`"
expect 0 "report without a lock" -- pt report --json
lacks "report without a lock shows nothing stale" '"stale"'
contains "report without a lock says what to do" "run \`ptbuild build\` or \`ptbuild lock\`"
[ ! -e "$lock" ] || fail "explain or report wrote a lock"
mv "$work/lock.away" "$lock"

# ---- 4. a changed recipe is resolved again, alone ---------------------------------------
recipe ext_b v2 '{ "EXT_NAME": "ext_b", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
: >"$piplog"
expect 0 "build after ext_b moved to v2" -- pt build
contains "says what was resolved again" "ptbuild.lock: ext_b re-resolved (source changed)"
lacks "nothing else was resolved" "torch re-resolved"
lacks "nothing was added" "added (new in the plan)"
lacks "nothing else was resolved" "ext_a re-resolved"
contains "ext_b rebuilt, ext_a cached" "1 built"
[ "$(pip_downloads)" = 0 ] || fail "a changed git recipe re-resolved the wheel source: $(cat "$piplog")"
for part in 'L["sources"]["torch"]' 'L["sources"]["ext_a"]' "L['variants']['ext_a/cpu-py$pyv']"; do
	[ "$(entry "$lock" "$part")" = "$(entry "$work/lock.1" "$part")" ] ||
		fail "$part changed though its recipe did not"
done
[ "$(entry "$lock" 'L["sources"]["ext_b"]["commit"]')" = "\"$(git -C "$work/git/ext_b" rev-parse v2)\"" ] ||
	fail "the lock does not pin ext_b at v2: $(cat "$lock")"
expect 0 "build --locked accepts the rewritten lock" -- pt build --locked
contains "all cached" "2 cached"
expect 0 "explain after the change" -- pt explain ext_b
lacks "explain agrees after the change" "rebuild"
# --locked keeps refusing any difference, and writes nothing
cp "$lock" "$work/lock.2"
recipe ext_a v2 '{ "EXT_NAME": "ext_a", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
expect 2 "build --locked with a changed recipe" -- pt build --locked
contains "names the recipe" 'recipe "ext_a" changed its source since the lock'
cmp -s "$lock" "$work/lock.2" || fail "a refused --locked build changed the lock"
recipe ext_a v1 '{ "EXT_NAME": "ext_a", "EXT_NEEDS": "fixture_torch" }' '["torch"]'
# a removed recipe drops out
rm "$p/recipes/ext_b.json"
set_file default '["ext_a"]' "[\"$pyv\"]"
expect 0 "build without ext_b" -- pt build
contains "says ext_b dropped" "ptbuild.lock: ext_b dropped (recipe removed)"
[ "$(entry "$lock" '"ext_b" in L["sources"] or any(k.startswith("ext_b/") for k in L["variants"])')" = false ] ||
	fail "the removed recipe is still in the lock: $(cat "$lock")"
[ "$(entry "$lock" 'L["sources"]["ext_a"]')" = "$(entry "$work/lock.1" 'L["sources"]["ext_a"]')" ] ||
	fail "dropping ext_b changed ext_a's pin"

# ---- 5b. --no-write-lock; --json ------------------------------------------------------------
q=$work/q
mkdir -p "$q" && cp -a "$twin/recipes" "$twin/toolchains" "$q/"
expect 0 "build --no-write-lock" -- "$PTBUILD" -C "$q" build --no-write-lock
[ ! -e "$q/ptbuild.lock" ] || fail "build --no-write-lock wrote a lock"
lacks "no lock message with --no-write-lock" "wrote ptbuild.lock"
out=$("$PTBUILD" -C "$q" build --json 2>/dev/null)
case $out in *'"event":"lock"'*'"created":true'*'"sources":3'*) ;;
*) fail "build --json does not say it wrote the lock: $out" ;; esac
[ -f "$q/ptbuild.lock" ] || fail "build --json wrote no lock"

finish lock_first
