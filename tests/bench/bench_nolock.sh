#!/usr/bin/env bash
# A no-op `ptbuild build` in a project that had no ptbuild.lock (issue 17, item 2; no
# pass/fail on speed): a wheel source ("torch", from a file:// PEP 503 index, resolved with
# `pip download`) and two git extensions on it, every output already in the cache. The
# first run resolves and writes the lock, the second takes its pins from it (target:
# <= 0.1 s); before, every run re-resolved (measured here with --no-write-lock).
# usage: bench_nolock.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" bench-nolock
. "$SRC/tests/integration/fixtures/ext_project.sh"
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_PRE
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
	PIP_RETRIES=0 PIP_TIMEOUT=5 PIP_INDEX_URL=http://127.0.0.1:9/nowhere/simple/
pyv=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
# the interpreter itself, not a shim in front of it (pyenv's costs 0.3 s a probe)
export "PTBUILD_PYTHON_${pyv/./_}=$(python3 -c 'import sys; print(sys.executable)')"
mkdir -p "$work/www/files"
python3 - "$work/www/files" <<'EOF'
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
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$work/www" >/dev/null ||
	{ echo "bench nolock: cannot index the fixture wheel" >&2; exit 1; }
cat >"$p/recipes/torch.json" <<EOF
{ "name": "torch", "version": "2.1.2", "builder": "wheel",
  "source": { "wheel": "fixture-torch==2.1.2", "index": "file://$work/www/simple/" } }
EOF
for r in ext_a ext_b; do
	make_repo $r
	recipe $r v1 "{ \"EXT_NAME\": \"$r\", \"EXT_NEEDS\": \"fixture_torch\" }" '["torch"]'
done
set_file default '["ext_a", "ext_b"]' "[\"$pyv\"]"
now() { date +%s.%N; }
# the outputs, built once without writing a lock: every run below is a no-op
pt build --no-write-lock >/dev/null 2>&1 || { echo "bench nolock: the first build failed" >&2; exit 1; }
[ ! -e "$p/ptbuild.lock" ] || { echo "bench nolock: --no-write-lock wrote a lock" >&2; exit 1; }
t0=$(now); pt build --no-write-lock >/dev/null 2>&1; t1=$(now)
t2=$(now); pt build >"$work/first.log" 2>&1; t3=$(now)
grep -q "wrote ptbuild.lock" "$work/first.log" || { echo "bench nolock: the first run wrote no lock" >&2; exit 1; }
t4=$(now); pt build >/dev/null 2>&1; t5=$(now)
t6=$(now); pt build >/dev/null 2>&1; t7=$(now)
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" "$t7" <<'PY'
import sys
t = list(map(float, sys.argv[1:]))
was, first = t[1] - t[0], t[3] - t[2]
second = min(t[5] - t[4], t[7] - t[6])
print(f"bench nolock: first {first:.3f} s, second {second:.3f} s "
      f"(was: every run re-resolved, {was:.3f} s each; target: second <= 0.1 s)")
PY
