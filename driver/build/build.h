/*
 * The build engine: turns a planned, pinned session into wheels.
 *
 * Every variant of the plan is one item: cached (its key has an output-cache entry),
 * prebuilt (a wheel source), or built by a scheduler job. A job's phases:
 *   venv      python -m venv from the toolchain's interpreter (reused while its inputs,
 *             the dependency wheels and build_requires, are unchanged)
 *   deps      dependency wheels installed with pip --no-index --no-deps
 *   requires  build_requires installed with pip, constrained to the dependencies' versions
 *   copy      the variant's work tree build/work/<variant>/<recipe>/ copied from its source
 *             tree; a tree whose flags are unchanged keeps its build/ directory
 *   build     the recipe's command (or the builder's default, pip wheel without isolation)
 *             in a fresh environment with ccache, MAX_JOBS and the job's share
 *   collect   the wheels and the build record enter the output cache atomically
 * Logs: build/logs/<variant>/<recipe>.log, one per job, every phase in it.
 */
#ifndef PTBUILD_BUILD_H
#define PTBUILD_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "build/ccache.h"
#include "build/outcache.h"
#include "build/scheduler.h"
#include "session/session.h"
#include "session/trees.h"
#include "util/staged.h"

enum build_outcome {
	OUTCOME_PENDING,
	OUTCOME_CACHED,    /* the output cache has its key */
	OUTCOME_PREBUILT,  /* a wheel source: nothing to build */
	OUTCOME_BUILT,
	OUTCOME_FAILED,
	OUTCOME_SKIPPED,   /* a dependency failed, or the run stopped after a failure */
	OUTCOME_CANCELLED, /* interrupted */
};

extern const char *const build_outcome_names[];

enum build_phase {
	PHASE_START, PHASE_VENV, PHASE_DEPS, PHASE_REQUIRES, PHASE_VENV_DONE, PHASE_COPY, PHASE_SWAP,
	PHASE_BUILD, PHASE_COLLECT, PHASE_END,
};

/* A wheel a build's venv installs: a dependency's output or a wheel source's pinned file. */
struct dep_wheel {
	char *path;                   /* owned */
	char sha256[SHA256_HEX_SIZE]; /* known already: from the build record or the pin */
};

/* One variant of the plan. */
struct build_item {
	const struct variant *v;      /* borrowed */
	enum build_outcome outcome;
	size_t job;                   /* scheduler job, SIZE_MAX when nothing is built */
	enum build_phase phase;
	const char *phase_name;       /* what runs now: "venv", "deps", "build", ... */
	double phase_started;         /* monotonic seconds */
	char *log_path;               /* owned */
	char *stats_path;             /* owned: CCACHE_STATSLOG */
	char *venv;                   /* owned */
	char *work;                   /* owned: the tree the build runs in */
	const char *tree;             /* borrowed from the trees: the source tree */
	int log_fd;
	struct staged_dir out;        /* the output-cache entry being written */
	struct build_record rec;      /* the record of the build (or of the cached entry) */
	struct ccache_stats cc;
	bool same_source;             /* the work tree holds this source already */
	bool same_flags;              /* ... and was built with these flags */
	bool fresh;                   /* flags changed: its build directory goes (CMAKE_FRESH) */
	struct dep_wheel *wheels;     /* owned: what the venv installs */
	size_t nwheels;
	double expected;              /* seconds, from the last build or a default */
	long long epoch;              /* SOURCE_DATE_EPOCH of the build and of its wheels */
	char **envp;                  /* owned, NULL-terminated: the build's environment */
	char **argv;                  /* owned: the current child's arguments */
	char venv_key[SHA256_HEX_SIZE];
	char flags_key[SHA256_HEX_SIZE];  /* inputs that invalidate a build directory */
	char source_key[SHA256_HEX_SIZE]; /* the source tree's identity and patches */
	char *failure;                /* owned: what failed, for messages */
};

struct build_ui; /* ui.h */

struct build_opts {
	int jobs;                /* -j */
	uint64_t mem_per_job;    /* default bytes per compiler process */
	uint64_t mem_available;  /* 0: not limited */
	bool keep_going;
	bool force;              /* build even where the output cache has the key */
};

struct build {
	struct session *s;             /* borrowed */
	const struct pins *pins;       /* borrowed */
	struct tree_work trees;        /* owned */
	struct ccache cc;              /* owned */
	struct build_item *items;      /* owned, one per plan variant, in plan order */
	size_t n;
	struct sched_job *jobs;        /* owned */
	size_t *job_item;              /* owned: item of each job */
	size_t **job_deps;             /* owned */
	size_t njobs;
	struct build_opts opts;
	struct build_ui *ui;           /* borrowed */
	char *cuda_home;               /* owned: the ccache CUDA home, when a variant uses CUDA */
	char *work_dir;                /* owned: absolute build/ */
	struct diags *d;               /* borrowed */
};

/* Sorts the plan's variants into cached, prebuilt and to build (the jobs). Reads the
 * output cache and the build records; writes nothing. */
void build_prepare(struct build *b, struct session *s, const struct pins *pins,
		   const struct build_opts *o, struct diags *d);
/* Lists and prepares the source trees the jobs need, sets up ccache, runs the jobs.
 * Returns an exit code: 0, 1 (a build failed), 2/3 (trees or set-up), 130 (interrupted). */
int build_run(struct build *b, struct build_ui *ui);
void build_release(struct build *b);
/* The item of plan variant `v`. */
struct build_item *build_item_of(struct build *b, const struct variant *v);

/* The expected share (MAX_JOBS) of each variant of `s`'s plan that is not cached, from a
 * simulated schedule; 0 for cached and prebuilt ones. Caller frees. */
int *build_expected_shares(struct session *s, const struct build_opts *o);

/* The option id of --mem-per-job, for the long-option tables of build and plan. */
enum { OPT_MEM_PER_JOB = 2900 };
#define BUDGET_LONG_OPTIONS                                         \
	{ "jobs", required_argument, NULL, 'j' },                   \
	{ "mem-per-job", required_argument, NULL, OPT_MEM_PER_JOB }

/* Takes -j and --mem-per-job (cmd_build.c): 1 when taken, 0 when not one of them, -1 on a
 * bad value (reported). */
int build_option(struct cli *cli, struct build_opts *o, int opt, const char *arg);
/* Fills what the command line left out: cores, 2 GiB per job, MemAvailable. */
void build_opts_defaults(struct build_opts *o);

#endif
