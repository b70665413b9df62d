#!/usr/bin/env bash
# Step "collect": the wheelhouse of the whole set from what the shards built, downloading
# only: the sources (for the wheelhouse's dev/ trees) and the shards' output-cache entries
# (from the remote cache, or $PTBUILD_FLEET_SHARE). With a remote cache, `build` takes
# every variant from it; a variant it had to build here fails the step.
# usage: collect.sh OUT
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
out=${1:?usage: collect.sh OUT}
pt fetch --set "$PTBUILD_SET" --locked
if [ -n "${PTBUILD_FLEET_SHARE:-}" ]; then
	copy_entries "$PTBUILD_FLEET_SHARE" "$(cache_dir)"
fi
if [ -n "${PTBUILD_REMOTE_CACHE:-}" ]; then
	result=$(pt build --set "$PTBUILD_SET" --locked --json | tail -1)
	built=$(printf '%s' "$result" | python3 -c '
import json, sys
print(" ".join(v["recipe"] + "/" + v["variant"] for v in json.load(sys.stdin)["variants"]
               if v["status"] == "built"))')
	if [ -n "$built" ]; then
		echo "collect.sh: built here, not taken from a shard: $built" >&2
		echo "hint: every shard job must succeed (and upload) before collect runs" >&2
		exit 1
	fi
fi
pt collect --set "$PTBUILD_SET" --locked --out "$out"
