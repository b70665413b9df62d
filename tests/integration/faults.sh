#!/usr/bin/env bash
# Fault injection for every cache write (issue 14, items 1, 3, 4 and 17): a SIGKILL in the
# middle of a download, a mirror creation, an extraction, a git checkout, patching, a repack
# and an output-cache entry
# (PTBUILD_FAULT=POINT, util/fault.h), and a full disk (a small tmpfs) during a download, an
# extraction and a repack. After each, the next run redoes the work or refuses with a clear
# error; it never accepts a partial file, tree or entry. Two projects sharing one cache that
# build the same key at once both succeed. Everything is served from loopback.
# usage: faults.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" faults
. "$SRC/tests/integration/fixtures/ext_project.sh"
mounts=()
unmount_all() {
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	cleanup
}
trap unmount_all EXIT
sha() { sha256sum "$1" | cut -d' ' -f1; }
no_temps() { # DESCRIPTION DIR: nothing half-written (*.tmp-*, *.new*, *.old*) under DIR
	local left
	left=$(find "$2" -name '*.tmp-*' -o -name '*.tmp.*' 2>/dev/null | head -5)
	[ -z "$left" ] || fail "$1: temporary files left: $left"
}

# ---- fixtures: an archive with one 1 MiB random file, served over HTTP ----------------------
mkdir -p "$work/www/dist" "$work/arch/big-1.0"
head -c 1048576 /dev/urandom >"$work/arch/big-1.0/blob.bin"
want_blob=$(sha "$work/arch/big-1.0/blob.bin")
tar -C "$work/arch" -cf "$work/www/dist/big-1.0.tar" big-1.0
start_server "$work/git" "$work/www" 2>"$work/server.log" # killed clients make it complain
base=http://127.0.0.1:$port
archive_recipe() { # DIR NAME FILE: a recipe of an archive from the server
	cat >"$1/recipes/$2.json" <<J
{ "name": "$2", "version": "1.0", "builder": "generic",
  "source": { "archive": "$base/files/dist/$3", "sha256": "$(sha "$work/www/dist/$3")", "strip": 1 },
  "build": ["true"] }
J
}
archive_recipe "$p" big big-1.0.tar
make_repo ext
recipe ext v1 '{ "EXT_NAME": "ext" }'
mkdir -p "$p/patches/ext"
cat >"$p/patches/ext/0001-answer.patch" <<'P'
--- a/ext.c
+++ b/ext.c
@@ -1 +1,2 @@
 int ext_answer(void) { return 1; }
+int ext_patched(void) { return 3; }
P
python3 - "$p/recipes/ext.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["patches"] = [{"series": "patches/ext/*.patch"}]
json.dump(r, open(sys.argv[1], "w"))
PY
set_file default '["ext"]'
set_file big '["big"]'
big_tree=$p/build/src/big-1.0
tree_ok() { [ -f "$big_tree/blob.bin" ] && [ "$(sha "$big_tree/blob.bin")" = "$want_blob" ]; }

# ---- SIGKILL in the middle of each cache write -------------------------------------------
expect 137 "download killed" -- env PTBUILD_FAULT=download "$PTBUILD" -C "$p" fetch --set big
[ -z "$(ls "$work/cache/dist/"*/big-1.0.tar 2>/dev/null)" ] ||
	fail "a killed download left a file where the cache looks"
expect 0 "fetch after a killed download" -- pt fetch --set big
tree_ok || fail "the tree after a killed download is not the archive's"
no_temps "after a killed download" "$work/cache/dist"

rm -rf "$p/build/src"
expect 137 "extraction killed" -- env PTBUILD_FAULT=extract "$PTBUILD" -C "$p" fetch --set big
[ -e "$big_tree" ] && fail "a killed extraction left $big_tree"
expect 0 "fetch after a killed extraction" -- pt fetch --set big
contains "the tree is written again" "big-1.0"
tree_ok || fail "the tree after a killed extraction is not the archive's"
no_temps "after a killed extraction" "$p/build/src"

expect 137 "mirror creation killed" -- env PTBUILD_FAULT=mirror "$PTBUILD" -C "$p" lock
[ -n "$(ls -d "$work/cache/git/"*.git 2>/dev/null)" ] && fail "a killed mirror creation left a mirror"
[ -e "$p/ptbuild.lock" ] && fail "a killed lock wrote ptbuild.lock"
expect 0 "lock" -- pt lock
no_temps "after a killed mirror creation" "$work/cache/git"
expect 137 "checkout killed" -- env PTBUILD_FAULT=checkout "$PTBUILD" -C "$p" fetch
[ -n "$(ls -d "$p/build/src/ext-"*-patched-???????? 2>/dev/null)" ] && fail "a killed checkout left a tree"
expect 137 "patching killed" -- env PTBUILD_FAULT=patch "$PTBUILD" -C "$p" fetch
[ -n "$(ls -d "$p/build/src/ext-"*-patched-???????? 2>/dev/null)" ] && fail "a killed patching left a patched tree"
expect 0 "fetch after a killed patching" -- pt fetch
patched=$(ls -d "$p/build/src/ext-"*-patched-???????? 2>/dev/null | head -1)
grep -q ext_patched "$patched/ext.c" 2>/dev/null || fail "the patched tree lacks the patch: $(ls "$p/build/src")"
no_temps "after a killed patching" "$p/build/src"

key=$(pt plan --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["key"])')
entry=$work/cache/out/$key
for point in repack outcache; do
	# the repack runs in the job's child (ptbuild __finish): the child is killed, the build fails
	if [ $point = repack ]; then
		expect 1 "build killed in $point" -- env PTBUILD_FAULT=$point "$PTBUILD" -C "$p" build
		contains "the killed finisher is named" "finishing the wheels (ptbuild __finish) was killed by signal 9"
	else
		expect 137 "build killed in $point" -- env PTBUILD_FAULT=$point "$PTBUILD" -C "$p" build
	fi
	[ -e "$entry" ] && fail "a build killed in $point left the entry $entry"
	expect 0 "build after a kill in $point" -- pt build
	contains "built again after $point" "1 built, 0 cached"
	[ -f "$entry/manifest.json" ] || fail "no entry after the build that followed $point"
	python3 -c 'import sys, zipfile, glob; [zipfile.ZipFile(w).testzip() for w in glob.glob(sys.argv[1] + "/*.whl")]' "$entry" ||
		fail "the wheel of the entry after $point is damaged"
	no_temps "after a kill in $point" "$work/cache/out"
	rm -rf "$entry"
done

# an entry damaged after it was written (a disk error, a hand) is checked at reuse
expect 0 "build an entry" -- pt build
w=$(ls "$entry/"*.whl | head -1)
truncate -s 100 "$w"
expect 0 "build over a damaged entry" -- pt build
contains "the damaged entry is named" "the output-cache entry $entry is damaged"
contains "the damaged entry is built again" "1 built, 0 cached"
[ "$(stat -c %s "$w")" -gt 100 ] || fail "the damaged wheel is still in the entry"

# ---- two projects, one cache, the same key at the same time (item 3) ---------------------
q=$work/q
cp -r "$p" "$q"
rm -rf "$q/build"
recipe ext v1 '{ "EXT_NAME": "ext", "EXT_SLEEP": "2" }'
cp "$p/recipes/ext.json" "$q/recipes/ext.json"
python3 - "$p/recipes/ext.json" "$q/recipes/ext.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    r = json.load(open(f)); r["patches"] = [{"series": "patches/ext/*.patch"}]; json.dump(r, open(f, "w"))
PY
"$PTBUILD" -C "$p" build >"$work/p.out" 2>&1 &
first=$!
"$PTBUILD" -C "$q" build >"$work/q.out" 2>&1
second=$?
wait "$first"
first=$?
[ "$first" = 0 ] && [ "$second" = 0 ] ||
	fail "two projects building one key: exits $first and $second: $(cat "$work/p.out" "$work/q.out")"
grep -q "error: error:" "$work/p.out" "$work/q.out" && fail "a doubled \"error:\""
grep -qs "another build entered key .* first; its entry .* is used" "$p/build/logs/cpu-py3.11/ext.log" \
	"$q/build/logs/cpu-py3.11/ext.log" || fail "neither build met the other's entry: the race was not run"
k1=$("$PTBUILD" -C "$p" plan --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["key"])')
k2=$("$PTBUILD" -C "$q" plan --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["key"])')
[ "$k1" = "$k2" ] || fail "the two projects do not share the key ($k1, $k2)"
[ -f "$work/cache/out/$k1/manifest.json" ] || fail "no entry for the shared key"
no_temps "after two builds of one key" "$work/cache/out"
expect 0 "the second project after the race" -- "$PTBUILD" -C "$q" build
contains "the shared entry is cached" "0 built, 1 cached"

# ---- a full disk (a small tmpfs) ---------------------------------------------------------
small=$work/small
mkdir -p "$small"
if ! mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
	echo "faults: SKIP the disk-full checks: cannot mount a tmpfs here (not root)"
	finish faults
	exit 0
fi
mounts+=("$small")
# 8 MiB of random data: it cannot fit into 2 MiB
mkdir -p "$work/arch/huge-1.0"
head -c 8388608 /dev/urandom >"$work/arch/huge-1.0/blob.bin"
want_huge=$(sha "$work/arch/huge-1.0/blob.bin")
tar -C "$work/arch" -cf "$work/www/dist/huge-1.0.tar" huge-1.0

# a download into a full cache (item 4)
d=$work/dproj
mkdir -p "$d/recipes/sets" "$d/toolchains"
cp "$p/toolchains/cpu.json" "$d/toolchains/"
archive_recipe "$d" huge huge-1.0.tar
echo '{ "targets": ["huge"], "toolchains": ["cpu"], "python": ["3.11"] }' >"$d/recipes/sets/default.json"
expect 3 "download into a full disk" -- env PTBUILD_CACHE="$small/cache" "$PTBUILD" -C "$d" fetch
contains "the download names the disk error" "No space left on device"
contains "the download names the file" "$small/cache/dist/"
contains "the download names the URL" "$base/files/dist/huge-1.0.tar"
contains "the download says what to do" "hint: the disk is full"
[ -z "$(find "$small/cache/dist" -type f 2>/dev/null)" ] || fail "a download into a full disk left $(find "$small/cache/dist" -type f)"

# an extraction into a full work directory (item 1): the cache is elsewhere, the project here
cp -r "$d" "$small/proj" 2>/dev/null || fail "cannot copy the project into the tmpfs"
expect 3 "extraction into a full disk" -- env PTBUILD_CACHE="$work/cache" "$PTBUILD" -C "$small/proj" fetch
contains "the extraction names the disk error" "No space left on device"
contains "the extraction names the recipe" 'recipe "huge"'
contains "the extraction names the URL" "$base/files/dist/huge-1.0.tar"
contains "the extraction names the file" "blob.bin"
[ -e "$small/proj/build/src/huge-1.0" ] && fail "a full disk left a partial tree"
expect 3 "extraction into a full disk, again" -- env PTBUILD_CACHE="$work/cache" "$PTBUILD" -C "$small/proj" fetch
contains "the second run refuses too" "No space left on device"
mount -o remount,size=64m "$small" || fail "cannot grow the tmpfs"
expect 0 "extraction once there is room" -- env PTBUILD_CACHE="$work/cache" "$PTBUILD" -C "$small/proj" fetch
[ "$(sha "$small/proj/build/src/huge-1.0/blob.bin" 2>/dev/null)" = "$want_huge" ] ||
	fail "the tree after the disk had room is not the archive's"
no_temps "after a full disk" "$small/proj/build"
rm -rf "$small/proj"

# a git checkout into a full work directory
git init -q "$work/git/huge"
cp "$work/arch/huge-1.0/blob.bin" "$work/git/huge/"
git -C "$work/git/huge" add -A && git -C "$work/git/huge" commit -qm huge && git -C "$work/git/huge" tag v1
mount -o remount,size=2m "$small" || fail "cannot shrink the tmpfs"
mkdir -p "$small/g/recipes/sets" "$small/g/toolchains"
cp "$p/toolchains/cpu.json" "$small/g/toolchains/"
cat >"$small/g/recipes/huge.json" <<J
{ "name": "huge", "version": "1.0", "builder": "generic",
  "source": { "git": "file://$work/git/huge", "ref": "v1" }, "build": ["true"] }
J
echo '{ "targets": ["huge"], "toolchains": ["cpu"], "python": ["3.11"] }' >"$small/g/recipes/sets/default.json"
expect 3 "checkout into a full disk" -- "$PTBUILD" -C "$small/g" fetch
contains "the checkout names the disk error" "No space left on device"
contains "the checkout names the recipe" 'recipe "huge": cannot check out'
contains "the checkout says what to do" "hint: the disk is full"
[ -n "$(ls -A "$small/g/build/src" 2>/dev/null)" ] && fail "a full disk left a partial checkout: $(ls -A "$small/g/build/src")"
mount -o remount,size=64m "$small" || fail "cannot grow the tmpfs"
expect 0 "checkout once there is room" -- "$PTBUILD" -C "$small/g" fetch
[ "$(sha "$small/g/build/src/huge-v1/blob.bin" 2>/dev/null)" = "$want_huge" ] ||
	fail "the checkout after the disk had room is not the commit's"
rm -rf "$small/g"

# a repack into a full cache: the build's wheel fits, its repacked copy does not
mount -o remount,size=6m "$small" || fail "cannot resize the tmpfs"
r=$work/rproj
cp -r "$p" "$r"
rm -rf "$r/build"
# only the output cache is full: the environment store (<cache>/envs) lives on the disk
mkdir -p "$small/cache" "$work/envs" && ln -sfn "$work/envs" "$small/cache/envs"
python3 - "$r/recipes/ext.json" <<'PY'
import json, sys
f = sys.argv[1]; r = json.load(open(f)); r["env"]["EXT_PAD"] = str(4 << 20); json.dump(r, open(f, "w"))
PY
expect 1 "repack into a full disk" -- env PTBUILD_CACHE="$small/cache" "$PTBUILD" -C "$r" build
contains "the repack names the disk error" "No space left on device"
contains "the repack is not called a verification" "cannot finish ext-1.0-"
[ -z "$(ls -d "$small/cache/out/"*/ 2>/dev/null)" ] || fail "a full disk left an output entry: $(ls "$small/cache/out")"
mount -o remount,size=64m "$small" || fail "cannot grow the tmpfs"
expect 0 "build once there is room" -- env PTBUILD_CACHE="$small/cache" "$PTBUILD" -C "$r" build
contains "built once there is room" "1 built"
no_temps "after a full cache" "$small/cache"

finish faults
