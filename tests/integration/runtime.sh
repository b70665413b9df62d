#!/usr/bin/env bash
# The runtime closure of built wheels (issue 15, item 1), on fixture extensions and a
# loopback PEP 503 index: a built wheel requires `helper>=1.0` (helper requires helperdep),
# which the plan does not build.
#  1. `build` with a lock pins the closure there (requirements, names, sha256); `collect`
#     puts helper and helperdep in the wheelhouse, pinned with --hash in requirements/, and a
#     fresh venv installs it with --no-index --require-hashes; `lock` keeps the closure.
#  2. --locked refuses a lock without the closure; --frozen works from the cache with the
#     index down, and names the file when the cache lost it.
#  3. A requirement the plan's own wheels cannot answer (other>=2 where the plan builds
#     other 1.0): collect refuses, naming the wheel and the requirement; nothing is replaced.
# usage: runtime.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" runtime
. "$SRC/tests/integration/fixtures/ext_project.sh"
unset PIP_FIND_LINKS
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

# ---- the index: helper 1.0 (requires helperdep) and helperdep 2.0, pure-Python wheels -------
www=$work/www
mkdir -p "$www/files"
python3 - "$www/files" <<'EOF'
import sys, zipfile
def wheel(name, version, requires=()):
    di = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + \
        "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{name}/__init__.py": f"NAME = {name!r}\n", f"{di}/METADATA": meta,
             f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr(f"{di}/RECORD", "".join(f"{k},,\n" for k in files) + f"{di}/RECORD,,\n")
wheel("helper", "1.0", ["helperdep>=2"])
wheel("helperdep", "2.0")
wheel("helperdep", "1.0")
EOF
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$www" >/dev/null || fail "cannot index $www"
start_server "$work/git" "$www"
export PIP_INDEX_URL=http://127.0.0.1:$port/files/simple/

# ---- the project: a fake torch and an extension that needs helper at run time ---------------
for r in torch ext other; do make_repo $r; done
pyv=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
variant=cpu-py$pyv
fake_torch_recipe
ext_recipe() { # REQUIRES
	cat >"$p/recipes/ext.json" <<EOF
{ "name": "ext", "version": "1.0",
  "source": { "git": "file://$work/git/ext", "ref": "v1" },
  "depends": ["torch"],
  "build": ["\${python}", "ext_build.py", "\${out}"],
  "env": { "EXT_NAME": "ext", "EXT_REQUIRES": "$1" },
  "local_version": "pt\${dep.torch.version_short}\${toolchain.tag}" }
EOF
}
# torch is the plan's (dropped before resolving); the docs extra is not asked for
ext_recipe "helper>=1.0|torch|sphinx; extra == 'docs'"
set_file default '["ext"]' "[\"$pyv\"]"
lock=$p/ptbuild.lock
runtime_of() { # the lock's runtime closure of ext's variant, one "name sha256" per line
	python3 - "$lock" "ext/$variant" <<'EOF'
import json, sys
doc = json.loads("".join(l for l in open(sys.argv[1]) if not l.startswith("//")))
rt = doc["variants"][sys.argv[2]].get("runtime")
if rt is None:
    print("none")
else:
    print("requires:", ",".join(rt["requires"]))
    for f in rt["files"]:
        print(f["name"], f["sha256"])
EOF
}

# ---- 1. build pins the closure in the lock; collect installs by itself ----------------------
expect 0 "lock" -- pt lock
[ "$(runtime_of)" = none ] || fail "a lock made before any build has a runtime closure: $(runtime_of)"
expect 0 "build" -- pt build
contains "says what it resolved" "runtime ext/$variant: helper>=1.0 -> 2 wheels"
contains "says it pinned it (torch's closure is empty: no entry)" "pinned the runtime closure of 1 variant in $lock"
rt=$(runtime_of)
helper_sha=$(sha256sum "$www/files/helper-1.0-py3-none-any.whl" | cut -c1-64)
dep_sha=$(sha256sum "$www/files/helperdep-2.0-py3-none-any.whl" | cut -c1-64)
[ "$rt" = "requires: helper>=1.0
helper-1.0-py3-none-any.whl $helper_sha
helperdep-2.0-py3-none-any.whl $dep_sha" ] || fail "the lock's runtime closure is wrong: $rt"
[ -f "$work/cache/dist/$helper_sha/helper-1.0-py3-none-any.whl" ] || fail "helper is not in the cache by digest"
# torch's and ext's own variants: torch has no requirements, its closure is empty
expect 0 "build again" -- pt build
lacks "a no-op build resolves nothing" "runtime ext"
lacks "a no-op build writes no lock" "pinned the runtime"
before=$(sha256sum "$lock")
expect 0 "lock keeps the closure" -- pt lock
[ "$(sha256sum "$lock")" = "$before" ] || fail "lock changed a lock it should have kept: $(runtime_of)"

house=$work/house
expect 0 "collect" -- pt collect --out "$house"
req=$house/requirements/$variant.txt
grep -qx "helper==1.0 --hash=sha256:$helper_sha" "$req" || fail "requirements lack helper with its hash: $(cat "$req")"
grep -qx "helperdep==2.0 --hash=sha256:$dep_sha" "$req" || fail "requirements lack helperdep with its hash"
[ -f "$house/helper-1.0-py3-none-any.whl" ] || fail "the wheelhouse lacks helper"
python3 -m venv "$work/venv" || fail "no venv"
expect 0 "pip install --require-hashes from the wheelhouse alone" -- \
	"$work/venv/bin/pip" install -q --no-index --require-hashes --find-links "$house" -r "$req"
expect 0 "helper imports" -- "$work/venv/bin/python" -c 'import helper, helperdep, ext; print(helper.NAME)'
contains "helper imports" "helper"

# ---- 2. --locked and --frozen ---------------------------------------------------------------
cp "$lock" "$work/lock.full"
python3 - "$lock" "ext/$variant" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines(True)
head = [l for l in lines if l.startswith("//")]
doc = json.loads("".join(l for l in lines if not l.startswith("//")))
del doc["variants"][sys.argv[2]]["runtime"]
open(sys.argv[1], "w").write("".join(head) + json.dumps(doc, indent=2, sort_keys=True) + "\n")
EOF
expect 2 "build --locked with a lock that lacks the closure" -- pt build --locked
contains "names the variant and the requirement" "ext/$variant: the runtime requirements of its wheel (helper>=1.0) are not pinned in ptbuild.lock"
contains "says what to do" "run \`ptbuild lock\` after \`ptbuild build\`"
expect 0 "lock pins the closure of what is built" -- pt lock
[ "$(runtime_of)" = "$rt" ] || fail "lock did not pin the closure of the built variant: $(runtime_of)"

kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
expect 0 "collect --frozen with the index down" -- pt collect --frozen --out "$house"
grep -qx "helper==1.0 --hash=sha256:$helper_sha" "$req" || fail "collect --frozen lost helper"
rm -rf "$work/cache/dist/$dep_sha"
cp -r "$house" "$work/house.before"
expect 3 "collect --frozen without a locked runtime wheel in the cache" -- pt collect --frozen --out "$house"
contains "names the file" "runtime wheel helperdep-2.0-py3-none-any.whl pinned by ptbuild.lock is not in the cache ($work/cache/dist/$dep_sha/helperdep-2.0-py3-none-any.whl)"
diff -r "$house" "$work/house.before" >/dev/null || fail "a refused collect changed the wheelhouse"
rm -f "$work/port"
start_server "$work/git" "$www"
export PIP_INDEX_URL=http://127.0.0.1:$port/files/simple/
expect 0 "collect --locked downloads the locked wheel again" -- pt collect --locked --out "$house"
[ -f "$work/cache/dist/$dep_sha/helperdep-2.0-py3-none-any.whl" ] || fail "the missing runtime wheel was not downloaded again"

# ---- 3. a requirement the plan's wheels cannot answer: collect refuses ------------------------
recipe other v1 '{ "EXT_NAME": "other" }'
ext_recipe "helper>=1.0|other>=2"
set_file default '["ext", "other"]' "[\"$pyv\"]"
expect 0 "build the extension that wants other>=2 and other 1.0" -- pt build
rm -rf "$work/house.before" && cp -r "$house" "$work/house.before"
expect 2 "collect of a wheelhouse that cannot install" -- pt collect --out "$house"
contains "says the wheelhouse is incomplete" "the wheelhouse does not install $variant by itself"
contains "names the requirement and the wheel" "ext 1.0+pt21cpu depends on other>=2"
diff -r "$house" "$work/house.before" >/dev/null || fail "a refused collect replaced the wheelhouse"

finish runtime
