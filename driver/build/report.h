/*
 * The data of `ptbuild report`: one row per variant of the plan (or of some targets) with
 * its status, from its build record (build/state/<recipe>/<variant>.json), its failure
 * record (<variant>.failed.json) and the output cache. The renderers are in cli/.
 */
#ifndef PTBUILD_REPORT_H
#define PTBUILD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/failure_record.h"
#include "build/images.h"
#include "build/outcache.h"
#include "model/pins.h"
#include "plan/plan.h"
#include "session/session.h"
#include "util/diag.h"

enum report_status {
	REPORT_UP_TO_DATE,
	REPORT_STALE,
	REPORT_FAILED,
	REPORT_NOT_BUILT,
	REPORT_PREBUILT,
	REPORT_UNKNOWN,  /* built, but its key now is unknown: a source is not pinned (no lock) */
	REPORT_NSTATUS
};

struct report_row {
	const struct variant *v;       /* borrowed from the plan */
	enum report_status status;
	bool have_rec;
	struct build_record rec;       /* owned when have_rec: the last successful build, or for
					  an up-to-date variant the cached build of its key */
	bool have_fail;
	struct failure_record fail;    /* owned when have_fail: the last failed build, when it
					  decides the status */
	uint64_t wheel_bytes;
};

struct report {
	struct report_row *rows;       /* owned */
	size_t n;
	const char **targets;          /* owned array of borrowed names, plan order */
	size_t ntargets;
	const char **labels;           /* owned array of borrowed variant labels, plan order */
	size_t nlabels;
	const char *set;               /* borrowed; NULL without a set */
	size_t counts[REPORT_NSTATUS];
	struct image_record *images;   /* owned: what `ptbuild image` built (build/images/),
					  by variant, then kind */
	size_t nimages;
};

/*
 * Fills `r` (zeroed) with a row per variant of the session's plan whose recipe is one of
 * `targets` (all when ntargets is 0). Records that cannot be read, and stale variants whose
 * source is not locked, are warnings in `out`. `r` borrows from the session's plan. The
 * image records of the work directory come with it (all of them, whatever the targets).
 */
void report_load(struct report *r, const struct session *s, const struct pins *pins,
		 char *const *targets, size_t ntargets, struct diags *out);
void report_release(struct report *r);
/* The row of `target` x variant `label`, or NULL. */
const struct report_row *report_find_row(const struct report *r, const char *target,
					 const char *label);
/* "up to date", "stale", "failed", "not built", "prebuilt", "unknown". */
const char *report_status_name(enum report_status st);

#endif
