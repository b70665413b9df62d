#!/usr/bin/env bash
# Fuzzes every parser ptbuild reads outside input with: libFuzzer + ASan + UBSan, built with
# clang into build/fuzz (PTBUILD_FUZZ=ON), each target for a bounded time, one at a time.
# Fails on a crash, a leak, a hang (an input over 10 s), memory over the limit, or a
# property a target checks (tests/fuzz/fuzz_*.c). Prints per target: executions, coverage
# (cov: edges, ft: features, from libFuzzer's last status line) and corpus size.
#
# usage: ci/fuzz.sh [TARGET...]       (default: every target)
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_RSS_MB   memory limit per target in MiB (default 2048)
# The corpus grows in build/fuzz/corpus/<target>/, seeded from tests/fuzz/corpus/<target>/,
# tests/fuzz/regressions/<target>/ and the tree's own files (recipes/, toolchains/,
# recipes/sets/, patches/). A finding is saved as build/fuzz/artifacts/<target>/crash-*
# (leak-*, timeout-*, oom-*): fix it, then keep it in tests/fuzz/regressions/<target>/,
# where ctest's fuzz/replay_<target> replays it in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
rss_mb=${FUZZ_RSS_MB:-2048}
build=build/fuzz
all=(recipe toolchain set lock patch pep503 url)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	[[ " ${all[*]} " == *" $t "* ]] ||
		{ echo "fuzz: no target \"$t\"; targets: ${all[*]}" >&2; exit 2; }
done
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] ||
	{ echo "fuzz: FUZZ_SECONDS must be a positive number of seconds, not \"$seconds\"" >&2; exit 2; }
command -v clang >/dev/null ||
	{ echo "fuzz: clang is not installed; ci/install-deps.sh installs clang and libclang-rt-14-dev" >&2; exit 3; }

# seeds TARGET: the folders the tree already has inputs of that kind in
seeds() {
	case $1 in
	recipe) echo recipes ;;
	toolchain) echo toolchains ;;
	set) echo recipes/sets ;;
	patch) echo patches ;;
	esac
	for kind in corpus regressions; do
		[ -d "tests/fuzz/$kind/$1" ] && echo "tests/fuzz/$kind/$1"
	done
	return 0
}

CC=clang cmake -S . -B "$build" -DPTBUILD_FUZZ=ON -DPTBUILD_WERROR=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
failed=()
summary=()
for t in "${targets[@]}"; do
	corpus=$build/corpus/$t
	artifacts=$build/artifacts/$t
	log=$build/logs/$t.log
	tmp=$build/tmp/$t
	rm -rf "$tmp"
	mkdir -p "$corpus" "$artifacts" "$tmp" "$(dirname "$log")"
	mapfile -t seed_dirs < <(seeds "$t")
	echo "fuzz: $t for ${seconds}s (seeds: ${seed_dirs[*]})"
	rc=0
	# libFuzzer stops itself at -max_total_time; the outer timeout catches a target that
	# does not (a hang outside an input).
	TMPDIR=$PWD/$tmp timeout --signal=KILL $((seconds + 120)) \
		"$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -detect_leaks=1 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "${seed_dirs[@]}" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$status")
	ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$status")
	corp=$(find "$corpus" -type f | wc -l)
	line=$(printf '%-10s executions %-10s cov %-6s ft %-7s corpus %s files' \
		"$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corp")
	if [ "$rc" != 0 ]; then
		failed+=("$t")
		line="$line  FAILED (exit $rc)"
		echo "fuzz: $t failed (exit $rc); the end of $log:" >&2
		tail -n 40 "$log" >&2
		for a in "$artifacts"/*; do
			[ -f "$a" ] && echo "fuzz: input saved as $a; replay it with $build/tests/fuzz/fuzz_$t $a," \
				"fix the parser, then keep it in tests/fuzz/regressions/$t/" >&2
		done
	fi
	summary+=("$line")
	rm -rf "$tmp"
done
echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} target(s) found a problem: ${failed[*]}" >&2
	exit 1
fi
