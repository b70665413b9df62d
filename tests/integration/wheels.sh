#!/usr/bin/env bash
# Wheels out, on fixture extensions (tests/integration/fixtures/ext_build.py): version
# stamping (local version, Requires-Dist torch==exact), verification after every build,
# deterministic wheels (two project directories, one lock: the same bytes), `collect` (wheels,
# PEP 503 index, SHA256SUMS, manifest, requirements, Dockerfiles; twice gives identical
# files), pip installs from both index styles and from Dockerfile.release's own line,
# --slim, and `verify` catching a tampered RECORD, wrong tags, a missing libnccl, a
# bundled libnccl and a C++ ABI mismatch.
# usage: wheels.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" wheels
. "$SRC/tests/integration/fixtures/ext_project.sh"
unset PIP_FIND_LINKS PIP_INDEX_URL
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1

# ---- fixtures: a fake torch and an extension built against it -------------------------------
for r in torch ext other; do make_repo $r; done
fake_torch_recipe
cat >"$p/recipes/ext.json" <<EOF
{ "name": "ext", "version": "1.0",
  "source": { "git": "file://$work/git/ext", "ref": "v1" },
  "depends": ["torch"],
  "build": ["\${python}", "ext_build.py", "\${out}"],
  "env": { "EXT_NAME": "ext", "EXT_NEEDS": "torch", "EXT_CFLAGS": "-g" },
  "local_version": "pt\${dep.torch.version_short}\${toolchain.tag}" }
EOF
set_file default '["ext"]'
py=cp$(python3 -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
pyv=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
set_file default '["ext"]' "[\"$pyv\"]"
variant=cpu-py$pyv
entry_of() { # RECIPE [PROJECT]: the output-cache entry of RECIPE's variant
	local key
	key=$(pt -C "${2:-$p}" plan --json | python3 -c "import json,sys
print([v['key'] for v in json.load(sys.stdin)['variants'] if v['recipe']=='$1'][0])")
	echo "$work/cache/out/$key"
}

# ---- build: stamped, repacked, verified -------------------------------------------------------
expect 0 "lock" -- pt lock
expect 0 "build" -- pt build
ext_dir=$(entry_of ext)
torch_dir=$(entry_of torch)
ext_whl=$(ls "$ext_dir"/*.whl 2>/dev/null)
torch_whl=$(ls "$torch_dir"/*.whl 2>/dev/null)
case $(basename "$ext_whl") in
"ext-1.0+pt21cpu-$py-$py-linux_"*.whl) ;;
*) fail "the extension wheel is not stamped with +pt21cpu: '$ext_whl'" ;;
esac
case $(basename "$torch_whl") in
"torch-2.1.2+cpu-$py-$py-linux_"*.whl) ;;
*) fail "the torch wheel changed its name: '$torch_whl'" ;;
esac
meta=$(python3 - "$ext_whl" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.read("ext-1.0+pt21cpu.dist-info/METADATA").decode())
print("RECORD:", len(z.read("ext-1.0+pt21cpu.dist-info/RECORD").decode().splitlines()))
print("TIMES:", sorted({i.date_time for i in z.infolist()}))
print("ORDER:", [i.filename for i in z.infolist()] == sorted([i.filename for i in z.infolist()],
      key=lambda n: (".dist-info/" in n, n.endswith("/RECORD"), n)))
EOF
)
case $meta in *"Version: 1.0+pt21cpu"*) ;; *) fail "METADATA Version not stamped: $meta" ;; esac
case $meta in *"Requires-Dist: torch==2.1.2+cpu"*) ;; *) fail "no Requires-Dist torch==2.1.2+cpu: $meta" ;; esac
case $meta in *"RECORD: 7"*) ;; *) fail "RECORD not regenerated (7 lines expected): $meta" ;; esac
case $meta in *"ORDER: True"*) ;; *) fail "entries not sorted with .dist-info last: $meta" ;; esac
# the git commit's date (the fixture repos are committed now), not 1980 and not the build time
commit_time=$(git -C "$work/git/ext" log -1 --format=%ct v1)
want_time=$(python3 -c "import time; t=time.gmtime($commit_time); print((t.tm_year,t.tm_mon,t.tm_mday,t.tm_hour,t.tm_min,t.tm_sec - t.tm_sec % 2))")
case $meta in *"TIMES: [$want_time]"*) ;; *) fail "entry times are not the commit's ($want_time): $meta" ;; esac
log=$p/build/logs/$variant/ext.log
grep -q "verify ext-1.0+pt21cpu-.*: 7 members, 1 shared objects (0 with CUDA code): 0 findings" "$log" ||
	fail "no verify line in the log: $(grep ptbuild: "$log")"
grep -q "SOURCE_DATE_EPOCH=$commit_time" "$log" || fail "SOURCE_DATE_EPOCH is not the commit time"

# ---- determinism: another directory, the same lock, a rebuild: the same bytes ----------------
p2=$work/p2
cp -r "$p" "$p2"
rm -rf "$p2/build"
sums() { sha256sum "$ext_dir"/*.whl "$torch_dir"/*.whl | cut -d' ' -f1 | tr '\n' ' '; }
first=$(sums)
sleep 2 # zip times have a 2 s resolution: a build later must not change them
expect 0 "rebuild in another directory" -- pt -C "$p2" build --locked --force
[ "$(entry_of ext "$p2")" = "$ext_dir" ] || fail "the second directory has another key"
second=$(sums)
[ "$first" = "$second" ] || fail "same lock, different wheels: $first vs $second"

# ---- the build ignored PYTORCH_BUILD_VERSION: it fails, nothing enters the cache ------------
sed -i 's/"EXT_VERSION": "2.1.2+cpu"/"EXT_VERSION": "2.1.2a0+git1234"/' "$p2/recipes/torch.json"
expect 1 "a torch wheel with another version than asked" -- pt -C "$p2" build
contains "names the versions" "the wheel's version is 2.1.2a0+git1234 but the recipe asked the build for 2.1.2+cpu"
[ -d "$(entry_of torch "$p2")" ] && fail "a wheel with the wrong version entered the cache"

# ---- collect -----------------------------------------------------------------------------------
house=$work/house
expect 0 "collect" -- pt collect --out "$house"
contains "counts" "collected 2 wheels"
for f in SHA256SUMS manifest.json simple/index.html simple/ext/index.html simple/torch/index.html \
	"requirements/$variant.txt" Dockerfile.base Dockerfile.dev Dockerfile.release docker-entrypoint.sh; do
	[ -f "$house/$f" ] || fail "the wheelhouse lacks $f"
done
(cd "$house" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match the wheels"
grep -q "href=\"../../ext-1.0%2Bpt21cpu-$py-$py-linux_[a-z0-9_]*.whl#sha256=$(sha256sum "$ext_whl" | cut -c1-64)\"" \
	"$house/simple/ext/index.html" || fail "the index link lacks the escaped name or the digest: $(cat "$house/simple/ext/index.html")"
grep -qx "ext==1.0+pt21cpu --hash=sha256:$(sha256sum "$house"/ext-*.whl | cut -c1-64)" "$house/requirements/$variant.txt" ||
	fail "requirements lack ext with its digest: $(cat "$house/requirements/$variant.txt")"
grep -qx "torch==2.1.2+cpu --hash=sha256:$(sha256sum "$house"/torch-*.whl | cut -c1-64)" "$house/requirements/$variant.txt" ||
	fail "requirements lack torch with its digest"
python3 - "$house/manifest.json" "$(git -C "$work/git/ext" rev-parse v1)" "$(sha256sum "$p/ptbuild.lock" | cut -c1-64)" "$variant" <<'EOF' || fail "manifest.json is incomplete"
import json, sys
m = json.load(open(sys.argv[1]))
ext = [w for w in m["wheels"] if w["project"] == "ext"][0]
v = ext["variants"][0]
assert v["recipe"] == "ext" and v["variant"] == sys.argv[4] and v["toolchain"] == "cpu", v
assert v["python"] == sys.argv[4].split("py")[1] and len(v["build_key"]) == 64, v
assert v["source"]["commit"] == sys.argv[2], v
assert m["lock"]["sha256"] == sys.argv[3], m["lock"]
EOF
snapshot() { (cd "$house" && find . -type f | sort | xargs sha256sum); }
one=$(snapshot)
expect 0 "collect again" -- pt collect --out "$house"
[ "$one" = "$(snapshot)" ] || fail "collecting twice gave different files"

# pip: both index styles, offline, then the op runs
for style in find-links index-url; do
	rm -rf "$work/venv-$style"
	python3 -m venv "$work/venv-$style"
	if [ $style = find-links ]; then args=(--no-index --find-links "$house"); else args=(--index-url "file://$house/simple"); fi
	expect 0 "pip install --$style" -- "$work/venv-$style/bin/pip" install -q "${args[@]}" ext
	expect 0 "import after --$style" -- "$work/venv-$style/bin/python" -c "
import ext, torch, importlib.metadata as md
assert ext.ANSWER == 42
assert md.version('ext') == '1.0+pt21cpu' and md.version('torch') == '2.1.2+cpu'
print('op ok')"
	contains "import after --$style" "op ok"
done

# PEP 658/714: the index serves each wheel's core metadata, and pip resolves from it
for w in "$house"/*.whl; do
	[ -f "$w.metadata" ] || fail "the wheelhouse lacks $(basename "$w").metadata"
done
python3 -m venv "$work/venv-meta"
expect 0 "pip download from the index" -- "$work/venv-meta/bin/pip" download -v --no-deps \
	-d "$work/meta-dl" --index-url "file://$house/simple" ext
contains "pip reads the metadata file, not the wheel" ".whl.metadata"

# Dockerfile.release: its own pip line, run against the wheelhouse in a fresh venv
pytools=$SRC/build/pytools/bin/python
if [ ! -x "$pytools" ] || ! "$pytools" -c 'import dockerfile_parse' 2>/dev/null; then
	python3 -m venv "$SRC/build/pytools" && "$SRC/build/pytools/bin/pip" install -q dockerfile-parse ||
		fail "cannot install dockerfile-parse into build/pytools"
fi
expect 0 "the Dockerfiles parse" -- "$pytools" "$SRC/tests/integration/fixtures/check_dockerfiles.py" "$house"
pipline=$(printf '%s\n' "$out" | sed -n 's/^PIP: //p' | tail -1)
[ -n "$pipline" ] || fail "check_dockerfiles.py printed no pip line: $out"
pipline=${pipline//\$\{VARIANT\}/$variant}
pipline=${pipline//\/wheelhouse/$house}
rm -rf "$work/venv-release"
python3 -m venv "$work/venv-release"
expect 0 "Dockerfile.release's pip line" -- env PATH="$work/venv-release/bin:$PATH" bash -c "$pipline"
expect 0 "import after the release line" -- "$work/venv-release/bin/python" -c "import ext; assert ext.ANSWER == 42"

# refusals: a directory that is not a wheelhouse; a variant that is not built
mkdir -p "$work/mine" && echo keep >"$work/mine/notes.txt"
expect 3 "collect into a foreign directory" -- pt collect --out "$work/mine"
contains "says why" "is not a wheelhouse"
[ "$(cat "$work/mine/notes.txt")" = keep ] || fail "the foreign directory was touched"
cat >"$p/recipes/other.json" <<EOF
{ "name": "other", "version": "1.0", "source": { "git": "file://$work/git/other", "ref": "v1" },
  "build": ["\${python}", "ext_build.py", "\${out}"], "env": { "EXT_NAME": "other" } }
EOF
expect 1 "collect with a variant not built" -- pt collect --out "$house" ext other
contains "names it" "other ($variant) is not built"
[ "$one" = "$(snapshot)" ] || fail "a failed collect changed the wheelhouse"

# --slim: the test tree goes, the headers stay, debug info is stripped
expect 0 "collect --slim" -- pt collect --out "$work/slim" --slim
contains "sizes" "slim: "
python3 - "$work/slim" <<'EOF' || fail "--slim did not drop tests/ or dropped include/"
import glob, sys, zipfile
z = zipfile.ZipFile(glob.glob(sys.argv[1] + "/ext-*.whl")[0])
names = z.namelist()
assert not any("/tests/" in n for n in names), names
assert "ext/include/ext.h" in names, names
open(sys.argv[1] + "/ext.so", "wb").write(z.read("ext/ext.so"))
EOF
debug_sections() { readelf -S "$1" | grep -c debug_info; } # not grep -q: pipefail and SIGPIPE
[ "$(debug_sections "$work/slim/ext.so")" = 0 ] || fail "--slim left debug info in ext.so"
python3 -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('ext/ext.so'))" \
	"$ext_whl" "$work/full.so"
[ "$(debug_sections "$work/full.so")" != 0 ] || fail "the unslim ext.so has no debug info: the check proves nothing"
"$PTBUILD" verify --python "$pyv" "$work/slim"/ext-*.whl >/dev/null 2>&1 || fail "the slim wheel does not verify"

# ---- verify ------------------------------------------------------------------------------------
expect 0 "verify a built wheel" -- "$PTBUILD" verify --python "$pyv" "$ext_whl" "$torch_whl"
contains "ok line" "ok  $ext_whl"
expect 1 "verify for another Python" -- "$PTBUILD" verify --python 3.99 "$ext_whl"
contains "wrong tag" "Python tag \"$py\" does not fit Python 3.99"
t=$work/tamper && mkdir -p "$t"
python3 - "$ext_whl" "$t" <<'EOF'
import os, shutil, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
name = os.path.basename(src)
with zipfile.ZipFile(src) as z, zipfile.ZipFile(f"{out}/{name}", "w") as w:
    for i in z.infolist():
        data = z.read(i)
        if i.filename == "ext/__init__.py":
            data = b"ANSWER = 41\n"
        w.writestr(i, data)
# compiled code tagged for any platform, with a WHEEL that says so too
os.makedirs(f"{out}/any", exist_ok=True)
anyname = name.split("-")[0] + "-" + name.split("-")[1] + "-py3-none-any.whl"
with zipfile.ZipFile(src) as z, zipfile.ZipFile(f"{out}/any/{anyname}", "w") as w:
    for i in z.infolist():
        data = z.read(i)
        if i.filename.endswith("/WHEEL"):
            data = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
        w.writestr(i, data)
EOF
expect 1 "verify a tampered wheel" -- "$PTBUILD" verify "$t/$(basename "$ext_whl")"
contains "tampered RECORD" "ext/__init__.py: sha256 is"
contains "says when" "changed after the wheel was built"
expect 1 "verify compiled code tagged any" -- "$PTBUILD" verify "$t"/any/*.whl
contains "any tag" "ext/ext.so: compiled code in a wheel tagged for any platform"
contains "RECORD now lies" "RECORD says"

# NCCL and the C++ ABI: wheels made here around real shared objects
n=$work/nccl && mkdir -p "$n"
echo 'int ncclGetVersion(int *v) { *v = 21805; return 0; }' >"$n/nccl.c"
gcc -shared -fPIC -Wl,-soname,libnccl.so.2 "$n/nccl.c" -o "$n/libnccl.so.2"
echo 'int ncclGetVersion(int *); int torch_cuda(void) { int v; return ncclGetVersion(&v); }' >"$n/with.c"
echo 'int torch_cuda(void) { return 0; }' >"$n/without.c"
gcc -shared -fPIC "$n/with.c" -L"$n" -l:libnccl.so.2 -o "$n/with.so"
gcc -shared -fPIC "$n/without.c" -o "$n/without.so"
printf '#include <string>\nstd::string greet(const std::string &s) { return s + "!"; }\n' >"$n/abi.cc"
g++ -shared -fPIC -D_GLIBCXX_USE_CXX11_ABI=0 "$n/abi.cc" -o "$n/abi0.so"
mkwheel() { # NAME MEMBER=FILE...: a wheel of those members with a correct RECORD
	python3 - "$n" "$py" "$@" <<'EOF'
import base64, hashlib, sys, sysconfig, zipfile
out, py, name, *members = sys.argv[1:]
plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
files = {m.split("=")[0]: open(m.split("=")[1], "rb").read() for m in members}
di = f"{name}-2.1.2.dist-info"
files[f"{di}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 2.1.2\n".encode()
files[f"{di}/WHEEL"] = f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {py}-{py}-{plat}\n".encode()
rec = "".join(f"{k},sha256={base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b'=').decode()},{len(v)}\n" for k, v in files.items())
files[f"{di}/RECORD"] = (rec + f"{di}/RECORD,,\n").encode()
path = f"{out}/{name}-2.1.2-{py}-{py}-{plat}.whl"
with zipfile.ZipFile(path, "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
print(path)
EOF
}
mkdir -p "$n/a" "$n/b" "$n/c" "$n/d"
good=$(mkwheel torch torch/lib/libtorch_cuda.so="$n/with.so") && mv "$good" "$n/a/"
bad=$(mkwheel torch torch/lib/libtorch_cuda.so="$n/without.so") && mv "$bad" "$n/b/"
bundled=$(mkwheel torch torch/lib/libtorch_cuda.so="$n/with.so" torch/lib/libnccl.so.2="$n/libnccl.so.2") && mv "$bundled" "$n/c/"
abi=$(mkwheel torch torch/lib/libtorch_abi.so="$n/abi0.so") && mv "$abi" "$n/d/"
expect 0 "verify: torch needs the system libnccl" -- "$PTBUILD" verify --system-nccl "$n"/a/*.whl
expect 1 "verify: torch without libnccl" -- "$PTBUILD" verify --system-nccl "$n"/b/*.whl
contains "missing libnccl" "no torch library (torch/lib/libtorch*.so) needs libnccl.so.2"
expect 1 "verify: torch bundling libnccl" -- "$PTBUILD" verify --system-nccl "$n"/c/*.whl
contains "bundled libnccl" "torch/lib/libnccl.so.2: carries its own NCCL"
expect 1 "verify: C++ ABI mismatch" -- "$PTBUILD" verify --cxx11-abi 1 "$n"/d/*.whl
contains "ABI" "torch/lib/libtorch_abi.so: built with _GLIBCXX_USE_CXX11_ABI=0 but torch uses 1"
expect 0 "verify: the same ABI" -- "$PTBUILD" verify --cxx11-abi 0 "$n"/d/*.whl
expect 2 "verify without a wheel" -- "$PTBUILD" verify
expect 1 "verify a missing file" -- "$PTBUILD" verify "$n/nothing.whl"
echo "not a zip" >"$n/broken-1.0-py3-none-any.whl"
expect 1 "verify a broken zip" -- "$PTBUILD" verify "$n/broken-1.0-py3-none-any.whl"
contains "broken zip" "not a readable zip archive"
expect 0 "verify --json" -- "$PTBUILD" verify --json "$n"/a/*.whl
contains "json" '"ok": true'

finish wheels
