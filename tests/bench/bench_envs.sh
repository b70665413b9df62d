#!/usr/bin/env bash
# Figures for the environment store (issue 17, item 1; no pass/fail on speed): the deps phase
# of a dependency closure as pip runs it, against a venv from the store, cold (the closure
# unpacked once: pip into a link of the interpreter's entry) and warm (linked), and what a
# venv costs on disk beside the store (du counts a hardlinked file once) against the closure
# (what each venv held before). Two extensions share the closure; the second build drops
# their venvs and outputs.
# usage: bench_envs.sh PTBUILD SOURCE_DIR [WHEEL_DIR]
#   WHEEL_DIR: real wheels holding torch 2.1.2's cp311 closure (ci/e2e-prepare.sh's
#   build/e2e/files); without it, a fixture wheel of 16 MB of random data is the closure.
set -uo pipefail
PTBUILD=$1
SRC=$2
WHEELS=${3:-}
. "$SRC/tests/integration/fixtures/lib.sh" bench-envs
. "$SRC/tests/integration/fixtures/ext_project.sh"
if [ -n "$WHEELS" ]; then
	ls "$WHEELS"/torch-2.1.2-cp311-*.whl >/dev/null 2>&1 ||
		{ echo "bench_envs: $WHEELS has no torch 2.1.2 cp311 wheel" >&2; exit 1; }
	# pip resolves from the wheel directory only
	export PIP_NO_INDEX=1 PIP_FIND_LINKS=$(cd "$WHEELS" && pwd) PIP_CONFIG_FILE=/dev/null \
		PIP_NO_CACHE_DIR=1
	unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL
	cp "$SRC/recipes/torch_wheel_21.json" "$p/recipes/"
	dep=torch_wheel_21 what="torch 2.1.2's closure"
else
	make_repo base
	recipe base v1 '{ "EXT_NAME": "base", "EXT_PAD": "16777216" }'
	dep=base what="a fixture wheel of 16 MB"
fi
for r in a b; do
	make_repo $r
	recipe $r v1 "{ \"EXT_NAME\": \"$r\" }" "[\"$dep\"]"
done
set_file default '["a", "b"]'
logs=$p/build/logs/cpu-py3.11
pt lock >/dev/null 2>&1 || { echo "bench_envs: lock failed: $(pt lock 2>&1 | tail -5)" >&2; exit 1; }
pt build -j 2 >"$work/cold.out" 2>&1 || { echo "bench_envs: the cold build failed: $(tail -20 "$work/cold.out")" >&2; exit 1; }
keys=$(pt plan --json | python3 -c 'import json,sys; print(" ".join(v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"] in ("a", "b")))')
cp "$logs/a.log" "$work/a-cold.log"
cp "$logs/b.log" "$work/b-cold.log"
maker=$(grep -l "made store entry .*(closure," "$work/a-cold.log" "$work/b-cold.log" | head -1)
[ -n "$maker" ] || { echo "bench_envs: no log made the closure's store entry" >&2; exit 1; }
closure=$(sed -n 's/^# ptbuild: made store entry \(.*\) (closure,.*/\1/p' "$maker")
entry_kb=$(du -sk "$closure" | cut -f1)
venv_kb=$(du -sk "$closure" "$p/build/venv/cpu-py3.11/a" | sed -n 2p | cut -f1)
rm -rf "$p/build/venv"
for k in $keys; do rm -rf "$work/cache/out/$k"; done
pt build -j 2 >"$work/warm.out" 2>&1 || { echo "bench_envs: the warm build failed: $(tail -20 "$work/warm.out")" >&2; exit 1; }
python3 - "$maker" "$logs/a.log" "$logs/b.log" "$entry_kb" "$venv_kb" "$what" <<'PY'
import re, sys
maker, warm_a, warm_b, entry_kb, venv_kb, what = sys.argv[1:]
def marks(path):
    return [(m.group(1), float(m.group(2))) for m in
            re.finditer(r"^# ptbuild: (\S+) at ([0-9.]+)$", open(path).read(), re.M)]
def span(path, start, end):  # from the first mark `start` to the first `end` after it
    ms = marks(path)
    i = next(k for k, (n, _) in enumerate(ms) if n == start)
    return next(t for n, t in ms[i + 1:] if n in end) - ms[i][1]
pip = span(maker, "deps", ("venv",))            # pip install --no-index --no-deps of the closure
cold = span(maker, "venv", ("copy", "build"))    # the maker's venv: unpack once, then link
warm = max(span(w, "venv", ("copy", "build")) for w in (warm_a, warm_b))
print(f"bench envs ({what}): pip {pip:.1f} s, store (cold, one unpack) {cold:.1f} s, "
      f"store (warm link) {warm:.2f} s, venv disk {int(entry_kb) / 1024:.0f} MB vs "
      f"{int(venv_kb) / 1024:.1f} MB")
PY
