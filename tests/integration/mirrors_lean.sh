#!/usr/bin/env bash
# Lean mirrors (issue 17, item 3): a mirror holds branches and tags only, plus the one commit
# a gitlink needs that no branch or tag reaches (fetched by id), over file:// (git's CLI and
# libgit2) and over smart HTTP on 127.0.0.1 (libgit2, with and without
# uploadpack.allowReachableSHA1InWant on the server, and git's CLI); a recipe ref outside
# branches and tags (refs/pull/7/head) or a bare commit id is fetched exactly; a full mirror
# made by an older ptbuild (+refs/*:refs/*) keeps working; PTBUILD_GIT_CLI is checked.
# usage: mirrors_lean.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
. "$SRC/tests/integration/fixtures/lib.sh" mirrors_lean
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
unset PTBUILD_MIRRORS PTBUILD_GIT_CLI
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid
export GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z"
mkdir -p "$work/home" "$work/git" "$work/www" "$work/w"
g() { git -c init.defaultBranch=main -c protocol.file.allow=always -c advice.detachedHead=false "$@"; }

# ---- the upstream: sub.git and top.git, each with refs/pull/N/head of their own commits ----
g init -q "$work/w/sub" && cd "$work/w/sub" || exit 1
echo sub >README && g add -A && g commit -qm "sub: first"
g tag v1
g checkout -q -b pr1 && echo "int pr1;" >pr1.c && g add -A && g commit -qm "sub: pr1"
sub_pr1=$(g rev-parse HEAD)
g checkout -q main && g checkout -q -b pr2 && head -c 200000 /dev/urandom | base64 >pr2-only.txt &&
	g add -A && g commit -qm "sub: pr2"
sub_pr2=$(g rev-parse HEAD)
sub_pr2_blob=$(g rev-parse HEAD:pr2-only.txt)
g checkout -q main
g clone -q --bare "$work/w/sub" "$work/git/sub.git"
g -C "$work/git/sub.git" update-ref refs/pull/1/head "$sub_pr1"
g -C "$work/git/sub.git" update-ref refs/pull/2/head "$sub_pr2"
g -C "$work/git/sub.git" branch -q -D pr1 && g -C "$work/git/sub.git" branch -q -D pr2

g init -q "$work/w/top" && cd "$work/w/top" || exit 1
echo top >README && g add -A && g commit -qm "top: first"
g submodule add -q "$work/git/sub.git" third_party/sub >/dev/null
g config -f .gitmodules submodule.third_party/sub.url ../sub.git
(cd third_party/sub && g checkout -q "$sub_pr1") # a gitlink to a pull request's commit
g add -A && g commit -qm "top: sub at pr1"
g tag -a v1.0 -m "top v1.0"
g checkout -q -b pr7 && echo "int pr7;" >pr7.c && g add -A && g commit -qm "top: pr7"
top_pr7=$(g rev-parse HEAD)
g checkout -q main
g clone -q --bare "$work/w/top" "$work/git/top.git"
g -C "$work/git/top.git" update-ref refs/pull/7/head "$top_pr7"
g -C "$work/git/top.git" branch -q -D pr7
cd "$work" || exit 1

start_server "$work/git" "$work/www"
http=http://127.0.0.1:$port/git

proj=$work/proj
mkdir -p "$proj/recipes/sets" "$proj/toolchains"
echo '{ "name": "cpu", "tag": "cpu" }' >"$proj/toolchains/cpu.json"
echo '{ "targets": ["top"], "toolchains": ["cpu"], "python": ["3.12"] }' >"$proj/recipes/sets/default.json"
recipe() { # BASE REF [SUBMODULES]
	cat >"$proj/recipes/top.json" <<J
{ "name": "top", "version": "1.0", "builder": "generic", "build": ["true"],
  "source": { "git": "$1/top.git", "ref": "$2", "submodules": ${3:-\"recursive\"} } }
J
}
pt() { "$PTBUILD" -C "$proj" --cache-dir "$cache" "$@"; }
mirror() { ls -d "$cache/git/$1"-*.git 2>/dev/null | head -1; }
refs() { git --git-dir="$(mirror "$1")" for-each-ref --format='%(refname)' | sort | tr '\n' ' '; }
has() { git --git-dir="$(mirror "$1")" cat-file -e "$2" 2>/dev/null; }
tree=$proj/build/src/top-v1.0

# lean CASE: the mirrors hold branches and tags, sub's also the gitlink's commit, no more
lean() {
	[ "$(refs top)" = "refs/heads/main refs/tags/v1.0 " ] || fail "$1: top's mirror has refs $(refs top)"
	[ "$(refs sub)" = "refs/heads/main refs/ptbuild/commits/$sub_pr1 refs/tags/v1 " ] ||
		fail "$1: sub's mirror has refs $(refs sub)"
	has top "$top_pr7" && fail "$1: top's mirror has the commit of refs/pull/7/head"
	has sub "$sub_pr2" && fail "$1: sub's mirror has the commit of refs/pull/2/head"
	has sub "$sub_pr2_blob" && fail "$1: sub's mirror has the blob only refs/pull/2/head reaches"
	has sub "$sub_pr1" || fail "$1: sub's mirror lacks the gitlink's commit"
	[ -f "$tree/third_party/sub/pr1.c" ] || fail "$1: the submodule is not checked out at its gitlink"
	[ -f "$tree/README" ] || fail "$1: the superproject is not checked out"
	find "$cache" -name '*.tmp-*' | grep -q . && fail "$1: a half mirror is left in the cache"
}
# fetch_fresh CASE BASE [ENV...] [-- OPTION...]: a fresh cache and tree
fetch_fresh() {
	local what=$1 base=$2 envs=() opts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift && opts=("$@")
	cache=$work/cache-$what
	rm -rf "$proj/build"
	recipe "$base" v1.0
	expect 0 "$what: fetch" -- env "${envs[@]}" "$PTBUILD" "${opts[@]}" -C "$proj" --cache-dir "$cache" fetch
}

# ---- file://, git's CLI (the default there) and libgit2 ---------------------------------
# with a user's GIT_* that would send git elsewhere, were they passed on
fetch_fresh file-cli "file://$work/git" GIT_DIR=/nonexistent GIT_CONFIG_COUNT=1 \
	GIT_CONFIG_KEY_0="url.file:///nonexistent/.insteadOf" GIT_CONFIG_VALUE_0="file://$work/git/"
lean file-cli
lacks "file-cli: by id, no note" "fetched all of its refs"
# libgit2's local transport sends every object of the repository whatever is asked (its
# own pack builder walks all refs): the refs are lean, the objects are not.
fetch_fresh file-libgit2 "file://$work/git" PTBUILD_GIT_CLI=0
[ "$(refs top)" = "refs/heads/main refs/tags/v1.0 " ] || fail "file-libgit2: top's mirror has refs $(refs top)"
[ -f "$tree/third_party/sub/pr1.c" ] || fail "file-libgit2: the submodule is not checked out"

# ---- smart HTTP: libgit2 (the default there) asks for the commit by id when the server
# advertises uploadpack.allowReachableSHA1InWant; otherwise every ref once, in a note ------
git --git-dir="$work/git/sub.git" config uploadpack.allowReachableSHA1InWant true
fetch_fresh http-allowed "$http" -- -v
lean http-allowed
lacks "http-allowed: by id, no note" "fetched all of its refs"
git --git-dir="$work/git/sub.git" config --unset uploadpack.allowReachableSHA1InWant
fetch_fresh http-refused "$http" -- -v
contains "http-refused: the note" "note: commit $sub_pr1 is on no branch or tag of \"$http/sub.git\" and could not be fetched by id"
contains "http-refused: the note" "fetched all of its refs (+refs/*:refs/*) once instead"
has sub "$sub_pr1" || fail "http-refused: sub's mirror lacks the gitlink's commit"
[ -f "$tree/third_party/sub/pr1.c" ] || fail "http-refused: the submodule is not checked out"
[ "$(refs top)" = "refs/heads/main refs/tags/v1.0 " ] || fail "http-refused: top's mirror has refs $(refs top)"
fetch_fresh http-cli "$http" PTBUILD_GIT_CLI=1
lean http-cli

# ---- offline from a lean cache: nothing fetched, the same tree ---------------------------
cache=$work/cache-file-cli
recipe "file://$work/git" v1.0
rm -rf "$proj/build"
expect 0 "fetch --offline from a lean cache" -- pt fetch --offline
[ -f "$tree/third_party/sub/pr1.c" ] || fail "offline: the submodule is not checked out"

# ---- a recipe ref outside branches and tags, and a commit id: fetched exactly -----------
cache=$work/cache-pull
recipe "file://$work/git" refs/pull/7/head '"none"'
expect 0 "lock of refs/pull/7/head" -- pt lock
grep -q "$top_pr7" "$proj/ptbuild.lock" || fail "the lock lacks refs/pull/7/head's commit"
[ "$(refs top)" = "refs/heads/main refs/pull/7/head refs/tags/v1.0 " ] ||
	fail "refs/pull/7/head: top's mirror has refs $(refs top)"
cache=$work/cache-id
recipe "file://$work/git" "$top_pr7" '"none"'
rm -f "$proj/ptbuild.lock"
expect 0 "lock of a commit id no branch or tag reaches" -- pt lock
grep -q "$top_pr7" "$proj/ptbuild.lock" || fail "the lock lacks the commit asked by id"
has top "$top_pr7" || fail "a commit id: top's mirror lacks it"
recipe "http://127.0.0.1:$port/git" "${top_pr7:0:10}" '"none"'
cache=$work/cache-short
rm -f "$proj/ptbuild.lock"
expect 0 "lock of an abbreviated commit id over http" -- pt -v lock
contains "abbreviated id: the note" "an abbreviated id cannot be asked for"
grep -q "$top_pr7" "$proj/ptbuild.lock" || fail "the lock lacks the commit of the abbreviated id"
rm -f "$proj/ptbuild.lock"

# ---- a full mirror made by an older ptbuild (+refs/*:refs/*) keeps working ---------------
cache=$work/cache-old
fetch_fresh old "file://$work/git"
for r in top sub; do
	m=$(mirror $r)
	git --git-dir="$m" config --replace-all remote.origin.fetch '+refs/*:refs/*'
	git --git-dir="$m" fetch -q "$work/git/$r.git" '+refs/*:refs/*'
done
has sub "$sub_pr2" || fail "old mirror: the conversion did not fetch refs/pull/2/head"
cd "$work/w/top" && echo more >>README && g commit -qam "top: more" && g tag v1.1 &&
	g push -q "$work/git/top.git" main v1.1 && cd "$work" || fail "cannot move upstream on"
recipe "file://$work/git" v1.1
rm -rf "$proj/build"
expect 0 "fetch of a new tag into an old full mirror" -- pt fetch
[ -f "$proj/build/src/top-v1.1/third_party/sub/pr1.c" ] || fail "old mirror: v1.1 is not checked out"
has top v1.1 || fail "old mirror: the new tag was not fetched"
case $(refs top) in *refs/pull/7/head*) ;; *) fail "old mirror: its refs/pull were dropped: $(refs top)" ;; esac

# ---- a cached mirror that does not open: an error that says to remove it ----------------
cache=$work/cache-file-cli
recipe "file://$work/git" v1.0
m=$(mirror top)
mv "$m/HEAD" "$m/HEAD.away"
expect 3 "a broken cached mirror" -- pt lock --update
contains "broken mirror" "cannot open the cached mirror of \"file://$work/git/top.git\""
contains "broken mirror" "hint: remove $m; the next run creates it again"
mv "$m/HEAD.away" "$m/HEAD"

# ---- PTBUILD_GIT_CLI: a wrong value; credentials never printed ---------------------------
cache=$work/cache-bad
recipe "file://$work/git" v1.0
expect 2 "PTBUILD_GIT_CLI=yes" -- env PTBUILD_GIT_CLI=yes "$PTBUILD" -C "$proj" --cache-dir "$cache" fetch
contains "wrong value" "PTBUILD_GIT_CLI is \"yes\": it must be 0 (libgit2 fetches mirrors) or 1 (git's CLI does)"
cache=$work/cache-missing
recipe "http://user:s3cret@127.0.0.1:$port/git/nothere" v1.0
expect 3 "a missing repository over http, git's CLI" -- env PTBUILD_GIT_CLI=1 "$PTBUILD" -C "$proj" --cache-dir "$cache" fetch
contains "missing repository" "cannot fetch \"http://***@127.0.0.1:$port/git/nothere/top.git\": repository"
lacks "credentials redacted" "s3cret"
[ -z "$(ls -A "$cache/git" 2>/dev/null)" ] || fail "a failed fetch left $(ls -A "$cache/git")"

finish mirrors_lean
