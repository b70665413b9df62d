/*
 * URL mirrors for air-gapped sites: prefix rewrites like git's `url.<base>.insteadOf`,
 * applied to every URL ptbuild fetches (superprojects, submodules, archives), so recipes
 * keep their upstream URLs and a site points them at its own mirror.
 *
 * Read from `mirrors.json` in the project and from the file $PTBUILD_MIRRORS names (its
 * rules win): {"https://github.com/": "https://git.example.internal/github/"}.
 * The longest matching prefix wins.
 */
#ifndef PTBUILD_MIRRORS_H
#define PTBUILD_MIRRORS_H

#include <stddef.h>

#include "util/diag.h"

struct mirror_rule {
	char *prefix;      /* owned */
	char *replacement; /* owned */
};

struct mirrors {
	struct mirror_rule *v; /* owned */
	size_t n, cap;
	char **files;          /* owned: paths the rules came from (positions point here) */
	size_t nfiles;
};

/* Loads the project's mirrors.json (if any) and $PTBUILD_MIRRORS (if set), and checks
 * $PTBUILD_GIT_CLI (sources/git_cli.h). */
int mirrors_load(struct mirrors *m, const char *project_dir, struct diags *d);
/* Adds the rules of one file; later rules for the same prefix replace earlier ones. */
int mirrors_load_file(struct mirrors *m, const char *path, struct diags *d);
/* Frees the rules and zeroes `m`: safe on a zeroed struct; idempotent. */
void mirrors_release(struct mirrors *m);

/* `url` rewritten by the longest matching prefix, or a copy of it. Caller frees. */
char *mirrors_rewrite(const struct mirrors *m, const char *url);

#endif
