/*
 * Plans: a build set (or targets) expanded into variants (recipe x toolchain x Python),
 * dependencies pulled in for the same toolchain and Python, ordered so that dependencies
 * come first, each with its composed environment and its build key.
 *
 * The build key is the SHA-256 of a canonical JSON document (`key_input`) holding every
 * input known before the build: the normalized recipe, the resolved environment, the
 * toolchain and its fingerprint, the Python, the patch files' digests, the source identity
 * and the keys of the dependencies. Changing one input changes the key of that variant
 * and of every variant that depends on it, and nothing else.
 */
#ifndef PTBUILD_PLAN_H
#define PTBUILD_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "model/envflags.h"
#include "plan/fingerprint.h"
#include "model/model.h"
#include "model/pins.h"
#include "model/project.h"
#include "plan/series.h"
#include "util/diag.h"
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
	char *key_input;                /* owned: the canonical JSON the key hashes */
	char key[SHA256_HEX_SIZE];
};

struct plan_request {
	const struct project *project;
	const struct buildset *set;             /* may be NULL */
	const char *const *targets;             /* replace the set's targets when given */
	size_t ntargets;
	const char *const *toolchains;          /* replace the set's toolchains when given */
	size_t ntoolchains;
	const char *const *pythons;             /* replace the set's Pythons when given */
	size_t npythons;
};

struct plan {
	struct variant *v;        /* owned, in build order: dependencies first */
	size_t n;
	struct fingerprints fp;
	const char **toolchains;  /* owned array of borrowed names: the matrix axes */
	size_t ntoolchains;
	const char **pythons;
	size_t npythons;
	const struct project *project; /* borrowed */
	const struct pins *pins;       /* borrowed: identities in the keys, or NULL */
};

/* Keys are computed without source pins (plan_rekey adds them). Returns -1 (errors in `d`)
 * when the request or the files are wrong; warnings may be left in `d` either way. */
int plan_make(struct plan *plan, const struct plan_request *req, struct diags *d);
/* Recomputes every key with the source identities in `pins` (borrowed, may be NULL). */
void plan_rekey(struct plan *plan, const struct pins *pins);
void plan_release(struct plan *plan);

#endif
