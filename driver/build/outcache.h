/*
 * The output cache: <cache>/out/<build-key>/ holds the wheels of one successful build and
 * manifest.json, the build record (every input of the key, the wheels with their digests,
 * the time it took, ccache's counts per compiler). An entry appears whole, by rename, after the build
 * succeeded; a variant whose key has an entry is not built again.
 *
 * The same record is kept per recipe and variant in the work tree
 * (build/state/<recipe>/<variant>.json): the last successful build, which `explain`
 * compares with the current inputs and the scheduler takes its expected duration from.
 */
#ifndef PTBUILD_OUTCACHE_H
#define PTBUILD_OUTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/ccache_stats.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/hash.h"

struct out_wheel {
	char *file;                 /* owned: file name */
	char sha256[SHA256_HEX_SIZE];
	uint64_t size;
};

struct build_record {
	char *key;                  /* owned */
	char *recipe, *variant;     /* owned */
	char *inputs;               /* owned: the key input, compact canonical JSON */
	struct out_wheel *wheels;   /* owned */
	size_t nwheels;
	double seconds;             /* wall time of the build */
	long ccache_hits, ccache_misses;
	struct ccache_stats cc;     /* the same hits and misses, the uncacheable calls, and
				     * per compiler (zeros in a record written before them) */
	long long finished;         /* Unix time */
};

void build_record_release(struct build_record *r);
/* The record as pretty JSON (keys sorted). */
void build_record_write(const struct build_record *r, struct buf *out);
/* Reads a record; -1 with an error in `d` (a missing file: -1 and errno ENOENT, no error). */
int build_record_load(const char *path, struct build_record *r, struct diags *d);

/* <cache>/out/<key>; caller frees. */
char *out_entry_dir(const char *cache_dir, const char *key);
/* Whether the entry of `key` is complete. */
bool out_entry_exists(const char *cache_dir, const char *key);
/* Whether every wheel `r` lists is in `dir` with its recorded size: the check at reuse (a
 * digest of each would cost seconds for a torch wheel; `ptbuild verify` does that). With a
 * reason in `why` (caller frees) when it is not. */
bool out_entry_whole(const char *dir, const struct build_record *r, char **why);
/* Lists the wheels in `dir` with digests and sizes into `r` (sorted by name); -1 on I/O. */
int out_list_wheels(const char *dir, struct build_record *r, struct diags *d);

/* build/state/<recipe>/<variant>.json; caller frees. */
char *state_record_path(const char *work_dir, const char *recipe, const char *variant);

#endif
