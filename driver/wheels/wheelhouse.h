/*
 * The files of a wheelhouse that describe its wheels: the PEP 503 simple index
 * (simple/index.html and simple/<normalized project>/index.html, links with #sha256=
 * fragments, so `pip install --index-url file://DIR/simple` works as well as
 * `--find-links DIR`) and SHA256SUMS (`sha256sum -c` format). Output depends only on the
 * list: collecting twice gives identical files.
 *
 * house_collect assembles a whole wheelhouse from plain data (the wheels with the variants
 * that brought them), so it needs neither the session nor the output cache: the wheels
 * (hard links, or slimmed copies), simple/, SHA256SUMS, manifest.json, requirements/,
 * the Dockerfiles, variants/<label>/ (links to exactly that label's wheels and
 * requirements: Dockerfile.release's build context), written beside DIR and renamed into place.
 */
#ifndef PTBUILD_WHEELHOUSE_H
#define PTBUILD_WHEELHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "model/pins.h"
#include "util/diag.h"
#include "util/hash.h"
#include "wheels/dev_stage.h"
#include "wheels/dockerfiles.h"
#include "wheels/finish.h"

struct house_wheel {
	char *file;                    /* owned: the wheel's file name, in the wheelhouse's top */
	char *project;                 /* owned: PEP 503-normalized project name */
	char *version;                 /* owned */
	char sha256[SHA256_HEX_SIZE];
	uint64_t size;
};

/* Sorts by file name; -1 with an error when two wheels of one name differ. */
int house_sort(struct house_wheel *v, size_t n, struct diags *d);
/* Writes simple/ and SHA256SUMS into `dir`; -1 with an error. */
int house_write_index(const char *dir, const struct house_wheel *v, size_t n, struct diags *d);
void house_wheel_release(struct house_wheel *w);

/* A variant of the plan as the wheelhouse describes it. Every pointer is borrowed. */
struct house_variant {
	const char *recipe;
	const char *label;            /* "cpu-py3.11": requirements/<label>.txt, image tags */
	const struct toolchain *tc;   /* its name, image, CUDA/MUSA version, system NCCL */
	const char *python;
	const char *key;              /* the build key */
	bool built;                   /* false: a wheel source */
	const struct pin *pin;        /* the source identity in the manifest; NULL: not pinned */
	long long epoch;              /* its source date (0: unknown); a label's images take
					 the newest of its variants' */
};

/* A wheel file of a variant. */
struct house_input {
	char *src;                    /* borrowed: the file in the cache */
	char *file;                   /* borrowed: its name in the wheelhouse */
	char sha256[SHA256_HEX_SIZE]; /* with --slim, replaced by the slimmed file's */
	uint64_t size;                /* likewise */
	size_t variant;               /* index into house_spec.variants */
	bool main;                    /* the variant's own wheel (not a dependency it pins) */
};

struct house_result;

struct house_spec {
	const char *dir;                    /* the wheelhouse, absolute; replaced as a whole */
	const char *dockerfile_syntax;      /* "# syntax=" image of the Dockerfiles, or NULL */
	const struct house_variant *variants; /* borrowed: the plan's, in plan order */
	size_t nvariants;
	struct house_input *wheels;         /* borrowed; updated by --slim (see above) */
	size_t nwheels;
	long long epoch;                    /* the newest source date: --slim's entries, images */
	const char *set_name;               /* NULL without a set */
	const char *lock_path;              /* its digest goes into the manifest; NULL: none */
	bool slim;
	const char *tmp_dir;                /* where --slim unpacks */
	/* Called when everything is written into `tmp` and before it replaces `dir`, to
	 * check the result (collect: each variant installs from it alone); -1 with errors in
	 * `d` refuses the wheelhouse as a bad input. May be NULL. */
	int (*check)(void *check_ctx, const char *tmp, const struct house_result *r,
		     struct diags *d);
	void *check_ctx;
	const struct dev_stage *dev;        /* what Dockerfile.dev copies, staged in dev/;
					       NULL: no dev/ */
	/* Called after each wheel is slimmed (progress); may be NULL. */
	void (*on_slim)(void *ctx, const char *file, const struct finish_result *fr);
	void *ctx;
};

struct house_result {
	struct house_wheel *v;              /* owned: the wheels written, sorted by file */
	size_t n;
	struct docker_target *targets;      /* owned array; strings borrowed from the spec and
					       `owned` */
	size_t ntargets;
	char **owned;                       /* owned: the targets' images and requirements */
	size_t nowned;
	uint64_t bytes_before, bytes_after; /* --slim */
	size_t dropped, stripped;           /* --slim: test files dropped, objects stripped */
	bool bad_input;                     /* after a failure: an input was wrong (a wheel
					       name, a toolchain without an image, ...), not the
					       file system */
};

/*
 * Writes the wheelhouse `spec->dir`: everything goes into "<dir>.tmp-<pid>", which then
 * replaces `dir` (only an earlier wheelhouse or an empty directory is replaced). Returns 0
 * with `r` filled, or -1 with errors in `d`, nothing replaced and `r->bad_input` set when
 * the inputs are at fault. Release `r` in both cases.
 */
int house_collect(const struct house_spec *spec, struct house_result *r, struct diags *d);
void house_result_release(struct house_result *r);

#endif
