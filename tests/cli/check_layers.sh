#!/usr/bin/env bash
# ci/check-layers.sh itself: a small clean tree passes; a planted wrong-way include, a
# planted cycle, an include of cli/ from below, an exit code outside cli/, a third-party
# header outside its module, getenv outside util/settings.c and a file outside the layers
# each fail it, naming the file, the line and the rule.
# usage: check_layers.sh PTBUILD SOURCE_DIR
set -euo pipefail
src=$2
check="$src/ci/check-layers.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/ptbuild-layers-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A tree with one module per layer, each including the one below.
make_tree() {
	rm -rf "$work/driver"
	mkdir -p "$work/driver"/{util,model,plan,sources,wheels,session,build,cli}
	printf '#include <stddef.h>\n' >"$work/driver/util/buf.h"
	printf '#include "util/buf.h"\n' >"$work/driver/model/recipe.h"
	printf '#include "model/recipe.h"\n' >"$work/driver/plan/plan.h"
	printf '#include "model/recipe.h"\n#include <git2.h>\n' >"$work/driver/sources/git_source.c"
	printf '#include "model/recipe.h"\n' >"$work/driver/wheels/wheel.h"
	printf '#include "plan/plan.h"\n#include "wheels/wheel.h"\n' >"$work/driver/session/session.h"
	printf '#include "session/session.h"\n' >"$work/driver/build/build.h"
	printf '#include "build/build.h"\nint f(void) { return EXIT_OK; }\n' >"$work/driver/cli/cli.c"
	printf '#include "cli/cli.h"\n' >"$work/driver/main.c"
	printf '#include "build/build.h"\n' >"$work/driver/cli/cli.h"
}

# expect_failure WHAT PATTERN...: the checker fails and its output matches every pattern
expect_failure() {
	local what=$1
	shift
	if "$check" "$work/driver" >"$work/out" 2>&1; then
		fail "$what: the checker passed"
	fi
	for pattern in "$@"; do
		grep -qE -- "$pattern" "$work/out" || fail "$what: no \"$pattern\" in: $(cat "$work/out")"
	done
}

make_tree
"$check" "$work/driver" >"$work/out" 2>&1 || fail "the clean tree fails: $(cat "$work/out")"
grep -q "no wrong-way include, no cycle" "$work/out" || fail "clean: $(cat "$work/out")"

make_tree
printf '#include "util/buf.h"\n#include "build/build.h"\n' >"$work/driver/model/recipe.c"
expect_failure "wrong-way include" 'model/recipe.c:2: model includes "build/build.h" \(build/\): the wrong way'

make_tree
printf '#include "wheels/wheel.h"\n' >"$work/driver/plan/plan.c"
expect_failure "plan includes wheels" 'plan/plan.c:1: plan includes "wheels/wheel.h"'

make_tree
printf '#include "cli/cli.h"\n' >"$work/driver/build/build.c"
expect_failure "cli from below" 'build/build.c:1: build/ includes "cli/cli.h": nothing below cli/ includes cli/'

make_tree
printf '#include "model/recipe.h"\n#include "model/fields.h"\n' >"$work/driver/model/recipe.c"
printf '#include "model/recipe.h"\n' >"$work/driver/model/fields.h"
expect_failure "cycle" 'include cycle: model/(fields -> model/recipe -> model/fields|recipe -> model/fields -> model/recipe)' \
	'model/fields.h:1 \(model/fields -> model/recipe\)' 'model/recipe.c:2 \(model/recipe -> model/fields\)'

make_tree
printf '#include "util/buf.h"\nint g(void) { return EXIT_USAGE; }\n' >"$work/driver/model/recipe.c"
expect_failure "exit code below cli" 'model/recipe.c:2: uses EXIT_USAGE: only cli/ knows exit codes'

make_tree
printf '#include <curl/curl.h>\n' >"$work/driver/sources/git_source.h"
expect_failure "third-party header" 'sources/git_source.h:1: includes <curl/curl.h>: only sources/download.c may'

make_tree
printf '#include "util/nothere.h"\n' >"$work/driver/util/buf.c"
expect_failure "unknown header" 'util/buf.c:1: includes "util/nothere.h", which is not a file'

make_tree
printf '#include <stdlib.h>\n/* getenv() in a comment is fine */\nconst char *h(void) { return getenv("HOME"); }\n' >"$work/driver/model/recipe.c"
expect_failure "getenv outside settings" 'model/recipe.c:3: reads the environment: only util/settings.c calls getenv'

make_tree
mkdir -p "$work/driver/misc"
printf 'int x;\n' >"$work/driver/misc/x.c"
expect_failure "file in no layer" 'misc/x.c: in no layer'

# and the real tree
"$check" "$src/driver" >"$work/out" 2>&1 || fail "driver/ breaks the layer rules: $(cat "$work/out")"
echo "check_layers: 11 passed, 0 failed"
