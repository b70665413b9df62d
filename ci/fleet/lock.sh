#!/usr/bin/env bash
# Step "lock": resolves every source of the set into ptbuild.lock; PTBUILD_LOCK_UPDATE=1
# (the nightly) moves every pin to what its ref names today. The workflow hands the lock
# to every later job, so all shards build the same pins.
# usage: lock.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
if [ "${PTBUILD_LOCK_UPDATE:-0}" = 1 ]; then
	pt lock --set "$PTBUILD_SET" --update
else
	pt lock --set "$PTBUILD_SET"
fi
