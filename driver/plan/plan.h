/*
 * Plans: a build set (or targets) expanded into variants (recipe x toolchain x Python),
 * dependencies pulled in for the same toolchain and Python, ordered so that dependencies
 * come first, each with its composed environment and its build key (plan/key.h says what
 * a key holds).
 */
#ifndef PTBUILD_PLAN_H
#define PTBUILD_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "model/envflags.h"
#include "model/model.h"
#include "model/pins.h"
#include "model/project.h"
#include "plan/fingerprint.h"
#include "plan/series.h"
#include "plan/variant.h"
#include "util/diag.h"
#include "util/hash.h"

struct plan_request {
	const struct project *project;
	const struct buildset *set;             /* may be NULL */
	const char *const *targets;             /* replace the set's targets when given */
	size_t ntargets;
	const char *const *toolchains;          /* replace the set's toolchains when given */
	size_t ntoolchains;
	const char *const *pythons;             /* replace the set's Pythons when given */
	size_t npythons;
};

struct plan {
	struct variant *v;        /* owned, in build order: dependencies first */
	size_t n;
	struct fingerprints fp;
	const char **toolchains;  /* owned array of borrowed names: the matrix axes */
	size_t ntoolchains;
	const char **pythons;
	size_t npythons;
	const struct project *project; /* borrowed */
	const struct pins *pins;       /* borrowed: identities in the keys, or NULL */
};

/* Keys are computed without source pins (plan_rekey adds them). Returns -1 (errors in `d`)
 * when the request or the files are wrong; warnings may be left in `d` either way. */
int plan_make(struct plan *plan, const struct plan_request *req, struct diags *d);
/* Recomputes every key with the source identities in `pins` (borrowed, may be NULL). */
void plan_rekey(struct plan *plan, const struct pins *pins);
void plan_release(struct plan *plan);

#endif
