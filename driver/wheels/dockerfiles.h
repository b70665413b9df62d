/*
 * The Dockerfiles of a wheelhouse (`ptbuild collect --out DIR`): Dockerfile.base (the
 * toolchain's base image, system libraries, a venv and a non-root entrypoint),
 * Dockerfile.dev (base + compilers, ccache, ptbuild and the project's source trees) and
 * Dockerfile.release (base + the wheelhouse installed offline at pinned versions), with
 * docker-entrypoint.sh. (What a toolchain's "image" may say and its defaults: model/image.h.)
 */
#ifndef PTBUILD_DOCKERFILES_H
#define PTBUILD_DOCKERFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "model/image.h"
#include "model/model.h"
#include "util/diag.h"

/* One toolchain x Python of the wheelhouse. Every string is borrowed. */
struct docker_target {
	const char *label;        /* "cpu-py3.11", "cuda-13.0-py3.11" (toolchain-pyX.Y); image tags */
	const char *toolchain;    /* "cpu" */
	const char *python;       /* "3.11" */
	const char *image;        /* base image for this toolchain and Python, already expanded
				     (docker_image_for) */
	const char *cuda_version; /* "13.0", or NULL */
	const char *musa_version; /* "4.3.4", or NULL */
	bool system_nccl;         /* the toolchain links the system NCCL: the base installs libnccl2 */
	const char *requirements; /* relative to the wheelhouse, "requirements/<label>.txt": the
				     "name==version" lines the release image installs */
	long long epoch;          /* SOURCE_DATE_EPOCH of this variant's images (the newest
				     source date of its wheels), so that another variant's newer
				     source leaves its layers cached; 0: the input's */
};

struct docker_input {
	const struct docker_target *t; /* borrowed; the first one is the default of every ARG */
	size_t n;
	long long source_date_epoch;   /* default of ARG SOURCE_DATE_EPOCH; 1980 or later */
	const char *set_name;          /* for comments and hints: "default" */
	const char *syntax;            /* a "# syntax=" frontend image, or NULL: none (the
	                                * engine's built-in frontend, which works offline) */
};

/*
 * Writes Dockerfile.base, Dockerfile.dev, Dockerfile.release and docker-entrypoint.sh into
 * `dir` (which must exist), each atomically. The output depends only on `in`: writing twice
 * gives identical files. A value Dockerfiles cannot carry (a newline, a character outside
 * [A-Za-z0-9._:/@+-] in an image or the syntax image, outside [A-Za-z0-9._-] in a label) is
 * an error naming the target and the field, and nothing is written. Returns 0, or -1 with errors in `d`.
 */
int dockerfiles_write(const char *dir, const struct docker_input *in, struct diags *d);

#endif
