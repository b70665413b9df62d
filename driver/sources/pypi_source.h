/*
 * PyPI sources: sdists (`"pypi": "torch-scatter==2.1.2"`) and wheels by requirement
 * (`"wheel": "torch==2.9.1"`), kept in the cache by digest (cache/dist/<sha256>/<file>).
 *
 * Wheels are fetched by the ordinary client, `python -m pip download --no-deps
 * --only-binary :all:`, run by the variant's own interpreter, so pip picks the file for its
 * Python and platform and honours the site's pip configuration (index, proxy, auth).
 *
 * Sdists are read from the index's simple page (PEP 503) and downloaded with libcurl: pip
 * download cannot fetch an sdist without building its metadata, which runs setup.py, and
 * the PyG setup.py files import torch (pypa/pip#1884). The index is $PIP_INDEX_URL, else
 * https://pypi.org/simple/; mirrors.json rewrites apply to it and to the files.
 */
#ifndef PTBUILD_PYPI_SOURCE_H
#define PTBUILD_PYPI_SOURCE_H

#include <stdbool.h>

#include "sources/mirrors.h"
#include "util/buf.h"
#include "model/pins.h"
#include "util/diag.h"

struct pypi_opts {
	const char *cache_dir;
	bool offline;                   /* --frozen or --offline: the cache only */
	const char *offline_flag;       /* which of them, for messages; NULL: "--frozen" */
	const struct mirrors *mirrors;
	const char *index_url;          /* NULL: $PIP_INDEX_URL, else https://pypi.org/simple/ */
	/* wheels: the recipe's "index" (pip --index-url, after mirrors.json) and "pre" (--pre);
	 * NULL and false: pip's own configuration */
	const char *wheel_index;
	bool pre;
};

/* A fetched file: where it is in the cache and what it is. Caller frees path and name. */
struct pypi_file {
	char *path;
	char *name;
	char sha256[SHA256_HEX_SIZE];
};

/* Frees the path and name and zeroes `f`: safe on a zeroed struct; idempotent. */
void pypi_file_release(struct pypi_file *f);

/* Splits "name==version" (extras and spaces ignored); -1 when it is not pinned exactly. */
int pypi_requirement_split(const char *req, char **name, char **version);
/* PEP 503 normalized project name: lowercase, runs of "-", "_", "." become "-". */
char *pypi_normalize(const char *name);

/* A link on a PEP 503 page. Caller frees url and file. */
struct pypi_link {
	char *url;   /* absolute, without the fragment */
	char *file;
	char sha256[SHA256_HEX_SIZE]; /* from "#sha256=", or "" */
};

/* Finds the sdist link for (norm_name, version) on the PEP 503 `page` read from
 * `page_url`, the .tar.gz one first, into `best` (zeroed by the caller); the names of
 * other sdists there go to `seen`, for a hint. Used by pypi_sdist; exported for the
 * fuzzer (tests/fuzz/fuzz_pep503.c). */
bool pypi_find_sdist(const char *page, const char *page_url, const char *norm_name,
		     const char *version, struct pypi_link *best, struct buf *seen);

/*
 * The sdist of `requirement`. With `want` (from the lock), a cached copy is used without
 * the network, and the index must still serve that exact file; otherwise the index's
 * choice is taken and verified against the index's sha256. Returns -2 when the index now
 * serves another file than `want`, -1 on other errors.
 */
int pypi_sdist(const struct pypi_opts *o, const char *requirement, const struct pinned_file *want,
	       struct pypi_file *out, struct diags *d);

/* Whether wheel file `file` is of project `project` (PEP 503 normalized names compared). */
bool pypi_wheel_of(const char *file, const char *project);

/* The version of wheel file `file` ("torch-2.10.0.dev20261130+cpu-cp311-...whl" ->
 * "2.10.0.dev20261130+cpu"), or NULL when it is not a wheel file name. Caller frees. */
char *pypi_wheel_version(const char *file);

/*
 * What the index offers `python` of `project`'s wheels (`pip index versions`, with the
 * opts' index and --pre): the newest version in *newest (NULL when none; caller frees) and
 * every version, newest first, comma-separated in `all`. -1 when pip could not ask.
 */
int pypi_index_versions(const struct pypi_opts *o, const char *python, const char *project,
			char **newest, struct buf *all, struct diags *d);

/*
 * The wheel pip chooses for `requirement` when run by `python` (an interpreter path); -2
 * when it is not the file `want` names. With `deps`, also every wheel it requires (what
 * `pip install` would bring, so that the wheel imports in a build venv), in `*deps`
 * (caller releases each and frees the array). A cached `want` is used as it is; a `want`
 * of a bare-name requirement ("torch", a floating source) is downloaded as name==its
 * version, not as whatever the index serves now.
 */
int pypi_wheel(const struct pypi_opts *o, const char *python, const char *requirement,
	       const struct pinned_file *want, struct pypi_file *out, struct pypi_file **deps,
	       size_t *ndeps, struct diags *d);

/*
 * `pip download` (run by `python`) of the requirements file `requirements`, within the
 * constraints file `constraints`, also looking in the directory `find_links` (pip prefers
 * a file there to the index's copy of the same file): every wheel they need, with their
 * dependencies, except those `skip` says to leave (the plan provides them). Each kept wheel
 * is moved into the cache by its digest, into *out (caller releases each and frees the
 * array, also on error). `what` names the request in messages. Offline: an error.
 */
int pypi_requirements(const struct pypi_opts *o, const char *python, const char *what,
		      const char *requirements, const char *constraints, const char *find_links,
		      bool (*skip)(const char *file, void *ctx), void *ctx,
		      struct pypi_file **out, size_t *nout, struct diags *d);

#endif
