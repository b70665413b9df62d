/*
 * The scheduler: one loop that runs a graph of jobs, each a sequence of child processes
 * (and in-process steps between them), under a shared job budget.
 *
 * - Order: a job starts once all its dependencies succeeded; among the ready ones the one
 *   with the longest expected path to the end of the graph goes first (weights are
 *   expected seconds, from earlier builds where known).
 * - Budget: `jobs` slots are shared. A starting job takes its share, free slots divided by
 *   the jobs ready to start, at least 1, and no more than the memory it may use allows:
 *   `mem_per_slot` bytes per slot against what is left of `mem_available`. With nothing
 *   running a job always starts (share 1) so that a small machine still makes progress.
 * - Children: argv vectors (no shell), a fresh environment, stdin from /dev/null, stdout
 *   and stderr into the job's log, each in its own process group.
 * - Failure: without keep_going no new job starts after one failed; running ones finish.
 *   Jobs depending on a failed one are skipped.
 * - SIGINT/SIGTERM: every running group gets SIGTERM (SIGKILL after a grace period), the
 *   loop waits for all of them and returns SCHED_INTERRUPTED; the job callbacks get a
 *   final call so they can discard half-written outputs.
 */
#ifndef PTBUILD_SCHEDULER_H
#define PTBUILD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum job_state {
	JOB_WAITING,   /* dependencies not done yet, or no budget */
	JOB_RUNNING,
	JOB_OK,
	JOB_FAILED,
	JOB_SKIPPED,   /* a dependency failed, or the run stopped after a failure */
	JOB_CANCELLED, /* interrupted while running, or never started because of it */
};

struct sched_job {
	/* Set by the caller. */
	const size_t *deps;    /* borrowed: indices of jobs that must succeed first */
	size_t ndeps;
	double weight;         /* expected seconds; > 0 */
	uint64_t mem_per_slot; /* bytes one compiler process of this job may take; 0: none */
	/* Kept by the scheduler. */
	enum job_state state;
	int share;             /* slots it runs with (MAX_JOBS) */
	double priority;       /* weight of the longest path from here to the end */
	double started, finished; /* monotonic seconds */
	pid_t pid;             /* running child, 0 when none */
	int status;            /* exit code of the last child: 128+signal when killed */
};

/* What a job's step callback asks for. */
struct sched_spawn {
	char *const *argv;     /* borrowed until the child exits; argv[0] is looked up in PATH
				  of `envp` unless it contains a '/' */
	char *const *envp;     /* borrowed */
	const char *cwd;       /* NULL: the current directory */
	int log_fd;            /* stdout and stderr of the child */
};

enum sched_step {
	STEP_SPAWN,  /* start the child described in the spawn */
	STEP_DONE,   /* the job succeeded */
	STEP_FAILED, /* the job failed (its callback has said why, in its log) */
};

enum sched_event {
	EV_STARTED,   /* the job got its share and is about to take its first step */
	EV_FINISHED,  /* the job reached OK, FAILED, SKIPPED or CANCELLED */
	EV_TICK,      /* time passed (job is SIZE_MAX): redraw a status display */
};

struct sched_ops {
	void *ctx;
	/*
	 * Called when the job starts and after each of its children exited 0 (with
	 * `interrupted` false), or once more after an interrupt or a failed child (with the
	 * job's state already set, so it can clean up; its return is then ignored). Does the
	 * job's in-process work and says what comes next.
	 */
	enum sched_step (*step)(void *ctx, size_t job, struct sched_spawn *spawn);
	/* Progress, for the display. May be NULL. */
	void (*event)(void *ctx, size_t job, enum sched_event ev);
};

struct sched_opts {
	int jobs;                /* the budget: slots shared by running jobs, >= 1 */
	uint64_t mem_available;  /* bytes; 0: not limited by memory */
	bool keep_going;         /* start independent jobs after a failure */
	double tick_seconds;     /* EV_TICK period; 0: no ticks */
	double grace_seconds;    /* SIGTERM to SIGKILL on interrupt */
};

enum sched_result { SCHED_OK, SCHED_FAILED, SCHED_INTERRUPTED };

/* The signal (SIGINT or SIGTERM) that stopped the last sched_run(), 0 when none did. */
int sched_stop_signal(void);
/* Runs the graph. Every job ends OK, FAILED, SKIPPED or CANCELLED. */
enum sched_result sched_run(struct sched_job *jobs, size_t n, const struct sched_ops *ops,
			    const struct sched_opts *o);

/*
 * Plays the schedule without running anything, every job taking its weight in seconds,
 * and sets each job's share and started/finished (virtual seconds from 0): what the plan
 * shows. Returns the makespan.
 */
double sched_simulate(struct sched_job *jobs, size_t n, const struct sched_opts *o);

/* Sets each job's priority: its weight plus the largest priority of the jobs needing it. */
void sched_prioritize(struct sched_job *jobs, size_t n);

#endif
