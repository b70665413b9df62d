/*
 * Patch series: which patch files a variant applies, in which order, with their digests.
 *
 * A recipe's `patches` entries apply when their `when` conditions hold for the variant
 * (toolchain, Python, env values). Each entry is a glob (files in sorted order) or an
 * explicit list, minus `exclude` globs. Files are either this project's
 * (`patches/<recipe>/...`, hashed when the plan is made) or another recipe's
 * (`${src:NAME}/dir/NAME.patch` globs): those are listed from NAME's pinned tree once (the pin's
 * `reads`, kept in the lock), so keys and plans never need the tree itself.
 */
#ifndef PTBUILD_SERIES_H
#define PTBUILD_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "model/envflags.h"
#include "model/model.h"
#include "model/pins.h"
#include "model/project.h"
#include "util/diag.h"
#include "util/hash.h"

struct patch_file {
	char *name;          /* owned: as shown: "patches/x/1.patch", "${src:musa}/p/a.patch" */
	char *path;          /* owned: this project's: relative to the project directory;
				another recipe's: relative to the top of that recipe's tree */
	char *source;        /* owned: the recipe whose tree holds it, NULL for this project */
	size_t series;       /* index of the recipe's `patches` entry it comes from */
	char sha256[SHA256_HEX_SIZE];
};

struct patch_list {
	struct patch_file *v; /* owned, in the order they apply */
	size_t n, cap;
};

void patch_list_release(struct patch_list *l);
void patch_list_append_copy(struct patch_list *to, const struct patch_file *f);

/* Whether `ps` applies to a variant with this toolchain, Python and environment. */
bool series_applies(const struct patch_series *ps, const char *toolchain, const char *python,
		    const struct env *env);

/* "${src:NAME}/rest": NAME (caller frees) and rest (borrowed); NULL for a local path. */
char *series_source(const char *s, const char **rest);

/* This project's files of `ps` (series index `index`), hashed, appended to `out`.
 * Unreadable files and a glob matching nothing (after `exclude`) are errors, the latter
 * naming the directory searched and what it holds. */
int series_expand_local(const struct patch_series *ps, size_t index, const char *project_dir,
			const char *recipe, struct patch_list *out, struct diags *d);

/* Every file of `ps` (series index `index`) in order, appended to `out`: this project's
 * from `local` (series_expand_local), another recipe's from that recipe's pin (`reads`).
 * Returns false when such a pin is missing or has not listed its files for the globs the
 * project reads now (the lock predates an edited series). */
bool series_expand(const struct patch_series *ps, size_t index, const struct patch_list *local,
		   const struct project *p, const struct pins *pins, struct patch_list *out);

/* The globs (relative to NAME's tree) that any recipe of the project reads from NAME,
 * sorted, one per line; NULL when none does. Caller frees. */
char *series_globs_reading(const struct project *p, const char *name);

/* Lists and hashes the files of `tree` that `globs` (as from series_globs_reading) match
 * into `pin`'s reads. Returns -1 when a file cannot be read, -2 when a glob matches no file
 * (an error at each series of `p` that reads it). */
int series_read_tree(const char *tree, const char *globs, const struct project *p,
		     struct pin *pin, struct diags *d);

/* A digest of the list (names and contents, in order): patched trees are named by it. */
void patch_list_digest(const struct patch_list *l, char out[SHA256_HEX_SIZE]);

#endif
