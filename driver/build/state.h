/*
 * The state of one build run: an item per plan variant (what it is, which phase its job is
 * in, its paths and keys), the scheduler's jobs, and where progress is reported. Shared by
 * the run (build.c), the steps of a job (steps.c) and what a job runs with (buildenv.c).
 */
#ifndef PTBUILD_BUILD_STATE_H
#define PTBUILD_BUILD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	OUTCOME_ELSEWHERE, /* another shard builds it (build --shard), and no in-shard one needs it */
	OUTCOME_BUILT,
	OUTCOME_FAILED,
	OUTCOME_SKIPPED,   /* a dependency failed, or the run stopped after a failure */
	OUTCOME_CANCELLED, /* interrupted */
};

extern const char *const build_outcome_names[];

enum build_phase {
	PHASE_START, PHASE_VENV, PHASE_DEPS, PHASE_REQUIRES, PHASE_VENV_DONE, PHASE_COPY, PHASE_SWAP,
	PHASE_BUILD, PHASE_COLLECT, PHASE_FINISHED, PHASE_END,
	PHASE_ENV_SEAL, PHASE_ENV_LINKED, /* the environment store (envstore.h) */
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
	char venv_key[SHA256_HEX_SIZE];   /* also the digest of its store entry with build_requires */
	char env_bare[SHA256_HEX_SIZE];    /* the store entry of the interpreter alone (pip in it) */
	char env_closure[SHA256_HEX_SIZE]; /* ... + the dependency wheels: shared by every variant
					      with this closure */
	const char *env_base;         /* the entry env_stage was linked from; NULL: python -m venv */
	struct staged_dir env_stage;  /* a store entry being made */
	char *env_made_at;            /* owned: the venv in env_stage */
	const char *env_level;        /* what env_stage holds, for the log */
	int env_lock;                 /* flock on the entry being made, while env_locked */
	bool env_locked;
	bool env_linked;              /* the venv's files are links into the store: check them */
	char *env_tmp;                /* owned: the venv being linked, beside it->venv */
	char *env_entry;              /* owned: the store entry the venv is linked from */
	double env_started;           /* monotonic seconds: the current store step's start */
	double env_since;             /* monotonic seconds: when the venv phase began */
	double env_making;            /* seconds this job made (or waited for) store entries */
	char flags_key[SHA256_HEX_SIZE];  /* inputs that invalidate a build directory */
	char source_key[SHA256_HEX_SIZE]; /* the source tree's identity and patches */
	char *failure;                /* owned: what failed, for messages */
	bool remote_hit;              /* cached: entered from the remote cache in this run */
	bool remote_refused;          /* the remote's entry was bad: publish over it */
	char *finish_args;            /* owned: the finisher's arguments (JSON) while it runs */
	char *finish_result;          /* owned: where it writes what failed */
};

struct build;
struct remote_cache;

/* What a front end (the terminal UI, a CI stage, a test) is told while a build runs; any
 * callback may be NULL. `ctx` is the front end's. */
struct build_events {
	void *ctx;
	void (*started)(void *ctx, const struct build *b, size_t item);
	void (*phase)(void *ctx, const struct build *b, size_t item);   /* a job's next phase */
	void (*finished)(void *ctx, const struct build *b, size_t item);
	void (*tick)(void *ctx, const struct build *b);                 /* every tick_seconds */
	double tick_seconds;                                            /* 0: 5 seconds */
};

struct build_opts {
	int jobs;                /* -j */
	uint64_t mem_per_job;    /* default bytes per compiler process */
	uint64_t mem_available;  /* 0: not limited */
	bool keep_going;
	bool force;              /* build even where the output cache has the key */
	struct remote_cache *remote; /* borrowed: the shared output cache, or NULL */
	const int *shard_of;     /* borrowed, per plan variant: the shard that builds it (0: a
				    wheel source); NULL: no sharding (plan/shard.h) */
	int shard, nshards;      /* this run's shard K of N */
};

/* The CUDA home whose bin/nvcc runs through ccache, of one toolchain. */
struct cuda_wrap {
	const struct toolchain *tc; /* borrowed */
	char *home;                 /* owned: <work>/cuda/<toolchain> */
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
	const struct build_events *ev; /* borrowed, during build_run */
	struct cuda_wrap *cuda;        /* owned: the ccache CUDA home of each CUDA toolchain */
	size_t ncuda;
	char *work_dir;                /* owned: absolute build/ */
	struct diags *d;               /* borrowed */
};

/* The ccache CUDA home for `tc`; NULL without ccache or CUDA. */
const char *build_cuda_home(const struct build *b, const struct toolchain *tc);

/* The item of plan variant `v`. */
struct build_item *build_item_of(const struct build *b, const struct variant *v);

#endif
