/*
 * What a cache entry is referenced by, and the live files of running builds: while a
 * `ptbuild build` runs it keeps <cache>/live/<pid>.json (its start time, project, and the
 * output keys, mirrors and dist files its plan uses) with a lock held on <pid>.lock, so
 * `ptbuild cache gc` (build/cache_gc.h) never removes what it uses. Writers and the gc's
 * scan take <cache>/live/.lock (shared to write, exclusive to scan and remove), so a build
 * that registers while a gc runs either is seen by it or starts after the gc's removals.
 */
#ifndef PTBUILD_CACHE_LIVE_H
#define PTBUILD_CACHE_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/pins.h"
#include "session/session.h"
#include "util/diag.h"

/* A sorted set of owned strings. */
struct strset {
	char **v;
	size_t n, cap;
	bool sorted;
};

void strset_add(struct strset *s, const char *str);
bool strset_has(struct strset *s, const char *str);
void strset_release(struct strset *s);

/* What references cache entries: output keys (<cache>/out/<key>), mirror directory names
 * (<cache>/git/<name>.git) and dist digests (<cache>/dist/<sha256>). */
struct cache_refs {
	struct strset keys, mirrors, dist;
	struct strset envs; /* environment store entries (digests) the project's venvs came from */
};

void cache_refs_release(struct cache_refs *r);
/* The references of a session: the plan's keys and the lock's for them (`whole_lock`: every
 * key the lock records), the mirrors of every git recipe (its URL, its submodule overrides,
 * the submodule URLs of `pins` and of the lock), the files `pins` and the lock pin (and the
 * runtime closures of the same variants). `pins` may be NULL. */
void cache_refs_of_session(struct cache_refs *r, const struct session *s, const struct pins *pins,
			   bool whole_lock);

/* A running build's live file. */
struct cache_live {
	char *json;        /* owned: <cache>/live/<pid>.json, NULL when not registered */
	char *lock;        /* owned: <cache>/live/<pid>.lock */
	char *project;     /* owned */
	int fd;            /* holds the lock on `lock` */
	long long started_ms; /* Unix time in milliseconds */
};

/* Registers this process as a running build of `project_dir` (no references yet). 0, or -1
 * with a warning in `d` (the build goes on; a gc beside it may then remove what it needs). */
int cache_live_begin(struct cache_live *l, const char *cache_dir, const char *project_dir,
		     struct diags *d);
/* Rewrites the live file with `r`. 0, or -1 with a warning in `d`. */
int cache_live_update(struct cache_live *l, const struct cache_refs *r, struct diags *d);
/* Removes the live file and releases `l` (safe on a zeroed or failed one). */
void cache_live_end(struct cache_live *l);

/* Takes <cache>/live/.lock exclusively (waiting): the fd to close, or -1 with errno. */
int cache_live_lock_all(const char *cache_dir);

/*
 * Reads every live file of <cache>/live/ whose lock is held (the caller holds
 * cache_live_lock_all) into `into`; removes the others, stale ones of builds that died
 * (unless `dry_run`). *nlive gets the number of running builds and *oldest_ms the earliest
 * start among them, Unix time in milliseconds (0 when none). A live file that cannot be read while its build runs is an
 * error: -1 with it in `d` (gc cannot know what that build uses).
 */
int cache_live_scan(const char *cache_dir, bool dry_run, struct cache_refs *into, size_t *nlive,
		    long long *oldest_ms, struct diags *d);

#endif
