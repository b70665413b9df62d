/*
 * Toolchain fingerprints: what the compilers, nvcc (or MUSA's mcc), NCCL and Python of a
 * variant really are, read from the machine (`--version` output, nccl.h). They go into every build key.
 * All commands of one collection run in parallel.
 */
#ifndef PTBUILD_FINGERPRINT_H
#define PTBUILD_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "util/diag.h"

struct toolchain_fp {
	const struct toolchain *tc; /* borrowed */
	char *cc;      /* first line of `cc --version`, or "not found: NAME" */
	char *cxx;
	char *nvcc;    /* "Cuda compilation tools, release 13.0, V13.0.88; Build ..." or NULL */
	char *nvcc_release; /* "13.0" or NULL */
	char *mcc;     /* first line of MUSA's `mcc --version`, or NULL when not MUSA */
	char *nccl;    /* "2.28.9" from nccl.h, "not found: PATH", or NULL when not asked for */
	bool complete; /* every tool was found */
	/* How each tool (cc, cxx, nvcc or mcc) answered --version: its exit status (0: it
	 * answered; -1: it could not start, with the errno), or NOT_ASKED. */
	int status[3];
	int start_errno[3];
};

#define NOT_ASKED (-2)

struct python_fp {
	char *version;     /* "3.11" as the build set names it */
	char *interpreter; /* absolute path, or NULL when none was found */
	char *full;        /* "Python 3.11.7", or "not found: python3.11" */
};

struct fingerprints {
	struct toolchain_fp *tc;
	size_t ntc;
	struct python_fp *py;
	size_t npy;
	char *platform;    /* "x86_64-linux" */
};

/* Runs what is needed for `ntc` toolchains and `npy` Python versions (all at once). Missing
 * tools are warnings: the plan still works, and its keys change once they are installed. */
void fingerprints_collect(struct fingerprints *fp, const struct toolchain *const *tcs, size_t ntc,
			  const char *const *pythons, size_t npy, struct diags *d);
void fingerprints_release(struct fingerprints *fp);
const struct toolchain_fp *fingerprints_toolchain(const struct fingerprints *fp,
						  const struct toolchain *tc);
const struct python_fp *fingerprints_python(const struct fingerprints *fp, const char *version);

/* An error, at the toolchain's file:line:col, for each tool of `t` (cc, cxx, nvcc or mcc)
 * that could not be run or did not answer --version when the fingerprint was taken;
 * `needed_by` ("x (cpu-py3.11)") says what needs it. Returns the number recorded (the
 * caller classifies them). */
int fingerprint_check_tools(const struct toolchain_fp *t, const char *needed_by, struct diags *d);

/*
 * Finds an interpreter for Python `version` ("3.12"): $PTBUILD_PYTHON_3_12, then python3.12
 * on PATH (skipping pyenv shims, which fail for versions that are not selected), then
 * $PYENV_ROOT/versions/3.12.*. Caller frees; NULL when none.
 */
char *python_find(const char *version);

/* The version in `nvcc --version` output ("13.0"), or NULL. Caller frees. */
char *nvcc_release(const char *output);
/* "2.28.9" from the #defines of an nccl.h; NULL when they are missing. Caller frees. */
char *nccl_version_from_header(const char *path);

#endif
