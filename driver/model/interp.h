/*
 * `${NAME}` interpolation with a closed vocabulary (docs/files.md). `$$` is a literal `$`.
 * Checking happens when a file is loaded; expansion when a variant is planned or built.
 * The names are here and only here: the planner and the build give values by id.
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

/* Every name of the vocabulary. */
enum interp_name {
	/* known when planning */
	INTERP_TOOLCHAIN_NAME, INTERP_TOOLCHAIN_TAG, INTERP_TOOLCHAIN_CC, INTERP_TOOLCHAIN_CXX,
	INTERP_CUDA_ENABLED, INTERP_CUDA_VERSION, INTERP_CUDA_HOME, INTERP_CUDA_ARCH_LIST,
	INTERP_MUSA_ENABLED, INTERP_MUSA_VERSION, INTERP_MUSA_HOME, INTERP_MUSA_ARCH_LIST,
	INTERP_NCCL_ROOT, INTERP_PYTHON_VERSION, INTERP_PYTHON_TAG, INTERP_RECIPE_NAME,
	INTERP_RECIPE_VERSION,
	INTERP_ENV,               /* env.X */
	INTERP_DEP_VERSION,       /* dep.NAME.version */
	INTERP_DEP_VERSION_SHORT, /* dep.NAME.version_short */
	/* known only while building */
	INTERP_PYTHON,            /* the build venv's interpreter */
	INTERP_OUT,               /* where the build writes its wheels */
	INTERP_JOBS,              /* the build's share of -j */
	INTERP_SRC,               /* the work tree */
	INTERP_SRC_OF,            /* src:NAME, the tree of recipe NAME */
};

/* One reference found in a string. */
struct interp_ref {
	size_t start;      /* byte index of '$' in the decoded string */
	char *name;        /* owned: the text between the braces */
	enum interp_class cls;
	enum interp_name id;
	char *recipe;      /* owned: NAME of src:NAME or dep.NAME.x, else NULL */
	char *var;         /* owned: X of env.X, else NULL */
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
 * Returns the value of the reference `ref` (its id, recipe and var filled), or NULL to
 * leave `${name}` in place (a build-time name while planning).
 */
typedef const char *(*interp_lookup_fn)(const struct interp_ref *ref, void *ctx);

/* Appends `s` with every reference replaced by `lookup`'s answer; a name outside the
 * vocabulary (the loader refused it already) stays as it is. */
void interp_expand(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx);
/* The same, keeping `$$` as it is: for strings that are expanded again at build time
 * (environment values and the build command keep their build-time names until then). */
void interp_expand_partial(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx);

#endif
