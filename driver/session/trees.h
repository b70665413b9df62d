/*
 * The source trees a plan (or part of it) builds from: one pristine tree per recipe that
 * needs one, one patched tree per distinct patch set, prepared in that order because
 * patches may come from a pristine tree. Used by `fetch` and `build`.
 */
#ifndef PTBUILD_TREES_H
#define PTBUILD_TREES_H

#include <stdbool.h>
#include <stddef.h>

#include "model/pins.h"
#include "plan/plan.h"
#include "sources/sources.h"

struct tree_job {
	const struct recipe *r;
	const struct pin *pin;            /* NULL for path sources */
	const struct patch_list *patches; /* borrowed from a variant; NULL: pristine */
	char digest[SHA256_HEX_SIZE];
	const char **labels;              /* borrowed labels of the variants built from it */
	size_t nlabels, cap_labels;
	char *tree;                       /* owned, NULL for wheels */
	enum checkout_state state;
	struct patch_stats stats;
	double seconds;
};

struct tree_work {
	struct tree_job *v; /* owned */
	size_t n, cap;
};

struct tree_select {
	bool pristine;          /* no patches at all */
	bool patched_only;      /* patched trees and the trees their patches come from */
	const bool *variants;   /* NULL: every variant of the plan; else the plan indices that
				   need trees (and their ${src:} trees) */
};

/* The recipes whose sources the plan reads (built ones and ${src:} ones), in plan order;
 * owned array of borrowed pointers. */
const struct recipe **trees_source_recipes(const struct plan *plan, const struct project *p,
					   size_t *n);
/* Lists the trees; -1 with errors in `d` when a series is not resolved (no lock). */
int trees_list(const struct plan *plan, const struct project *p, const struct tree_select *sel,
	       struct tree_work *w, struct diags *d);
/* Prepares every listed tree in order. Returns 0, or -1 with errors in `d`: of class
 * input when a patch does not apply, environment when a source could not be fetched or
 * written. Patch files are relative to `project_dir`. */
int trees_prepare(const struct source_opts *so, const char *project_dir, struct tree_work *w,
		  const struct pins *pins, struct diags *d);
/* The tree variant `v` builds from (patched or pristine), or NULL. */
const char *trees_for_variant(const struct tree_work *w, const struct variant *v);
/* The pristine tree of recipe `r`, or NULL. */
const char *trees_pristine(const struct tree_work *w, const struct recipe *r);
void trees_release(struct tree_work *w);

#endif
