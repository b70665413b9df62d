/*
 * `ptbuild cache du | gc`: what each part of the cache holds, and removing what nothing
 * references (docs/building.md, "The cache"). The parts: out (output entries), dist
 * (downloaded files), git (mirrors), envs (the environment store), ccache, and other (live
 * files, gc's lock and trash, anything else).
 *
 * gc removes, in this order: output entries, dist files, mirrors and env entries that
 * neither the project's references (build/cache_live.h: plan, lock, build records) nor a
 * running build's live file name and that were not used within `keep_days`; then, with a
 * size bound, the least recently used of the rest until out+dist+git+envs fit. What a running
 * build uses is never removed: the entries its live file names and every entry used since the
 * oldest running build started. ccache is left to ccache's own max_size. An entry is renamed
 * into <cache>/trash/ first and removed after, so a killed gc leaves every entry either
 * whole in place or in the trash (which the next gc empties).
 */
#ifndef PTBUILD_CACHE_GC_H
#define PTBUILD_CACHE_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/cache_live.h"
#include "model/project.h"
#include "util/diag.h"

enum cache_part { PART_OUT, PART_DIST, PART_GIT, PART_ENVS, PART_CCACHE, PART_OTHER, NPARTS };

/* "out", "dist", "git", "envs", "ccache", "other". */
const char *cache_part_name(enum cache_part p);

struct cache_usage {
	uint64_t bytes[NPARTS];   /* disk usage (allocated blocks, as du(1)), a hardlinked file once */
	size_t entries[NPARTS];   /* entries; for ccache and other: files */
	uint64_t total;           /* everything under the cache directory, the directory too */
};

/* Measures the cache (stat only). A missing cache directory is all zeros. 0, or -1 with an
 * environment error in `d`. */
int cache_du(const char *cache_dir, struct cache_usage *u, struct diags *d);

/* Adds the keys of the build records under `work_dir`/state/ of the recipes `p` has to `r`,
 * and the environment store entries the venvs under `work_dir`/venv/ were linked from. */
void cache_refs_add_state(struct cache_refs *r, const char *work_dir, const struct project *p);

struct gc_opts {
	bool dry_run;             /* decide and report, remove nothing */
	bool have_max;            /* --max-size given */
	uint64_t max_size;
	int keep_days;            /* entries used within this many days are kept (unless over
				     the size bound) */
	struct cache_refs *refs;  /* the project's references; may be NULL */
	long long now;            /* Unix time; 0: the clock */
};

struct gc_entry {
	enum cache_part part;
	char *name;               /* owned: the entry's name in its part's directory */
	char *label;              /* owned: "recipe/variant" for an output entry, or NULL */
	uint64_t bytes;
	long long used;           /* last use, Unix time */
	bool over_size;           /* removed for --max-size, not for being unreferenced */
};

struct gc_result {
	struct gc_entry *removed; /* owned, in the order removed */
	size_t n, cap;
	uint64_t freed;
	uint64_t kept;            /* bytes of out+dist+git+envs after */
	size_t nlive;             /* running builds seen */
};

void gc_result_release(struct gc_result *r);

/* Runs the gc (see above). 0, or -1 with errors in `d` (another gc holds <cache>/gc.lock, a
 * rename failed: classified as environment). */
int cache_gc(const char *cache_dir, const struct gc_opts *o, struct gc_result *r, struct diags *d);

#endif
