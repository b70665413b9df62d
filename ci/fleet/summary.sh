#!/usr/bin/env bash
# Step "summary": `ptbuild report --format md` of the set, appended to
# $GITHUB_STEP_SUMMARY when that is set (the job's summary page), else printed.
# usage: summary.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	pt report --set "$PTBUILD_SET" --format md >>"$GITHUB_STEP_SUMMARY"
else
	pt report --set "$PTBUILD_SET" --format md
fi
