#!/usr/bin/env bash
# The CI workflows teams copy (ci/github/nightly.yml, ci/gitlab/nightly.gitlab-ci.yml) and
# the ci/fleet/ scripts they run: actionlint when it is installed (on PATH, or in
# build/pytools/bin), and always ci/fleet/lint_workflows.py (keys, needs, expressions,
# scripts, shellcheck). Broken copies are refused, naming the job and the problem.
# usage: workflow_lint.sh PTBUILD SOURCE_DIR
set -uo pipefail
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" workflow-lint
lint=$SRC/ci/fleet/lint_workflows.py
gh=$SRC/ci/github/nightly.yml
gl=$SRC/ci/gitlab/nightly.gitlab-ci.yml
python3 -c 'import yaml' 2>/dev/null || { echo "workflow_lint: PyYAML is missing (python3-yaml)" >&2; exit 1; }

al=$(command -v actionlint || true)
[ -z "$al" ] && [ -x "$SRC/build/pytools/bin/actionlint" ] && al=$SRC/build/pytools/bin/actionlint
if [ -n "$al" ]; then
	expect 0 "actionlint" -- "$al" "$gh"
else
	echo "workflow_lint: actionlint not installed; lint_workflows.py only"
fi
expect 0 "the workflows" -- python3 "$lint" "$SRC" "$gh" "$gl"
contains "the workflows" "2 file(s), 0 problem(s)"

# broken copies: each is refused with the job and what is wrong
check_broken() { # DESCRIPTION NEEDLE SED-SCRIPT [FILE]
	local src=${4:-$gh} name
	name=$work/$(basename "$src")
	sed "$3" "$src" >"$name"
	cmp -s "$src" "$name" && fail "$1: the sed script changed nothing"
	expect 1 "$1" -- python3 "$lint" "$SRC" "$name"
	contains "$1" "$2"
}
check_broken "needs an unknown job" "job build: needs 'plann', which is no job" 's/needs: plan$/needs: plann/'
check_broken "an undeclared output" "needs.plan.outputs.matrx, which job plan does not declare" \
	's/needs.plan.outputs.matrix/needs.plan.outputs.matrx/'
check_broken "a missing script" "runs ci/fleet/shards.sh, which does not exist" 's|ci/fleet/shard.sh|ci/fleet/shards.sh|'
check_broken "matrix outside a strategy" "reads matrix outside a job" 's/ci\/fleet\/collect.sh wheelhouse/ci\/fleet\/collect.sh ${{ matrix.shard }}/'
check_broken "a step with run and uses" "needs exactly one of run and uses" \
	's|^      - uses: actions/checkout@v4|      - uses: actions/checkout@v4\n        run: "true"|'
check_broken "an unknown job key" "unknown key 'runs_on'" '0,/runs-on:/s/runs-on:/runs_on:/'
check_broken "an undeclared input" "reads inputs.shard," 's/inputs.shards/inputs.shard/'
check_broken "a shell error in a run block" "shellcheck" 's|run: ci/fleet/setup.sh|run: if [ -x ci/fleet/setup.sh; then ci/fleet/setup.sh; fi|'
check_broken "gitlab: an unknown stage" "stage 'colect' is not in stages" 's/stage: collect/stage: colect/' "$gl"
check_broken "gitlab: needs an unknown job" "needs 'lok', which is no job" 's/needs: \[lock\]/needs: [lok]/' "$gl"
finish workflow_lint
