#define _GNU_SOURCE /* realpath */
#include "build/build.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/failure_record.h"
#include "build/remote_cache.h"
#include "build/steps.h"
#include "plan/fingerprint.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

const char *const build_outcome_names[] = {
	"pending", "cached", "prebuilt", "elsewhere", "built", "failed", "skipped", "cancelled",
};

#define DEFAULT_WEIGHT 60.0 /* expected seconds of a build never seen */

/* ---- preparing ----------------------------------------------------------------------------- */

struct build_item *build_item_of(const struct build *b, const struct variant *v)
{
	return &b->items[v - b->s->plan.v];
}

double build_expected_seconds(const char *work_dir, const struct variant *v)
{
	char *path = state_record_path(work_dir, v->recipe->name, v->label);
	struct build_record rec;
	struct diags d;
	diags_init(&d);
	double s = DEFAULT_WEIGHT;
	if (build_record_load(path, &rec, &d) == 0) {
		if (rec.seconds > 0)
			s = rec.seconds;
		build_record_release(&rec);
	}
	diags_release(&d);
	free(path);
	return s;
}

static uint64_t mem_per_job_of(const struct build *b, const struct variant *v)
{
	return v->recipe->mem_per_job ? v->recipe->mem_per_job : b->opts.mem_per_job;
}

static void make_jobs(struct build *b)
{
	b->jobs = xcalloc(b->n + 1, sizeof(*b->jobs));
	b->job_item = xcalloc(b->n + 1, sizeof(size_t));
	b->job_deps = xcalloc(b->n + 1, sizeof(size_t *));
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		if (it->outcome != OUTCOME_PENDING)
			continue;
		it->job = b->njobs++;
		b->job_item[it->job] = i;
	}
	for (size_t j = 0; j < b->njobs; j++) {
		struct build_item *it = &b->items[b->job_item[j]];
		const struct variant *v = it->v;
		struct sched_job *job = &b->jobs[j];
		b->job_deps[j] = xcalloc(v->ndeps + 1, sizeof(size_t));
		for (size_t k = 0; k < v->ndeps; k++) {
			const struct build_item *dep = &b->items[v->deps[k]];
			if (dep->job != SIZE_MAX)
				b->job_deps[j][job->ndeps++] = dep->job;
		}
		job->deps = b->job_deps[j];
		job->weight = it->expected;
		job->mem_per_slot = mem_per_job_of(b, v);
	}
}

void build_prepare(struct build *b, struct session *s, const struct pins *pins,
		   const struct build_opts *o, struct diags *d)
{
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->pins = pins;
	b->opts = *o;
	b->d = d;
	b->n = s->plan.n;
	b->work_dir = realpath(s->work_dir, NULL);
	if (!b->work_dir)
		b->work_dir = absolute_path(s->work_dir);
	b->items = xcalloc(b->n + 1, sizeof(*b->items));
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		const struct variant *v = &s->plan.v[i];
		it->v = v;
		it->job = SIZE_MAX;
		it->log_fd = -1;
		it->phase_name = "queued";
		if (v->recipe->source.kind == SOURCE_WHEEL) {
			it->outcome = OUTCOME_PREBUILT;
			continue;
		}
		if (!o->force && v->recipe->source.kind != SOURCE_PATH) {
			char *dir = out_entry_dir(s->cache_dir, v->key);
			char *manifest = path_join(dir, "manifest.json");
			char *why = NULL;
			if (build_record_load(manifest, &it->rec, d) == 0 &&
			    out_entry_whole(dir, &it->rec, &why)) {
				it->outcome = OUTCOME_CACHED;
			} else if (why) {
				diag_warn(d, NULL, "the output-cache entry %s is damaged (%s); %s (%s) is "
					  "built again", dir, why, v->recipe->name, v->label);
				build_record_release(&it->rec);
				remove_tree(dir);
			}
			free(why);
			free(manifest);
			free(dir);
			/* another shard's variant is not needed here (its chain is there) */
			bool elsewhere = o->shard_of && o->shard_of[i] != o->shard;
			if (it->outcome != OUTCOME_CACHED && o->remote && !elsewhere &&
			    remote_cache_fetch(o->remote, s->cache_dir, b->work_dir, v->key, &it->rec,
					       &it->remote_refused, d) == 1) {
				it->outcome = OUTCOME_CACHED;
				it->remote_hit = true;
			}
			if (it->outcome == OUTCOME_CACHED)
				continue;
		}
		if (o->shard_of && o->shard_of[i] != o->shard) {
			it->outcome = OUTCOME_ELSEWHERE;
			continue;
		}
		it->expected = build_expected_seconds(s->work_dir, v);
	}
	make_jobs(b);
}

static void on_event(void *ctx, size_t job, enum sched_event ev)
{
	struct build *b = ctx;
	const struct build_events *bev = b->ev;
	if (ev == EV_TICK) {
		if (bev->tick)
			bev->tick(bev->ctx, b);
		return;
	}
	size_t item = b->job_item[job];
	struct build_item *it = &b->items[item];
	if (ev == EV_STARTED) {
		if (bev->started)
			bev->started(bev->ctx, b, item);
		return;
	}
	switch (b->jobs[job].state) {
	case JOB_OK:
		it->outcome = OUTCOME_BUILT;
		failure_record_remove(b->work_dir, it->v->recipe->name, it->v->label);
		break;
	case JOB_FAILED: {
		it->outcome = OUTCOME_FAILED;
		/* for `report`: a failure is kept until the variant builds again */
		struct failure_record f = {
			.key = xstrdup(it->v->key), .recipe = xstrdup(it->v->recipe->name),
			.variant = xstrdup(it->v->label),
			.phase = xstrdup(it->phase_name ? it->phase_name : "start"),
			.message = xstrdup_or_null(it->failure), .log = xstrdup_or_null(it->log_path),
			.finished = (long long)time(NULL),
		};
		struct diags d;
		diags_init(&d);
		failure_record_write(b->work_dir, &f, &d); /* a report without it is still right */
		diags_release(&d);
		failure_record_release(&f);
		break;
	}
	case JOB_CANCELLED: it->outcome = OUTCOME_CANCELLED; break;
	default: it->outcome = OUTCOME_SKIPPED; break;
	}
	if (bev->finished)
		bev->finished(bev->ctx, b, item);
}

/* ---- running ------------------------------------------------------------------------------- */

static const char **toolchain_compilers(const struct build *b)
{
	const struct plan *plan = &b->s->plan;
	const char **names = xcalloc(2 * plan->n + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		names[n++] = plan->v[i].tc->cc;
		names[n++] = plan->v[i].tc->cxx;
	}
	return names;
}

/*
 * Every toolchain a job builds with has the compilers it names (cc, cxx, and nvcc or mcc):
 * they answered --version when the plan took their fingerprints. A missing one stops the
 * run before any tree is prepared or job started (an environment error), naming the
 * variants that need it. Cached and prebuilt variants need no compiler, and neither does
 * a pure Python package (builder "python"). 0 or -1 (classified).
 */
static int check_compilers(struct build *b)
{
	const struct fingerprints *fp = &b->s->plan.fp;
	size_t since = b->d->n;
	int errors = 0;
	for (size_t t = 0; t < fp->ntc; t++) {
		struct buf users = BUF_INIT;
		size_t nusers = 0;
		for (size_t j = 0; j < b->njobs; j++) {
			const struct variant *v = b->items[b->job_item[j]].v;
			if (v->tc != fp->tc[t].tc || v->recipe->builder == BUILDER_PYTHON)
				continue;
			if (nusers++ < 5)
				buf_addf(&users, "%s%s (%s)", nusers > 1 ? ", " : "", v->recipe->name,
					 v->label);
		}
		if (nusers > 5)
			buf_addf(&users, " and %zu more", nusers - 5);
		if (nusers)
			errors += fingerprint_check_tools(&fp->tc[t], users.data, b->d);
		buf_release(&users);
	}
	return errors ? diags_classify(b->d, since, DIAG_ENVIRONMENT) : 0;
}

/* The source trees of the variants to build, listed and prepared. 0 or -1 (classified). */
static int prepare_trees(struct build *b)
{
	bool *need = xcalloc(b->n + 1, sizeof(bool));
	for (size_t i = 0; i < b->n; i++)
		need[i] = b->items[i].outcome == OUTCOME_PENDING;
	struct tree_select sel = { false, false, need };
	int rc = trees_list(&b->s->plan, &b->s->project, &sel, &b->trees, b->d);
	free(need);
	if (rc < 0)
		return -1;
	struct source_opts so = session_source_opts(b->s, false);
	return trees_prepare(&so, b->s->project.dir, &b->trees, b->pins, b->d);
}

/* ccache, and its CUDA home when a cpp_extension variant builds with CUDA. 0 or -1. */
static int prepare_ccache(struct build *b)
{
	size_t since = b->d->n;
	const char **compilers = toolchain_compilers(b);
	int rc = ccache_prepare(&b->cc, b->s->cache_dir, compilers, b->d);
	free(compilers);
	if (rc < 0)
		return diags_classify(b->d, since, DIAG_ENVIRONMENT);
	bool read_only = false;
	const char *storage = fleet_config_ccache_remote(&b->s->fleet, &read_only);
	ccache_set_remote(&b->cc, storage, read_only);
	char *dir = path_join(b->work_dir, "cuda");
	for (size_t j = 0; j < b->njobs && b->cc.program; j++) {
		const struct variant *v = b->items[b->job_item[j]].v;
		if (!v->tc->cuda.enabled || v->recipe->builder != BUILDER_CPP_EXTENSION ||
		    build_cuda_home(b, v->tc))
			continue;
		char *home = ccache_cuda_home(&b->cc, v->tc->cuda.home, dir, v->tc->name, b->d);
		if (!home) {
			free(dir);
			return diags_classify(b->d, since, DIAG_ENVIRONMENT);
		}
		b->cuda = xrealloc(b->cuda, (b->ncuda + 1) * sizeof(*b->cuda));
		b->cuda[b->ncuda++] = (struct cuda_wrap){ v->tc, home };
	}
	free(dir);
	return 0;
}

const char *build_cuda_home(const struct build *b, const struct toolchain *tc)
{
	for (size_t i = 0; i < b->ncuda; i++)
		if (b->cuda[i].tc == tc)
			return b->cuda[i].home;
	return NULL;
}

/*
 * Shares what this run has with the remote cache: every entry built now, and every local
 * entry of the plan the remote lacks (not those that came from it). After the first failure
 * the remote is down for the run and this is a no-op.
 */
static void publish_entries(struct build *b)
{
	struct remote_cache *rc = b->opts.remote;
	if (!rc || rc->read_only)
		return;
	for (size_t i = 0; i < b->n && !rc->down; i++) {
		struct build_item *it = &b->items[i];
		if (it->outcome == OUTCOME_BUILT ||
		    (it->outcome == OUTCOME_CACHED && !it->remote_hit))
			remote_cache_publish(rc, b->s->cache_dir, it->v->key, it->remote_refused,
					     b->d);
	}
}

/*
 * A shard builds only its variants; what they need from other shards must be in the output
 * cache already. With whole components per shard (plan/shard.h) that never happens unless
 * the plans differ; the error names the missing variant and its shard. 0 or -1 (environment).
 */
static int check_shard_deps(struct build *b)
{
	size_t since = b->d->n;
	for (size_t j = 0; j < b->njobs; j++) {
		const struct variant *v = b->items[b->job_item[j]].v;
		for (size_t k = 0; k < v->ndeps; k++) {
			const struct build_item *dep = &b->items[v->deps[k]];
			if (dep->outcome != OUTCOME_ELSEWHERE)
				continue;
			diag_error(b->d, NULL, "%s (%s) needs %s (%s), which shard %d/%d builds, and "
				   "the output cache has no entry for its key %.12s", v->recipe->name,
				   v->label, dep->v->recipe->name, dep->v->label,
				   b->opts.shard_of[v->deps[k]], b->opts.nshards, dep->v->key);
			diag_hint(b->d, "run shard %d/%d first with the same output cache (a shared "
				  "PTBUILD_CACHE or remote cache), or build without --shard",
				  b->opts.shard_of[v->deps[k]], b->opts.nshards);
		}
	}
	return b->d->n > since ? diags_classify(b->d, since, DIAG_ENVIRONMENT) : 0;
}

static int run_jobs(struct build *b, const struct build_events *ev);

int build_run(struct build *b, const struct build_events *ev)
{
	int rc = run_jobs(b, ev);
	if (!(rc < 0 && diags_failure(b->d) == DIAG_INTERRUPTED))
		publish_entries(b);
	return rc;
}

static int run_jobs(struct build *b, const struct build_events *ev)
{
	b->ev = ev;
	if (!b->njobs)
		return 0;
	if (check_shard_deps(b) < 0 || check_compilers(b) < 0 || prepare_trees(b) < 0 ||
	    session_fetch_pinned_files(b->s, b->pins, b->d) < 0 || prepare_ccache(b) < 0)
		return -1;
	for (size_t j = 0; j < b->njobs; j++) {
		b->items[b->job_item[j]].phase = PHASE_START;
		b->jobs[j].mem_per_slot = mem_per_job_of(b, b->items[b->job_item[j]].v);
	}
	struct sched_ops ops = { b, build_step, on_event };
	struct sched_opts so = {
		.jobs = b->opts.jobs,
		.mem_available = b->opts.mem_available,
		.keep_going = b->opts.keep_going,
		.tick_seconds = ev->tick_seconds > 0 ? ev->tick_seconds : 5,
		.grace_seconds = 5,
	};
	enum sched_result r = sched_run(b->jobs, b->njobs, &ops, &so);
	for (size_t j = 0; j < b->njobs; j++) {
		struct build_item *it = &b->items[b->job_item[j]];
		if (it->outcome == OUTCOME_PENDING)
			it->outcome = r == SCHED_INTERRUPTED ? OUTCOME_CANCELLED : OUTCOME_SKIPPED;
	}
	b->ev = NULL;
	if (r == SCHED_INTERRUPTED)
		return diag_fail(b->d, DIAG_INTERRUPTED);
	if (r == SCHED_FAILED)
		return diag_fail(b->d, DIAG_BUILD_FAILED);
	return 0;
}

void build_shard_split(struct shard_split *out, const struct session *s, int nshards)
{
	double *seconds = xcalloc(s->plan.n + 1, sizeof(double));
	for (size_t i = 0; i < s->plan.n; i++)
		seconds[i] = build_expected_seconds(s->work_dir, &s->plan.v[i]);
	shard_split_make(out, &s->plan, seconds, nshards);
	free(seconds);
}

void build_opts_defaults(struct build_opts *o)
{
	if (!o->jobs)
		o->jobs = (int)cpu_count();
	if (!o->mem_per_job)
		o->mem_per_job = 2ULL << 30;
	o->mem_available = mem_available_bytes();
}

int *build_expected_shares(struct session *s, const struct build_opts *o)
{
	struct diags d;
	diags_init(&d);
	struct build b;
	int *shares = xcalloc(s->plan.n + 1, sizeof(int));
	build_prepare(&b, s, NULL, o, &d);
	struct sched_opts so = { .jobs = o->jobs, .mem_available = o->mem_available };
	sched_simulate(b.jobs, b.njobs, &so);
	for (size_t j = 0; j < b.njobs; j++)
		shares[b.job_item[j]] = b.jobs[j].share;
	build_release(&b);
	diags_release(&d);
	return shares;
}

void build_release(struct build *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		build_item_cleanup(it);
		free(it->log_path);
		free(it->stats_path);
		free(it->venv);
		free(it->work);
		build_record_release(&it->rec);
		strv_free(it->envp);
		strv_free(it->argv);
		for (size_t k = 0; k < it->nwheels; k++)
			free(it->wheels[k].path);
		free(it->wheels);
		free(it->failure);
	}
	free(b->items);
	for (size_t j = 0; j < b->njobs; j++)
		free(b->job_deps[j]);
	free(b->job_deps);
	free(b->jobs);
	free(b->job_item);
	trees_release(&b->trees);
	ccache_release(&b->cc);
	for (size_t i = 0; i < b->ncuda; i++)
		free(b->cuda[i].home);
	free(b->cuda);
	free(b->work_dir);
	memset(b, 0, sizeof(*b));
}

