/*
 * ccache's counts of one build, from the stats log it appends to (CCACHE_STATSLOG): per
 * call a comment line "# <input file>" and the call's statistics, one name a line. A call
 * is a hit (direct_cache_hit, preprocessed_cache_hit), a miss (cache_miss) or uncacheable:
 * its reason is the statistic ccache gave (called_for_link, multiple_source_files, ...).
 * Lines that only say how a result came about (direct_cache_miss, local_storage_*,
 * remote_storage_*) are not results.
 *
 * Each call is counted for the compiler its input file names (docs/building.md):
 * .cu/.cuh -> nvcc, .c -> cc, .cc/.cp/.cpp/.cxx/.c++/.C/.CPP -> c++, anything else or no
 * file (a link, a call without input) -> other. ccache before 4.12.3 takes nvcc's
 * `--dependency-output F.d` for a second source and logs F.d: a .d input is nvcc's too.
 */
#ifndef PTBUILD_CCACHE_STATS_H
#define PTBUILD_CCACHE_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/json.h"

enum ccache_kind { CCK_CC, CCK_CXX, CCK_NVCC, CCK_OTHER, CCK_COUNT };
/* "cc", "c++", "nvcc", "other" */
extern const char *const ccache_kind_names[CCK_COUNT];

/* The reasons kept per compiler, most frequent first. */
enum { CCACHE_REASONS = 8 };

struct ccache_reason {
	char name[48]; /* ccache's statistic, e.g. "called_for_link" */
	long count;
};

struct ccache_counts {
	long hits, misses, uncacheable;
	struct ccache_reason reasons[CCACHE_REASONS]; /* uncacheable calls, by count */
	size_t nreasons;
};

struct ccache_stats {
	long hits;        /* direct and preprocessed, all compilers */
	long misses;
	long uncacheable; /* calls ccache passed through: linking, preprocessing only, ... */
	bool any;         /* the log existed */
	struct ccache_counts by[CCK_COUNT];
};

/* The compiler a call on `file` is counted for (the comment line's file name; "" for none). */
enum ccache_kind ccache_kind_of(const char *file);
/* Counts the calls in a stats log text. */
void ccache_stats_parse(const char *text, struct ccache_stats *out);
/* Counts the results in a stats log written through CCACHE_STATSLOG; -1 if unreadable
 * (a missing file is an empty result). */
int ccache_stats_read(const char *statslog, struct ccache_stats *out);
/* Adds `count` uncacheable calls for `reason` to `c` (keeps the most frequent; ties by name). */
void ccache_counts_add_reason(struct ccache_counts *c, const char *reason, long count);
/* Hit rate in percent of cacheable calls; -1 when there were none. */
double ccache_hit_rate(const struct ccache_stats *s);
/* The `n` most frequent uncacheable reasons over every compiler into `out` (at most n);
 * returns how many. */
size_t ccache_top_reasons(const struct ccache_stats *s, struct ccache_reason *out, size_t n);
/* "c++ 40/2/0, nvcc 0/0/4 (hits/misses/uncacheable); uncacheable: multiple_source_files 4,
 * called_for_link 1": the compilers that had calls, and the top 3 reasons. Nothing when
 * ccache saw no call. */
void ccache_stats_describe(const struct ccache_stats *s, struct buf *out);

/* Writes key "compilers": {"c++": {"hits", "misses", "uncacheable", "uncacheable_reasons":
 * [{"count", "reason"}, ...]}, ...} with the compilers that had calls (keys sorted). */
void ccache_stats_write_compilers(struct jw *w, const struct ccache_stats *s);
/* Writes key "top_uncacheable": [{"count", "reason"}, ...], the 3 most frequent. */
void ccache_stats_write_top(struct jw *w, const struct ccache_stats *s);
/* Reads what ccache_stats_write_compilers wrote under `parent` into `s`'s per-compiler
 * counts (absent: left as they are). */
void ccache_stats_read_compilers(const struct jnode *parent, struct ccache_stats *s);

#endif
