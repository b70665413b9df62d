#!/usr/bin/env bash
# Which ccache runs (docs/building.md, "Which ccache runs"), with fake ccache scripts that
# print a version: PTBUILD_CCACHE alone, else the newest of ptbuild's tools (beside the
# binary: <dir>/tools/bin, <dir>/../tools/bin, <prefix>/libexec/ptbuild) and PATH; what
# doctor says of it (path, version, origin, nvcc's dependency flags), its warning when a
# toolchain uses CUDA and the ccache is older than 4.12.3; a wrong PTBUILD_CCACHE refuses
# the build (exit 3, nothing built). Then one real build through Debian's ccache counts the
# C compile per compiler in the summary and in --json.
# usage: ccache_choice.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" ccache_choice
unset PTBUILD_CCACHE
export PTBUILD_CACHE=$work/cache HOME=$work/home
mkdir -p "$HOME"
fake() { # DIR VERSION: DIR/ccache prints "ccache version VERSION"
	mkdir -p "$1"
	printf '#!/bin/sh\necho "ccache version %s"\necho\necho "Copyright (C) fake"\n' "$2" >"$1/ccache"
	chmod +x "$1/ccache"
}
# a build tree (bin/ptbuild beside ../tools) and an installed prefix (libexec/ptbuild)
mkdir -p "$work/tree/test" "$work/prefix/bin"
cp "$PTBUILD" "$work/tree/test/ptbuild"
cp "$PTBUILD" "$work/prefix/bin/ptbuild"
fake "$work/tree/tools/bin" 4.14.2
fake "$work/prefix/libexec/ptbuild" 4.13.0
fake "$work/old" 4.7.5
fake "$work/newer" 4.15.1
sys_path=/usr/bin:/bin
[ -x /usr/bin/python3 ] || sys_path=$PATH
p=$work/p
mkdir -p "$p/recipes/sets" "$p/toolchains" "$work/ext"
echo '{ "name": "cpu", "tag": "cpu" }' >"$p/toolchains/cpu.json"
echo '{ "targets": ["ext"], "toolchains": ["cpu"], "python": ["3.11"] }' >"$p/recipes/sets/default.json"
cat >"$p/recipes/ext.json" <<JSON
{ "name": "ext", "version": "1.0", "source": { "path": "$work/ext" },
  "build": ["\${python}", "ext_build.py", "\${out}"], "env": { "EXT_NAME": "ccext" } }
JSON
echo 'int ccext_answer(void) { return 42; }' >"$work/ext/ext.c"
cp "$SRC/tests/integration/fixtures/ext_build.py" "$work/ext/"

# ---- the tools beside a build tree's binary beat an older ccache on PATH ------------------------
expect 0 "doctor, build tree" -- env PATH="$work/old:$sys_path" "$work/tree/test/ptbuild" -C "$p" doctor
contains "tools found" "ccache   4.14.2  ($work/tree/tools/bin/ccache, from ptbuild's tools; caches nvcc's dependency flags)"
lacks "no CUDA here: no warning" "cannot cache"
# an installed ptbuild: <prefix>/libexec/ptbuild/ccache
expect 0 "doctor, installed" -- env PATH="$work/old:$sys_path" "$work/prefix/bin/ptbuild" -C "$p" doctor
contains "libexec found" "ccache   4.13.0  ($work/prefix/libexec/ptbuild/ccache, from ptbuild's tools;"
# a newer one on PATH wins
expect 0 "doctor, newer on PATH" -- env PATH="$work/old:$work/newer:$sys_path" "$work/tree/test/ptbuild" -C "$p" doctor
contains "newest wins" "ccache   4.15.1  ($work/newer/ccache, from PATH; caches nvcc's dependency flags)"
# PTBUILD_CCACHE: that one only, even when older
expect 0 "doctor, PTBUILD_CCACHE" -- env PATH="$work/newer:$sys_path" PTBUILD_CCACHE="$work/old/ccache" "$work/tree/test/ptbuild" -C "$p" doctor
contains "setting honoured" "ccache   4.7.5  ($work/old/ccache, from PTBUILD_CCACHE; cannot cache nvcc's dependency flags (needs 4.12.3))"
lacks "still no CUDA: no warning" "warning: toolchain"
expect 0 "doctor --json" -- env PATH="$work/newer:$sys_path" PTBUILD_CCACHE="$work/old/ccache" "$work/tree/test/ptbuild" -C "$p" doctor --json
printf '%s' "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)["ccache"]
assert c["found"] and c["value"] == "4.7.5" and "from PTBUILD_CCACHE" in c["detail"], c' || fail "doctor --json: $out"

# ---- a CUDA toolchain with a ccache that cannot cache nvcc's dependency flags -----------------
echo '{ "name": "cuda13", "tag": "cu130", "cuda": { "version": "13.0", "home": "/nonexistent/cuda", "arch_list": "9.0" } }' \
	>"$p/toolchains/cuda13.json"
expect 0 "doctor, CUDA and 4.7.5" -- env PATH="$work/newer:$sys_path" PTBUILD_CCACHE="$work/old/ccache" "$work/tree/test/ptbuild" -C "$p" doctor
contains "CUDA warning" "warning: toolchain cuda13 uses CUDA, but ccache 4.7.5 ($work/old/ccache, from PTBUILD_CCACHE) cannot cache nvcc's --generate-dependencies-with-compile --dependency-output"
contains "CUDA hint" "hint: ccache 4.12.3 or later can: run ci/install-tools.sh"
contains "CUDA hint names the setting" "PTBUILD_CCACHE"
expect 0 "doctor, CUDA and 4.14.2" -- env PATH="$work/old:$sys_path" "$work/tree/test/ptbuild" -C "$p" doctor
lacks "a new ccache: no warning" "cannot cache nvcc"
rm "$p/toolchains/cuda13.json"

# ---- a wrong PTBUILD_CCACHE refuses the build --------------------------------------------------
expect 3 "build with a wrong PTBUILD_CCACHE" -- env PTBUILD_CCACHE="$work/none/ccache" "$PTBUILD" -C "$p" build --set default
contains "names the setting and path" "PTBUILD_CCACHE is \"$work/none/ccache\", which is not an executable file"
contains "says what to do" "hint: point it at a ccache"
[ -z "$(ls "$work/cache/out" 2>/dev/null)" ] || fail "a refused build left an output entry: $(ls "$work/cache/out")"
expect 0 "doctor names it too" -- env PTBUILD_CCACHE="$work/none/ccache" "$PTBUILD" -C "$p" doctor
contains "doctor warns" "warning: PTBUILD_CCACHE is \"$work/none/ccache\", which is not an executable file"

# ---- a real build through Debian's ccache: the C compile counted for cc -----------------------
if [ -x /usr/bin/ccache ] && command -v python3.11 >/dev/null; then
	expect 0 "build through /usr/bin/ccache" -- env PTBUILD_CCACHE=/usr/bin/ccache "$PTBUILD" -C "$p" build --set default
	contains "the build line counts per compiler" "ccache 0% of 1: cc 0/1/0"
	contains "the summary names the variant" "ccache of ext cpu-py3.11: cc 0/1/0"
	key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$p/build/state/ext/cpu-py3.11.json")
	rm -rf "$work/cache/out/$key" "$p/build/work"
	expect 0 "rebuild --json" -- env PTBUILD_CCACHE=/usr/bin/ccache "$PTBUILD" -C "$p" --json build --set default
	printf '%s' "$out" | grep '"event":"result"' | python3 -c '
import json, sys
v = json.load(sys.stdin)["variants"][0]
cc = v["ccache"]["compilers"]["cc"]
assert v["ccache_hits"] == 1 and v["ccache_misses"] == 0 and cc == {"hits": 1, "misses": 0, "uncacheable": 0, "uncacheable_reasons": []}, v
assert v["ccache_uncacheable"] == sum(c["uncacheable"] for c in v["ccache"]["compilers"].values()), v
assert isinstance(v["ccache"]["top_uncacheable"], list), v' || fail "rebuild --json: $out"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["ccache"]
assert r["hits"] == 1 and r["compilers"]["cc"]["hits"] == 1 and "uncacheable" in r, r' "$p/build/state/ext/cpu-py3.11.json" ||
		fail "the build record lacks the per-compiler counts: $(cat "$p/build/state/ext/cpu-py3.11.json")"
	expect 0 "report md" -- "$PTBUILD" -C "$p" report --set default
	contains "report lists them" "## ccache per compiler"
	contains "report row" "- ext (cpu-py3.11): cc 1/0/0"
	expect 0 "report html" -- "$PTBUILD" -C "$p" report --set default --format html
	contains "html lists them" "<h2>ccache per compiler</h2>"
	expect 0 "report json" -- "$PTBUILD" -C "$p" report --set default --json
	printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)["variants"][0]
assert v["ccache"]["compilers"]["cc"]["hits"] == 1 and "ccache_uncacheable" in v, v' || fail "report json: $out"
else
	echo "ccache_choice: no /usr/bin/ccache or python3.11: the real build part is skipped"
fi
finish ccache_choice
