#!/usr/bin/env bash
# Patch series end to end, the torch_musa flow in miniature: a "framework" repository with a
# submodule and a "backend" repository carrying torch_patches/ (a patch that needs an
# offset, one adding a file, one deleting a file, one changing a file inside the submodule,
# a kineto/ group applied only when USE_KINETO=1), plus a patch of the project's own.
# Served over smart HTTP on loopback. The patched tree must equal, byte for byte and mode
# for mode, what `git apply` makes of the same patches; a conflicting patch must leave
# every tree as it was; toggling the `when` condition changes the key and the applied set.
# usage: patches.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" patches
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid
git() { command git -c protocol.file.allow=always -c init.defaultBranch=main -c advice.detachedHead=false "$@"; }
mkdir -p "$work/home" "$work/git" "$work/www" "$work/w"

start_server "$work/git" "$work/www"
base=http://127.0.0.1:$port/git

# ---- fixtures ------------------------------------------------------------------------------
publish() { rm -rf "$work/git/$1.git"; git clone -q --bare "$work/w/$1" "$work/git/$1.git"; }
w=$work/w
git init -q "$w/fwlib"
printf 'int lib_version(void)\n{\n\treturn 1;\n}\n' >"$w/fwlib/lib.c"
git -C "$w/fwlib" add -A && git -C "$w/fwlib" commit -qm lib
publish fwlib

git init -q "$w/framework"
mkdir -p "$w/framework/src" "$w/framework/tools" "$w/framework/old"
for i in $(seq 1 30); do echo "core line $i"; done >"$w/framework/src/core.c"
printf 'int remove_me;\n' >"$w/framework/old/remove_me.c"
{ printf '#!/usr/bin/env python3\nUSE_KINETO = False\n'; for i in $(seq 1 8); do echo "STEP_$i = $i"; done
  printf 'print("build")\n'; } >"$w/framework/tools/build.py"
chmod +x "$w/framework/tools/build.py"
printf 'framework\n' >"$w/framework/README"
git -C "$w/framework" submodule add -q "$work/git/fwlib.git" third_party/lib >/dev/null
git -C "$w/framework" config -f .gitmodules submodule.third_party/lib.url "$base/fwlib.git"
git -C "$w/framework" add -A && git -C "$w/framework" commit -qm framework
git -C "$w/framework" tag v1.0
publish framework

# The patches, made with git against the framework as it is (and one against an older
# core.c that lacked its first three lines: at v1.0 that hunk sits 3 lines lower).
mk=$work/mk
git clone -q --recursive "$work/git/framework.git" "$mk" 2>/dev/null ||
	git clone -q "$work/git/framework.git" "$mk"
git -C "$mk" submodule update -q --init 2>/dev/null || true
sed -i '1,3d' "$mk/src/core.c"
git -C "$mk" commit -qam "older core"
sed -i 's/^core line 15$/core line 15 (for MUSA)/' "$mk/src/core.c"
mkdir -p "$work/series/kineto"
git -C "$mk" diff >"$work/series/0001-core-offset.patch"
git -C "$mk" checkout -q -- . && git -C "$mk" reset -q --hard HEAD~1
mkdir -p "$mk/src/musa" && printf '// MUSA device\nint musa_device;\n' >"$mk/src/musa/device.cpp"
git -C "$mk" add -A && git -C "$mk" diff --cached >"$work/series/0002-add-device.patch"
git -C "$mk" reset -q --hard
git -C "$mk" rm -q old/remove_me.c && git -C "$mk" diff --cached >"$work/series/0003-delete-file.patch"
git -C "$mk" reset -q --hard
# a change inside the submodule, written from the superproject as torch_musa's are
printf 'diff --git a/third_party/lib/lib.c b/third_party/lib/lib.c\n--- a/third_party/lib/lib.c\n+++ b/third_party/lib/lib.c\n@@ -1,4 +1,4 @@\n int lib_version(void)\n {\n-\treturn 1;\n+\treturn 2;\n }\n' \
	>"$work/series/0004-lib.patch"
sed -i 's/^USE_KINETO = False$/USE_KINETO = True/' "$mk/tools/build.py"
git -C "$mk" diff >"$work/series/kineto/0001-kineto.patch"
git -C "$mk" reset -q --hard
git init -q "$w/backend"
mkdir -p "$w/backend/torch_patches"
cp -r "$work/series/." "$w/backend/torch_patches/"
printf 'not a patch\n' >"$w/backend/torch_patches/README.md"
git -C "$w/backend" add -A && git -C "$w/backend" commit -qm backend
git -C "$w/backend" tag v1.0
# v1.1: one more patch whose context is not in core.c
printf 'diff --git a/src/core.c b/src/core.c\n--- a/src/core.c\n+++ b/src/core.c\n@@ -20,3 +20,3 @@\n core line 20\n-core line twenty-one\n+core line 21 (changed)\n core line 22\n' \
	>"$w/backend/torch_patches/0005-conflict.patch"
git -C "$w/backend" add -A && git -C "$w/backend" commit -qm conflict
git -C "$w/backend" tag v1.1
publish backend

proj=$work/proj
mkdir -p "$proj/recipes/sets" "$proj/toolchains" "$proj/patches/framework"
echo '{ "name": "cpu", "tag": "cpu" }' >"$proj/toolchains/cpu.json"
sed -i 's/^print("build")$/print("build", flush=True)/' "$mk/tools/build.py"
git -C "$mk" diff >"$proj/patches/framework/0001-flush.patch"
git -C "$mk" reset -q --hard
cat >"$proj/recipes/backend.json" <<J
{ "name": "backend", "version": "1.0", "builder": "generic",
  "source": { "git": "$base/backend.git", "ref": "v1.0", "submodules": "none" }, "build": ["true"] }
J
framework_recipe() { # USE_KINETO value
	cat >"$proj/recipes/framework.json" <<J
{ "name": "framework", "version": "1.0", "builder": "generic",
  "source": { "git": "$base/framework.git", "ref": "v1.0" },
  "patches": [
    { "series": "\${src:backend}/torch_patches/*.patch" },
    { "series": "\${src:backend}/torch_patches/kineto/*.patch", "when": { "env.USE_KINETO": "1" } },
    { "series": "patches/framework/*.patch" }
  ],
  "env": { "USE_KINETO": "$1" },
  "build": ["true"] }
J
}
framework_recipe 1
echo '{ "targets": ["framework"], "toolchains": ["cpu"], "python": ["3.11"] }' \
	>"$proj/recipes/sets/default.json"
pt() { "$PTBUILD" -C "$proj" --cache-dir "$work/cache" "$@"; }

# What git apply makes of the same series, outside any repository.
expected_tree() { # DEST PATCH...
	rm -rf "$1"
	git clone -q "$work/git/framework.git" "$1"
	git -C "$1" checkout -q v1.0
	git -C "$1" submodule update -q --init --recursive
	find "$1" -name .git -prune -exec rm -rf {} +
	local dest=$1
	shift
	(cd "$dest" && for p in "$@"; do command git apply "$p" || exit 1; done) ||
		fail "git apply refused the fixture series"
}
# every path with its type, mode and contents: equal listings mean equal trees
listing() { (cd "$1" && find . -mindepth 1 -printf '%y %m %p\n' | sort &&
	find . -type f -print0 | sort -z | xargs -0 sha256sum); }
same_tree() { # WHAT A B
	if ! diff <(listing "$2") <(listing "$3") >"$work/tree.diff"; then
		fail "$1: trees differ:
$(head -30 "$work/tree.diff")"
	fi
}
S=$work/series
series_all=("$S/0001-core-offset.patch" "$S/0002-add-device.patch" "$S/0003-delete-file.patch"
	"$S/0004-lib.patch" "$S/kineto/0001-kineto.patch" "$proj/patches/framework/0001-flush.patch")

# ---- lock: the backend's patch files listed and hashed ---------------------------------------
expect 0 "lock" -- pt lock
lock=$proj/ptbuild.lock
python3 - "$lock" "$w/backend" <<'PY' || fail "the lock's reads are wrong"
import hashlib, json, sys
text = "".join(l for l in open(sys.argv[1]) if not l.startswith("//"))
lock = json.loads(text)
reads = lock["sources"]["backend"]["reads"]
assert reads["globs"] == ["torch_patches/*.patch", "torch_patches/kineto/*.patch"], reads
want = {}
for rel in ["0001-core-offset.patch", "0002-add-device.patch", "0003-delete-file.patch",
            "0004-lib.patch", "kineto/0001-kineto.patch"]:
    want["torch_patches/" + rel] = hashlib.sha256(open(sys.argv[2] + "/torch_patches/" + rel, "rb").read()).hexdigest()
assert reads["files"] == want, (reads["files"], want)
var = lock["variants"]["framework/cpu-py3.11"]["inputs"]
names = [p["path"] for p in var["patch_files"]]
assert names == ["${src:backend}/" + n for n in sorted(want)][:4] + ["${src:backend}/torch_patches/kineto/0001-kineto.patch", "patches/framework/0001-flush.patch"], names
assert var["patch_files"][0]["sha256"] == want["torch_patches/0001-core-offset.patch"]
PY

# ---- plan lists the series and, with --patches, every file in order ---------------------------
expect 0 "plan --patches" -- pt plan --patches
contains "plan" 'patches: ${src:backend}/torch_patches/*.patch (4 files)'
contains "plan" 'patches: ${src:backend}/torch_patches/kineto/*.patch when env.USE_KINETO=1 (1 file)'
contains "plan" 'patches: patches/framework/*.patch (1 file)'
contains "plan" "\${src:backend}/torch_patches/0001-core-offset.patch"
key_kineto=$(pt plan --json | python3 -c 'import json,sys; print([v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"]=="framework"][0])')

# ---- fetch: the patched tree equals git apply's ----------------------------------------------
expect 0 "fetch" -- pt fetch
contains "fetch" "(6 patches, 1 hunk at an offset)"
tree=$(ls -d "$proj"/build/src/framework-v1.0-patched-* 2>/dev/null)
[ "$(echo "$tree" | wc -l)" = 1 ] && [ -d "$tree" ] || { fail "one patched tree expected, got: $tree"; exit 1; }
[ -e "$proj/build/src/framework-v1.0" ] && fail "a pristine framework tree was made that nothing needs"
expected_tree "$work/expected" "${series_all[@]}"
same_tree "patched tree vs git apply" "$work/expected" "$tree"
grep -q "core line 15 (for MUSA)" "$tree/src/core.c" || fail "the offset hunk is missing"
[ -e "$tree/old/remove_me.c" ] && fail "the deleted file is still there"
[ -x "$tree/tools/build.py" ] || fail "tools/build.py lost its mode"
grep -q "return 2" "$tree/third_party/lib/lib.c" || fail "the submodule patch is missing"
ls -a "$proj/build/src" | grep -q "tmp-" && fail "temporary trees left in build/src"

expect 0 "fetch again" -- pt fetch
contains "second fetch" "up to date"
lacks "second fetch" "checked out"

# --patched-only: the patched tree and the tree its patches come from, nothing else
expect 0 "fetch --patched-only" -- pt fetch framework --patched-only --json
python3 -c 'import json,sys; s=json.loads(sys.argv[1])["sources"]; assert sorted((x["recipe"], len(x["patches"])) for x in s) == [("backend", 0), ("framework", 6)], s' "$out" ||
	fail "--patched-only listed: $out"
expect 0 "fetch --pristine" -- pt fetch --pristine
expected_tree "$work/pristine"
same_tree "pristine tree vs git" "$work/pristine" "$proj/build/src/framework-v1.0"

# ---- toggling `when`: another key, another applied set, another tree ---------------------------
framework_recipe 0
expect 0 "plan without kineto" -- pt plan --patches
lacks "plan without kineto" "kineto/0001-kineto.patch"
key_plain=$(pt plan --json | python3 -c 'import json,sys; print([v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"]=="framework"][0])')
[ -n "$key_plain" ] && [ "$key_plain" != "$key_kineto" ] || fail "toggling USE_KINETO kept the key $key_kineto"
expect 2 "fetch --locked after the toggle" -- pt fetch --locked
contains "locked toggle" "kineto/0001-kineto.patch"
expect 0 "fetch without kineto" -- pt fetch
contains "fetch without kineto" "(5 patches"
expected_tree "$work/expected-nokineto" "$S/0001-core-offset.patch" "$S/0002-add-device.patch" \
	"$S/0003-delete-file.patch" "$S/0004-lib.patch" "$proj/patches/framework/0001-flush.patch"
tree_nok=$(ls -d "$proj"/build/src/framework-v1.0-patched-* | grep -v "^$tree$")
same_tree "tree without kineto vs git apply" "$work/expected-nokineto" "$tree_nok"
grep -q "USE_KINETO = False" "$tree_nok/tools/build.py" || fail "kineto patch applied while off"
framework_recipe 1

# ---- a conflicting patch: named precisely, nothing changed -------------------------------------
before=$(listing "$proj/build/src")
sed -i 's/"ref": "v1.0", "submodules"/"ref": "v1.1", "submodules"/' "$proj/recipes/backend.json"
expect 2 "fetch with a conflicting patch" -- pt fetch
contains "conflict" '${src:backend}/torch_patches/0005-conflict.patch:4:1: error: patch "${src:backend}/torch_patches/0005-conflict.patch" does not apply: hunk @@ -20,3 +20,3 @@ of "src/core.c" matches nowhere in the file'
contains "conflict" 'line 21: patch expects "core line twenty-one"'
contains "conflict" 'the file has  "core line 21"'
contains "conflict" "nothing was changed"
sed -i 's/"ref": "v1.1", "submodules"/"ref": "v1.0", "submodules"/' "$proj/recipes/backend.json"
expect 0 "fetch back at v1.0" -- pt fetch
# the backend tree moved to v1.1 and back; every framework tree is as it was
same_tree "patched tree after the conflict" "$work/expected" "$tree"
ls -a "$proj/build/src" | grep -q "tmp-" && fail "temporary trees left after the conflict"
[ "$(ls -d "$proj"/build/src/framework-v1.0-patched-* | wc -l)" = 2 ] || fail "a tree was added by the failed fetch"
[ -n "$before" ] || fail "no listing"

# ---- a patch edited in the source tree is caught before it is applied ---------------------------
rm -rf "$tree" "$proj/build/src/.$(basename "$tree").pin"
echo "# edited" >>"$proj/build/src/backend-v1.0/torch_patches/0002-add-device.patch"
expect 2 "fetch with an edited patch" -- pt fetch
contains "edited patch" 'the patch "${src:backend}/torch_patches/0002-add-device.patch" changed since the plan was made'
[ -e "$tree" ] && fail "a tree was made from an edited patch"

# ---- a new series reading the backend is not in the lock: --locked says so ----------------------
rm -rf "$proj/build/src/backend-v1.0" "$proj/build/src/.backend-v1.0.pin"
sed -i 's|"series": "patches/framework/\*.patch" }|"series": "patches/framework/*.patch" },\n    { "files": ["${src:backend}/torch_patches/README.md"], "when": { "toolchain": "none" } }|' \
	"$proj/recipes/framework.json"
expect 2 "fetch --locked with a new series" -- pt fetch --locked
contains "new series" "does not list the files of recipe \"backend\" that patch series read now"

# ---- a series of the backend's tree that matches nothing is an error, not a silent no-op -------
cp "$proj/ptbuild.lock" "$work/lock.before"
sed -i 's|"series": "patches/framework/\*.patch" }|"series": "patches/framework/*.patch" },\n    { "series": "${src:backend}/torch_patches/nowhere/*.patch" }|' \
	"$proj/recipes/framework.json"
expect 2 "lock --update with a series matching nothing in the backend" -- pt lock --update
contains "empty series" 'error: patch series "${src:backend}/torch_patches/nowhere/*.patch" of recipe "framework" matches no file in the tree of "backend" at '
contains "empty series: what was searched" "torch_patches/nowhere does not exist"
contains "empty series: the hint" "correct the glob (relative to the top of its tree)"
cmp -s "$proj/ptbuild.lock" "$work/lock.before" || fail "a series matching nothing changed the lock"

finish patches
