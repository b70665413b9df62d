#!/usr/bin/env bash
# Installs what ptbuild builds and tests with, from Debian's packages.
set -euo pipefail
packages=(
	build-essential cmake pkg-config git python3 python3-venv python3-pip
	libgit2-dev libcurl4-openssl-dev libcjson-dev libarchive-dev libcmocka-dev libssl-dev zlib1g-dev
	ccache valgrind
	clang libclang-rt-14-dev # libFuzzer and the sanitizer runtimes, for ci/fuzz.sh
	docker.io debootstrap curl # tests/e2e/images.sh: its own dockerd, a local bookworm base image
	nginx-light # WebDAV on loopback: the remote cache server of tests/integration/remote_cache.sh
)
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 3; }
	sudo=sudo
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
