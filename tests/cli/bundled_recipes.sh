#!/usr/bin/env bash
# The real binary on the bundled recipes: every bundled set plans, every key is 64 hex
# digits, and one env flag added to recipes/torch.json changes the keys of torch and of
# everything that depends on it, and of nothing else.
# usage: bundled_recipes.sh PTBUILD SOURCE_DIR
set -euo pipefail
ptbuild=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ptbuild-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/recipes" "$src/toolchains" "$work/"
[ -d "$src/patches" ] && cp -r "$src/patches" "$work/"

fail() { echo "FAIL: $*" >&2; exit 1; }

for set in "$src"/recipes/sets/*.json; do
	name=$(basename "$set" .json)
	"$ptbuild" -C "$work" plan --set "$name" --json >"$work/$name.json" 2>"$work/$name.err" ||
		{ cat "$work/$name.err" >&2; fail "plan --set $name exited $?"; }
	python3 - "$work/$name.json" "$name" <<'PY' || fail "plan --set $name: bad JSON"
import json, re, sys
plan = json.load(open(sys.argv[1]))
assert plan["ok"] is True
variants = plan["variants"]
assert variants, "no variants"
for v in variants:
    assert re.fullmatch(r"[0-9a-f]{64}", v["key"]), v
keys = [v["key"] for v in variants]
assert len(set(keys)) == len(keys), "two variants share a key"
seen = set()
for v in variants:  # dependencies come first
    for d in v["depends"]:
        assert d["key"] in seen, f'{v["recipe"]} planned before its dependency {d["recipe"]}'
    seen.add(v["key"])
print(f'{sys.argv[2]}: {len(variants)} variants, keys unique, order respects dependencies')
PY
done

# One env flag more in recipes/torch.json.
python3 - "$work/recipes/torch.json" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
new, n = re.subn(r'"env"\s*:\s*\{', '"env": { "USE_MAGMA": "0",', text, count=1)
assert n == 1, "recipes/torch.json has no env object"
open(path, "w").write(new)
PY
"$ptbuild" -C "$work" plan --set nightly --json >"$work/after.json" 2>/dev/null || fail "plan after edit"
python3 - "$work/nightly.json" "$work/after.json" <<'PY'
import json, sys
before = {(v["recipe"], v["variant"]): v for v in json.load(open(sys.argv[1]))["variants"]}
after = {(v["recipe"], v["variant"]): v for v in json.load(open(sys.argv[2]))["variants"]}
assert before.keys() == after.keys()
by_key = {v["key"]: k for k, v in before.items()}
# torch and everything that reaches it through "depends", in the plan before the edit
affected = {k for k in before if k[0] == "torch"}
assert affected, "the nightly set builds no torch"
changed = True
while changed:
    changed = False
    for k, v in before.items():
        if k not in affected and any(by_key[d["key"]] in affected for d in v["depends"]):
            affected.add(k)
            changed = True
moved = {k for k in before if before[k]["key"] != after[k]["key"]}
assert moved == affected, f"moved {sorted(moved ^ affected)} unexpectedly"
print(f"nightly: USE_MAGMA in torch moved {len(moved)} of {len(before)} keys: torch and its dependents only")
PY
echo "1 passed, 0 failed"
