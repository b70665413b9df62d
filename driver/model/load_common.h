/*
 * Internal to the loaders (recipe_load.c, toolchain_load.c, buildset.c): the helpers they
 * share, none of which needs the project. Not for other modules: they use project.h.
 */
#ifndef PTBUILD_LOAD_COMMON_H
#define PTBUILD_LOAD_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "model/fields.h"
#include "model/model.h"
#include "util/diag.h"
#include "util/json.h"

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

#endif
