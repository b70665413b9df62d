#!/usr/bin/env bash
# End to end on real software: torch 2.1.2 from PyPI and the torch_scatter 2.1.2 sdist,
# served from a loopback PEP 503 index made of the files ci/e2e-prepare.sh downloaded.
#
#  1. `plan` refuses a known-incompatible pair (torch_scatter 2.1.2 with torch 1.13).
#  2. CPU: lock, build cold; the wheel is stamped 2.1.2+pt21cpu (installed and run in 5).
#  3. The work tree, the venv and the output-cache entry are deleted; the warm build links
#     its venv from the environment store (nothing unpacked again) and hits ccache for at
#     least 90% of its compiles. Cold and warm times and their ratio are printed.
#  4. `build` once more compiles nothing (ccache's counters do not move) and `explain`
#     says up to date.
#  5. The wheels out: `collect` of the CPU set (torch 2.1.2's pinned closure and the
#     stamped torch_scatter 2.1.2+pt21cpu wheel), installed offline with
#     --find-links, then with --index-url file://.../simple, then with Dockerfile.release's
#     own pip line in a fresh venv; each time scatter_max runs.
#  6. CUDA (TORCH_CUDA_ARCH_LIST=9.0): torch 2.1.2 is a CUDA 12.1 build and PyPI has no
#     CUDA 12 nvcc (nvidia-cuda-nvcc-cu12 holds only ptxas and libnvvm), so the CUDA variant
#     builds against torch 2.11.0, PyPI's first CUDA 13.0 build, with the CUDA 13.0 nvcc from
#     pip's nvidia-* wheels (ci/e2e-prepare.sh assembles its CUDA_HOME): cuobjdump
#     --list-elf shows sm_90 and nothing else, and the verification after the build
#     checked the CUDA objects. `verify --arch-list 8.0` on that wheel names the mismatch.
#  7. A fixture recipe whose nvcc call ignores TORCH_CUDA_ARCH_LIST (sm_80 where 9.0 is
#     asked) fails its build in verification, and nothing enters the cache.
# The fleet (issue 16), with nginx on loopback as both remote caches:
#  2. The cold CPU build is runner A: it stores its compiles (PTBUILD_CCACHE_REMOTE) and its
#     output entries (PTBUILD_REMOTE_CACHE) remotely.
#  4b. Runner B, a checkout at another path and depth with an empty cache, builds the same
#     with nothing compiled: every variant from the remote output cache, the wheels byte for
#     byte A's; its wall time against A's is printed. Then runner B' (empty cache, output
#     cache off, remote ccache on) compiles with >= 95% remote hits, and its wheel is A's
#     byte for byte too (path-independent compiles).
#  6b. The CUDA variant again after dropping its work tree and entry: nvcc's hit rate (>= 95%
#     with a ccache that caches cpp_extension's nvcc flags) is printed.
# usage: scatter.sh PTBUILD SOURCE_DIR E2E_DIR [KEEP_WHEELHOUSE]
#   KEEP_WHEELHOUSE: where the CPU wheelhouse of 5 is kept (replaced) for tests/e2e/images.sh
set -uo pipefail
PTBUILD=$1
SRC=$2
[ -d "$3/files" ] || { echo "e2e: $3/files is missing: run ci/e2e-prepare.sh $3 first" >&2; exit 1; }
E2E=$(cd "$3" && pwd)
. "$SRC/tests/integration/fixtures/lib.sh" e2e
export HOME=$work/home PTBUILD_CACHE=$work/cache PIP_NO_CACHE_DIR=1
# Only the loopback index: no find-links or extra index from the machine (some set
# PIP_FIND_LINKS), no pip configuration files.
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL
export PIP_CONFIG_FILE=/dev/null
mkdir -p "$HOME" "$work/git"
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$E2E" >/dev/null || { echo "e2e: cannot index $E2E" >&2; exit 1; }
start_server "$work/git" "$E2E"
export PIP_INDEX_URL=http://127.0.0.1:$port/files/simple/
. "$SRC/tests/integration/fixtures/nginx_lib.sh"
start_nginx "$work/nginx" || { echo "e2e: cannot start nginx" >&2; exit 1; }
remote_out=$NGINX_URL/out
remote_cc=$NGINX_URL/ccache/
py=$(command -v python3.11 || true)
[ -n "$py" ] || { echo "e2e: needs python3.11 (torch 2.1.2 has wheels up to cp311)" >&2; exit 1; }

# ---- the project: the bundled recipes, a CPU and a CUDA 12 toolchain -----------------------
p=$work/p
mkdir -p "$p/recipes/sets" "$p/toolchains" "$p/patches"
cp "$SRC/recipes/torch_scatter.json" "$SRC/recipes/torch_wheel_21.json" \
	"$SRC/recipes/torch_wheel_211.json" "$p/recipes/"
cp -r "$SRC/patches/torch_scatter" "$p/patches/"
cp "$SRC/toolchains/cpu.json" "$p/toolchains/"
cuda_home=$E2E/cuda-13
cuda_version=$("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
cat >"$p/toolchains/cuda13.json" <<EOF
// CUDA 13 from pip's nvidia-* wheels (ci/e2e-prepare.sh): the major torch 2.11.0 was built with.
{ "name": "cuda13", "tag": "cu${cuda_version/./}",
  "cuda": { "version": "$cuda_version", "home": "$cuda_home", "arch_list": "9.0" } }
EOF
cat >"$p/recipes/torch_wheel_113.json" <<'EOF'
{ "name": "torch_wheel_113", "version": "1.13.1", "provides": "torch",
  "source": { "wheel": "torch==1.13.1" }, "builder": "wheel" }
EOF
set_file() { # NAME TORCH TOOLCHAIN
	echo "{ \"targets\": [\"torch_scatter\"], \"use\": { \"torch\": \"$2\" }," \
		"\"toolchains\": [\"$3\"], \"python\": [\"3.11\"] }" >"$p/recipes/sets/$1.json"
}
set_file cpu torch_wheel_21 cpu
set_file cuda torch_wheel_211 cuda13
set_file old torch_wheel_113 cpu
pt() { "$PTBUILD" -C "$p" "$@"; }
build_set() { # WHAT SET: a --json build that must succeed; sets $r (its result line) and
	# $secs (its wall time)
	local t0 t1
	t0=$(date +%s.%N)
	expect 0 "$1" -- pt --json build --set "$2"
	t1=$(date +%s.%N)
	r=$(echo "$out" | grep '"event":"result"' | tail -1)
	secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
}
field() { # JSON_LINE PYTHON_EXPR (on r = the torch_scatter variant)
	python3 -c "import json,sys; d=json.loads(sys.argv[1]); r=[v for v in d['variants'] if v['recipe']=='torch_scatter'][0]; print($2)" "$1"
}

# ---- 1. a known-incompatible pair ------------------------------------------------------------
expect 2 "plan refuses torch 1.13" -- pt plan --set old
contains "compat names the pair" "torch_scatter"
contains "compat names the range" ">=2.0"

# ---- 2. cold CPU build -----------------------------------------------------------------------
expect 0 "lock cpu" -- pt lock --set cpu
export PTBUILD_REMOTE_CACHE=$remote_out PTBUILD_CCACHE_REMOTE=$remote_cc # runner A
build_set "cold build" cpu
unset PTBUILD_REMOTE_CACHE PTBUILD_CCACHE_REMOTE
[ "$(field "$r" "r['status']")" = built ] || fail "cold: torch_scatter not built: $r"
cold_misses=$(field "$r" "r.get('ccache_misses', 0)")
[ "${cold_misses:-0}" -ge 7 ] || fail "cold: expected its 7 C++ files compiled through ccache, got $cold_misses misses: $r"
wheel=$(ls "$work/cache/out/"*/torch_scatter-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || fail "no torch_scatter wheel in the output cache"
cold=$secs
case $(basename "$wheel") in torch_scatter-2.1.2+pt21cpu-cp311-cp311-linux_x86_64.whl) ;;
*) fail "the wheel is not stamped 2.1.2+pt21cpu: $wheel" ;; esac
scatter_runs() { # VENV WHAT
	"$1/bin/python" - <<'EOF' || fail "scatter_max after $2"
import torch, torch_scatter, importlib.metadata as md
src = torch.tensor([[2., 0, 1, 4, 3], [0, 2, 1, 3, 4]])
index = torch.tensor([[4, 5, 4, 2, 3], [0, 0, 2, 2, 1]])
out, argmax = torch_scatter.scatter_max(src, index, dim=-1)
assert out.tolist() == [[0, 0, 4, 3, 2, 0], [2, 4, 3, 0, 0, 0]], out
assert argmax.tolist() == [[5, 5, 3, 4, 0, 1], [1, 4, 3, 5, 5, 5]], argmax
assert md.version("torch_scatter") == "2.1.2+pt21cpu", md.version("torch_scatter")
assert "torch==2.1.2" in md.requires("torch_scatter"), md.requires("torch_scatter")
print("scatter_max ok:", md.version("torch_scatter"), "with torch", torch.__version__)
EOF
}

# ---- 3. warm: a fresh work tree and no output entry -------------------------------------------
key=$(field "$r" "r['key']")
rm -rf "$p/build/work" "$p/build/venv" "$work/cache/out/$key"
build_set "warm build" cpu
warm=$secs
log=$p/build/logs/cpu-py3.11/torch_scatter.log
grep -q '^# ptbuild: env .* from the store' "$log" || fail "warm: the venv was not linked from the environment store: $(grep '# ptbuild' "$log" | head -20)"
! grep -q 'making store entry' "$log" || fail "warm: a store entry was made again: $(grep 'store entry' "$log")"
hits=$(field "$r" "r.get('ccache_hits', 0)")
misses=$(field "$r" "r.get('ccache_misses', 0)")
rate=$(python3 -c "h,m=$hits,$misses; print(f'{100*h/max(h+m,1):.1f}')")
python3 -c "import sys; sys.exit(0 if $rate >= 90 else 1)" || fail "warm ccache hit rate $rate% (< 90%): $r"
echo "e2e: torch_scatter 2.1.2 CPU: cold $cold s, warm $warm s, ccache $hits hits / $misses misses ($rate%)"
echo "bench warm: torch_scatter CPU cold $cold s, warm $warm s (output, work tree and venv dropped; caches and the environment store kept): $(python3 -c "print(f'{$cold / max($warm, 0.01):.0f}')")x (target >= 40x); $(grep -o 'env .* from the store ([^)]*)' "$log")"

# ---- 4. nothing to do --------------------------------------------------------------------------
stats() { CCACHE_DIR=$work/cache/ccache ccache --print-stats | grep -E '^(cache_miss|direct_cache_hit|preprocessed_cache_hit|called_for_link)'; }
before=$(stats)
build_set "no-op build" cpu
[ "$(field "$r" "r['status']")" = cached ] || fail "no-op: torch_scatter not cached: $r"
[ "$(stats)" = "$before" ] || fail "no-op: ccache counters moved: $before -> $(stats)"
echo "e2e: no-op build $secs s"
expect 0 "explain" -- pt explain --set cpu torch_scatter
contains "explain up to date" "up to date"

# ---- 4b. runners B and B': other checkouts, empty caches, only the servers shared -----------
runner() { # DIR: a checkout of the project with A's lock at DIR
	mkdir -p "$1" && cp -a "$p/recipes" "$p/toolchains" "$p/patches" "$p/ptbuild.lock" "$1/"
}
b=$work/runner-b/at/another/depth/p
runner "$b"
t0=$(date +%s.%N)
expect 0 "runner B: everything from the remote output cache" -- env PTBUILD_CACHE="$work/cache-b" \
	PTBUILD_REMOTE_CACHE="$remote_out" "$PTBUILD" -C "$b" --json build --set cpu --locked
t1=$(date +%s.%N)
rb=$(echo "$out" | grep '"event":"result"' | tail -1)
[ "$(field "$rb" "r['status']")" != built ] || fail "runner B compiled torch_scatter: $rb"
[ ! -e "$b/build/logs/cpu-py3.11/torch_scatter.log" ] || [ -z "$(grep -l 'fixture\|gcc\|c++' "$b/build/logs/cpu-py3.11/torch_scatter.log")" ] ||
	fail "runner B ran a build of torch_scatter"
bwheel=$(ls "$work/cache-b/out/"*/torch_scatter-*.whl 2>/dev/null | head -1)
cmp -s "$wheel" "$bwheel" || fail "runner B's wheel ($bwheel) is not A's ($wheel) byte for byte"
bsecs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
echo "bench fleet: runner A (cold, compiling) $cold s, runner B (remote output cache) $bsecs s: $(python3 -c "print(f'{$cold / max($bsecs, 0.01):.0f}')")x faster"
b2=$work/runner-b2/p
runner "$b2"
build_set_in() { # DIR WHAT: like build_set, in checkout DIR
	local t0 t1
	t0=$(date +%s.%N)
	expect 0 "$2" -- "$PTBUILD" -C "$1" --json build --set cpu --locked
	t1=$(date +%s.%N)
	r=$(echo "$out" | grep '"event":"result"' | tail -1)
	secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
}
PTBUILD_CACHE=$work/cache-b2 PTBUILD_CCACHE_REMOTE=$remote_cc build_set_in "$b2" "runner B': compiles from the remote ccache"
hits=$(field "$r" "r.get('ccache_hits', 0)")
misses=$(field "$r" "r.get('ccache_misses', 0)")
rate=$(python3 -c "h,m=$hits,$misses; print(f'{100*h/max(h+m,1):.1f}')")
python3 -c "import sys; sys.exit(0 if $rate >= 95 else 1)" || fail "runner B': remote ccache hit rate $rate% (< 95%): $r"
b2wheel=$(ls "$work/cache-b2/out/"*/torch_scatter-*.whl 2>/dev/null | head -1)
cmp -s "$wheel" "$b2wheel" || fail "runner B''s wheel, compiled at another path, is not A's byte for byte"
echo "bench fleet: runner B' (remote ccache only) $secs s, $hits hits / $misses misses ($rate%)"
rm -rf "$work/runner-b" "$work/runner-b2" "$work/cache-b" "$work/cache-b2"

# ---- 5. the wheels out: collect, then install the way images do --------------------------------
house=$work/house
expect 0 "collect the CPU set" -- pt collect --set cpu --out "$house"
(cd "$house" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match"
# every wheel of the variant, pinned by digest (pip install --require-hashes)
reqs=$house/requirements/cpu-py3.11.txt
grep -qx "torch_scatter==2.1.2+pt21cpu --hash=sha256:$(sha256sum "$house"/torch_scatter-*.whl | cut -c1-64)" "$reqs" ||
	fail "requirements lack torch_scatter with its digest: $(cat "$reqs")"
grep -qx "torch==2.1.2 --hash=sha256:$(sha256sum "$house"/torch-2.1.2-*.whl | cut -c1-64)" "$reqs" ||
	fail "requirements lack torch==2.1.2 with its digest"
[ "$(wc -l <"$reqs")" = "$(ls "$house"/*.whl | wc -l)" ] || fail "requirements do not list every wheel: $(cat "$reqs")"
rm -rf "$work/cache/out" # the wheelhouse must stand on its own
"$py" -m venv "$work/run"
expect 0 "pip install --find-links the wheelhouse" -- "$work/run/bin/pip" install -q --no-index --find-links "$house" torch_scatter
scatter_runs "$work/run" "--find-links"
"$work/run/bin/pip" uninstall -q -y torch torch_scatter >/dev/null 2>&1
expect 0 "pip install --index-url file://.../simple" -- "$work/run/bin/pip" install -q --index-url "file://$house/simple" torch_scatter
scatter_runs "$work/run" "--index-url"
rm -rf "$work/run"
pytools=$SRC/build/pytools/bin/python
if [ ! -x "$pytools" ] || ! "$pytools" -c 'import dockerfile_parse' 2>/dev/null; then
	(unset PIP_INDEX_URL; python3 -m venv "$SRC/build/pytools" && "$SRC/build/pytools/bin/pip" install -q dockerfile-parse) ||
		fail "cannot install dockerfile-parse into build/pytools"
fi
expect 0 "the Dockerfiles parse" -- "$pytools" "$SRC/tests/integration/fixtures/check_dockerfiles.py" "$house"
pipline=$(printf '%s\n' "$out" | sed -n 's/^PIP: //p' | tail -1)
pipline=${pipline//\$\{VARIANT\}/cpu-py3.11}
pipline=${pipline//\/wheelhouse/$house}
"$py" -m venv "$work/release"
expect 0 "Dockerfile.release's pip line ($pipline)" -- env PATH="$work/release/bin:$PATH" bash -c "$pipline"
scatter_runs "$work/release" "Dockerfile.release's pip line"
rm -rf "$work/release"
du -sh "$house" | sed 's/^/e2e: wheelhouse /'
if [ -n "${4:-}" ]; then # hard links: no space, and the wheelhouse outlives $work
	rm -rf "$4" "$4.tmp" && cp -al "$house" "$4.tmp" && mv "$4.tmp" "$4" || fail "cannot keep the wheelhouse in $4"
fi

# ---- 6. CUDA -------------------------------------------------------------------------------------
expect 0 "lock cuda" -- pt lock --set cuda
build_set "cuda build" cuda
[ "$(field "$r" "r['status']")" = built ] || fail "cuda: not built: $r $(tail -30 "$p/build/logs/cuda13-py3.11/torch_scatter.log" 2>/dev/null)"
ckey=$(field "$r" "r['key']")
cwheel=$(ls "$work/cache/out/$ckey/"torch_scatter-*.whl 2>/dev/null | head -1)
mkdir -p "$work/cw" && (cd "$work/cw" && python3 -m zipfile -e "$cwheel" .) || fail "cannot unpack $cwheel"
sos=$(find "$work/cw" -name '*_cuda.so' | sort)
[ -n "$sos" ] || fail "the CUDA wheel has no *_cuda.so"
cuobjdump=$cuda_home/bin/cuobjdump
# Every cubin in every shared object is sm_90 (_version_cuda.so has no device code at all).
all=
for so in $sos; do
	arches=$("$cuobjdump" --list-elf "$so" 2>&1 | sed -n 's/.*\.\(sm_[0-9a-z]*\)\..*/\1/p' | sort -u | tr '\n' ' ')
	case $arches in "" | "sm_90 ") ;; *) fail "$(basename "$so"): arches '$arches', expected only sm_90" ;; esac
	all="$all$arches"
done
[ -n "$all" ] || fail "no cubin in any of: $sos"
grep -q "ccache $cuda_home/bin/nvcc" "$p/build/logs/cuda13-py3.11/torch_scatter.log" || fail "nvcc did not run through ccache"
grep -q "verify torch_scatter-2.1.2+pt211cu130-.*with CUDA code): 0 findings" \
	"$p/build/logs/cuda13-py3.11/torch_scatter.log" || fail "no verification of the CUDA wheel in its log"
grep "verify torch_scatter" "$p/build/logs/cuda13-py3.11/torch_scatter.log" | grep -q "(0 with CUDA code)" &&
	fail "the verification after the build checked no CUDA object"
expect 1 "verify with another arch list" -- "$PTBUILD" verify --arch-list 8.0 --cuobjdump "$cuobjdump" "$cwheel"
contains "arch mismatch" "device code for sm_90, expected sm_80 (TORCH_CUDA_ARCH_LIST=8.0)"
echo "e2e: torch_scatter 2.1.2 CUDA (sm_90): $secs s, ccache $(field "$r" "r.get('ccache_hits',0)") hits / $(field "$r" "r.get('ccache_misses',0)") misses, $(echo $sos | wc -w) CUDA objects checked"

# ---- 6b. CUDA warm: nvcc's calls come from the compile cache ----------------------------------
csecs=$secs
rm -rf "$p/build/work" "$work/cache/out/$ckey"
build_set "cuda warm build" cuda
[ "$(field "$r" "r['status']")" = built ] || fail "cuda warm: not built: $r"
nvcc_rate=$(field "$r" "(lambda c: f\"{100*c['hits']/max(c['hits']+c['misses'],1):.1f} ({c['hits']} hits / {c['misses']} misses / {c['uncacheable']} uncacheable)\")(r['ccache']['compilers'].get('nvcc', {'hits': 0, 'misses': 0, 'uncacheable': 0}))")
echo "bench nvcc: torch_scatter CUDA cold $csecs s, warm $secs s, warm nvcc hit rate $nvcc_rate"
python3 -c "import sys; sys.exit(0 if float('${nvcc_rate%% *}') >= 95 else 1)" || fail "cuda warm: nvcc hit rate $nvcc_rate (< 95%): $r"

# ---- 7. a build that ignores TORCH_CUDA_ARCH_LIST -------------------------------------------------
mkdir -p "$work/wrongarch"
echo 'int wrongarch_answer(void) { return 1; }' >"$work/wrongarch/ext.c"
cp "$SRC/tests/integration/fixtures/ext_build.py" "$work/wrongarch/"
cat >"$p/recipes/wrongarch.json" <<EOF
{ "name": "wrongarch", "version": "1.0", "source": { "path": "$work/wrongarch" },
  "build": ["\${python}", "ext_build.py", "\${out}"],
  "env": { "EXT_NAME": "wrongarch", "EXT_NVCC_ARCH": "80", "NVCC": "\${cuda.home}/bin/nvcc" } }
EOF
echo '{ "targets": ["wrongarch"], "toolchains": ["cuda13"], "python": ["3.11"] }' >"$p/recipes/sets/wrongarch.json"
expect 1 "a build with device code for another arch" -- pt build --set wrongarch
contains "verification fails the build" "failed verification"
contains "names the member and arches" "wrongarch/kernel.so: device code for sm_80, expected sm_90 (TORCH_CUDA_ARCH_LIST=9.0)"
[ -z "$(ls "$work/cache/out/"*/wrongarch-*.whl 2>/dev/null)" ] || fail "the wrong-arch wheel entered the cache"

finish e2e
