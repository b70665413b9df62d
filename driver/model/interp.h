/*
 * `${NAME}` interpolation with a closed vocabulary (docs/files.md). `$$` is a literal `$`.
 * Checking happens when a file is loaded; expansion when a variant is planned or built.
 */
#ifndef PTBUILD_INTERP_H
#define PTBUILD_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

enum interp_class {
	INTERP_PLAN,      /* known when planning: toolchain, python.version, dep.X.version ... */
	INTERP_BUILD,     /* known only while building: python, out, jobs, src, src:X */
};

/* One reference found in a string. */
struct interp_ref {
	size_t start;      /* byte index of '$' in the decoded string */
	char *name;        /* owned: the text between the braces */
	enum interp_class cls;
	char *recipe;      /* owned: NAME of src:NAME or dep.NAME.x, else NULL */
};

/*
 * Finds every reference in `s`. Returns 0, or -1 with *bad_index and a static `*why`
 * naming the problem: an unclosed `${`, an empty name, or a name outside the vocabulary
 * (then *suggest may point at a close known name).
 */
int interp_scan(const char *s, struct interp_ref **refs, size_t *nrefs, size_t *bad_index,
		const char **why, const char **suggest);
void interp_refs_free(struct interp_ref *refs, size_t n);

/*
 * Returns the value of `name`, or NULL to leave `${name}` in place (a build-time name
 * while planning).
 */
typedef const char *(*interp_lookup_fn)(const char *name, void *ctx);

/* Appends `s` with every reference replaced by `lookup`'s answer. */
void interp_expand(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx);
/* The same, keeping `$$` as it is: for strings that are expanded again at build time
 * (environment values and the build command keep their build-time names until then). */
void interp_expand_partial(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx);

#endif
