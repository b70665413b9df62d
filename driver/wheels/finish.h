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

#include "util/buf.h"
#include "util/diag.h"
#include "util/json_read.h"
#include "wheels/verify.h"

struct finish_opts {
	const char *version;          /* the version the wheel gets; NULL keeps its own */
	const char *const *requires;  /* Requires-Dist values ("torch==2.1.2"); each replaces the
					 unconditional ones for the same project */
	size_t nrequires;
	long long epoch;              /* SOURCE_DATE_EPOCH of the entries */
	bool slim;
	const char *tmp_dir;          /* where the wheel is unpacked (a fresh subdirectory) */
	unsigned threads;             /* members deflated at a time in the repack; 0: 1 */
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

/*
 * What a build does to the wheels it wrote (build/steps.c, in the child `ptbuild __finish`
 * runs, cli/cmd_finish.c): every *.whl in `dir` gets finish_version() of its version, the
 * Requires-Dist pin to `torch`, SOURCE_DATE_EPOCH `epoch`, a repack with `threads` threads,
 * then verify_wheel() with `verify` (its tmp_dir and torch_version are set from this job).
 */
struct finish_job {
	const char *dir;              /* the staged output entry; the wheels are replaced in it */
	const char *tmp_dir;
	const char *asked;            /* the version the recipe asked the build for, or NULL */
	const char *local_version;    /* the recipe's expanded local_version, or NULL */
	const char *torch;            /* the torch the build ran against (Requires-Dist), or NULL */
	long long epoch;
	unsigned threads;
	struct verify_expect verify;
};

/* Where finish_dir's log lines go (without their newline). */
typedef void (*finish_log_fn)(void *ctx, const char *line);

/*
 * Finishes every wheel of the job, logging as the build log shows it ("# ptbuild: A -> B
 * (version ...)", "# ptbuild: verify B: ...", then every diagnostic). 0, or -1 with
 * *failure set (caller frees) to what the failure summary says: "cannot finish A: ..." for
 * a stamping or repacking error, "failed verification with N problems; the first: ..."
 * for findings. Stops at the first wheel that fails.
 */
int finish_dir(const struct finish_job *j, finish_log_fn log, void *ctx, char **failure);

/* The job as the JSON file `ptbuild __finish` reads, with where it writes its failure. */
void finish_job_write(const struct finish_job *j, const char *result_path, struct buf *out);
/* Reads that file: the strings point into `doc` (release it after the job). -1 with an
 * error naming the file and the member. */
int finish_job_read(const char *path, struct jdoc *doc, struct finish_job *j,
		    const char **result_path, struct diags *d);

#endif
