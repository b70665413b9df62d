#!/usr/bin/env bash
# The ci/fleet/ scripts in the order the workflows run them (ci/github/nightly.yml), each
# job in its own checkout and cache: lock.sh (the lock handed on as an artifact),
# matrix.sh 2 (the fromJSON line and $GITHUB_OUTPUT), shard.sh 1/2 and 2/2 on two runners
# (different paths, their own caches, at once), summary.sh into $GITHUB_STEP_SUMMARY,
# collect.sh in a fourth checkout. The runners share only a server: nginx on loopback as
# the remote output cache (PTBUILD_REMOTE_CACHE) and ccache's remote storage; collect.sh
# downloads and builds nothing. (tests/integration/shard.sh covers the workflows' other way,
# PTBUILD_FLEET_SHARE, entries handed on as artifacts.) The wheelhouse equals a
# one-machine build's, file for file (sha256). Also: a shard that fails fails its step.
# usage: fleet_scripts.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" fleet
SHARD_SCALE=0
. "$SRC/tests/integration/fixtures/shard_project.sh"
fleet=$SRC/ci/fleet
. "$SRC/tests/integration/fixtures/nginx_lib.sh"
start_nginx "$work/nginx" || { fail "nginx did not start"; finish fleet_scripts; }
export PTBUILD PTBUILD_SET=default
unset PTBUILD_FLEET_SHARE PTBUILD_REMOTE_CACHE PTBUILD_CCACHE_REMOTE
# job DIR CACHE SCRIPT ARGS...: one CI job's step, in its checkout with its cache
job() {
	local dir=$1 cache=$2
	shift 2
	PTBUILD_PROJECT=$dir PTBUILD_CACHE=$cache "$@"
}

# ---- one machine, for reference --------------------------------------------------------
expect 0 "one machine: lock" -- pt lock
expect 0 "one machine: build" -- pt build
expect 0 "one machine: collect" -- pt collect --out "$work/house-one"
cp "$p/build/state/a1/cpu-py3.11.json" "$work/a1-state.json"
rm "$p/ptbuild.lock"
rm -rf "$p/build"

# ---- lock job ----------------------------------------------------------------------------
copy_project "$work/lock-job/p"
expect 0 "lock.sh" -- job "$work/lock-job/p" "$work/cache-lock" bash "$fleet/lock.sh"
[ -f "$work/lock-job/p/ptbuild.lock" ] || fail "lock.sh wrote no lock"
cp "$work/lock-job/p/ptbuild.lock" "$p/" # the artifact every later job starts from

# ---- plan job ----------------------------------------------------------------------------
copy_project "$work/plan-job/p"
: >"$work/github_output"
expect 0 "matrix.sh 2" -- env GITHUB_OUTPUT="$work/github_output" \
	PTBUILD_PROJECT="$work/plan-job/p" PTBUILD_CACHE="$work/cache-plan" bash "$fleet/matrix.sh" 2
python3 - "$out" "$work/github_output" <<'PY' || fail "matrix.sh printed no matrix: $out"
import json, sys
m = json.loads(sys.argv[1])
assert list(m) == ["include"], m
assert [e["shard"] for e in m["include"]] == ["1/2", "2/2"], m
assert sum(e["variants"] for e in m["include"]) == 8, m
out = open(sys.argv[2]).read()
assert out == "matrix=" + sys.argv[1] + "\n", out
assert len({e["split"] for e in m["include"]}) == 1, m
PY
shards=$(python3 -c 'import json,sys; print(" ".join(e["shard"] for e in json.loads(sys.argv[1])["include"]))' "$out")
split=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["include"][0]["split"])' "$out")

# ---- shard jobs, at once -----------------------------------------------------------------
i=0
pids=
for s in $shards; do
	i=$((i + 1))
	d=$work/runner$i/$(printf 'x/%.0s' $(seq $i))p
	copy_project "$d"
	(job "$d" "$work/cache-$i" env PTBUILD_REMOTE_CACHE="$NGINX_URL/out" \
		PTBUILD_CCACHE_REMOTE="$NGINX_URL/ccache/" bash "$fleet/shard.sh" "$s" "$split" &&
		job "$d" "$work/cache-$i" env GITHUB_STEP_SUMMARY="$work/summary-$i.md" \
			bash "$fleet/summary.sh") >"$work/shard-$i.log" 2>&1 &
	pids="$pids $!"
done
i=0
for pid in $pids; do
	i=$((i + 1))
	wait "$pid" || fail "shard job $i failed: $(cat "$work/shard-$i.log")"
	grep -q "a1" "$work/summary-$i.md" 2>/dev/null || fail "summary.sh wrote no report for shard $i"
done
n=$(find "$NGINX_ROOT/out" -mindepth 2 -maxdepth 2 -name manifest.json | wc -l)
[ "$n" = 8 ] || fail "the shards published $n entries, not 8"

# A shard job run again on a fresh runner takes its own variants from the remote and
# downloads nothing of the other shard's.
copy_project "$work/rerun/p"
expect 0 "shard 1/2 again on a fresh runner" -- env PTBUILD_CACHE="$work/cache-rerun" \
	PTBUILD_REMOTE_CACHE="$NGINX_URL/out" "$PTBUILD" -C "$work/rerun/p" --json build \
	--set default --shard 1/2 --split "$split" --locked
python3 - "$(printf '%s\n' "$out" | grep '"event":"result"' | tail -1)" <<'PY' ||
import json, sys
vs = json.loads(sys.argv[1])["variants"]
built = [v for v in vs if v["status"] not in ("prebuilt",)]
assert all(v["status"] in ("cached", "elsewhere") for v in built), vs
assert any(v["status"] == "cached" for v in built) and any(v["status"] == "elsewhere" for v in built), vs
PY
	fail "the rerun shard did not take its variants from the remote, or took others': $out"
n=$(find "$work/cache-rerun/out" -mindepth 2 -maxdepth 2 -name manifest.json | wc -l)
m=$(printf '%s\n' "$out" | grep '"event":"result"' | tail -1 | grep -o '"status":"cached"' | wc -l)
[ "$n" = "$m" ] || fail "the rerun shard downloaded $n entries for its $m variants"

# ---- collect job -------------------------------------------------------------------------
copy_project "$work/collect-job/p"
expect 0 "collect.sh" -- job "$work/collect-job/p" "$work/cache-collect" \
	env PTBUILD_REMOTE_CACHE="$NGINX_URL/out" bash "$fleet/collect.sh" "$work/house-fleet"
[ ! -d "$work/collect-job/p/build/venv" ] || fail "the collect job built something"
diff <(tree_sums "$work/house-one") <(tree_sums "$work/house-fleet") >"$work/diff" ||
	fail "the fleet's wheelhouse differs from the one-machine one:
$(head -40 "$work/diff")"

# ---- a runner that would split otherwise stops before building ---------------------------
copy_project "$work/odd/p"
mkdir -p "$work/odd/p/build/state/a1"
python3 - "$work/a1-state.json" "$work/odd/p/build/state/a1/cpu-py3.11.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["milliseconds"] = 900000  # a1 took 15 minutes here: the split changes
json.dump(r, open(sys.argv[2], "w"))
PY
expect 2 "shard.sh on a runner with other recorded durations" -- \
	job "$work/odd/p" "$work/cache-odd" bash "$fleet/shard.sh" 1/2 "$split"
contains "the split differs" "not $split as the matrix was planned"
contains "the hint names build/state" "/state/"
[ ! -d "$work/cache-odd/out" ] || fail "a refused shard built something"
echo "PTBUILD_SPLIT=$split" >"$work/dotenv.check"
expect 0 "matrix.sh writes the split for GitLab's dotenv" -- env PTBUILD_DOTENV="$work/dotenv" \
	PTBUILD_PROJECT="$work/plan-job/p" PTBUILD_CACHE="$work/cache-plan" bash "$fleet/matrix.sh" 2
cmp -s "$work/dotenv" "$work/dotenv.check" || fail "matrix.sh wrote $(cat "$work/dotenv") to PTBUILD_DOTENV"

# ---- a failing shard fails its step ----------------------------------------------------------
copy_project "$work/broken/p"
sed -i 's/"EXT_NAME": "c1"/"EXT_NAME": "c1", "EXT_FAIL": "1"/' "$work/broken/p/recipes/c1.json"
expect 2 "shard.sh with a recipe changed since the lock" -- \
	job "$work/broken/p" "$work/cache-broken" bash "$fleet/shard.sh" 1/2
contains "the lock refuses" "ptbuild.lock"
expect 2 "shard.sh without K/N" -- job "$work/broken/p" "$work/cache-broken" bash "$fleet/shard.sh" 0/2
finish fleet_scripts
