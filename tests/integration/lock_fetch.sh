#!/usr/bin/env bash
# ptbuild lock / fetch / --locked / --frozen end to end, with real parts only: git
# repositories with nested submodules served over smart HTTP on loopback, a PEP 503 index
# with an sdist (whose setup.py imports torch, as PyG's do) and a wheel, and an archive.
# The lock and the trees are checked against what git and sha256sum say.
# usage: lock_fetch.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" lockfetch
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home PIP_CACHE_DIR=$work/pip-cache
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# the Python this machine has (ptbuild runs its pip to choose the wheel)
py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
export "PTBUILD_PYTHON_${py/./_}=$(command -v python3)"
mkdir -p "$work/home" "$work/git" "$work/www/dist" "$work/www/simple/pkg" "$work/www/simple/demo-wheel"

# ---- the loopback server and the fixtures ------------------------------------------------
start_server "$work/git" "$work/www"
base=http://127.0.0.1:$port
bash "$SRC/tests/integration/fixtures/make_repos.sh" "$work/git" "$base/git" >/dev/null ||
	{ echo "cannot make the fixture repositories" >&2; exit 1; }
gitd() { git --git-dir="$work/git/$1.git" "${@:2}"; }

# an sdist whose setup.py needs torch: fetching it must not run it
mkdir -p "$work/sdist/pkg-1.0"
printf 'import torch  # PyG-style: metadata cannot be built without torch\n' >"$work/sdist/pkg-1.0/setup.py"
printf 'Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n' >"$work/sdist/pkg-1.0/PKG-INFO"
tar -C "$work/sdist" -czf "$work/www/dist/pkg-1.0.tar.gz" pkg-1.0
# a wheel pip can choose
python3 - "$work/www/dist" <<'PY'
import base64, hashlib, sys, zipfile
name = "demo_wheel-1.0-py3-none-any.whl"
files = {
    "demo_wheel/__init__.py": b"VALUE = 1\n",
    "demo_wheel-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo-wheel\nVersion: 1.0\n",
    "demo_wheel-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for path, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{path},sha256={digest},{len(data)}\n"
record += "demo_wheel-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(f"{sys.argv[1]}/{name}", "w") as z:
    for path, data in files.items():
        z.writestr(path, data)
    z.writestr("demo_wheel-1.0.dist-info/RECORD", record)
PY
# an archive with a top directory to strip
mkdir -p "$work/arch/arch-2.0/src"
echo "int arch;" >"$work/arch/arch-2.0/src/arch.c"
tar -C "$work/arch" -czf "$work/www/dist/arch-2.0.tar.gz" arch-2.0
sha() { sha256sum "$1" | cut -d' ' -f1; }
index() { # project file
	printf '<!DOCTYPE html><html><body>\n<a href="../../dist/%s#sha256=%s">%s</a>\n</body></html>\n' \
		"$2" "$(sha "$work/www/dist/$2")" "$2" >"$work/www/simple/$1/index.html"
}
index pkg pkg-1.0.tar.gz
index demo-wheel demo_wheel-1.0-py3-none-any.whl
export PIP_INDEX_URL=$base/files/simple/

# ---- the project --------------------------------------------------------------------------
proj=$work/proj
mkdir -p "$proj/recipes/sets" "$proj/toolchains"
cat >"$proj/toolchains/cpu.json" <<'J'
{ "name": "cpu", "tag": "cpu" }
J
# credentials in the URL must never reach the lock or any message
cat >"$proj/recipes/top.json" <<J
{ "name": "top", "version": "1.0", "builder": "generic",
  "source": { "git": "http://builder:s3cret@127.0.0.1:$port/git/top.git", "ref": "v1.0" },
  "submodule_overrides": { "third_party/kineto": { "git": "$base/git/kineto-fork.git", "ref": "v2.7.0" } },
  "build": ["true"] }
J
cat >"$proj/recipes/pkg.json" <<'J'
{ "name": "pkg", "version": "1.0", "builder": "generic",
  "source": { "pypi": "pkg==1.0", "kind": "sdist" }, "build": ["true"] }
J
cat >"$proj/recipes/whl.json" <<'J'
{ "name": "whl", "version": "1.0", "builder": "wheel", "source": { "wheel": "demo-wheel==1.0" } }
J
cat >"$proj/recipes/arch.json" <<J
{ "name": "arch", "version": "2.0", "builder": "generic",
  "source": { "archive": "$base/files/dist/arch-2.0.tar.gz",
              "sha256": "$(sha "$work/www/dist/arch-2.0.tar.gz")", "strip": 1 },
  "build": ["true"] }
J
cat >"$proj/recipes/sets/default.json" <<J
{ "targets": ["top", "pkg", "whl", "arch"], "toolchains": ["cpu"], "python": ["$py"] }
J
cache=$work/cache
pt() { "$PTBUILD" -C "$proj" --cache-dir "$cache" "$@"; }
lockf=$proj/ptbuild.lock
lockget() { # python expression over the lock `L` (comments stripped)
	python3 - "$lockf" "$1" <<'PY'
import json, re, sys
text = re.sub(r"^//.*$", "", open(sys.argv[1]).read(), flags=re.M)
L = json.loads(text)
print(eval(sys.argv[2]))
PY
}

# ---- lock ---------------------------------------------------------------------------------
expect 0 "lock" -- pt lock
contains "lock summary" "wrote $lockf"
lacks "lock output" "s3cret"
grep -q s3cret "$lockf" && fail "the lock holds the URL's password"
top_v10=$(gitd top rev-parse 'v1.0^{commit}')
[ "$(lockget 'L["sources"]["top"]["commit"]')" = "$top_v10" ] || fail "top's locked commit is not v1.0 ($top_v10)"
[ "$(lockget 'L["sources"]["top"]["tag"]')" = "$(gitd top rev-parse v1.0)" ] || fail "top's annotated tag object"
# every gitlink, two levels deep, as git records it
mid=$(gitd top ls-tree "$top_v10" third_party/mid | awk '{print $3}')
leaf=$(gitd mid ls-tree "$mid" deps/leaf | awk '{print $3}')
mid2=$(gitd top ls-tree "$top_v10" third_party/mid2 | awk '{print $3}')
leaf2=$(gitd mid2 ls-tree "$mid2" deps/leaf | awk '{print $3}')
kineto=$(gitd kineto-fork rev-parse 'v2.7.0^{commit}')
for row in "third_party/mid $mid" "third_party/mid/deps/leaf $leaf" "third_party/mid2 $mid2" \
	"third_party/mid2/deps/leaf $leaf2" "third_party/kineto $kineto"; do
	set -- $row
	got=$(lockget "L['sources']['top']['submodules']['$1']['commit']")
	[ "$got" = "$2" ] || fail "submodule $1: lock has $got, git says $2"
done
# ../mid2.git resolves against the superproject's URL, credentials included (and redacted)
[ "$(lockget "L['sources']['top']['submodules']['third_party/mid2']['url']")" = "http://***@127.0.0.1:$port/git/mid2.git" ] ||
	fail "the relative submodule URL ../mid2.git is not resolved against the superproject"
[ "$(lockget "L['sources']['top']['submodules']['third_party/kineto']['overridden']")" = True ] ||
	fail "kineto is not marked overridden"
[ "$(lockget 'L["sources"]["pkg"]["files"][0]["sha256"]')" = "$(sha "$work/www/dist/pkg-1.0.tar.gz")" ] ||
	fail "pkg's sdist digest"
[ "$(lockget 'L["sources"]["whl"]["files"][0]["sha256"]')" = "$(sha "$work/www/dist/demo_wheel-1.0-py3-none-any.whl")" ] ||
	fail "the wheel's digest"
[ "$(lockget 'L["sources"]["whl"]["files"][0]["python"]')" = "$py" ] || fail "the wheel is pinned per Python"
# sorted keys at every level, and the same bytes when nothing changed
python3 - "$lockf" <<'PY' || fail "the lock's keys are not sorted"
import json, re, sys
def check(o):
    if isinstance(o, dict):
        assert list(o) == sorted(o), list(o)
        for v in o.values(): check(v)
    elif isinstance(o, list):
        for v in o: check(v)
check(json.loads(re.sub(r"^//.*$", "", open(sys.argv[1]).read(), flags=re.M)))
PY
cp "$lockf" "$work/lock.1"
expect 0 "lock again" -- pt lock
cmp -s "$lockf" "$work/lock.1" || fail "locking twice changed the lock"
# plan's keys are the lock's keys
expect 0 "plan --json" -- pt plan --json
python3 - "$lockf" <<PY || fail "plan's keys differ from the lock's"
import json, re, sys
L = json.loads(re.sub(r"^//.*$", "", open(sys.argv[1]).read(), flags=re.M))
P = json.loads('''$out''')
for v in P["variants"]:
    assert L["variants"][v["recipe"] + "/" + v["variant"]]["key"] == v["key"], v["recipe"]
PY

# ---- fetch ----------------------------------------------------------------------------------
expect 0 "fetch" -- pt fetch
contains "fetch" "checked out"
tree=$proj/build/src/top-v1.0
gitf() { git -c protocol.file.allow=always -c advice.detachedHead=false "$@"; }
gitf clone -q "$work/git/top.git" "$work/oracle" && gitf -C "$work/oracle" checkout -q v1.0 &&
	gitf -C "$work/oracle" submodule -q update --init --recursive ||
	fail "git clone --recursive (the oracle) failed"
diff -r -x .git -x kineto "$work/oracle" "$tree" >/dev/null || fail "top-v1.0 differs from git's checkout"
diff <(gitd kineto-fork ls-tree -r --name-only v2.7.0 | sort) \
	<(cd "$tree/third_party/kineto" && find . -type f | sed 's|^\./||' | sort) >/dev/null ||
	fail "the kineto override is not kineto-fork at v2.7.0"
[ -f "$proj/build/src/pkg-1.0/setup.py" ] || fail "the sdist is not extracted (strip 1)"
[ -f "$proj/build/src/arch-2.0/src/arch.c" ] || fail "the archive is not extracted with strip 1"
expect 0 "fetch again" -- pt fetch
lacks "second fetch" "checked out"
contains "second fetch" "up to date"

# ---- a tag moved upstream after the lock ------------------------------------------------------
top_v11=$(gitd top rev-parse 'v1.1^{commit}')
gitd top tag -f v1.0 "$top_v11" >/dev/null 2>&1
expect 2 "fetch --locked after the tag moved" -- pt fetch --locked
contains "moved tag" "$top_v10"
contains "moved tag" "$top_v11"
contains "moved tag" "ptbuild lock --update top"
lacks "moved tag" "s3cret"
expect 0 "fetch (the lock's commit wins)" -- pt fetch
contains "fetch keeps the locked tree" "up to date"
expect 0 "lock --update top" -- pt lock --update top
[ "$(lockget 'L["sources"]["top"]["commit"]')" = "$top_v11" ] || fail "lock --update did not take the moved tag"
expect 0 "fetch --locked after the update" -- pt fetch --locked
contains "the new commit is checked out" "checked out"
gitd top tag -f v1.0 "$top_v10" >/dev/null 2>&1
expect 0 "lock --update" -- pt lock --update

# ---- recipes edited after the lock ------------------------------------------------------------
cp "$proj/recipes/top.json" "$work/top.json"
sed -i 's/"ref": "v1.0"/"ref": "v1.1"/' "$proj/recipes/top.json"
expect 2 "fetch --locked with an edited ref" -- pt fetch --locked
contains "edited ref" 'ref: "v1.0" -> "v1.1"'
contains "edited ref" "recipes/top.json"
cp "$work/top.json" "$proj/recipes/top.json"
sed -i 's/"build": \["true"\] }/"build": ["true"], "env": { "FOO": "1" } }/' "$proj/recipes/arch.json"
expect 2 "fetch --locked with a new env variable" -- pt fetch --locked
contains "env change" "variant arch/cpu-py$py"
contains "env change" 'env.FOO: (absent) -> "1"'
sed -i 's/, "env": { "FOO": "1" }//' "$proj/recipes/arch.json"
expect 0 "fetch --locked once undone" -- pt fetch --locked

# ---- a digest that changed upstream -----------------------------------------------------------
cp "$work/www/dist/pkg-1.0.tar.gz" "$work/pkg.orig"
printf '# republished\n' >>"$work/sdist/pkg-1.0/setup.py"
tar -C "$work/sdist" -czf "$work/www/dist/pkg-1.0.tar.gz" pkg-1.0
index pkg pkg-1.0.tar.gz
before=$(find "$cache/dist" -type f | sort)
expect 2 "fetch --locked with a fresh cache after a re-upload" -- pt --cache-dir "$work/cache2" fetch --locked
contains "re-upload" "pkg==1.0 changed since the lock"
contains "re-upload" "$(sha "$work/pkg.orig")"
contains "re-upload" "$(sha "$work/www/dist/pkg-1.0.tar.gz")"
[ -z "$(find "$work/cache2/dist" -name 'pkg-1.0.tar.gz' 2>/dev/null)" ] || fail "the re-uploaded sdist was kept"
cp "$work/pkg.orig" "$work/www/dist/pkg-1.0.tar.gz"
index pkg pkg-1.0.tar.gz

# ---- --frozen: the server is gone --------------------------------------------------------------
kill "$server_pid"
wait "$server_pid" 2>/dev/null
server_pid=
rm -rf "$proj/build"
expect 0 "fetch --frozen from the cache alone" -- pt fetch --frozen
contains "frozen" "checked out"
diff -r -x .git -x kineto "$work/oracle" "$proj/build/src/top-v1.0" >/dev/null || fail "the frozen checkout differs"
expect 3 "fetch --frozen with an empty cache" -- pt --cache-dir "$work/empty" fetch --frozen
contains "frozen miss" "is not in the cache"
contains "frozen miss" "--frozen forbids the network"
[ -z "$(ls -A "$work/empty/git" 2>/dev/null)" ] || fail "a frozen miss left something in the cache"
rm -rf "$proj/build"
expect 3 "fetch with the server down" -- pt --cache-dir "$work/empty2" fetch
contains "server down" "cannot"
lacks "server down" "s3cret"

# ---- what cannot be locked, and what is not in the lock ----------------------------------------
mkdir -p "$work/checkout"
cat >"$proj/recipes/dev.json" <<J
{ "name": "dev", "version": "0", "builder": "generic", "source": { "path": "$work/checkout" }, "build": ["true"] }
J
expect 2 "fetch --locked dev" -- pt fetch --locked dev
contains "path source" "which a lock cannot pin"
expect 0 "fetch dev" -- pt fetch dev
contains "path source warning" "not lockable"
rm "$proj/recipes/dev.json"
rm "$lockf"
expect 2 "fetch --locked without a lock" -- pt fetch --locked
contains "no lock" "run \`ptbuild lock\` first"
expect 2 "targets without --update" -- pt lock top
contains "lock top" "after --update"

finish "lock_fetch"
