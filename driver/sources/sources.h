/*
 * Sources of a plan: resolving a recipe's source to a pin (network), checking a locked pin
 * against upstream, and preparing the source tree a build reads (build/src/<recipe>-<ref>/).
 * Dispatches to git_source, download + unpack, and pypi_source by source kind.
 */
#ifndef PTBUILD_SOURCES_H
#define PTBUILD_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "sources/mirrors.h"
#include "model/model.h"
#include "sources/patch_apply.h"
#include "model/pins.h"
#include "util/diag.h"

struct source_opts {
	const char *cache_dir;
	const char *project_dir;       /* path sources are relative to it */
	const char *work_dir;          /* source trees go to work_dir/src/ */
	const struct mirrors *mirrors;
	bool offline;                  /* --frozen or --offline: the cache only */
	const char *offline_flag;      /* which of them, for messages; NULL: "--frozen" */
};

/* A Python a wheel-by-requirement source is needed for, and its interpreter (or NULL). */
struct source_python {
	const char *version;
	const char *interpreter;
};

/* Resolves `r`'s source from upstream into a new pin in `into` (nothing added on error).
 * Path sources cannot be pinned: -1 with an error saying so. -2 when the recipe names a
 * submodule path its tree does not have (an input error), -1 for the rest. */
int source_resolve(const struct source_opts *o, const struct recipe *r,
		   const struct source_python *pys, size_t npys, struct pins *into,
		   struct diags *d);

/*
 * Checks a locked pin against upstream and the cache: git refs must still point at the
 * locked commits (skipped when offline: the lock is taken as it is), and every file for
 * `pys` must be in the cache or downloadable with the locked digest. Errors show the
 * locked and the current value side by side. Returns -2 when upstream differs from the
 * lock (or the lock lacks something), -1 when it could not be reached.
 */
int source_check_locked(const struct source_opts *o, const struct recipe *r,
			const struct pin *pin, const struct source_python *pys, size_t npys,
			struct diags *d);

/*
 * A wheel source by requirement pinned by the lock: every Python's wheel (with what it
 * requires) in the cache, downloaded as the locked version when missing, so that a pin
 * that holds while the index moved (a nightly) still builds on a fresh cache. Other
 * sources: nothing to do. Returns -2 when the index now serves another file for the
 * locked version, -1 when it could not be had.
 */
int source_fetch_pinned(const struct source_opts *o, const struct recipe *r,
			const struct pin *pin, const struct source_python *pys, size_t npys,
			struct diags *d);

/* Patches applied to a tree after it is exported: the tree is named by their digest. */
struct tree_patches {
	const struct patch_ref *refs; /* borrowed, in order */
	size_t n;
	const char *digest;           /* patch_list_digest() of the list */
	struct patch_stats stats;     /* out: what applying did (when the tree was written) */
};

/* What source_checkout did. */
enum checkout_state { CHECKOUT_UP_TO_DATE, CHECKOUT_WRITTEN, CHECKOUT_NO_TREE };

/*
 * Prepares the tree of `r` at `pin` in work_dir/src/<recipe>-<ref>/ (*tree, caller frees):
 * exported from the git mirrors, or extracted from the cached archive or sdist, then
 * `patches` applied (NULL or none: the pristine tree), whole or not at all. The tree is
 * made beside its place and renamed there when complete, so a tree that holds another
 * pin or patch set is replaced only by a finished one. A tree that already holds this
 * pin and these patches is left alone. Wheels have no tree (CHECKOUT_NO_TREE, *tree
 * NULL); path sources are their own tree. `mirrors_fresh`: the mirrors were updated by
 * this run. Returns -2 when a patch does not apply (or cannot be applied to this kind of
 * source), -1 when the source could not be fetched or written.
 */
int source_checkout(const struct source_opts *o, const struct recipe *r, const struct pin *pin,
		    bool mirrors_fresh, struct tree_patches *patches, char **tree,
		    enum checkout_state *state, struct diags *d);

/*
 * The committer time of the commit `pin` records for the git source of `r`, read from the
 * mirror in cache_dir/git/ without network access (for SOURCE_DATE_EPOCH). Returns -1 when
 * `r` is not a git source, `pin` is NULL or has no commit, or the mirror or the commit is
 * not in the cache.
 */
int source_commit_time(const char *cache_dir, const struct recipe *r, const struct pin *pin,
		       long long *when);

/* The directory name of `r`'s tree under work_dir/src/: <recipe>-<ref>, with
 * -patched-<8 hex of the digest> for a patched one. Caller frees. */
char *source_tree_name(const struct recipe *r, const char *patch_digest);

#endif
