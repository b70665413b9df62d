/*
 * Internal to the loaders (project.c, recipe_load.c, toolchain_load.c, buildset.c): the
 * helpers they share. Not for other modules: they use project.h.
 */
#ifndef PTBUILD_LOAD_H
#define PTBUILD_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "model/fields.h"
#include "util/json.h"
#include "model/project.h"
#include "util/diag.h"

/* Recipe references collected while checking interpolated strings. */
struct refs {
	struct recipe_ref *v; /* owned until handed to a recipe or toolchain */
	size_t n, cap;
};

/* `kind "name"` (or just `kind`) in a new string, for messages. */
char *describe(const char *kind, const char *name);
/* Recipe names: [a-z][a-z0-9_]*; toolchain names also allow '-' and '.'. */
bool valid_name(const char *s, bool toolchain);
bool is_hex64(const char *s);
/* Checks the `${...}` references of the string node `n`; collects recipe references. */
void check_interp(struct fields *f, const struct jnode *n, const char *where, bool in_toolchain,
		  struct refs *refs);
/* The same for every string member of the object member `key` of `obj`. */
void check_interp_members(struct fields *f, const struct jnode *obj, const char *key,
			  bool in_toolchain, struct refs *refs);

/* Parse one loaded document into the project's next recipe or toolchain. */
void load_recipe(struct project *p, const struct jdoc *doc, struct diags *d);
void load_toolchain(struct project *p, const struct jdoc *doc, struct diags *d);

/* Moves the document's path into the project (positions point at it) and returns it. */
const char *keep_path(struct project *p, struct jdoc *doc);
/* `rel` inside the project directory. Caller frees. */
char *project_path(const struct project *p, const char *rel);
/* "did you mean" for a recipe name, or how to add one. */
void hint_recipe_name(const struct project *p, const char *name, struct diags *d);

#endif
