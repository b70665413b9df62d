/*
 * What happens to a built wheel before it enters the output cache, and to a cached one
 * that goes into a wheelhouse with --slim:
 *  - version stamping: an extension gets the local version of its recipe ("2.1.2+pt21cpu")
 *    and Requires-Dist pins to the exact torch it was built against;
 *  - slimming: test trees dropped, debug symbols stripped (headers and share/cmake kept);
 *  - a deterministic repack (wheel_pack): sorted entries, SOURCE_DATE_EPOCH times, normalized
 *    permissions, RECORD regenerated.
 */
#ifndef PTBUILD_FINISH_H
#define PTBUILD_FINISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"

struct finish_opts {
	const char *version;          /* the version the wheel gets; NULL keeps its own */
	const char *const *requires;  /* Requires-Dist values ("torch==2.1.2"); each replaces the
					 unconditional ones for the same project */
	size_t nrequires;
	long long epoch;              /* SOURCE_DATE_EPOCH of the entries */
	bool slim;
	const char *tmp_dir;          /* where the wheel is unpacked (a fresh subdirectory) */
};

struct finish_result {
	char *file;                   /* owned: the new file name */
	uint64_t size_before, size_after;
	size_t dropped, stripped;     /* --slim: files of test trees removed, objects stripped */
};

/* Rewrites the wheel `in` into `out_dir` (which may be its own directory: the file is
 * replaced atomically; under a new name the old file stays, for the caller to remove). */
int wheel_finish(const char *in, const char *out_dir, const struct finish_opts *o,
		 struct finish_result *r, struct diags *d);
void finish_result_release(struct finish_result *r);

/*
 * The version a built wheel must end up with. `built` is the wheel's own version;
 * `asked` is what the recipe's environment asked the build for (PYTORCH_BUILD_VERSION,
 * torchvision's BUILD_VERSION; NULL when neither), `local` the recipe's expanded
 * local_version (NULL: none). Returns the version (caller frees), or NULL with an error
 * when the build ignored `asked`.
 */
char *finish_version(const char *wheel, const char *built, const char *asked,
		     const char *local, struct diags *d);

#endif
