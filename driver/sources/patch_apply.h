/*
 * Applying a patch series to a directory tree, all or nothing, the way `git apply` does:
 * every hunk must match its context exactly, but may be found away from the line its
 * header names (an offset), searching outwards from there; a hunk at the start or the end
 * of a file must match there. Later patches see what earlier ones changed.
 *
 * Every patch is checked against an in-memory image of the files first; the tree is
 * written only when the whole series applies. A hunk that does not apply is reported with
 * the patch (file:line of the hunk header), the target file, the hunk header and the lines
 * that differ where the hunk came closest to matching.
 */
#ifndef PTBUILD_PATCH_APPLY_H
#define PTBUILD_PATCH_APPLY_H

#include <stddef.h>

#include "util/diag.h"

struct patch_ref {
	const char *name;   /* in messages and positions: "patches/torch/0001-fix.patch" */
	const char *path;   /* where to read it */
	const char *sha256; /* the digest the plan expects, or NULL */
};

struct patch_stats {
	size_t files;        /* files written, created or removed */
	size_t hunks;
	size_t offset_hunks; /* hunks found away from the line their header names */
};

/*
 * Applies `refs` in order to the directory `tree`. Returns 0; -1 when a patch is wrong or
 * does not apply (nothing in the tree was changed); -2 when a file could not be read or
 * written (the tree may be half-written: the caller discards it).
 */
int patches_apply(const char *tree, const struct patch_ref *refs, size_t n,
		  struct patch_stats *st, struct diags *d);

#endif
