#!/usr/bin/env bash
# Step "build shard K/N": builds the variants of one shard with the lock only (what the
# other shards build is not built here). SPLIT (else $PTBUILD_SPLIT), the split id the
# matrix was planned with, makes a runner that would split the plan otherwise stop
# before building. Its entries reach the other jobs through the remote output cache
# (PTBUILD_REMOTE_CACHE), or through $PTBUILD_FLEET_SHARE.
# usage: shard.sh K/N [SPLIT]
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
shard=${1:?usage: shard.sh K/N [SPLIT]}
split=${2:-${PTBUILD_SPLIT:-}}
# shellcheck disable=SC2046
pt build --set "$PTBUILD_SET" --shard "$shard" ${split:+--split "$split"} --locked $(jobs_arg)
if [ -n "${PTBUILD_FLEET_SHARE:-}" ]; then
	copy_entries "$(cache_dir)" "$PTBUILD_FLEET_SHARE"
fi
