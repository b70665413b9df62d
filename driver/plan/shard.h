/*
 * Shards: the buildable variants of a plan split over N runners (`--shard K/N`).
 *
 * A component is a set of built variants joined by "built variant depends on built
 * variant" (wheel sources do not join anything: every shard fetches them). Components stay
 * whole, so a shard never needs a variant another shard builds. They are placed largest
 * first (expected seconds, ties by the smallest "recipe/variant" id in them) on the shard
 * with the least expected seconds so far (ties: the lowest shard number). The split
 * depends only on the plan and the weights given, in whole milliseconds: every runner that
 * sees the same plan and the same weights computes the same shards.
 */
#ifndef PTBUILD_SHARD_H
#define PTBUILD_SHARD_H

#include <stddef.h>

#include "plan/plan.h"
#include "util/diag.h"

#define SHARD_MAX 256
#define SHARD_ID_SIZE 13 /* 12 hex digits and NUL */

struct shard_spec {
	int k; /* 1..n */
	int n; /* 1..SHARD_MAX */
};

/* Parses "K/N" (the value of `option`, for messages). -1 with an input error in `d`. */
int shard_parse(const char *text, const char *option, struct shard_spec *out, struct diags *d);
/* Parses a shard count "N" (1..SHARD_MAX). -1 with an input error in `d`. */
int shard_count_parse(const char *text, const char *option, int *out, struct diags *d);

struct shard_split {
	int nshards;
	int *shard_of;            /* owned, per plan variant: 1..nshards, 0 for a wheel source */
	long long *ms;            /* owned, index 1..nshards: expected milliseconds of a shard */
	size_t *count;            /* owned, index 1..nshards: variants a shard builds */
	char id[SHARD_ID_SIZE];   /* the split's identity: sha256 of every built variant's
				     key and shard, by id; two runners agree iff equal */
};

/* Splits `plan` into `nshards` shards; `seconds` (borrowed, one per variant, > 0) are the
 * expected durations. */
void shard_split_make(struct shard_split *s, const struct plan *plan, const double *seconds,
		      int nshards);
void shard_split_release(struct shard_split *s);

#endif
