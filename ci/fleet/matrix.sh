#!/usr/bin/env bash
# Step "plan": the shard matrix, one line of JSON for GitHub Actions' fromJSON:
#   {"include":[{"shard":"1/4","variants":N,"expected_seconds":S,"split":ID},...]}
# printed, and written as `matrix=...` to $GITHUB_OUTPUT when that is set; with
# $PTBUILD_DOTENV, `PTBUILD_SPLIT=ID` is written there (GitLab's dotenv report).
# usage: matrix.sh [N]   (default: $PTBUILD_SHARDS, else 4)
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
n=${1:-${PTBUILD_SHARDS:-4}}
answer=$(pt plan --set "$PTBUILD_SET" --matrix "$n" --json)
matrix=$(printf '%s' "$answer" | python3 -c '
import json, sys
print(json.dumps({"include": json.load(sys.stdin)["include"]}, separators=(",", ":")))')
echo "$matrix"
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "matrix=$matrix" >>"$GITHUB_OUTPUT"; fi
if [ -n "${PTBUILD_DOTENV:-}" ]; then
	printf '%s' "$matrix" | python3 -c '
import json, sys
print("PTBUILD_SPLIT=" + json.load(sys.stdin)["include"][0]["split"])' >>"$PTBUILD_DOTENV"
fi
