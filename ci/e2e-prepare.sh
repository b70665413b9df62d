#!/usr/bin/env bash
# Prepares the inputs of the end-to-end test: torch_scatter 2.1.2 built from its PyPI sdist.
#   usage: ci/e2e-prepare.sh DIR
# Idempotent. Needs PyPI through pip the first time (~3.5 min): 5.8 GB kept, 4.7 GB more for a while.
#
# DIR/files/      every input, from `pip download` only (Linux x86_64, CPython 3.11, exact pins):
#                   - torch 2.1.2 (a CUDA 12.1 build) and its closure: the CPU build;
#                   - torch 2.11.0 (a CUDA 13.0 build) and its closure: the CUDA build;
#                   - torch_scatter-2.1.2.tar.gz, setuptools (69.5.1 for torch 2.1, 81.0.0 for
#                     torch 2.11, which wants <82), wheel 0.43.0, ninja, numpy 1.26.4 (<2 for torch 2.1);
#                   - the CUDA 13.0 compiler: nvidia-cuda-nvcc, -crt, nvidia-nvvm 13.0.88, -cccl 13.0.85,
#                     and nvidia-cuda-cuobjdump 13.2.51 (CUDA_HOME/bin/cuobjdump).
# DIR/cuda-pkgs/  the CUDA wheels unzipped: the compiler ones whole, the others' headers only.
#                 All CUDA 13 wheels share one prefix, nvidia/cu13/, so they merge by themselves.
# DIR/cuda-13/    a CUDA_HOME made of symlinks into cuda-pkgs/nvidia/cu13: bin/, include/, nvvm/,
#                 and lib64/ (with the libcudart.so that -lcudart needs and no wheel ships).
#
# Why CUDA 13 and a second torch: no wheel on PyPI carries a CUDA 12 nvcc (nvidia-cuda-nvcc-cu12
# holds only ptxas and libnvvm; the CUDA 13 nvidia-cuda-nvcc has the whole compiler), and torch.utils.cpp_extension refuses an nvcc whose
# CUDA major differs from torch.version.cuda. torch 2.11.0 is the first PyPI torch built with CUDA 13.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)
files=$dir/files
py=${PYTHON:-python3}
"$py" -c 'import sys, platform; sys.exit(not (sys.version_info[:2] == (3, 11) and sys.platform == "linux" and platform.machine() == "x86_64"))' ||
	{ echo "e2e-prepare: $py must be CPython 3.11 on Linux x86_64 (the wheels are chosen for it); set PYTHON" >&2; exit 2; }
mkdir -p "$files"
say() { echo "e2e-prepare: $*"; }

# Pins for what torch leaves open, so that DIR/files is the same from one run to the next.
common=(filelock==4.2.11 fsspec==2026.9.0 jinja2==3.1.6 markupsafe==3.0.4 mpmath==1.3.0
	networkx==3.6.1 sympy==1.14.0 typing-extensions==4.16.0)

# pip download skips a file already in DIR/files (after checking it against the index). Once a
# run of this very script has completed, DIR/files/.prepared holds the script's sha256 and the
# index is not asked again: a second run works offline and takes a second.
# Each torch is resolved on its own (they pin different setuptools and CUDA wheels). With no
# platform option pip picks the wheels of this machine.
download() {
	say "pip download $*"
	"$py" -m pip download -q --disable-pip-version-check --only-binary :all: -d "$files" "$@"
}
stamp=$files/.prepared
me=$(sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$me" ]; then
	rm -f "$stamp"
	download torch==2.1.2 nvidia-nvjitlink-cu12==12.9.86 \
		setuptools==69.5.1 wheel==0.43.0 ninja==1.11.1.1 numpy==1.26.4 "${common[@]}"
	download torch==2.11.0 'cuda-toolkit[nvcc,crt,cccl]==13.0.2' nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
		cuda-bindings==13.5.0 cuda-pathfinder==1.9.0 setuptools==81.0.0 "${common[@]}"
	# cuobjdump, to check the sm_90 cubins (PyPI has no 13.0 build; 13.2 reads them the same)
	download --no-deps nvidia-cuda-cuobjdump==13.2.51
fi

# The sdist: pip download runs its setup.py for the metadata, and that imports torch, so it runs
# in a throwaway venv holding torch 2.1.2 (installed from DIR/files, no network), then goes away.
sdist=$files/torch_scatter-2.1.2.tar.gz
if [ ! -f "$sdist" ]; then
	venv=$dir/.sdist-venv
	say "torch_scatter sdist: a throwaway venv with torch 2.1.2 for its setup.py"
	rm -rf "$venv"
	"$py" -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$files" torch==2.1.2 setuptools==69.5.1 wheel==0.43.0
	"$venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation -d "$files" torch-scatter==2.1.2
	rm -rf "$venv"
fi
echo "69b3aa435f2424ac6a1bfb6ff702da6eb73b33ca0db38fb26989c74159258e47  $sdist" | sha256sum -c --quiet -

# Unzip the CUDA 13 wheels (python's zipfile, keeping the exec bits that nvcc & co. need).
pkgs=$dir/cuda-pkgs
if [ ! -x "$pkgs/nvidia/cu13/bin/cuobjdump" ]; then
	say "unzipping the CUDA 13 wheels into $pkgs"
	rm -rf "$pkgs"
	"$py" - "$files" "$pkgs" <<-'EOF'
		import glob, os, sys, zipfile
		files, dest = sys.argv[1:]
		whole = ("nvidia_cuda_nvcc-", "nvidia_cuda_crt-", "nvidia_nvvm-", "nvidia_cuda_runtime-",
		         "nvidia_cuda_cccl-", "nvidia_cuda_cuobjdump-")
		for whl in sorted(glob.glob(os.path.join(files, "nvidia_*.whl"))):
		    name = os.path.basename(whl)
		    with zipfile.ZipFile(whl) as z:
		        for info in z.infolist():
		            if not info.filename.startswith("nvidia/cu13/"):
		                continue  # CUDA 12 wheels (nvidia/<lib>/) and metadata
		            if not name.startswith(whole) and not info.filename.startswith("nvidia/cu13/include/"):
		                continue  # the libraries' wheels: headers only
		            path = z.extract(info, dest)
		            if (info.external_attr >> 16) & 0o111:
		                os.chmod(path, 0o755)
	EOF
fi

# CUDA_HOME: symlinks only. torch.utils.cpp_extension runs CUDA_HOME/bin/nvcc, adds
# -I CUDA_HOME/include and -L CUDA_HOME/lib64 -lcudart.
home=$dir/cuda-13
if [ ! -e "$home/lib64/libcudart.so" ]; then
	say "assembling CUDA_HOME $home"
	rm -rf "$home"
	mkdir -p "$home/lib64"
	for d in bin include nvvm; do ln -s "../cuda-pkgs/nvidia/cu13/$d" "$home/$d"; done
	for f in "$pkgs"/nvidia/cu13/lib/*; do ln -s "../../cuda-pkgs/nvidia/cu13/lib/${f##*/}" "$home/lib64/"; done
	ln -s libcudart.so.13 "$home/lib64/libcudart.so"
fi
"$home/bin/nvcc" --version | grep -q 'release 13\.0' || { echo "e2e-prepare: $home/bin/nvcc is not CUDA 13.0" >&2; exit 1; }

echo "$me" >"$stamp"
say "done: $(find "$files" -type f ! -name .prepared | wc -l) files, $(du -sh "$files" | cut -f1); CUDA_HOME=$home"
