#!/usr/bin/env bash
# Submodules end to end (issue 14, items 12-16), with a pyg-lib-shaped superproject from
# make_repos.sh served over smart HTTP on loopback: a selection by path ("only",
# "exclude", nested), nested submodule_overrides, unknown paths rejected at file:line:col,
# every unavailable submodule named in one error, and a cached tag locked with the network
# down (a warning, or --offline). Nothing but 127.0.0.1 and file:// is ever contacted.
# usage: submodules.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" submodules
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
unset PTBUILD_MIRRORS
mkdir -p "$work/home" "$work/git" "$work/www"
start_server "$work/git" "$work/www"
base=http://127.0.0.1:$port/git
bash "$SRC/tests/integration/fixtures/make_repos.sh" "$work/git" "$base" >/dev/null ||
	{ echo "cannot make the fixture repositories" >&2; exit 1; }
gitd() { git --git-dir="$work/git/$1.git" "${@:2}"; }
pyg=$(gitd pyg rev-parse 'v0.8.0^{commit}')
metis=$(gitd pyg rev-parse v0.8.0:third_party/METIS)
gklib=$(gitd metis rev-parse "$metis:GKlib")
fork=$(gitd gklib-fork rev-parse 'v2^{commit}')

proj=$work/proj
mkdir -p "$proj/recipes/sets" "$proj/toolchains"
echo '{ "name": "cpu", "tag": "cpu" }' >"$proj/toolchains/cpu.json"
echo '{ "targets": ["pyg"], "toolchains": ["cpu"], "python": ["3.12"] }' >"$proj/recipes/sets/default.json"
recipe() { # SUBMODULES [OVERRIDES]: recipes/pyg.json, "submodules" on line 3, overrides on 4
	cat >"$proj/recipes/pyg.json" <<J
{ "name": "pyg", "version": "0.8.0", "builder": "generic", "build": ["true"],
  "source": { "git": "$base/pyg.git", "ref": "v0.8.0",
              "submodules": $1 },
  "submodule_overrides": { ${2:-} } }
J
}
cache=$work/cache
pt() { "$PTBUILD" -C "$proj" --cache-dir "$cache" "$@"; }
lockf=$proj/ptbuild.lock
lockget() {
	python3 - "$lockf" "$1" <<'PY'
import json, re, sys
L = json.loads(re.sub(r"^//.*$", "", open(sys.argv[1]).read(), flags=re.M))
print(eval(sys.argv[2]))
PY
}
R=recipes/pyg.json
tree=$proj/build/src/pyg-v0.8.0

# ---- a selection that is wrong on its face: plan, no network ------------------------------
recipe '{ "only": [] }'
expect 2 "only []" -- pt plan
contains "only []" "$R:3:39: error: \"only\" of \"submodules\" in \"source\" of recipe \"pyg\" lists no path"
recipe '{ "only": ["third_party/METIS"], "exclude": ["third_party/cccl"] }'
expect 2 "only and exclude" -- pt plan
contains "only and exclude" "needs exactly one of \"only\" and \"exclude\""
recipe '{ "exclude": ["third_party/METIS", "third_party/METIS/GKlib"] }'
expect 2 "a path inside another" -- pt plan
contains "a path inside another" "$R:3:64: error: \"third_party/METIS/GKlib\" in \"submodules\""
contains "a path inside another" "is inside \"third_party/METIS\""
recipe '{ "exclude": ["/third_party/cccl"] }'
expect 2 "an absolute path" -- pt plan
contains "an absolute path" "is not a submodule path"
recipe '"some"'
expect 2 "a word" -- pt plan
contains "a word" "hint: or choose by path: {\"only\": [PATH...]}"
recipe '{ "exclude": ["third_party/METIS"] }' \
	"\"third_party/METIS/GKlib\": { \"git\": \"$base/gklib-fork.git\", \"ref\": \"v2\" }"
expect 2 "an override of a submodule left out" -- pt plan
contains "override left out" "$R:4:28: error: submodule override \"third_party/METIS/GKlib\" of recipe \"pyg\" is for a submodule that its \"submodules\" leaves out"

# ---- paths that no gitlink has: known once the tree is walked (lock, fetch) ---------------
recipe '{ "only": ["third_party/METS", "third_party/METIS/GKlb"] }'
expect 2 "lock: unknown selected paths" -- pt lock
contains "unknown path" "$R:3:40: error: \"submodules\" of recipe \"pyg\" lists \"third_party/METS\", which is not a submodule of \"$base/pyg.git\" at ${pyg:0:12}"
contains "unknown path" "hint: did you mean \"third_party/METIS\"?"
contains "unknown nested path" "\"submodules\" of recipe \"pyg\" lists \"third_party/METIS/GKlb\""
contains "unknown nested path" "hint: did you mean \"third_party/METIS/GKlib\"?"
[ -e "$lockf" ] && fail "a lock was written despite unknown paths"
expect 2 "fetch: unknown selected paths" -- pt fetch
contains "fetch, unknown path" "did you mean \"third_party/METIS\"?"
ls "$proj/build/src" 2>/dev/null | grep -q . && fail "fetch left something in build/src: $(ls "$proj/build/src")"
recipe '"recursive"' "\"third_party/METIS/GKlb\": { \"git\": \"$base/gklib-fork.git\", \"ref\": \"v2\" }"
expect 2 "lock: an override for no gitlink" -- pt lock
contains "unknown override" "$R:4:28: error: submodule override \"third_party/METIS/GKlb\" of recipe \"pyg\" names no submodule of"
contains "unknown override" "hint: did you mean \"third_party/METIS/GKlib\"?"

# ---- a selection in the lock, the key and the tree -----------------------------------------
recipe '{ "exclude": ["third_party/cutlass", "third_party/cccl"] }'
expect 0 "lock with exclude" -- pt lock
[ "$(lockget 'sorted(L["sources"]["pyg"]["submodules"])')" = \
  "['third_party/METIS', 'third_party/METIS/GKlib', 'third_party/parallel-hashmap']" ] ||
	fail "the lock records other submodules than the selection: $(lockget 'sorted(L["sources"]["pyg"]["submodules"])')"
[ "$(lockget 'L["sources"]["pyg"]["source"]["submodules"]')" = \
  "{'exclude': ['third_party/cccl', 'third_party/cutlass']}" ] || fail "the lock's source lacks the selection"
[ "$(lockget 'L["sources"]["pyg"]["submodules"]["third_party/METIS/GKlib"]["commit"]')" = "$gklib" ] ||
	fail "GKlib's commit in the lock"
[ "$(lockget 'L["variants"]["pyg/cpu-py3.12"]["inputs"]["recipe"]["source"]["submodules"]')" = \
  "{'exclude': ['third_party/cccl', 'third_party/cutlass']}" ] || fail "the variant's key inputs lack the selection"
expect 0 "fetch --locked with exclude" -- pt fetch --locked
[ -f "$tree/third_party/METIS/GKlib/src/gklib.c" ] || fail "GKlib is not checked out"
[ -f "$tree/third_party/parallel-hashmap/src/phmap.c" ] || fail "parallel-hashmap is not checked out"
[ -z "$(ls -A "$tree/third_party/cutlass" 2>/dev/null)" ] || fail "cutlass is checked out though excluded"
key1=$(lockget 'L["variants"]["pyg/cpu-py3.12"]["key"]')
recipe '{ "only": ["third_party/METIS/GKlib"] }'
expect 2 "fetch --locked after the selection changed" -- pt fetch --locked
contains "selection changed" "recipe \"pyg\" changed its source since the lock"
contains "selection changed" "submodules"
expect 0 "lock with only a nested path" -- pt lock
[ "$(lockget 'sorted(L["sources"]["pyg"]["submodules"])')" = "['third_party/METIS', 'third_party/METIS/GKlib']" ] ||
	fail "only GKlib: the lock has $(lockget 'sorted(L["sources"]["pyg"]["submodules"])')"
[ "$(lockget 'L["variants"]["pyg/cpu-py3.12"]["key"]')" != "$key1" ] || fail "the selection is not in the key"
expect 0 "fetch with only a nested path" -- pt fetch
[ -f "$tree/third_party/METIS/src/metis.c" ] && [ -f "$tree/third_party/METIS/GKlib/src/gklib.c" ] ||
	fail "only GKlib: METIS and GKlib are not both there"
[ -z "$(ls -A "$tree/third_party/parallel-hashmap")" ] || fail "only GKlib: parallel-hashmap is checked out"

# ---- a nested override ---------------------------------------------------------------------
recipe '"recursive"' "\"third_party/METIS/GKlib\": { \"git\": \"$base/gklib-fork.git\", \"ref\": \"v2\" }"
expect 0 "lock with a nested override" -- pt lock
[ "$(lockget 'L["sources"]["pyg"]["submodules"]["third_party/METIS/GKlib"]["commit"]')" = "$fork" ] ||
	fail "the nested override is not applied in the lock"
[ "$(lockget 'L["sources"]["pyg"]["submodules"]["third_party/METIS/GKlib"]["overridden"]')" = True ] ||
	fail "the nested override is not marked"
expect 0 "fetch --locked with a nested override" -- pt fetch --locked
[ -f "$tree/third_party/METIS/GKlib/src/fork.c" ] || fail "the fork's GKlib is not checked out"

# ---- a site mirror that lacks some: one error names them all -------------------------------
cp -r "$work/git" "$work/site"
rm -rf "$work/site/gklib.git" "$work/site/cutlass.git"
echo "{ \"$base/\": \"file://$work/site/\" }" >"$proj/mirrors.json"
recipe '"recursive"'
cp "$lockf" "$work/lock.before"
cache=$work/cache-site
expect 3 "lock --update through a site mirror that lacks two" -- pt lock --update
contains "one pass" "error: recipe \"pyg\": 2 submodules of \"$base/pyg.git\" at ${pyg:0:12} cannot be fetched"
contains "nested by full path" "\"third_party/METIS/GKlib\" at commit $gklib, gitlink of \"third_party/METIS\" (\"$base/metis.git\" at ${metis:0:12})"
contains "URL asked" "upstream \"$base/gklib.git\", asked of the site mirror \"file://$work/site/gklib.git\""
contains "second one" "\"third_party/cutlass\" at commit"
contains "site hint" "hint: the site mirror lacks them"
contains "exclude hint" "{\"exclude\": [\"third_party/METIS/GKlib\", \"third_party/cutlass\"]}"
lacks "no upstream hint for a site mirror" "force-pushed"
cmp -s "$lockf" "$work/lock.before" || fail "a failed lock --update changed the lock"
rm -rf "$proj/build/src"
expect 3 "fetch through the site mirror" -- pt fetch
contains "fetch, one pass" "2 submodules of"
[ -z "$(ls -A "$proj/build/src" 2>/dev/null)" ] || fail "a failed fetch left $(ls -A "$proj/build/src")"
find "$cache" -name '*.tmp-*' | grep -q . && fail "a half mirror is left in the cache"
recipe '{ "exclude": ["third_party/METIS/GKlib", "third_party/cutlass"] }'
expect 0 "the site builds without them" -- pt lock
rm -f "$proj/mirrors.json"
cache=$work/cache

# ---- the network down: the cached mirror answers -------------------------------------------
recipe '"recursive"'
expect 0 "lock with the network" -- pt lock --update
cp "$lockf" "$work/lock.online"
kill "$server_pid" && wait "$server_pid" 2>/dev/null
server_pid=
expect 0 "lock --update with the network down" -- pt lock --update
contains "network down" "warning: mirror not updated: cannot fetch \"$base/pyg.git\""
contains "network down" "hint: its branches may be behind upstream; \`--offline\` uses the cache"
cmp -s "$lockf" "$work/lock.online" || fail "the lock from the cache differs from the one made online"
expect 0 "lock --update --offline" -- pt lock --update --offline
lacks "offline: no warning" "warning"
cmp -s "$lockf" "$work/lock.online" || fail "the lock made --offline differs"
rm -rf "$proj/build/src"
expect 0 "fetch of the locked commits with the network down" -- pt fetch
lacks "a locked commit the cache has needs no fetch" "warning"
[ -f "$tree/third_party/METIS/GKlib/src/gklib.c" ] || fail "fetch (network down) did not check out GKlib"
rm -rf "$proj/build/src"
expect 0 "fetch --offline" -- pt fetch --offline
[ -f "$tree/third_party/METIS/GKlib/src/gklib.c" ] || fail "fetch --offline did not check out GKlib"
sed -i 's/"ref": "v0.8.0"/"ref": "v0.9.0"/' "$proj/recipes/pyg.json"
expect 3 "a tag the cache does not have, network down" -- pt lock
contains "missing tag" "no tag, branch or commit \"v0.9.0\""
contains "missing tag" "the mirror could not be updated (see the warning)"
expect 3 "a tag the cache does not have, --offline" -- pt lock --offline
contains "missing tag offline" "no tag, branch or commit \"v0.9.0\""

finish submodules
