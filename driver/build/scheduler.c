#define _GNU_SOURCE /* pipe2 */
#include "build/scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/os.h"
#include "util/xalloc.h"

/* ---- choosing what starts ---------------------------------------------------------------- */

struct budget {
	int free;            /* slots */
	uint64_t mem_free;   /* bytes */
	bool mem_limited;
	int running;
};

static bool finished_badly(enum job_state s)
{
	return s == JOB_FAILED || s == JOB_SKIPPED || s == JOB_CANCELLED;
}

/* Marks waiting jobs whose dependencies cannot succeed any more as skipped. */
static void skip_blocked(struct sched_job *jobs, size_t n)
{
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (jobs[i].state != JOB_WAITING)
				continue;
			for (size_t k = 0; k < jobs[i].ndeps; k++) {
				if (finished_badly(jobs[jobs[i].deps[k]].state)) {
					jobs[i].state = JOB_SKIPPED;
					changed = true;
					break;
				}
			}
		}
	}
}

static bool is_ready(const struct sched_job *jobs, size_t i)
{
	if (jobs[i].state != JOB_WAITING)
		return false;
	for (size_t k = 0; k < jobs[i].ndeps; k++)
		if (jobs[jobs[i].deps[k]].state != JOB_OK)
			return false;
	return true;
}

/* The ready job to start now and its share, or SIZE_MAX when none may start. */
static size_t pick(const struct sched_job *jobs, size_t n, const struct budget *b, int *share)
{
	size_t best = SIZE_MAX, nready = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_ready(jobs, i))
			continue;
		nready++;
		if (best == SIZE_MAX || jobs[i].priority > jobs[best].priority)
			best = i;
	}
	if (best == SIZE_MAX || b->free <= 0)
		return SIZE_MAX;
	int s = b->free / (int)nready;
	if (s < 1)
		s = 1;
	uint64_t per = jobs[best].mem_per_slot;
	if (b->mem_limited && per) {
		uint64_t fit = b->mem_free / per;
		if (fit < (uint64_t)s)
			s = (int)fit;
		if (s < 1) {
			if (b->running)
				return SIZE_MAX; /* wait for memory */
			s = 1;
		}
	}
	*share = s;
	return best;
}

static void take(struct budget *b, const struct sched_job *j)
{
	b->free -= j->share;
	b->running++;
	uint64_t mem = j->mem_per_slot * (uint64_t)j->share;
	b->mem_free = mem > b->mem_free ? 0 : b->mem_free - mem;
}

static void give_back(struct budget *b, const struct sched_job *j, uint64_t mem_total)
{
	b->free += j->share;
	b->running--;
	b->mem_free += j->mem_per_slot * (uint64_t)j->share;
	if (b->mem_free > mem_total)
		b->mem_free = mem_total;
}

static struct budget budget_init(const struct sched_opts *o)
{
	return (struct budget){ o->jobs < 1 ? 1 : o->jobs, o->mem_available, o->mem_available != 0, 0 };
}

static double priority_of(struct sched_job *jobs, size_t n, size_t i, const size_t *const *users,
			  const size_t *nusers, bool *done)
{
	if (done[i])
		return jobs[i].priority;
	done[i] = true; /* a cycle cannot happen (plans are ordered), but would stop here */
	double best = 0;
	for (size_t k = 0; k < nusers[i]; k++) {
		double p = priority_of(jobs, n, users[i][k], users, nusers, done);
		if (p > best)
			best = p;
	}
	jobs[i].priority = jobs[i].weight + best;
	return jobs[i].priority;
}

void sched_prioritize(struct sched_job *jobs, size_t n)
{
	size_t **users = xcalloc(n + 1, sizeof(*users));
	size_t *nusers = xcalloc(n + 1, sizeof(*nusers));
	size_t *caps = xcalloc(n + 1, sizeof(*caps));
	bool *done = xcalloc(n + 1, sizeof(*done));
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < jobs[i].ndeps; k++) {
			size_t d = jobs[i].deps[k];
			GROW(users[d], caps[d], nusers[d] + 1);
			users[d][nusers[d]++] = i;
		}
	}
	for (size_t i = 0; i < n; i++)
		jobs[i].priority = 0;
	for (size_t i = 0; i < n; i++)
		priority_of(jobs, n, i, (const size_t *const *)users, nusers, done);
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	free(nusers);
	free(caps);
	free(done);
}

double sched_simulate(struct sched_job *jobs, size_t n, const struct sched_opts *o)
{
	struct budget b = budget_init(o);
	double now = 0;
	for (size_t i = 0; i < n; i++)
		jobs[i].state = JOB_WAITING;
	sched_prioritize(jobs, n);
	for (;;) {
		int share;
		size_t j;
		while ((j = pick(jobs, n, &b, &share)) != SIZE_MAX) {
			jobs[j].state = JOB_RUNNING;
			jobs[j].share = share;
			jobs[j].started = now;
			jobs[j].finished = now + jobs[j].weight;
			take(&b, &jobs[j]);
		}
		size_t next = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (jobs[i].state == JOB_RUNNING &&
			    (next == SIZE_MAX || jobs[i].finished < jobs[next].finished))
				next = i;
		if (next == SIZE_MAX)
			break;
		now = jobs[next].finished;
		jobs[next].state = JOB_OK;
		give_back(&b, &jobs[next], o->mem_available);
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].state == JOB_WAITING)
			jobs[i].state = JOB_SKIPPED;
	return now;
}

/* ---- running ------------------------------------------------------------------------------ */

static int signal_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGINT || sig == SIGTERM)
		stop_signal = sig;
	ssize_t w = write(signal_pipe[1], "x", 1);
	(void)w;
	errno = saved;
}

struct runner {
	struct sched_job *jobs;
	size_t n;
	const struct sched_ops *ops;
	const struct sched_opts *o;
	struct budget b;
	bool stopping;     /* a job failed and keep_going is off */
	bool interrupted;
	double kill_at;    /* when SIGKILL follows SIGTERM */
	bool killed;
};

static void emit(struct runner *r, size_t j, enum sched_event ev)
{
	if (r->ops->event)
		r->ops->event(r->ops->ctx, j, ev);
}

static const char *env_value(char *const *envp, const char *name)
{
	size_t len = strlen(name);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, len) && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/* Whether chdir(dir) would work; errno says why not. */
static bool can_enter(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return false;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return false;
	}
	return access(dir, X_OK) == 0;
}

/* Starts the child; returns its pid or -1 (reason written to the log). */
static pid_t spawn(const struct sched_spawn *sp)
{
	const char *name = sp->argv[0];
	char *path = strchr(name, '/') ? xstrdup(name)
				       : find_in_path(name, env_value(sp->envp, "PATH"));
	if (!path) {
		dprintf(sp->log_fd, "ptbuild: cannot run \"%s\": not found in PATH\n", name);
		return -1;
	}
	struct spawn_req req = { .path = path, .argv = sp->argv, .envp = sp->envp, .cwd = sp->cwd,
				 .out_fd = sp->log_fd };
	pid_t pid = -1;
	if (sp->cwd && !can_enter(sp->cwd)) {
		/* said here too: where posix_spawn cannot report a failed chdir (valgrind runs it
		 * as a fork), the child would exit 127 without a word */
		dprintf(sp->log_fd, "ptbuild: cannot enter \"%s\": %s\n", sp->cwd, strerror(errno));
	} else if (spawn_child(&req, &pid) < 0) {
		int e = errno;
		if (sp->cwd && !is_directory(sp->cwd))
			dprintf(sp->log_fd, "ptbuild: cannot enter \"%s\": %s\n", sp->cwd, strerror(e));
		else
			dprintf(sp->log_fd, "ptbuild: cannot run \"%s\": %s\n", path, strerror(e));
		pid = -1;
	}
	free(path);
	return pid;
}

static void finish(struct runner *r, size_t j, enum job_state st)
{
	struct sched_job *job = &r->jobs[j];
	if (st != JOB_OK) {
		/* Let the job discard what it had begun; the answer does not matter. */
		job->state = st;
		struct sched_spawn ignored = { 0 };
		r->ops->step(r->ops->ctx, j, &ignored);
	}
	job->state = st;
	job->finished = monotonic_seconds();
	job->pid = 0;
	give_back(&r->b, job, r->o->mem_available);
	if (st == JOB_FAILED && !r->o->keep_going)
		r->stopping = true;
	emit(r, j, EV_FINISHED);
}

/* Takes the job's next steps until it waits for a child or is finished. */
static void advance(struct runner *r, size_t j)
{
	struct sched_job *job = &r->jobs[j];
	struct sched_spawn sp = { 0 };
	enum sched_step st = r->ops->step(r->ops->ctx, j, &sp);
	if (st == STEP_DONE) {
		finish(r, j, JOB_OK);
	} else if (st == STEP_FAILED) {
		finish(r, j, JOB_FAILED);
	} else {
		job->pid = spawn(&sp);
		if (job->pid < 0) {
			job->status = 127;
			finish(r, j, JOB_FAILED);
		}
	}
}

static void start_ready(struct runner *r)
{
	if (stop_signal)
		r->interrupted = true;
	if (r->stopping || r->interrupted)
		return;
	int share;
	size_t j;
	while ((j = pick(r->jobs, r->n, &r->b, &share)) != SIZE_MAX) {
		struct sched_job *job = &r->jobs[j];
		job->state = JOB_RUNNING;
		job->share = share;
		job->started = monotonic_seconds();
		take(&r->b, job);
		emit(r, j, EV_STARTED);
		advance(r, j);
		skip_blocked(r->jobs, r->n);
		if (r->stopping || r->interrupted)
			return;
	}
}

static void reap(struct runner *r)
{
	for (size_t j = 0; j < r->n; j++) {
		struct sched_job *job = &r->jobs[j];
		if (job->state != JOB_RUNNING || job->pid <= 0)
			continue;
		int ws;
		pid_t got = waitpid(job->pid, &ws, WNOHANG);
		if (got == 0 || (got < 0 && errno == EINTR))
			continue;
		pid_t group = job->pid;
		job->pid = 0;
		job->status = got < 0 ? 127 : WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		if (r->interrupted) {
			kill(-group, SIGKILL); /* whatever of the group is left */
			finish(r, j, JOB_CANCELLED);
		} else if (job->status != 0) {
			finish(r, j, JOB_FAILED);
		} else {
			advance(r, j);
		}
		skip_blocked(r->jobs, r->n);
	}
}

static size_t running_count(const struct runner *r)
{
	size_t n = 0;
	for (size_t j = 0; j < r->n; j++)
		n += r->jobs[j].state == JOB_RUNNING;
	return n;
}

static void signal_all(struct runner *r, int sig)
{
	for (size_t j = 0; j < r->n; j++)
		if (r->jobs[j].state == JOB_RUNNING && r->jobs[j].pid > 0)
			kill(-r->jobs[j].pid, sig);
}

int sched_stop_signal(void)
{
	return stop_signal;
}

enum sched_result sched_run(struct sched_job *jobs, size_t n, const struct sched_ops *ops,
			    const struct sched_opts *o)
{
	struct runner r = { jobs, n, ops, o, budget_init(o), false, false, 0, false };
	for (size_t i = 0; i < n; i++) {
		jobs[i].state = JOB_WAITING;
		jobs[i].pid = 0;
		jobs[i].share = 0;
	}
	sched_prioritize(jobs, n);
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return SCHED_FAILED;
	stop_signal = 0;
	struct sigaction sa = { 0 }, old_int, old_term, old_chld;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGCHLD, &sa, &old_chld);

	double next_tick = monotonic_seconds() + o->tick_seconds;
	skip_blocked(jobs, n);
	start_ready(&r);
	while (running_count(&r) > 0) {
		double now = monotonic_seconds();
		int timeout = 1000;
		if (o->tick_seconds > 0)
			timeout = next_tick > now ? (int)((next_tick - now) * 1000) + 1 : 0;
		if (r.interrupted && !r.killed) {
			int until_kill = r.kill_at > now ? (int)((r.kill_at - now) * 1000) + 1 : 0;
			if (until_kill < timeout)
				timeout = until_kill;
		}
		struct pollfd pfd = { signal_pipe[0], POLLIN, 0 };
		poll(&pfd, 1, timeout);
		char drain[64];
		while (read(signal_pipe[0], drain, sizeof(drain)) > 0)
			;
		if (stop_signal && !r.interrupted) {
			r.interrupted = true;
			r.kill_at = monotonic_seconds() + (o->grace_seconds > 0 ? o->grace_seconds : 5);
			signal_all(&r, SIGTERM);
		}
		if (r.interrupted && !r.killed && monotonic_seconds() >= r.kill_at) {
			r.killed = true;
			signal_all(&r, SIGKILL);
		}
		reap(&r);
		start_ready(&r);
		if (o->tick_seconds > 0 && monotonic_seconds() >= next_tick) {
			emit(&r, SIZE_MAX, EV_TICK);
			next_tick = monotonic_seconds() + o->tick_seconds;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].state != JOB_WAITING)
			continue;
		jobs[i].state = r.interrupted ? JOB_CANCELLED : JOB_SKIPPED;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	close(signal_pipe[0]);
	close(signal_pipe[1]);
	signal_pipe[0] = signal_pipe[1] = -1;
	if (r.interrupted)
		return SCHED_INTERRUPTED;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].state != JOB_OK)
			return SCHED_FAILED;
	return SCHED_OK;
}
