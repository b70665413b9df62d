#!/usr/bin/env bash
# `ptbuild image` without a real engine: argument and wheelhouse errors (exit 2), no docker
# client or no daemon answering (exit 3 with a hint), --dry-run printing the exact command,
# and a fake docker client (a script) for what the command does with the engine's answers:
# the record under build/images/ that `report` shows, the log, a failed build's log tail
# (exit 1) that leaves the earlier record as it was.
# usage: image_args.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" image_args
unset DOCKER_HOST DOCKER_BUILDKIT
p=$work/p
mkdir -p "$p/recipes/sets" "$p/toolchains"
echo '{ "targets": ["ext"], "toolchains": ["cpu"], "python": ["3.11"] }' >"$p/recipes/sets/default.json"
echo '{ "name": "cpu", "tag": "cpu" }' >"$p/toolchains/cpu.json"
cat >"$p/recipes/ext.json" <<EOF
{ "name": "ext", "version": "1.0", "source": { "path": "$work/ext" },
  "build": ["\${python}", "build.py", "\${out}"] }
EOF
pt() { "$PTBUILD" -C "$p" "$@"; }

# A wheelhouse as collect writes it, reduced to what `image` reads.
wh=$work/wh
mkdir -p "$wh/requirements"
echo '{ "source_date_epoch": 1700000000, "wheels": [] }' >"$wh/manifest.json"
: >"$wh/requirements/cpu-py3.11.txt"
cat >"$wh/Dockerfile.base" <<'EOF'
#   docker build -f Dockerfile.base --build-arg VARIANT=cpu-py3.11 --build-arg BASE_IMAGE=python:3.11-slim-bookworm -t ptbuild-base:cpu-py3.11 .
#   docker build -f Dockerfile.base --build-arg VARIANT=cuda-13.0-py3.12 --build-arg BASE_IMAGE=nvidia/cuda:13.0.0-runtime-ubuntu24.04 -t ptbuild-base:cuda-13.0-py3.12 .
EOF
cp "$wh/Dockerfile.base" "$wh/Dockerfile.dev"
cp "$wh/Dockerfile.base" "$wh/Dockerfile.release"

# ---- arguments --------------------------------------------------------------------------------
expect 0 "--help" -- pt image --help
contains "--help shows the kinds" "usage: ptbuild image base|dev|release --wheelhouse DIR"
expect 2 "no kind" -- pt image --wheelhouse "$wh"
contains "no kind" "image needs the kind of image: base, dev or release"
expect 2 "a wrong kind" -- pt image training --wheelhouse "$wh"
contains "a wrong kind" 'image builds base, dev or release, not "training"'
expect 2 "two kinds" -- pt image base dev --wheelhouse "$wh"
expect 2 "no --wheelhouse" -- pt image base
contains "no --wheelhouse" "image needs --wheelhouse DIR"
expect 2 "an unknown option" -- pt image base --wheelhouse "$wh" --bogus
expect 2 "a tag that is an option" -- pt image base --wheelhouse "$wh" --tag=--rm
contains "a tag that is an option" 'is not an image name'
mkdir -p "$work/broken"
echo '{ "source_date_epoch": ' >"$work/broken/manifest.json"
expect 2 "a manifest that is not JSON" -- pt image base --wheelhouse "$work/broken"
contains "a manifest that is not JSON" "is not a wheelhouse ptbuild wrote: "
contains "a manifest that is not JSON: where" "manifest.json"
expect 2 "not a wheelhouse" -- pt image base --wheelhouse "$work"
contains "not a wheelhouse" "is not a wheelhouse ptbuild wrote: it has no manifest.json"
contains "not a wheelhouse: hint" "ptbuild collect --out DIR"
expect 2 "an unknown variant" -- pt image base --wheelhouse "$wh" --variant cuda-9-py2.7
contains "an unknown variant" 'has no variant "cuda-9-py2.7" (no requirements/cuda-9-py2.7.txt)'
contains "an unknown variant: the list" "its variants: cpu-py3.11"

# ---- --dry-run: the exact command, nothing run, no engine needed ------------------------------
expect 0 "base --dry-run" -- env PATH=/nonexistent "$PTBUILD" -C "$p" image base --wheelhouse "$wh" --dry-run
[ "$out" = "DOCKER_BUILDKIT=1 docker build -f $wh/Dockerfile.base --network=none --progress=plain --build-arg BASE_IMAGE=python:3.11-slim-bookworm --build-arg VARIANT=cpu-py3.11 --build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-base:cpu-py3.11 $wh" ] ||
	fail "base --dry-run printed: $out"
expect 2 "dev from a wheelhouse without dev/" -- pt image dev --wheelhouse "$wh" --dry-run
contains "dev from a wheelhouse without dev/" "has no dev/ptbuild/: an earlier ptbuild collected it"
mkdir -p "$wh/dev/ptbuild" && : >"$wh/dev/ptbuild/CMakeLists.txt"
expect 0 "dev --dry-run" -- pt image dev --wheelhouse "$wh" --dry-run --tag my/dev:1
[ "$out" = "DOCKER_BUILDKIT=1 docker build -f $wh/Dockerfile.dev --network=host --progress=plain --build-arg BASE=ptbuild-base:cpu-py3.11 --build-arg SOURCE_DATE_EPOCH=1700000000 -t my/dev:1 $wh" ] ||
	fail "dev --dry-run printed: $out"
expect 0 "release --dry-run --json" -- pt image release --wheelhouse "$wh" --dry-run --json --base-image my/base:1
contains "release --dry-run --json" '"command": "DOCKER_BUILDKIT=1 docker build -f '"$wh"'/Dockerfile.release --network=none --progress=plain --build-arg BASE=my/base:1 --build-arg VARIANT=cpu-py3.11 --build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-release:cpu-py3.11 '"$wh"'"'
# collect's layout: the release builds from variants/<label>/ with that variant's own
# SOURCE_DATE_EPOCH (another variant's newer source must not change its cache key)
cp "$wh/manifest.json" "$work/manifest.saved"
echo '{ "source_date_epoch": 1700000000, "source_date_epochs": { "cpu-py3.11": 1600000000 }, "wheels": [] }' >"$wh/manifest.json"
mkdir -p "$wh/variants/cpu-py3.11"
expect 0 "release --dry-run with variants/ and per-variant epochs" -- pt image release --wheelhouse "$wh" --dry-run
[ "$out" = "DOCKER_BUILDKIT=1 docker build -f $wh/Dockerfile.release --network=none --progress=plain --build-arg BASE=ptbuild-base:cpu-py3.11 --build-arg VARIANT=cpu-py3.11 --build-arg SOURCE_DATE_EPOCH=1600000000 -t ptbuild-release:cpu-py3.11 $wh/variants/cpu-py3.11" ] ||
	fail "release --dry-run with variants/ printed: $out"
rm -rf "$wh/variants"
mv "$work/manifest.saved" "$wh/manifest.json"
expect 2 "a base image with a space" -- pt image release --wheelhouse "$wh" --dry-run --base-image 'my base'
: >"$wh/requirements/cuda-13.0-py3.12.txt"
expect 2 "two variants, no --variant" -- pt image base --wheelhouse "$wh" --dry-run
contains "two variants" "has 2 variants: say which with --variant"
expect 0 "the second variant's base image" -- pt image base --wheelhouse "$wh" --dry-run --variant cuda-13.0-py3.12
contains "the second variant's base image" "--build-arg BASE_IMAGE=nvidia/cuda:13.0.0-runtime-ubuntu24.04 --build-arg VARIANT=cuda-13.0-py3.12"
rm "$wh/requirements/cuda-13.0-py3.12.txt"
[ ! -e "$p/build/images" ] || fail "--dry-run wrote $p/build/images"

# ---- no engine: exit 3 with a hint -------------------------------------------------------------
expect 3 "no docker in PATH" -- env PATH=/nonexistent "$PTBUILD" -C "$p" image base --wheelhouse "$wh"
contains "no docker in PATH" "no Docker engine: there is no docker in PATH"
contains "no docker in PATH: hint" "apt-get install docker.io"
expect 3 "--engine that is not a program" -- pt image base --wheelhouse "$wh" --engine "$work/nothing"
contains "--engine that is not a program" "is not an executable program"
# a client whose daemon does not answer, as docker says it
mkdir -p "$work/bin"
cat >"$work/bin/nodaemon" <<'EOF'
#!/bin/sh
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
exit 1
EOF
chmod +x "$work/bin/nodaemon"
expect 3 "no daemon" -- pt image base --wheelhouse "$wh" --engine "$work/bin/nodaemon"
contains "no daemon" "no Docker daemon answers"
contains "no daemon: what docker said" "Is the docker daemon running?"
contains "no daemon: hint" "DOCKER_HOST"
[ ! -e "$p/build/images/base-cpu-py3.11.json" ] || fail "no daemon, yet a record"

# ---- a fake engine: what the command does with its answers -------------------------------------
cat >"$work/bin/docker" <<EOF
#!/bin/bash
# version: a daemon answers; build: writes --iidfile (or fails when FAKE_FAIL is set);
# image inspect: an id and a size
echo "\$*" >>"$work/calls"
echo "DOCKER_BUILDKIT=\$DOCKER_BUILDKIT" >>"$work/calls"
case \$1 in
version) echo 20.10.24 ;;
build)
	for i in \$(seq 40); do echo "#\$i step \$i"; done
	if [ -n "\${FAKE_FAIL:-}" ]; then echo "ERROR: failed to solve: the last words" >&2; exit 17; fi
	while [ \$# -gt 0 ]; do [ "\$1" = --iidfile ] && echo sha256:0123456789abcdef0123 >"\$2"; shift; done ;;
image) echo "sha256:0123456789abcdef0123 123456789" ;;
esac
EOF
chmod +x "$work/bin/docker"
expect 0 "a build" -- env PATH="$work/bin:$PATH" "$PTBUILD" -C "$p" image release --wheelhouse "$wh"
contains "a build: the command first" "ptbuild: Docker 20.10.24: DOCKER_BUILDKIT=1 $work/bin/docker build -f $wh/Dockerfile.release --network=none"
contains "a build: the engine's output" "#40 step 40"
contains "a build: the result" "image ptbuild-release:cpu-py3.11 (release, variant cpu-py3.11): sha256:0123456789abcdef0123"
grep -qx "DOCKER_BUILDKIT=1" "$work/calls" || fail "the engine ran without DOCKER_BUILDKIT=1: $(cat "$work/calls")"
grep -q -- "--iidfile $p/build/images/.release-cpu-py3.11.iid $wh\$" "$work/calls" || fail "no --iidfile: $(cat "$work/calls")"
[ ! -e "$p/build/images/.release-cpu-py3.11.iid" ] || fail "the iid file was left behind"
rec=$p/build/images/release-cpu-py3.11.json
python3 - "$rec" "$wh" <<'EOF' || fail "the record is wrong: $(cat "$rec")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["kind"] == "release" and r["variant"] == "cpu-py3.11", r
assert r["tag"] == "ptbuild-release:cpu-py3.11" and r["id"] == "sha256:0123456789abcdef0123", r
assert r["size"] == 123456789 and r["built_at"] > 1700000000 and r["wheelhouse"] == sys.argv[2], r
EOF
log=$p/build/logs/images/release-cpu-py3.11.log
head -1 "$log" | grep -q "^# ptbuild: DOCKER_BUILDKIT=1 .*/docker build" || fail "the log does not start with the command"
grep -q "#40 step 40" "$log" || fail "the log lacks the engine's output"
ls "$p/build/images" | grep -q tmp && fail "a temporary file was left in build/images"

# a failed build: exit 1, the log's tail in the message, the record as it was
before=$(cat "$rec")
expect 1 "a failed build" -- env PATH="$work/bin:$PATH" FAKE_FAIL=1 "$PTBUILD" -C "$p" -q image release --wheelhouse "$wh"
contains "a failed build: the status" "failed with exit status 17"
contains "a failed build: the tail" "ERROR: failed to solve: the last words"
contains "a failed build: the log" "$log"
lacks "a failed build: only the tail" "#10 step 10"
[ "$(cat "$rec")" = "$before" ] || fail "a failed build changed the record"

# ---- report shows the record -------------------------------------------------------------------
expect 0 "report" -- pt report
contains "report: the section" "## Images"
contains "report: the row" "| cpu-py3.11 | release | ptbuild-release:cpu-py3.11 | 118 MiB | 0123456789ab |"
expect 0 "report --json" -- pt report --json
contains "report --json" '"images": ['
contains "report --json: the size" '"size": 123456789'
expect 0 "report --format html" -- pt report --format html
contains "report html" "<h2>Images</h2>"
echo '{ "format": 1 }' >"$p/build/images/dev-cpu-py3.11.json"
expect 0 "report with an unreadable record" -- pt report
contains "an unreadable record is a warning" "cannot read the image record"
finish image_args
