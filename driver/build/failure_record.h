/*
 * The record of a variant's last failed build: build/state/<recipe>/<variant>.failed.json,
 * beside the record of its last successful one (outcache.h). A build that fails writes it;
 * one that succeeds removes it. `report` shows it.
 *
 * The file (keys sorted, like the build record):
 *   { "finished": <unix time>, "format": 1, "key": "<build key>", "log": "<path>",
 *     "message": "<what failed>", "phase": "<venv|deps|requires|copy|build|collect>",
 *     "recipe": "<recipe>", "variant": "<toolchain-pyX.Y>" }
 * `log` and `message` may be null.
 */
#ifndef PTBUILD_FAILURE_RECORD_H
#define PTBUILD_FAILURE_RECORD_H

#include "util/buf.h"
#include "util/diag.h"

struct failure_record {
	char *key;               /* owned: the build key of the failed build */
	char *recipe, *variant;  /* owned */
	char *phase;             /* owned: the phase that failed ("build") */
	char *message;           /* owned, may be NULL: what failed, one line or more */
	char *log;               /* owned, may be NULL: the build's log */
	long long finished;      /* Unix time of the failure */
};

void failure_record_release(struct failure_record *f);

/* build/state/<recipe>/<variant>.failed.json; caller frees. */
char *failure_record_path(const char *work_dir, const char *recipe, const char *variant);
/* The record as pretty JSON (keys sorted), appended to `out`. */
void failure_record_format(const struct failure_record *f, struct buf *out);
/* Writes the record of f->recipe and f->variant atomically, making its directory; -1 with an
 * error in `d`. */
int failure_record_write(const char *work_dir, const struct failure_record *f, struct diags *d);
/* Reads a record; -1 with an error in `d` (a missing file: -1 and errno ENOENT, no error). */
int failure_record_load(const char *path, struct failure_record *f, struct diags *d);
/* Removes the record of `recipe` and `variant`; an absent one is success. -1 with errno. */
int failure_record_remove(const char *work_dir, const char *recipe, const char *variant);

#endif
