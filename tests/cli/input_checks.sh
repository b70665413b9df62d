#!/usr/bin/env bash
# Inputs that must stop ptbuild before it writes anything (issue 14, items 5, 6, 8, 11): a
# patch series whose glob matches no file, a toolchain compiler this machine lacks, an
# environment larger than the kernel passes to a program, and --frozen with an empty
# cache. Each case checks the exit code, the message (where, what, hint) and that nothing
# was written: no lock change, no source tree, no job log, no output-cache entry.
# usage: input_checks.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
# libgit2's PCRE2 leak under ASan is not ours (the integration tests get this from CMake)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp}
. "$SRC/tests/integration/fixtures/lib.sh" input-checks
. "$SRC/tests/integration/fixtures/ext_project.sh"

make_repo good >/dev/null
recipe good v1 '{ "EXT_NAME": "good" }'
set_file default '["good"]'
expect 0 "lock" -- pt lock
cp "$p/ptbuild.lock" "$work/lock.before"
# nothing_written WHAT: no tree, job log, work tree or cache entry, and the lock as it was
nothing_written() {
	cmp -s "$p/ptbuild.lock" "$work/lock.before" || fail "$1: ptbuild.lock changed"
	[ -z "$(ls "$p/build/src" 2>/dev/null)" ] || fail "$1: a tree in build/src: $(ls "$p/build/src")"
	[ -z "$(ls "$p/build/logs/"*/ 2>/dev/null)" ] || fail "$1: a job log was written"
	[ -z "$(ls "$p/build/work/"*/ 2>/dev/null)" ] || fail "$1: a work tree was made"
	[ -z "$(ls "$work/cache/out" 2>/dev/null)" ] || fail "$1: an output-cache entry was made"
}
# with_patches SERIES_JSON: good's recipe with that "patches" entry
with_patches() {
	cat >"$p/recipes/good.json" <<EOR
{ "name": "good", "version": "1.0",
  "source": { "git": "file://$work/git/good", "ref": "v1" },
  "build": ["\${python}", "ext_build.py", "\${out}"],
  "patches": [ $1 ],
  "env": { "EXT_NAME": "good" } }
EOR
}

# ---- item 5: a patch series that matches no file is an error ------------------------------
with_patches '{ "series": "patches/good/*.patch" }'
for cmd in plan fetch lock build; do
	expect 2 "$cmd, series dir missing" -- pt $cmd
	contains "$cmd names the file:line:col" "recipes/good.json:4:16: error:"
	contains "$cmd names series and recipe" \
		'patch series "patches/good/*.patch" of recipe "good" matches no file'
	contains "$cmd says what was searched" "the directory $p/patches/good does not exist"
	contains "$cmd hints" "hint: put the patch files in patches/good/"
	lacks "$cmd: no warning any more" "warning: patch series"
	nothing_written "$cmd with a missing series dir"
done
mkdir -p "$p/patches/good"
expect 2 "series dir empty" -- pt plan
contains "empty dir" "the directory $p/patches/good is empty"
touch "$p/patches/good/README" "$p/patches/good/0001.diff"
expect 2 "series matches none of the files" -- pt fetch
contains "lists what is there" \
	"$p/patches/good holds 2 entries, none matching \"*.patch\": 0001.diff, README"
nothing_written "fetch with no matching file"
printf -- '--- a/ext.c\n+++ b/ext.c\n@@ -1 +1 @@\n-int good_answer(void) { return 1; }\n+int good_answer(void) { return 3; }\n' \
	>"$p/patches/good/0001-x.patch"
with_patches '{ "series": "patches/good/*.patch", "exclude": ["0001-*"] }'
expect 2 "exclude removes every match" -- pt plan
contains "names the exclusion" "\"exclude\" removes the 1 file it matches in $p/patches/good"
contains "exclude hint" "hint: narrow the \"exclude\" globs"
with_patches '{ "series": "patches/good/*.patch" }'
expect 0 "a matching series plans" -- pt plan
contains "the patch is listed" "patches/good/*.patch (1 file)"
rm -rf "$p/patches"
recipe good v1 '{ "EXT_NAME": "good" }'

# ---- item 6: a toolchain compiler this machine lacks stops a build before any job -------
printf '{ "name": "cpu", "tag": "cpu",\n  "cc": "gcc-99" }\n' >"$p/toolchains/cpu.json"
expect 0 "plan only warns" -- pt plan
contains "plan warns" 'warning: toolchain "cpu": compiler "gcc-99" was not found'
expect 3 "build refuses a missing cc" -- pt build
contains "names the toolchain file:line:col" "toolchains/cpu.json:2:9: error:"
contains "names the compiler and what needs it" \
	'C compiler "gcc-99" of toolchain "cpu", needed to build good (cpu-py3.11), is not on PATH'
contains "hint" 'hint: install gcc-99, or set "cc" in the toolchain'
lacks "no job started" "start   good"
nothing_written "build with a missing cc"
printf '{ "name": "cpu", "tag": "cpu", "cxx": "/nonexistent/g++" }\n' >"$p/toolchains/cpu.json"
expect 3 "build refuses a missing cxx path" -- pt build
contains "cxx by path, at its value" \
	'toolchains/cpu.json:1:39: error: C++ compiler "/nonexistent/g++" of toolchain "cpu", needed to build good (cpu-py3.11), cannot be run'
nothing_written "build with a missing cxx"
printf '{ "name": "cuda", "tag": "cu130",\n  "cuda": { "version": "13.0", "home": "%s/no-cuda", "arch_list": "8.0" } }\n' \
	"$work" >"$p/toolchains/cuda.json"
echo '{ "name": "cpu", "tag": "cpu" }' >"$p/toolchains/cpu.json"
echo '{ "targets": ["good"], "toolchains": ["cpu", "cuda"], "python": ["3.11"] }' \
	>"$p/recipes/sets/both.json"
expect 3 "build refuses a missing nvcc" -- pt build --set both
contains "nvcc at the cuda object" \
	"toolchains/cuda.json:2:11: error: nvcc \"$work/no-cuda/bin/nvcc\" of toolchain \"cuda\", needed to build good (cuda-py3.11), cannot be run"
contains "nvcc hint" "hint: install nvcc under $work/no-cuda"
lacks "the cpu toolchain is fine" 'toolchain "cpu", needed'
lacks "no job started, not even cpu's" "start   good"
nothing_written "build with a missing nvcc"
# A toolchain the plan does not use is not checked; the cpu build runs.
expect 0 "the cpu variant builds" -- pt build
contains "built" "1 built, 0 cached"
rm -f "$p/toolchains/cuda.json" "$p/recipes/sets/both.json"
rm -rf "$p/build" "$work/cache/out"

# ---- item 8: an environment the kernel cannot pass is refused when planning -------------
# big_env COUNT SIZE: good's recipe with COUNT more variables of SIZE-byte values; its env
# map's first key is at 5:5
big_env() {
	python3 - "$p/recipes/good.json" "$work/git/good" "$1" "$2" <<'PY'
import json, sys
path, repo, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = ['{ "name": "good", "version": "1.0",',
         f'  "source": {{ "git": "file://{repo}", "ref": "v1" }},',
         '  "build": ["${python}", "ext_build.py", "${out}"],',
         '  "env": {',
         '    "EXT_NAME": "good"']
lines += [f'   ,"BIG_{i:06d}": "{"x" * size}"' for i in range(count)]
lines += ['  } }']
open(path, "w").write("\n".join(lines) + "\n")
PY
}
arg_max=$(getconf ARG_MAX)
big_env $((arg_max / 1000 + 10)) 1000
for cmd in plan lock fetch build; do
	expect 2 "$cmd, environment over ARG_MAX" -- pt $cmd
	contains "$cmd: at the env map" "recipes/good.json:5:5: error: recipe \"good\" (cpu-py3.11): the build's environment and command line would take"
	contains "$cmd: names the limit" "(ARG_MAX) the kernel passes to a program: the build would fail with \"Argument list too long\""
	contains "$cmd: the parts" "the recipe's \"env\" $((arg_max / 1000 + 11)) variables"
	contains "$cmd: hint" "remove variables the build does not read"
	nothing_written "$cmd with an environment over ARG_MAX"
done
big_env 1 140000
expect 2 "one variable over MAX_ARG_STRLEN" -- pt plan
contains "at the variable" "recipes/good.json:6:19: error: recipe \"good\" (cpu-py3.11): \"BIG_000000\" is 137 KiB, more than the 128 KiB the kernel passes as one variable (MAX_ARG_STRLEN)"
lacks "the total is fine" "(ARG_MAX)"
big_env 1 130000
expect 0 "one variable just under MAX_ARG_STRLEN" -- pt plan
big_env 2000 10
expect 0 "2000 variables plan" -- pt plan
recipe good v1 '{ "EXT_NAME": "good" }'

# ---- item 11: --frozen with an empty cache gives the one hint that applies ---------------
mkdir -p "$work/arc/good-1.0"
cp "$work/git/good/ext.c" "$work/git/good/ext_build.py" "$work/arc/good-1.0/"
tar -czf "$work/arc/good-1.0.tar.gz" -C "$work/arc" good-1.0
sha=$(sha256sum "$work/arc/good-1.0.tar.gz" | cut -d' ' -f1)
cat >"$p/recipes/good.json" <<EOR
{ "name": "good", "version": "1.0",
  "source": { "archive": "file://$work/arc/good-1.0.tar.gz", "sha256": "$sha", "strip": 1 },
  "build": ["\${python}", "ext_build.py", "\${out}"],
  "env": { "EXT_NAME": "good" } }
EOR
expect 0 "lock the archive" -- pt lock
cp "$p/ptbuild.lock" "$work/lock.before"
export PTBUILD_CACHE=$work/empty-cache
for cmd in fetch build; do
	expect 3 "$cmd --frozen, empty cache" -- pt $cmd --frozen
	contains "$cmd --frozen: what is missing" "is not in the cache ($work/empty-cache/dist/$sha/good-1.0.tar.gz), and --frozen forbids the network"
	contains "$cmd --frozen: the hint that applies" 'hint: run `ptbuild fetch` once with the network to fill the cache'
	lacks "$cmd --frozen: no lock --update hint" "if the new file is right"
	nothing_written "$cmd --frozen with an empty cache"
	[ -z "$(ls "$work/empty-cache/dist" 2>/dev/null)" ] || fail "$cmd --frozen: wrote into the cache"
done
export PTBUILD_CACHE=$work/cache

finish input_checks
