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

# The checkout's path is not an input: the copy plans the same keys as the source tree.
"$ptbuild" -C "$src" plan --set nightly --json 2>/dev/null | python3 -c '
import json, sys
here = [v["key"] for v in json.load(sys.stdin)["variants"]]
copy = [v["key"] for v in json.load(open(sys.argv[1]))["variants"]]
assert here == copy, "keys depend on where the project is"
print("nightly: same keys from another directory")' "$work/nightly.json" || fail "keys depend on the path"

# add_flag RECIPE NAME VALUE: one env entry more in recipes/RECIPE.json
add_flag() {
	python3 - "$work/recipes/$1.json" "$2" "$3" <<'PY'
import re, sys
path, name, value = sys.argv[1:]
text = open(path).read()
new, n = re.subn(r'"env"\s*:\s*\{', f'"env": {{ "{name}": "{value}",', text, count=1)
assert n == 1, f"{path} has no env object"
open(path, "w").write(new)
PY
}

# compare SET RECIPE: the keys that moved in SET since the last plan are exactly RECIPE's
# variants and everything that depends on them, through "depends".
compare() {
	"$ptbuild" -C "$work" plan --set "$1" --json >"$work/$1.after.json" 2>/dev/null || fail "plan --set $1 after edit"
	python3 - "$work/$1.json" "$work/$1.after.json" "$1" "$2" <<'PY' || fail "plan --set $1: keys moved wrongly"
import json, sys
before_path, after_path, set_name, recipe = sys.argv[1:]
before = {(v["recipe"], v["variant"]): v for v in json.load(open(before_path))["variants"]}
after = {(v["recipe"], v["variant"]): v for v in json.load(open(after_path))["variants"]}
assert before.keys() == after.keys()
by_key = {v["key"]: k for k, v in before.items()}
affected = {k for k in before if k[0] == recipe}
grew = True
while grew:
    grew = False
    for k, v in before.items():
        if k not in affected and any(by_key[d["key"]] in affected for d in v["depends"]):
            affected.add(k)
            grew = True
moved = {k for k in before if before[k]["key"] != after[k]["key"]}
assert moved == affected, f"unexpected: {sorted(moved ^ affected)}"
print(f"{set_name}: an env flag in {recipe} moved {len(moved)} of {len(before)} keys: "
      f"{recipe} and its dependents only")
PY
	mv "$work/$1.after.json" "$work/$1.json"
}

# torch: every nightly variant depends on it; default and pyg (prebuilt torch) and musa (patched
# torch 2.7.1) do not read recipes/torch.json, so none of their keys may move.
add_flag torch USE_MAGMA 0
for set in nightly default pyg musa; do compare "$set" torch; done
grep -q '"torch"' "$work/nightly.json" || fail "nightly plans no torch"
# torch_scatter: nothing depends on it, so only its own variants move.
add_flag torch_scatter WITH_SYMBOLS 0
for set in nightly default pyg musa; do compare "$set" torch_scatter; done
echo "1 passed, 0 failed"
