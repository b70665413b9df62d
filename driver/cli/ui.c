#include "cli/ui.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/remote_cache.h"
#include "cli/answer.h"
#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"

#define TAIL_LINES 40

void ui_init(struct build_ui *u, const struct cli *cli, const char *base)
{
	memset(u, 0, sizeof(*u));
	u->out = cli->out;
	u->err = cli->err;
	u->quiet = cli->quiet;
	u->base = base;
	u->mode = cli->json ? UI_JSON : isatty(fileno(cli->err)) ? UI_TTY : UI_PLAIN;
	u->started = monotonic_seconds();
	u->last_note = u->started;
}

static const char *shown(const struct build_ui *u, const char *path)
{
	size_t n = u->base ? strlen(u->base) : 0;
	if (path && n && !strncmp(path, u->base, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

/* The last `lines` lines of a log into `out`. */
static void log_tail(const char *path, size_t lines, struct buf *out)
{
	struct buf text = BUF_INIT;
	if (read_file(path, &text) < 0) {
		buf_release(&text);
		return;
	}
	size_t end = text.len, start = end, seen = 0;
	if (end && text.data[end - 1] == '\n')
		start = --end;
	while (start > 0 && seen < lines) {
		start--;
		if (text.data[start] == '\n' && ++seen == lines) {
			start++;
			break;
		}
	}
	buf_add(out, text.data + start, end - start);
	buf_release(&text);
}

static void elapsed(double seconds, char *out, size_t len)
{
	if (seconds < 60)
		snprintf(out, len, "%.1f s", seconds);
	else if (seconds < 3600)
		snprintf(out, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
	else
		snprintf(out, len, "%dh%02dm", (int)seconds / 3600, (int)seconds % 3600 / 60);
}

void ui_clear(struct build_ui *u)
{
	if (u->mode != UI_TTY || !u->drawn)
		return;
	fprintf(u->err, "\033[%dA\033[J", u->drawn);
	u->drawn = 0;
}

static void draw(struct build_ui *u, const struct build *b)
{
	if (u->mode != UI_TTY || u->quiet)
		return;
	ui_clear(u);
	double now = monotonic_seconds();
	for (size_t j = 0; j < b->njobs; j++) {
		const struct build_item *it = &b->items[b->job_item[j]];
		if (b->jobs[j].state != JOB_RUNNING)
			continue;
		char t[32], p[32];
		elapsed(now - b->jobs[j].started, t, sizeof(t));
		elapsed(now - it->phase_started, p, sizeof(p));
		fprintf(u->err, "  %-24s %-16s %-9s %8s  (%s in all, %d job%s)\n",
			it->v->recipe->name, it->v->label, it->phase_name, p, t, b->jobs[j].share,
			b->jobs[j].share == 1 ? "" : "s");
		u->drawn++;
	}
	fflush(u->err);
}

/* ccache_hits and ccache_misses (as before), ccache_uncacheable, and "ccache": the
 * per-compiler counts and the top uncacheable reasons. */
static void write_ccache_json(struct jw *w, const struct ccache_stats *cc)
{
	jw_kint(w, "ccache_hits", cc->hits);
	jw_kint(w, "ccache_misses", cc->misses);
	jw_kint(w, "ccache_uncacheable", cc->uncacheable);
	jw_key(w, "ccache");
	jw_object_begin(w);
	ccache_stats_write_compilers(w, cc);
	ccache_stats_write_top(w, cc);
	jw_object_end(w);
}

static void json_event(struct build_ui *u, const struct build *b, size_t item, const char *event)
{
	const struct build_item *it = &b->items[item];
	struct buf out = BUF_INIT;
	struct jw w;
	jw_init(&w, &out, false);
	jw_object_begin(&w);
	jw_kstring(&w, "event", event);
	jw_kstring(&w, "recipe", it->v->recipe->name);
	jw_kstring(&w, "variant", it->v->label);
	if (it->job != SIZE_MAX) {
		const struct sched_job *job = &b->jobs[it->job];
		jw_kint(&w, "jobs", job->share);
		if (!strcmp(event, "phase"))
			jw_kstring(&w, "phase", it->phase_name);
		if (!strcmp(event, "finished")) {
			jw_kstring(&w, "status", build_outcome_names[it->outcome]);
			jw_kint(&w, "milliseconds", (long long)((job->finished - job->started) * 1000));
			write_ccache_json(&w, &it->cc);
			jw_kstring(&w, "log", it->log_path);
			if (it->failure)
				jw_kstring(&w, "error", it->failure);
		}
	}
	jw_object_end(&w);
	fprintf(u->out, "%s\n", out.data);
	fflush(u->out);
	buf_release(&out);
}

void ui_started(struct build_ui *u, const struct build *b, size_t item)
{
	const struct build_item *it = &b->items[item];
	if (u->mode == UI_JSON) {
		json_event(u, b, item, "started");
	} else if (u->mode == UI_PLAIN && !u->quiet) {
		fprintf(u->err, "start   %s (%s), %d job%s\n", it->v->recipe->name, it->v->label,
			b->jobs[it->job].share, b->jobs[it->job].share == 1 ? "" : "s");
		fflush(u->err);
	} else {
		draw(u, b);
	}
}

void ui_phase(struct build_ui *u, const struct build *b, size_t item)
{
	if (u->mode == UI_JSON)
		json_event(u, b, item, "phase");
	else
		draw(u, b);
}

static void print_failure(struct build_ui *u, const struct build_item *it)
{
	struct buf tail = BUF_INIT;
	log_tail(it->log_path, TAIL_LINES, &tail);
	fprintf(u->err, "error: %s (%s) failed in %s: %s\n", it->v->recipe->name, it->v->label,
		it->phase_name, it->failure ? it->failure : "see its log");
	fprintf(u->err, "---- last %d lines of %s ----\n%s%s---- the whole log: %s\n", TAIL_LINES,
		shown(u, it->log_path), tail.data ? tail.data : "",
		tail.len && tail.data[tail.len - 1] != '\n' ? "\n" : "", it->log_path);
	buf_release(&tail);
}

/* "ccache 93% of 15: c++ 14/1/0, other 0/0/2 (hits/misses/uncacheable); uncacheable:
 * called_for_link 2": the hit rate of cacheable calls, never without the uncacheable ones. */
static void describe_ccache(const struct ccache_stats *cc, struct buf *out)
{
	double hr = ccache_hit_rate(cc);
	if (hr >= 0)
		buf_addf(out, "ccache %.0f%% of %ld", hr, cc->hits + cc->misses);
	else if (cc->uncacheable)
		buf_adds(out, "ccache: no cacheable compiler call");
	else
		buf_adds(out, "no compiler calls");
	if (cc->uncacheable || hr >= 0) {
		buf_adds(out, ": ");
		ccache_stats_describe(cc, out);
	}
}

void ui_finished(struct build_ui *u, const struct build *b, size_t item)
{
	const struct build_item *it = &b->items[item];
	if (u->mode == UI_JSON) {
		json_event(u, b, item, "finished");
		return;
	}
	ui_clear(u);
	const struct sched_job *job = &b->jobs[it->job];
	if (it->outcome == OUTCOME_FAILED) {
		print_failure(u, it);
	} else if (!u->quiet && (it->outcome == OUTCOME_BUILT || u->mode == UI_PLAIN)) {
		char t[32];
		elapsed(job->finished - job->started, t, sizeof(t));
		struct buf rate = BUF_INIT;
		describe_ccache(&it->cc, &rate);
		fprintf(u->err, "%-7s %s (%s) in %s, %s\n", build_outcome_names[it->outcome],
			it->v->recipe->name, it->v->label, t, rate.data);
		buf_release(&rate);
	}
	fflush(u->err);
	draw(u, b);
}

void ui_tick(struct build_ui *u, const struct build *b)
{
	if (u->mode == UI_TTY) {
		draw(u, b);
		return;
	}
	double now = monotonic_seconds();
	if (u->mode != UI_PLAIN || u->quiet || now - u->last_note < 60)
		return;
	u->last_note = now;
	for (size_t j = 0; j < b->njobs; j++) {
		const struct build_item *it = &b->items[b->job_item[j]];
		if (b->jobs[j].state != JOB_RUNNING)
			continue;
		char t[32];
		elapsed(now - b->jobs[j].started, t, sizeof(t));
		fprintf(u->err, "running %s (%s): %s, %s\n", it->v->recipe->name, it->v->label,
			it->phase_name, t);
	}
	fflush(u->err);
}

static uint64_t wheel_bytes(const struct build_item *it)
{
	uint64_t n = 0;
	for (size_t i = 0; i < it->rec.nwheels; i++)
		n += it->rec.wheels[i].size;
	return n;
}

static double item_seconds(const struct build *b, const struct build_item *it)
{
	if (it->job != SIZE_MAX && b->jobs[it->job].finished > 0)
		return b->jobs[it->job].finished - b->jobs[it->job].started;
	return it->outcome == OUTCOME_CACHED ? it->rec.seconds : 0;
}

static void summary_json(struct build_ui *u, const struct build *b, int code,
			 const struct diags *d)
{
	struct buf out = BUF_INIT;
	struct jw w;
	jw_init(&w, &out, false);
	jw_object_begin(&w);
	jw_kstring(&w, "event", "result");
	jw_kbool(&w, "ok", code == 0);
	jw_kint(&w, "exit", code);
	jw_key(&w, "variants");
	jw_array_begin(&w);
	for (size_t i = 0; i < b->n; i++) {
		const struct build_item *it = &b->items[i];
		jw_object_begin(&w);
		jw_kstring(&w, "recipe", it->v->recipe->name);
		jw_kstring(&w, "variant", it->v->label);
		jw_kstring(&w, "key", it->v->key);
		jw_kstring(&w, "status", build_outcome_names[it->outcome]);
		if (it->remote_hit)
			jw_kbool(&w, "remote_hit", true);
		jw_kint(&w, "milliseconds", (long long)(item_seconds(b, it) * 1000));
		if (it->outcome == OUTCOME_BUILT) {
			write_ccache_json(&w, &it->cc);
		}
		if (it->log_path)
			jw_kstring(&w, "log", it->log_path);
		jw_key(&w, "wheels");
		jw_array_begin(&w);
		for (size_t k = 0; k < it->rec.nwheels; k++) {
			jw_object_begin(&w);
			jw_kstring(&w, "file", it->rec.wheels[k].file);
			jw_kstring(&w, "sha256", it->rec.wheels[k].sha256);
			jw_kint(&w, "size", (long long)it->rec.wheels[k].size);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	const struct remote_cache *rc = b->opts.remote;
	if (rc && rc->url) { /* redacted: credentials never reach an output */
		jw_key(&w, "remote_cache");
		jw_object_begin(&w);
		jw_kstring(&w, "url", rc->shown);
		jw_kbool(&w, "read_only", rc->read_only);
		jw_kint(&w, "hits", (long long)rc->hits);
		jw_kint(&w, "uploads", (long long)rc->uploads);
		jw_kint(&w, "failures", (long long)rc->failures);
		jw_object_end(&w);
	}
	write_diags_json(&w, d);
	jw_object_end(&w);
	fprintf(u->out, "%s\n", out.data);
	buf_release(&out);
}

void ui_summary(struct build_ui *u, const struct build *b, int code, const struct diags *d)
{
	if (u->mode == UI_JSON) {
		summary_json(u, b, code, d);
		return;
	}
	ui_clear(u);
	if (u->quiet && code == 0)
		return;
	size_t counts[OUTCOME_CANCELLED + 1] = { 0 };
	fprintf(u->out, "%-36s %-9s %9s %8s %10s\n", "variant", "status", "time", "ccache", "wheel");
	for (size_t i = 0; i < b->n; i++) {
		const struct build_item *it = &b->items[i];
		counts[it->outcome]++;
		char name[128], t[32] = "-", rate[16] = "-", size[32] = "-";
		snprintf(name, sizeof(name), "%s %s", it->v->recipe->name, it->v->label);
		double s = item_seconds(b, it);
		if (s > 0)
			elapsed(s, t, sizeof(t));
		if (it->outcome == OUTCOME_BUILT && ccache_hit_rate(&it->cc) >= 0)
			snprintf(rate, sizeof(rate), "%.0f%%", ccache_hit_rate(&it->cc));
		if (it->rec.nwheels)
			size_format(wheel_bytes(it), size, sizeof(size));
		fprintf(u->out, "%-36s %-9s %9s %8s %10s\n", name,
			it->remote_hit ? "remote" : build_outcome_names[it->outcome], t, rate, size);
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct build_item *it = &b->items[i];
		if (it->outcome != OUTCOME_BUILT || (!it->cc.hits && !it->cc.misses &&
						     !it->cc.uncacheable))
			continue;
		struct buf per = BUF_INIT;
		ccache_stats_describe(&it->cc, &per);
		fprintf(u->out, "ccache of %s %s: %s\n", it->v->recipe->name, it->v->label, per.data);
		buf_release(&per);
	}
	char total[32];
	elapsed(monotonic_seconds() - u->started, total, sizeof(total));
	fprintf(u->out, "%zu built, %zu cached, %zu prebuilt, %zu failed, %zu skipped", 
		counts[OUTCOME_BUILT], counts[OUTCOME_CACHED], counts[OUTCOME_PREBUILT],
		counts[OUTCOME_FAILED], counts[OUTCOME_SKIPPED]);
	if (counts[OUTCOME_CANCELLED])
		fprintf(u->out, ", %zu cancelled", counts[OUTCOME_CANCELLED]);
	fprintf(u->out, " in %s\n", total);
	const struct remote_cache *rc = b->opts.remote;
	if (rc && rc->url)
		fprintf(u->out, "remote cache %s%s: %zu remote hit%s, %zu upload%s, %zu failure%s\n",
			rc->shown, rc->read_only ? " (read-only)" : "", rc->hits,
			rc->hits == 1 ? "" : "s", rc->uploads, rc->uploads == 1 ? "" : "s",
			rc->failures, rc->failures == 1 ? "" : "s");
}

static void on_started(void *ctx, const struct build *b, size_t item)
{
	ui_started(ctx, b, item);
}

static void on_phase(void *ctx, const struct build *b, size_t item)
{
	ui_phase(ctx, b, item);
}

static void on_finished(void *ctx, const struct build *b, size_t item)
{
	ui_finished(ctx, b, item);
}

static void on_tick(void *ctx, const struct build *b)
{
	ui_tick(ctx, b);
}

struct build_events ui_build_events(struct build_ui *u)
{
	return (struct build_events){
		.ctx = u,
		.started = on_started,
		.phase = on_phase,
		.finished = on_finished,
		.tick = on_tick,
		.tick_seconds = u->mode == UI_TTY ? 0.5 : 5,
	};
}
