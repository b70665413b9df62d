#!/usr/bin/env bash
# `ptbuild image` with a real Docker engine (issue 15, items 2 and 5): a fixture extension
# built by ptbuild and collected, then `ptbuild image base`, `image dev` and `image release`
# built offline (dev's apt step on the host's network); inside the dev image ptbuild builds
# the fixture extension again from the staged project (no network); the release image
# imports it; `report` shows the three recorded images with their sizes.
# usage: image_cmd.sh PTBUILD SOURCE_DIR   (root; dockerd, debootstrap: else SKIP)
set -uo pipefail
PTBUILD=$(realpath "$1")
SRC=$(realpath "$2")
. "$SRC/tests/integration/fixtures/lib.sh" image_cmd
. "$SRC/tests/integration/fixtures/ext_project.sh"
. "$SRC/tests/e2e/fixtures/docker_lib.sh" "$work" "${PTBUILD_E2E_CACHE:-$SRC/build/images-cache}"
unset PIP_FIND_LINKS PIP_INDEX_URL
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
t0=$SECONDS
seconds() { echo "image_cmd: $1: $((SECONDS - t0)) s"; t0=$SECONDS; }

base=$(docker_base_image) || { echo "FAIL: no base image" >&2; exit 1; }
seconds "dockerd and the base image"
pyv=$("$DOCKER" run --rm --network=none "$base" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
variant=cpu-py$pyv

# ---- the fixture wheelhouse ------------------------------------------------------------------
make_repo ext
recipe ext v1 '{ "EXT_NAME": "ext" }'
set_file default '["ext"]' "[\"$pyv\"]"
expect 0 "lock" -- pt lock
expect 0 "build" -- pt build
wh=$work/wh
expect 0 "collect" -- pt collect --out "$wh"
for f in dev/ptbuild/CMakeLists.txt dev/ptbuild/driver/main.c dev/project/recipes/ext.json \
	dev/project/toolchains/cpu.json dev/project/ptbuild.lock dev/project/build/src/ext-v1/ext.c \
	dev/project/build/src/.ext-v1.pin; do
	[ -e "$wh/$f" ] || fail "collect did not stage $f"
done
seconds "fixture build and collect"

# ---- base, dev, release ---------------------------------------------------------------------
expect 0 "image base" -- pt image base --wheelhouse "$wh" --base-image "$base" --engine "$DOCKER"
contains "image base prints the command" "DOCKER_BUILDKIT=1 $DOCKER build -f $wh/Dockerfile.base --network=none"
contains "image base says what it built" "image ptbuild-base:$variant (base, variant $variant): sha256:"
seconds "image base"
expect 0 "image dev" -- pt image dev --wheelhouse "$wh" --engine "$DOCKER"
contains "image dev has the network for apt" "--network=host"
seconds "image dev (apt from the mirror, ptbuild compiled inside)"
expect 0 "image release" -- pt image release --wheelhouse "$wh" --engine "$DOCKER" --json
contains "image release answers in JSON" '"tag": "ptbuild-release:'"$variant"'"'
seconds "image release"

for k in base dev release; do
	rec=$p/build/images/$k-$variant.json
	[ -s "$rec" ] || { fail "no record $rec"; continue; }
	id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$rec")
	size=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['size'])" "$rec")
	got=$("$DOCKER" image inspect --format '{{.Id}} {{.Size}}' "ptbuild-$k:$variant")
	[ "$got" = "$id $size" ] || fail "$k: the record says '$id $size', the engine '$got'"
	echo "image_cmd: ptbuild-$k:$variant is $((size / 1000000)) MB"
done

# ---- inside the dev image: ptbuild builds the fixture extension, offline ----------------------
out=$("$DOCKER" run --rm --network=none "ptbuild-dev:$variant" \
	sh -c 'ptbuild build --frozen && ls /cache/out/*/*.whl' 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "ptbuild build in the dev image: exit $rc:
$out"
contains "the dev image built the wheel" "ext-1.0-cp"
seconds "ptbuild build inside the dev image"

# ---- the release image has the wheel installed -----------------------------------------------
out=$("$DOCKER" run --rm --network=none "ptbuild-release:$variant" \
	python -c 'import importlib.metadata as m; print("ext", m.version("ext"))' 2>&1)
contains "the release image has ext installed" "ext 1.0"

# ---- a failing build: exit 1 with the log's tail; the record stays as it was -----------------
before=$(cat "$p/build/images/release-$variant.json")
expect 1 "image release FROM a missing base" -- pt image release --wheelhouse "$wh" \
	--engine "$DOCKER" --base-image ptbuild-test/nothing:0 --tag ptbuild-release:broken
contains "the failure names the log" "logs/images/release-$variant.log"
[ "$(cat "$p/build/images/release-$variant.json")" = "$before" ] || fail "a failed build changed the record"

# ---- report shows the images ----------------------------------------------------------------
expect 0 "report" -- pt report
contains "report has the images" "## Images"
contains "report has the dev image" "| $variant | dev | ptbuild-dev:$variant |"
contains "report has the release image" "| $variant | release | ptbuild-release:$variant |"
expect 0 "report --json" -- pt report --json
contains "report --json has the images" '"kind": "release"'
finish image_cmd
