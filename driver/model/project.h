/*
 * A project: every recipe in recipes/ and every toolchain in toolchains/ (*.json) of one
 * directory, loaded strictly and checked against each other, plus build sets on demand.
 */
#ifndef PTBUILD_PROJECT_H
#define PTBUILD_PROJECT_H

#include <stddef.h>

#include "model/model.h"
#include "util/diag.h"
#include "util/json.h"

struct project {
	char *dir;               /* owned */
	char **files;            /* owned: the paths every pos.file of this project points at */
	size_t nfiles, capfiles;
	struct recipe *recipes;  /* owned, in file name order */
	size_t nrecipes, caprecipes;
	struct toolchain *toolchains; /* owned, in file name order */
	size_t ntoolchains, captoolchains;
};

/* The Python versions a build set may name. */
extern const char *const known_pythons[];
extern const size_t known_pythons_count;

/* Loads and cross-checks everything; returns -1 when any error was recorded in `d`. */
int project_load(struct project *p, const char *dir, struct diags *d);
/* Frees everything the project owns and zeroes it: safe on a zeroed struct; idempotent. */
void project_release(struct project *p);

const struct recipe *project_recipe(const struct project *p, const char *name);
const struct toolchain *project_toolchain(const struct project *p, const char *name);

/*
 * Resolves a dependency name to a recipe: `use` (a set's choice, may be NULL) first, then
 * the recipe of that name, then the only recipe that provides it. NULL when none or many.
 */
const struct recipe *project_resolve(const struct project *p, const char *name,
				     const struct kv_list *use);

/* Loads recipes/sets/NAME.json (or a path containing '/' or ending in .json) and checks it.
 * `s` is overwritten; on failure it is zeroed (releasing it is harmless). */
int project_load_set(struct project *p, const char *name_or_path, struct buildset *s,
		     struct diags *d);

/* The name of the file a path-or-name refers to, for messages ("recipes/sets/x.json"). */
char *project_set_path(const struct project *p, const char *name_or_path);

/* For the loaders (project.c, buildset.c): */
/* Moves the document's path into the project (positions point at it) and returns it. */
const char *project_keep_path(struct project *p, struct jdoc *doc);
/* `rel` inside the project directory. Caller frees. */
char *project_path(const struct project *p, const char *rel);
/* "did you mean" for a recipe name, or how to add one, as a hint in `d`. */
void project_hint_recipe_name(const struct project *p, const char *name, struct diags *d);

#endif
