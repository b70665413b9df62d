#include "build/report.h"

#include <stdlib.h>
#include <string.h>

#include "util/os.h"
#include "util/xalloc.h"

const char *report_status_name(enum report_status st)
{
	static const char *const names[REPORT_NSTATUS] = {
		"up to date", "stale", "failed", "not built", "prebuilt", "unknown",
	};
	return st < REPORT_NSTATUS ? names[st] : "?";
}

void report_release(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->rows[i].have_rec)
			build_record_release(&r->rows[i].rec);
		if (r->rows[i].have_fail)
			failure_record_release(&r->rows[i].fail);
	}
	free(r->rows);
	image_records_release(r->images, r->nimages);
	free(r->targets);
	free(r->labels);
	memset(r, 0, sizeof(*r));
}

/* A record that cannot be read is reported as a warning: the variant counts as without one. */
static void warn_unreadable(struct diags *out, const char *what, const char *path,
			    struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		/* not d->v[i].pos: it may point into the document the loader released */
		diag_warn(out, NULL, "cannot read the %s \"%s\": %s", what, path,
			  d->v[i].msg);
		diag_hint(out, "delete it; the next build writes it again");
	}
	diags_release(d);
	diags_init(d);
}

static void add_unique(const char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return;
	(*v)[(*n)++] = s;
}

/* The build a row shows when its key is in the output cache: that entry's manifest (the
 * state record remembers the last build, which may have had other inputs). */
static void load_entry(const struct session *s, struct diags *out, struct report_row *row)
{
	if (row->have_rec && !strcmp(row->rec.key, row->v->key))
		return;
	char *dir = out_entry_dir(s->cache_dir, row->v->key);
	char *manifest = path_join(dir, "manifest.json");
	struct build_record entry;
	struct diags d;
	diags_init(&d);
	if (build_record_load(manifest, &entry, &d) == 0) {
		if (row->have_rec)
			build_record_release(&row->rec);
		row->rec = entry;
		row->have_rec = true;
	}
	warn_unreadable(out, "output-cache manifest", manifest, &d);
	diags_release(&d);
	free(manifest);
	free(dir);
}

static void drop_failure(struct report_row *row)
{
	if (row->have_fail)
		failure_record_release(&row->fail);
	row->have_fail = false;
}

/*
 * A variant's status: "prebuilt" for a wheel source; "failed" when its last build failed
 * (a failure record newer than its last success) and no output of its current key hides
 * that; "up to date" when the output cache has its key (`ptbuild build` has nothing to do);
 * "stale" when it was built, with other inputs or into an entry that is gone; "unknown"
 * when it was built and there is no lock to say its key now; else "not built".
 */
static void load_row(const struct session *s, const struct pins *pins, struct diags *out,
		     struct report_row *row)
{
	const struct variant *v = row->v;
	if (v->recipe->source.kind == SOURCE_WHEEL) {
		row->status = REPORT_PREBUILT;
		return;
	}
	struct diags d;
	diags_init(&d);
	char *path = state_record_path(s->work_dir, v->recipe->name, v->label);
	row->have_rec = build_record_load(path, &row->rec, &d) == 0;
	warn_unreadable(out, "build record", path, &d);
	free(path);
	path = failure_record_path(s->work_dir, v->recipe->name, v->label);
	row->have_fail = failure_record_load(path, &row->fail, &d) == 0;
	warn_unreadable(out, "failure record", path, &d);
	free(path);
	diags_release(&d);
	if (row->have_fail && row->have_rec && row->fail.finished < row->rec.finished)
		drop_failure(row); /* superseded by a later success */
	/* a path source is built every time (its tree is not identified): never cached */
	bool cached = v->recipe->source.kind != SOURCE_PATH &&
		      out_entry_exists(s->cache_dir, v->key);
	if (row->have_fail && (!cached || !strcmp(row->fail.key, v->key))) {
		row->status = REPORT_FAILED;
	} else if (cached) {
		drop_failure(row); /* it failed with other inputs; these are built */
		load_entry(s, out, row);
		row->status = REPORT_UP_TO_DATE;
	} else {
		bool unknown = !s->have_lock &&
			       session_unpinned_source(s, pins, (size_t)(v - s->plan.v));
		row->status = !row->have_rec ? REPORT_NOT_BUILT
			      : unknown      ? REPORT_UNKNOWN
					     : REPORT_STALE;
	}
	if (row->have_rec)
		for (size_t i = 0; i < row->rec.nwheels; i++)
			row->wheel_bytes += row->rec.wheels[i].size;
}

static bool wanted(const struct variant *v, char *const *targets, size_t ntargets)
{
	if (!ntargets)
		return true;
	for (size_t i = 0; i < ntargets; i++)
		if (!strcmp(v->recipe->name, targets[i]))
			return true;
	return false;
}

void report_load(struct report *r, const struct session *s, const struct pins *pins,
		 char *const *targets, size_t ntargets, struct diags *out)
{
	r->rows = xcalloc(s->plan.n + 1, sizeof(*r->rows));
	r->targets = xcalloc(s->plan.n + 1, sizeof(*r->targets));
	r->labels = xcalloc(s->plan.n + 1, sizeof(*r->labels));
	r->set = session_set_name(s);
	size_t unpinned = 0;
	for (size_t k = 0; k < s->plan.n; k++) {
		const struct variant *v = &s->plan.v[k];
		if (!wanted(v, targets, ntargets))
			continue;
		struct report_row *row = &r->rows[r->n++];
		row->v = v;
		load_row(s, pins, out, row);
		r->counts[row->status]++;
		add_unique(&r->targets, &r->ntargets, v->recipe->name);
		add_unique(&r->labels, &r->nlabels, v->label);
		if (row->status == REPORT_STALE && session_unpinned_source(s, pins, k))
			unpinned++;
	}
	image_records_load(s->work_dir, &r->images, &r->nimages, out);
	if (r->counts[REPORT_UNKNOWN]) {
		size_t n = r->counts[REPORT_UNKNOWN];
		diag_warn(out, NULL, "%zu built variant%s show%s as unknown: there is no %s, so "
			  "%s build key%s cannot be known without resolving the sources (report "
			  "never does)", n, n == 1 ? "" : "s", n == 1 ? "s" : "", s->lock_path,
			  n == 1 ? "its" : "their", n == 1 ? "" : "s");
		diag_hint(out, "run `ptbuild build` or `ptbuild lock`: either writes the lock");
	}
	if (unpinned) {
		diag_warn(out, NULL, "%zu variant%s show%s as stale because a source %s "
			  "build%s from changed since ptbuild.lock: `ptbuild build` resolves it "
			  "again", unpinned, unpinned == 1 ? "" : "s", unpinned == 1 ? "s" : "",
			  unpinned == 1 ? "it" : "they", unpinned == 1 ? "s" : "");
		diag_hint(out, "`ptbuild explain TARGET` names the source");
	}
}

const struct report_row *report_find_row(const struct report *r, const char *target,
					 const char *label)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].v->recipe->name, target) && !strcmp(r->rows[i].v->label, label))
			return &r->rows[i];
	return NULL;
}
