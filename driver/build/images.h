/*
 * Images of a wheelhouse built by a Docker engine (`ptbuild image`): the engine's command
 * for Dockerfile.base, .dev or .release of one variant, running it with its output kept in a
 * log, and the record of what it built (image id, size, when), which `ptbuild report`
 * shows. Records live in <work>/images/<kind>-<variant>.json, logs in
 * <work>/logs/images/<kind>-<variant>.log.
 */
#ifndef PTBUILD_IMAGES_H
#define PTBUILD_IMAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

enum image_kind { IMAGE_BASE, IMAGE_DEV, IMAGE_RELEASE, IMAGE_NKINDS };

/* "base", "dev", "release". */
const char *image_kind_name(enum image_kind k);
/* 0 with *k, or -1 when `s` names no kind. */
int image_kind_parse(const char *s, enum image_kind *k);

/* What a wheelhouse says about its images. */
struct image_house {
	char **variants;       /* owned: the labels of requirements/<label>.txt, sorted */
	size_t nvariants;
	long long epoch;       /* manifest.json's source_date_epoch */
	char **epoch_labels;   /* owned: the labels manifest.json's source_date_epochs names */
	long long *epoch_values; /* owned: their SOURCE_DATE_EPOCH */
	size_t nepochs;
};

/*
 * Reads `dir`: manifest.json (its source_date_epoch), requirements/<label>.txt and the
 * Dockerfile of `kind`. Returns 0, or -1 with an input error naming the file and a hint
 * (`ptbuild collect --out DIR` writes a wheelhouse).
 */
int image_house_load(const char *dir, enum image_kind kind, struct image_house *h,
		     struct diags *d);
void image_house_release(struct image_house *h);
/* The SOURCE_DATE_EPOCH of `variant`'s images: its own (collect writes one per variant, so
 * that another variant's newer source leaves its layers cached), else the wheelhouse's. */
long long image_house_epoch(const struct image_house *h, const char *variant);

/* One image to build. Strings are borrowed. */
struct image_request {
	enum image_kind kind;
	const char *engine;      /* the docker client */
	const char *wheelhouse;  /* absolute: the build context */
	const char *variant;     /* a label of the wheelhouse */
	const char *tag;         /* the image's tag */
	const char *from;        /* base: BASE_IMAGE (NULL: the variant's, from Dockerfile.base);
				    dev, release: BASE (NULL: ptbuild-base:<variant>) */
	long long epoch;         /* SOURCE_DATE_EPOCH */
	const char *iidfile;     /* where the engine writes the image id; NULL: none */
};

/* The tag an image gets by default: "ptbuild-<kind>:<variant>". Caller frees. */
char *image_default_tag(enum image_kind kind, const char *variant);
/*
 * The engine's argv (owned, NULL-terminated; strv_free): `ENGINE build -f DIR/Dockerfile.KIND
 * --network=none|host --progress=plain --build-arg ... -t TAG [--iidfile F] DIR`. dev's
 * build has the network of the host (its apt step needs the base image's mirror); the
 * others none. For base without `from`, BASE_IMAGE is the variant's image named in
 * Dockerfile.base. NULL with an input error when that cannot be found.
 */
char **image_build_argv(const struct image_request *rq, struct diags *d);
/* The environment the engine runs with: this process's plus DOCKER_BUILDKIT=1 (owned). */
char **image_engine_env(void);
/* `argv` as one shell command line, with DOCKER_BUILDKIT=1 in front (appended to `out`). */
void image_command_line(char *const *argv, struct buf *out);

/*
 * The engine at `engine` answers: `ENGINE version` reaches a daemon. Returns 0 with the
 * server's version in `version` (may be NULL), or -1 with an environment error and a hint.
 */
int image_engine_check(const char *engine, char **version, struct diags *d);

struct image_result {
	int status;            /* the engine's exit status */
	double seconds;
	char *id;              /* owned: "sha256:..."; NULL when the build failed */
	long long size;        /* bytes, from `docker image inspect` */
};

/*
 * Runs the build of `rq` with its output (stdout and stderr) written to `log_path` (made
 * with its directory; replaced) and passed to `on_output` as it comes (may be NULL). Then
 * reads the image's id and size. Returns 0; -1 with a build-failed error whose message ends
 * with the log's last lines, or an environment error when the engine cannot run.
 */
int image_build_run(const struct image_request *rq, const char *log_path,
		    void (*on_output)(void *ctx, const char *data, size_t len), void *ctx,
		    struct image_result *res, struct diags *d);
void image_result_release(struct image_result *res);

/* What `ptbuild image` built, as recorded. */
struct image_record {
	char *kind, *variant, *tag, *id, *wheelhouse; /* owned */
	long long size;
	long long built_at;    /* unix time */
	double seconds;
};

/* <work>/images/<kind>-<variant>.json. Caller frees. */
char *image_record_path(const char *work_dir, const char *kind, const char *variant);
/* Writes the record atomically (its directory made). 0, or -1 with an environment error. */
int image_record_write(const char *work_dir, const struct image_record *r, struct diags *d);
/* Every record under <work>/images/, sorted by variant, then kind (base, dev, release);
 * one that cannot be read is a warning in `d`. */
void image_records_load(const char *work_dir, struct image_record **v, size_t *n,
			struct diags *d);
void image_records_release(struct image_record *v, size_t n);

#endif
