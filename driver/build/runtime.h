/*
 * The runtime closure of built wheels: what a wheel the plan builds requires at run time
 * (its Requires-Dist) and the plan does not provide, resolved to wheels, so that a
 * wheelhouse installs by itself (torch_sparse needs scipy, scipy needs numpy).
 *
 * A variant's closure is valid for its build key and its requirement lines: ptbuild.lock
 * pins it per variant (`runtime`: the lines and the wheels' names and sha256), the files
 * stay in the cache by digest (cache/dist/<sha256>/<file>). Lines whose project a wheel of
 * the same toolchain and Python provides (torch, torch_scatter) and lines only for extras
 * are left out: the plan's own wheels answer them. The rest are resolved by
 * `pip download -r` run by the variant's interpreter (markers evaluated for it), within
 * constraints that pin every provided project to the plan's version, with the provided
 * wheels as --find-links so that a dependency on one is never fetched again.
 */
#ifndef PTBUILD_RUNTIME_H
#define PTBUILD_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "model/pins.h"
#include "session/lockfile.h"
#include "session/session.h"
#include "sources/pypi_source.h"
#include "util/diag.h"

enum runtime_mode {
	RUNTIME_RESOLVE, /* the lock's closure where it applies, else resolved */
	RUNTIME_LOCKED,  /* --locked: the lock's only; a missing file may be downloaded */
	RUNTIME_FROZEN,  /* --frozen: the lock's only, from the cache */
};

struct runtime_closure {
	size_t variant;              /* index into the plan */
	char *requires;              /* owned: the lines resolved, sorted, "\n"-joined, "" none */
	struct pypi_file *files;     /* owned: the wheels, in the cache */
	size_t nfiles;
	bool resolved_now;           /* not taken from the lock */
};

struct runtime_set {
	struct runtime_closure *v;   /* owned: one per built variant with an output entry */
	size_t n;
};

struct runtime_request {
	enum runtime_mode mode;
	bool offline;                /* --offline (or --frozen): no network */
	const char *offline_flag;    /* which option, for messages */
	const struct lockfile *lock; /* NULL: none */
};

/*
 * The closure of every built variant of the plan whose output-cache entry exists (the
 * others are skipped: collect and build say they are not built). Wheel sources bring their
 * own closure (their pins) and are skipped too. Returns 0, or -1 with errors in `d`:
 * class input when the lock lacks or contradicts what --locked needs, environment when a
 * file or the index cannot be had.
 */
int runtime_resolve(const struct session *s, const struct pins *pins,
		    const struct runtime_request *rq, struct runtime_set *out, struct diags *d);

/* Writes each closure resolved now into `lock`, for the variants the lock has with the
 * same build key; the number written. */
size_t runtime_record(const struct session *s, const struct runtime_set *r,
		      struct lockfile *lock);

/* Copies into `to` the runtime closures of `from` whose variant `to` has with the same
 * key (what `lock` keeps of the lock it replaces). */
void runtime_carry(const struct lockfile *from, struct lockfile *to);

void runtime_set_release(struct runtime_set *r);

#endif
