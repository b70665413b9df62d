/*
 * A variant: one recipe built with one toolchain for one Python, as the planner composed
 * it (plan.h) and as its key is computed from (key.h).
 */
#ifndef PTBUILD_VARIANT_H
#define PTBUILD_VARIANT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/envflags.h"
#include "model/model.h"
#include "plan/series.h"
#include "util/hash.h"

struct variant {
	const struct recipe *recipe;    /* borrowed from the project */
	const struct toolchain *tc;     /* borrowed */
	const char *python;             /* borrowed: "3.11" */
	char *label;                    /* owned: "cpu-py3.11" */
	bool target;                    /* asked for, not only pulled in as a dependency */
	size_t *deps;                   /* owned: indices of build dependencies in plan order */
	size_t ndeps;
	size_t *source_deps;            /* owned: recipe indices whose sources this one reads */
	size_t nsource_deps;
	struct env env;                 /* toolchain and recipe variables, validated */
	size_t *series;                 /* owned: indices of the recipe's patch series that apply */
	size_t nseries;
	struct patch_list local_patches; /* this project's files of those series, hashed */
	struct patch_list patches;      /* every file that applies, in order (from the pins for
					   files in other recipes' trees) */
	bool patches_unresolved;        /* some series reads a tree that is not pinned yet */
	char *local_version;            /* owned, expanded; NULL if none */
	char **build_argv;              /* owned, NULL-terminated: the recipe's build command with
					   plan-time names expanded (build-time ones and `$$` kept);
					   empty: the builder's default */
	size_t build_argc;
	char *key_input;                /* owned: the canonical JSON the key hashes (key.h) */
	char key[SHA256_HEX_SIZE];
};

#endif
