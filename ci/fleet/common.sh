# shellcheck shell=bash
# Shared by the ci/fleet/ scripts: one step of a CI workflow each (ci/github/nightly.yml,
# ci/gitlab/nightly.gitlab-ci.yml), taking every input from the environment, so that
# tests/integration/fleet_scripts.sh runs the same steps locally.
#   PTBUILD           the ptbuild binary (default: ptbuild on PATH)
#   PTBUILD_PROJECT   the project directory (default: .)
#   PTBUILD_SET       the build set (default: nightly)
#   PTBUILD_JOBS      -j for builds (default: ptbuild's, the number of cores)
#   PTBUILD_CACHE, PTBUILD_REMOTE_CACHE, PTBUILD_CCACHE_REMOTE, PTBUILD_REMOTE_READ_ONLY
#                     read by ptbuild itself (docs/building.md)
#   PTBUILD_FLEET_SHARE  a directory standing in for the remote output cache where none
#                     is set: shard.sh copies its output-cache entries there, collect.sh
#                     takes them from there (tests, or runners sharing a file system)
set -euo pipefail
PTBUILD=${PTBUILD:-ptbuild}
PTBUILD_PROJECT=${PTBUILD_PROJECT:-.}
PTBUILD_SET=${PTBUILD_SET:-nightly}
pt() { "$PTBUILD" -C "$PTBUILD_PROJECT" "$@"; }
jobs_arg() { if [ -n "${PTBUILD_JOBS:-}" ]; then echo "-j$PTBUILD_JOBS"; fi; }
# The local output cache ptbuild uses (what `ptbuild --cache-dir` would be).
cache_dir() { echo "${PTBUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ptbuild}"; }
# copy_entries FROM TO: every complete output-cache entry (out/<key>/ with its manifest)
# of FROM/out that TO/out lacks, each copied beside its name and renamed, manifest last
copy_entries() {
	local from=$1/out to=$2/out key
	[ -d "$from" ] || return 0
	mkdir -p "$to"
	for dir in "$from"/*/; do
		key=$(basename "$dir")
		if [ ! -f "$dir/manifest.json" ] || [ -e "$to/$key" ]; then continue; fi
		rm -rf "$to/.$key.tmp"
		cp -r "$dir" "$to/.$key.tmp"
		mv "$to/.$key.tmp" "$to/$key"
	done
}
