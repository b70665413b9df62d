#!/usr/bin/env bash
# The wheelhouse's images built and run by a real Docker engine, offline: Debian's docker.io
# with its own dockerd (tests/e2e/fixtures/docker_lib.sh), the base image made with
# debootstrap (no registry is reachable).
#
#  1. A project whose wheels come from the e2e wheelhouse of scatter.sh (real PyPI torch
#     2.1.2 with its closure and the torch_scatter 2.1.2+pt21cpu built there), served on
#     loopback: `collect` writes the wheelhouse and its Dockerfiles.
#  2. Dockerfile.base and Dockerfile.release, built with the commands their comments give
#     and --network=none: the release image runs scatter_max as USER_ID/GROUP_ID=1234, and
#     the file it writes to a mounted volume belongs to 1234:1234.
#  3. Layer cache: another variant's wheels join the wheelhouse (collect again); the rebuilt
#     release's install step is CACHED.
#  4. Secrets: a loopback index with basic auth serves a private package; the release
#     installs it through a BuildKit secret (netrc, then pip.conf); docker history, docker
#     inspect and docker save hold no trace of the password; without the secret the index
#     refuses.
#  (5. The dev image: tests of Dockerfile.dev and `ptbuild image` go here, see below.)
# Prints image sizes and build times as "images: ..." lines.
# usage: images.sh PTBUILD SOURCE_DIR E2E_DIR WHEELHOUSE
#   WHEELHOUSE: the CPU wheelhouse scatter.sh kept (its KEEP_WHEELHOUSE argument)
set -uo pipefail
PTBUILD=$1
SRC=$2
[ -f "$4/manifest.json" ] || { echo "images: $4 is not a wheelhouse: run tests/e2e/scatter.sh with KEEP_WHEELHOUSE=$4 first" >&2; exit 1; }
E2E_HOUSE=$(cd "$4" && pwd)
. "$SRC/tests/integration/fixtures/lib.sh" images
. "$SRC/tests/e2e/fixtures/docker_lib.sh" "$work" "$SRC/build/images-cache"
export HOME=$work/home PTBUILD_CACHE=$work/cache PIP_NO_CACHE_DIR=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL
export PIP_CONFIG_FILE=/dev/null
mkdir -p "$HOME" "$work/git"
secs_since() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }
now() { python3 -c 'import time; print(time.time())'; }
mb() { "$DOCKER" image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%d", $1 / 1000000 }'; }

t=$(now)
base_image=$(docker_base_image) || { echo "images: no base image" >&2; exit 1; }
echo "images: debootstrap base image $base_image ($(mb "$base_image") MB) ready in $(secs_since "$t") s"

# ---- 1. the project: wheels from the e2e wheelhouse and a fixture, on loopback ---------------
idx=$work/idx
mkdir -p "$idx/files"
for f in "$E2E_HOUSE"/*.whl; do # the server serves no link that leaves its root
	ln "$f" "$idx/files/" 2>/dev/null || cp "$f" "$idx/files/"
done
python3 "$SRC/tests/e2e/fixtures/make_wheel.py" other_fixture 1.0 "$idx/files" >/dev/null || fail "make_wheel other_fixture"
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$idx" >/dev/null || fail "cannot index $idx"
# (auth_index.py without a password: loopback_server.py does not percent-decode the "%2B"
# of torch_scatter-2.1.2+pt21cpu)
python3 "$SRC/tests/e2e/fixtures/auth_index.py" "$idx" - - "$work/port" &
server_pid=$! # lib.sh's cleanup stops it
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
PIP_INDEX_URL=http://127.0.0.1:$(cat "$work/port")/simple/
export PIP_INDEX_URL
p=$work/p
mkdir -p "$p/recipes/sets" "$p/toolchains"
cp "$SRC/toolchains/cpu.json" "$p/toolchains/"
echo '{ "name": "other", "tag": "other", "image": "debian:bookworm" }' >"$p/toolchains/other.json"
cat >"$p/recipes/scatter_wheel.json" <<'EOF'
{ "name": "scatter_wheel", "version": "2.1.2", "builder": "wheel",
  "source": { "wheel": "torch_scatter==2.1.2+pt21cpu" } }
EOF
cat >"$p/recipes/other_fixture.json" <<'EOF'
{ "name": "other_fixture", "version": "1.0", "builder": "wheel",
  "source": { "wheel": "other_fixture==1.0" } }
EOF
echo '{ "targets": ["scatter_wheel"], "toolchains": ["cpu"], "python": ["3.11"] }' >"$p/recipes/sets/one.json"
cat >"$p/recipes/sets/two.json" <<'EOF'
{ "targets": ["scatter_wheel", "other_fixture"], "toolchains": ["cpu", "other"], "python": ["3.11"],
  "exclude": [ { "target": "other_fixture", "toolchain": "cpu" }, { "target": "scatter_wheel", "toolchain": "other" } ] }
EOF
pt() { "$PTBUILD" -C "$p" "$@"; }
stop_if_failed() { # WHAT: the checks after it need it
	[ "$failures" = 0 ] || { echo "images: stopping: $1 failed" >&2; finish images; }
}
house=$work/house
collect_set() { # SET
	expect 0 "lock --set $1" -- pt lock --set "$1"
	expect 0 "build --set $1" -- pt build --set "$1"
	expect 0 "collect --set $1" -- pt collect --set "$1" --out "$house"
}
collect_set one
[ -f "$house/variants/cpu-py3.11/requirements/cpu-py3.11.txt" ] || fail "collect staged no variants/cpu-py3.11: $(ls "$house" "$house/variants" 2>&1)"
compgen -G "$house/variants/cpu-py3.11/torch-2.1.2-*.whl" >/dev/null || fail "variants/cpu-py3.11 lacks torch: $(ls "$house/variants/cpu-py3.11")"
stop_if_failed "collecting the wheelhouse"

# ---- 2. base and release, offline --------------------------------------------------------------
documented() { # FILE VARIANT: the `docker build` line FILE's comment gives for VARIANT
	sed -n "s/^#   docker build \(-f $1 .*VARIANT=$2 .*\)$/\1/p" "$house/$1" | head -1
}
build_image() { # WHAT LOG DOCKER-BUILD-ARGS...: one build in the wheelhouse; sets $secs
	local what=$1 log=$2 t0
	shift 2
	t0=$(now)
	(cd "$house" && "$DOCKER" build --progress=plain "$@") >"$log" 2>&1 ||
		fail "$what: docker build $*: $(tail -n 30 "$log")"
	secs=$(secs_since "$t0")
}
base_cmd=$(documented Dockerfile.base cpu-py3.11)
[ -n "$base_cmd" ] || fail "Dockerfile.base gives no build command for cpu-py3.11"
base_cmd=${base_cmd/BASE_IMAGE=python:3.11-slim-bookworm/BASE_IMAGE=$base_image}
# shellcheck disable=SC2086 # the documented command, split as a shell would
build_image "the base image" "$work/base.log" --network=none $base_cmd
stop_if_failed "the base image"
echo "images: base image ptbuild-base:cpu-py3.11 $(mb ptbuild-base:cpu-py3.11) MB, built in $secs s (offline, from $base_image)"

release_cmd=$(documented Dockerfile.release cpu-py3.11)
case $release_cmd in *" variants/cpu-py3.11") ;; *) fail "Dockerfile.release's command does not build variants/cpu-py3.11: $release_cmd" ;; esac
release_opts=${release_cmd% *}
release_context=${release_cmd##* }
# shellcheck disable=SC2086
build_image "the release image" "$work/release.log" --network=none $release_cmd
cold=$secs
stop_if_failed "the release image"
echo "images: release image ptbuild-release:cpu-py3.11 $(mb ptbuild-release:cpu-py3.11) MB, cold build $cold s (offline)"

vol=$work/vol
mkdir -p "$vol" && chmod 1777 "$vol" # root's: what the command writes there shows its uid
cat >"$vol/check.py" <<'EOF'
import os, torch, torch_scatter, importlib.metadata as md
src = torch.tensor([[2., 0, 1, 4, 3], [0, 2, 1, 3, 4]])
index = torch.tensor([[4, 5, 4, 2, 3], [0, 0, 2, 2, 1]])
out, argmax = torch_scatter.scatter_max(src, index, dim=-1)
assert out.tolist() == [[0, 0, 4, 3, 2, 0], [2, 4, 3, 0, 0, 0]], out
assert argmax.tolist() == [[5, 5, 3, 4, 0, 1], [1, 4, 3, 5, 5, 5]], argmax
assert md.version("torch_scatter") == "2.1.2+pt21cpu", md.version("torch_scatter")
with open("/work/result.txt", "w") as f:
    f.write("%d %s\n" % (os.getuid(), out.tolist()))
print("scatter_max ok in the image as uid", os.getuid(), "with torch", torch.__version__)
EOF
expect 0 "the release image runs scatter_max as 1234" -- "$DOCKER" run --rm --network=none \
	-e USER_ID=1234 -e GROUP_ID=1234 -v "$vol:/work" -w /work ptbuild-release:cpu-py3.11 python /work/check.py
contains "scatter_max in the image" "scatter_max ok in the image as uid 1234 with torch 2.1.2"
[ "$(stat -c %u:%g "$vol/result.txt" 2>/dev/null)" = 1234:1234 ] ||
	fail "the file written to the volume is not 1234:1234's: $(ls -ln "$vol" 2>&1)"
expect 0 "the release image without USER_ID" -- "$DOCKER" run --rm --network=none ptbuild-release:cpu-py3.11 id -u
[ "$out" = 1000 ] || fail "without USER_ID the release runs as '$out', not 1000"

# ---- 3. layer cache: another variant's wheels join the wheelhouse ------------------------------
collect_set two
[ -f "$house/other_fixture-1.0-py3-none-any.whl" ] || fail "set two did not bring other_fixture into the wheelhouse"
[ -f "$house/variants/other-py3.11/other_fixture-1.0-py3-none-any.whl" ] || fail "no variants/other-py3.11"
compgen -G "$house/variants/cpu-py3.11/other_fixture-*" >/dev/null && fail "other_fixture is in variants/cpu-py3.11"
# shellcheck disable=SC2086
build_image "the release image again" "$work/release2.log" --network=none $release_cmd
install_step() { # LOG: "CACHED" or "ran" for the release's install step in BuildKit's plain
	# progress (its step number, then that number's CACHED line); "" without the step
	local step
	step=$(sed -n 's/^\(#[0-9]*\) \[[^]]*\] RUN --mount=type=bind,target=\/wheelhouse pip install --no-index.*/\1/p' "$1" | head -1)
	[ -z "$step" ] && return
	if grep -qx "$step CACHED" "$1"; then echo CACHED; else echo ran; fi
}
case $(install_step "$work/release2.log") in
CACHED) echo "images: layer cache: with other-py3.11's wheels added, the release install step is CACHED; rebuild $secs s (cold $cold s)" ;;
ran) fail "layer cache: the install step was not CACHED after another variant's wheels joined the wheelhouse: $(grep -A3 'RUN --mount=type=bind' "$work/release2.log")" ;;
*) fail "no install step in the rebuild's output: $(cat "$work/release2.log")" ;;
esac

# ---- 4. a private index with a password, through a BuildKit secret -----------------------------
priv=$work/private
python3 "$SRC/tests/e2e/fixtures/make_wheel.py" private_pkg 0.1 "$priv/files" >/dev/null || fail "make_wheel private_pkg"
python3 "$SRC/tests/e2e/fixtures/simple_index.py" "$priv" >/dev/null || fail "cannot index $priv"
password=$(python3 -c 'import secrets; print("pw" + secrets.token_hex(16))')
(umask 077 && echo "$password" >"$work/password")
python3 "$SRC/tests/e2e/fixtures/auth_index.py" "$priv" ptbuild "$work/password" "$work/auth_port" &
auth_pid=$!
prev_trap=()
eval "prev_trap=( $(trap -p EXIT) )"
trap 'kill $auth_pid 2>/dev/null; '"${prev_trap[2]}" EXIT
for _ in $(seq 100); do [ -s "$work/auth_port" ] && break; sleep 0.05; done
aport=$(cat "$work/auth_port")
stop_if_failed "the layer cache"
index_url=http://127.0.0.1:$aport/simple/
expect 22 "the private index refuses without the password" -- curl -fsS -o /dev/null "$index_url"
(umask 077 && printf 'machine 127.0.0.1 login ptbuild password %s\n' "$password" >"$work/netrc")
(umask 077 && printf '[global]\nindex-url = http://ptbuild:%s@127.0.0.1:%s/simple/\n' "$password" "$aport" >"$work/pip.conf")
private_build() { # TAG LOG EXTRA-ARGS...: the release with private_pkg, on the host network
	local tag=$1 log=$2
	shift 2
	# shellcheck disable=SC2086 # the options of the documented command, then ours, then its context
	build_image "$tag" "$log" --network=host ${release_opts/-t ptbuild-release:cpu-py3.11/-t $tag} \
		--build-arg EXTRA_PACKAGES=private_pkg==0.1 "$@" "$release_context"
}
no_password() { # IMAGE: nowhere in its history, config or layers
	local img=$1 n
	"$DOCKER" history --no-trunc "$img" | grep -qF "$password" && fail "$img: docker history shows the password"
	"$DOCKER" inspect "$img" | grep -qF "$password" && fail "$img: docker inspect shows the password"
	n=$("$DOCKER" save "$img" | grep -acF "$password")
	[ "$n" = 0 ] || fail "$img: docker save holds the password ($n lines)"
	expect 0 "$img has private_pkg" -- "$DOCKER" run --rm --network=none "$img" python -c 'import private_pkg; print(private_pkg.VALUE)'
	contains "$img: private_pkg" "private_pkg 0.1"
	expect 0 "$img keeps no secret file" -- "$DOCKER" run --rm --network=none "$img" sh -c 'ls /run/secrets 2>/dev/null; cat /root/.netrc /etc/pip.conf 2>/dev/null; true'
	lacks "$img: a secret file in the image" "$password"
}
private_build ptbuild-private:netrc "$work/private-netrc.log" --build-arg EXTRA_INDEX_URL="$index_url" \
	--secret id=netrc,src="$work/netrc"
echo "images: release + private_pkg through the netrc secret: $secs s (--network=host: install step $(install_step "$work/private-netrc.log"))"
grep -q "^200 /files/private_pkg-0.1-py3-none-any.whl" "$work/auth_index.log" ||
	fail "the image did not fetch private_pkg from the private index: $(cat "$work/auth_index.log" 2>&1)"
t=$(now)
no_password ptbuild-private:netrc
echo "images: no password in history, inspect or save of ptbuild-private:netrc (checked in $(secs_since "$t") s)"
private_build ptbuild-private:pipconf "$work/private-pipconf.log" --secret id=pip.conf,src="$work/pip.conf"
echo "images: release + private_pkg through the pip.conf secret: $secs s (install step $(install_step "$work/private-pipconf.log"))"
no_password ptbuild-private:pipconf
# Without the secret the step fails: the index wants the password. (Another spelling of the
# package, so that the step runs: BuildKit leaves secrets out of the cache key, and the
# layer the netrc build made would be reused.)
t=$(now)
# shellcheck disable=SC2086
(cd "$house" && "$DOCKER" build --progress=plain --network=host ${release_opts/-t ptbuild-release:cpu-py3.11/-t ptbuild-private:none} \
	--build-arg EXTRA_PACKAGES=private-pkg==0.1 --build-arg EXTRA_INDEX_URL="$index_url" "$release_context") >"$work/private-none.log" 2>&1 &&
	fail "the private package installed without the secret: $(tail -n 20 "$work/private-none.log")"
grep -qE "401 Client Error|No matching distribution found for private-pkg" "$work/private-none.log" ||
	fail "without the secret: not the refusal expected: $(tail -n 20 "$work/private-none.log")"
grep -q "^401 /simple/private-pkg/" "$work/auth_index.log" || fail "without the secret: the index refused nothing: $(cat "$work/auth_index.log")"
grep -qF "$password" "$work/private-netrc.log" "$work/private-pipconf.log" && fail "the build output shows the password"

# ---- 5. the dev image ---------------------------------------------------------------------------
# Dockerfile.dev and `ptbuild image` (branch h-imgcmd) are tested here: build the dev image
# offline from $house on ptbuild-base:cpu-py3.11 and build a fixture extension with ptbuild
# inside it. Not yet: Dockerfile.dev still needs --build-context, which Docker 20.10 lacks.

du -sh "$work/docker/root" 2>/dev/null | sed 's/^\([^[:space:]]*\).*/images: dockerd data root \1/'
finish images
