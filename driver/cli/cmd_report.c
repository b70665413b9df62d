/*
 * ptbuild report: the build matrix (target x toolchain x Python) with each variant's status,
 * last build, duration, wheel size and ccache hit rate, from the records of its last
 * successful and last failed builds, as Markdown, JSON or a self-contained HTML page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "build/failure_record.h"
#include "util/json.h"
#include "build/outcache.h"
#include "session/session.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static const char report_help[] =
	"usage: ptbuild report [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                      [--format md|json|html] [--out FILE]\n"
	"\n"
	"The build matrix of the plan (every variant, or those of each TARGET): per target,\n"
	"toolchain and Python its status, when it was last built, how long it took, the size of\n"
	"its wheels and ccache's hit rate, from build/state/<recipe>/<variant>.json (the last\n"
	"successful build) and <variant>.failed.json (the last failed one). Statuses:\n"
	"  up to date   built with the inputs of today's key, and the output cache has it\n"
	"  stale        built, but an input changed (`ptbuild explain` says which) or the\n"
	"               output cache lost the entry: the next build rebuilds it\n"
	"  failed       the last build failed\n"
	"  not built    no build recorded\n"
	"  prebuilt     a wheel source: nothing is built\n"
	"Sources are identified by ptbuild.lock (nothing is fetched).\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --format F       md (default: a matrix and a detail table, GitHub Markdown), json or\n"
	"                   html (one self-contained page)\n"
	"  --out FILE       write the report to FILE (atomically) instead of stdout\n"
	"  --json           the same as --format json\n"
	"\n"
	"exit status: 0 the report was written (whatever the builds' statuses), 2 an input\n"
	"file or the request is wrong, 3 FILE cannot be written.\n";

enum { OPT_FORMAT = 3000, OPT_OUT };

static const struct option report_long[] = {
	PLAN_LONG_OPTIONS,
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ NULL, 0, NULL, 0 },
};

enum format { FORMAT_MD, FORMAT_JSON, FORMAT_HTML };

struct report_args {
	struct plan_args plan;
	enum format format;
	bool format_given;
	const char *out;     /* borrowed from argv; NULL: stdout */
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct report_args *a = ctx;
	if (plan_args_option(&a->plan, opt, arg))
		return 0;
	if (opt == OPT_OUT) {
		a->out = arg;
		return 0;
	}
	if (opt != OPT_FORMAT)
		return -1;
	static const char *const names[] = { "md", "json", "html" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i])) {
			a->format = (enum format)i;
			a->format_given = true;
			return 0;
		}
	diag_error(&cli->diags, NULL, "--format takes md, json or html, not \"%s\"", arg);
	diag_hint(&cli->diags, "try 'ptbuild report --help'");
	return -1;
}

/* ---- the data: one row per variant ----------------------------------------------------- */

enum status { ST_UP_TO_DATE, ST_STALE, ST_FAILED, ST_NOT_BUILT, ST_PREBUILT, NSTATUS };

static const char *const status_names[NSTATUS] = {
	"up to date", "stale", "failed", "not built", "prebuilt",
};
static const char *const status_classes[NSTATUS] = {
	"up-to-date", "stale", "failed", "not-built", "prebuilt",
};
static const char *const status_symbols[NSTATUS] = {
	"\u2705", "\U0001F504", "\u274C", "\u2B1C", "\U0001F4E6",
};

struct row {
	const struct variant *v;       /* borrowed from the plan */
	enum status status;
	bool have_rec;
	struct build_record rec;       /* owned when have_rec: the last successful build, or for
					  an up-to-date variant the cached build of its key */
	bool have_fail;
	struct failure_record fail;    /* owned when have_fail: the last failed build, when it
					  decides the status */
	uint64_t wheel_bytes;
};

struct report {
	struct row *rows;              /* owned */
	size_t n;
	const char **targets;          /* owned array of borrowed names, plan order */
	size_t ntargets;
	const char **labels;           /* owned array of borrowed variant labels, plan order */
	size_t nlabels;
	const char *set;               /* borrowed; NULL without a set */
	size_t counts[NSTATUS];
};

static void report_release(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->rows[i].have_rec)
			build_record_release(&r->rows[i].rec);
		if (r->rows[i].have_fail)
			failure_record_release(&r->rows[i].fail);
	}
	free(r->rows);
	free(r->targets);
	free(r->labels);
	memset(r, 0, sizeof(*r));
}

/* A record that cannot be read is reported as a warning: the variant counts as without one. */
static void warn_unreadable(struct cli *cli, const char *what, const char *path,
			    struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		/* not d->v[i].pos: it may point into the document the loader released */
		diag_warn(&cli->diags, NULL, "cannot read the %s \"%s\": %s", what, path,
			  d->v[i].msg);
		diag_hint(&cli->diags, "delete it; the next build writes it again");
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
static void load_entry(struct session *s, struct cli *cli, struct row *row)
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
	warn_unreadable(cli, "output-cache manifest", manifest, &d);
	diags_release(&d);
	free(manifest);
	free(dir);
}

static void drop_failure(struct row *row)
{
	if (row->have_fail)
		failure_record_release(&row->fail);
	row->have_fail = false;
}

/*
 * A variant's status: "prebuilt" for a wheel source; "failed" when its last build failed
 * (a failure record newer than its last success) and no output of its current key hides
 * that; "up to date" when the output cache has its key (`ptbuild build` has nothing to do);
 * "stale" when it was built, with other inputs or into an entry that is gone; else
 * "not built".
 */
static void load_row(struct session *s, struct cli *cli, struct row *row)
{
	const struct variant *v = row->v;
	if (v->recipe->source.kind == SOURCE_WHEEL) {
		row->status = ST_PREBUILT;
		return;
	}
	struct diags d;
	diags_init(&d);
	char *path = state_record_path(s->work_dir, v->recipe->name, v->label);
	row->have_rec = build_record_load(path, &row->rec, &d) == 0;
	warn_unreadable(cli, "build record", path, &d);
	free(path);
	path = failure_record_path(s->work_dir, v->recipe->name, v->label);
	row->have_fail = failure_record_load(path, &row->fail, &d) == 0;
	warn_unreadable(cli, "failure record", path, &d);
	free(path);
	diags_release(&d);
	if (row->have_fail && row->have_rec && row->fail.finished < row->rec.finished)
		drop_failure(row); /* superseded by a later success */
	/* a path source is built every time (its tree is not identified): never cached */
	bool cached = v->recipe->source.kind != SOURCE_PATH &&
		      out_entry_exists(s->cache_dir, v->key);
	if (row->have_fail && (!cached || !strcmp(row->fail.key, v->key))) {
		row->status = ST_FAILED;
	} else if (cached) {
		drop_failure(row); /* it failed with other inputs; these are built */
		load_entry(s, cli, row);
		row->status = ST_UP_TO_DATE;
	} else {
		row->status = row->have_rec ? ST_STALE : ST_NOT_BUILT;
	}
	if (row->have_rec)
		for (size_t i = 0; i < row->rec.nwheels; i++)
			row->wheel_bytes += row->rec.wheels[i].size;
}

static bool wanted(const struct variant *v, char **targets, size_t ntargets)
{
	if (!ntargets)
		return true;
	for (size_t i = 0; i < ntargets; i++)
		if (!strcmp(v->recipe->name, targets[i]))
			return true;
	return false;
}

static void report_load(struct report *r, struct session *s, struct cli *cli,
			const struct pins *pins, char **targets, size_t ntargets)
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
		struct row *row = &r->rows[r->n++];
		row->v = v;
		load_row(s, cli, row);
		r->counts[row->status]++;
		add_unique(&r->targets, &r->ntargets, v->recipe->name);
		add_unique(&r->labels, &r->nlabels, v->label);
		if (row->status == ST_STALE && v->recipe->source.kind != SOURCE_PATH &&
		    !pins_find(pins, v->recipe->name))
			unpinned++;
	}
	if (unpinned) {
		diag_warn(&cli->diags, NULL, "%zu variant%s show%s as stale because %s source is "
			  "not in ptbuild.lock: its build key cannot match the last build's",
			  unpinned, unpinned == 1 ? "" : "s", unpinned == 1 ? "s" : "",
			  unpinned == 1 ? "its" : "their");
		diag_hint(&cli->diags, "run `ptbuild lock` to pin the sources that were built");
	}
}

static const struct row *find_row(const struct report *r, const char *target, const char *label)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].v->recipe->name, target) && !strcmp(r->rows[i].v->label, label))
			return &r->rows[i];
	return NULL;
}

/* ---- shared formatting -------------------------------------------------------------------- */

static void format_time(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t || !gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, len, "-");
}

/* "9.0s", "4m12s", "2h05m". */
static void format_duration(double seconds, char *out, size_t len)
{
	if (seconds < 59.95) {
		snprintf(out, len, "%.1fs", seconds);
		return;
	}
	long s = (long)(seconds + 0.5);
	if (s < 3600)
		snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(out, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
}

/* "93% (14/15)"; "-" when ccache saw no compiler call. */
static void format_hits(long hits, long misses, char *out, size_t len)
{
	long total = hits + misses;
	if (total <= 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%ld%% (%ld/%ld)", hits * 100 / total, hits, total);
}

/* The detail columns of a row as text ("-" where unknown). */
struct cells {
	char last[32], duration[32], size[32], hits[48];
};

static void row_cells(const struct row *row, struct cells *c)
{
	snprintf(c->last, sizeof(c->last), "-");
	snprintf(c->duration, sizeof(c->duration), "-");
	snprintf(c->size, sizeof(c->size), "-");
	snprintf(c->hits, sizeof(c->hits), "-");
	if (row->have_fail) {
		/* the last build is the failed one: it left no wheels or duration */
		format_time(row->fail.finished, c->last, sizeof(c->last));
	} else if (row->have_rec) {
		format_time(row->rec.finished, c->last, sizeof(c->last));
		format_duration(row->rec.seconds, c->duration, sizeof(c->duration));
		size_format(row->wheel_bytes, c->size, sizeof(c->size));
		format_hits(row->rec.ccache_hits, row->rec.ccache_misses, c->hits, sizeof(c->hits));
	}
}

static void summary_line(const struct report *r, struct buf *out)
{
	buf_addf(out, "%zu variant%s", r->n, r->n == 1 ? "" : "s");
	const char *sep = ": ";
	for (int st = 0; st < NSTATUS; st++)
		if (r->counts[st]) {
			buf_addf(out, "%s%zu %s", sep, r->counts[st], status_names[st]);
			sep = ", ";
		}
}

static void title(const struct report *r, struct buf *out, void (*esc)(struct buf *, const char *))
{
	buf_adds(out, "Build matrix");
	if (r->set) {
		buf_adds(out, ": set ");
		esc(out, r->set);
	}
}

/* The first line of a message (messages may hold a log tail). */
static char *first_line(const char *s)
{
	return xstrndup(s ? s : "", strcspn(s ? s : "", "\n"));
}

/* ---- Markdown ----------------------------------------------------------------------------- */

/* Text safe in a GitHub table cell: `|` and the characters that start markup escaped,
 * line breaks as spaces. */
static void md_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			buf_addch(out, ' ');
		else {
			if (strchr("\\|`*<>[]", *s))
				buf_addch(out, '\\');
			buf_addch(out, *s);
		}
	}
}

static void render_md(const struct report *r, struct buf *out)
{
	buf_adds(out, "# ");
	title(r, out, md_escape);
	buf_adds(out, "\n\n");
	summary_line(r, out);
	buf_adds(out, ".\n\n");
	if (!r->n)
		return;
	buf_adds(out, "| target |");
	for (size_t j = 0; j < r->nlabels; j++) {
		buf_addch(out, ' ');
		md_escape(out, r->labels[j]);
		buf_adds(out, " |");
	}
	buf_adds(out, "\n|---|");
	for (size_t j = 0; j < r->nlabels; j++)
		buf_adds(out, "---|");
	buf_addch(out, '\n');
	for (size_t i = 0; i < r->ntargets; i++) {
		buf_adds(out, "| ");
		md_escape(out, r->targets[i]);
		buf_adds(out, " |");
		for (size_t j = 0; j < r->nlabels; j++) {
			const struct row *row = find_row(r, r->targets[i], r->labels[j]);
			if (row)
				buf_addf(out, " %s %s |", status_symbols[row->status],
					 status_names[row->status]);
			else
				buf_adds(out, " |");
		}
		buf_addch(out, '\n');
	}
	buf_adds(out, "\n| target | toolchain | python | status | last build (UTC) | duration "
		      "| wheel size | ccache hits |\n|---|---|---|---|---|---:|---:|---:|\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->rows[i];
		struct cells c;
		row_cells(row, &c);
		buf_adds(out, "| ");
		md_escape(out, row->v->recipe->name);
		buf_adds(out, " | ");
		md_escape(out, row->v->tc->name);
		buf_adds(out, " | ");
		md_escape(out, row->v->python);
		buf_addf(out, " | %s | %s | %s | %s | %s |\n", status_names[row->status], c.last,
			 c.duration, c.size, c.hits);
	}
	if (r->counts[ST_FAILED]) {
		buf_adds(out, "\n## Failures\n\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct row *row = &r->rows[i];
			if (!row->have_fail)
				continue;
			char when[32], *msg = first_line(row->fail.message);
			format_time(row->fail.finished, when, sizeof(when));
			buf_adds(out, "- **");
			md_escape(out, row->v->recipe->name);
			buf_adds(out, "** (");
			md_escape(out, row->v->label);
			buf_adds(out, ") failed in ");
			md_escape(out, row->fail.phase);
			buf_addf(out, " at %s UTC", when);
			if (*msg) {
				buf_adds(out, ": ");
				md_escape(out, msg);
			}
			if (row->fail.log) {
				buf_adds(out, " (log: ");
				md_escape(out, row->fail.log);
				buf_adds(out, ")");
			}
			buf_addch(out, '\n');
			free(msg);
		}
	}
	if (r->counts[ST_STALE])
		buf_adds(out, "\n`ptbuild explain TARGET` says which inputs of a stale variant "
			      "changed.\n");
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void html_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			buf_addch(out, *s);
		}
	}
}

static const char html_style[] =
	"body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}"
	"table{border-collapse:collapse;margin:1em 0}"
	"th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left}"
	"thead th{background:#f6f8fa}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	".up-to-date{background:#dafbe1}.stale{background:#fff8c5}"
	".failed{background:#ffebe9}.not-built{background:#f6f8fa;color:#59636e}"
	".prebuilt{background:#ddf4ff}"
	"code{font-size:90%}";

static void html_cell(struct buf *out, const char *tag, const char *cls, const char *text)
{
	buf_addf(out, "<%s", tag);
	if (cls)
		buf_addf(out, " class=\"%s\"", cls);
	buf_addch(out, '>');
	html_escape(out, text);
	buf_addf(out, "</%s>", tag);
}

static void render_html(const struct report *r, struct buf *out)
{
	buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<title>");
	title(r, out, html_escape);
	buf_addf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", html_style);
	title(r, out, html_escape);
	buf_adds(out, "</h1>\n<p>");
	struct buf sum = BUF_INIT;
	summary_line(r, &sum);
	html_escape(out, sum.data);
	buf_release(&sum);
	buf_adds(out, ".</p>\n");
	if (r->n) {
		buf_adds(out, "<table class=\"matrix\">\n<thead><tr><th>target</th>");
		for (size_t j = 0; j < r->nlabels; j++)
			html_cell(out, "th", NULL, r->labels[j]);
		buf_adds(out, "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < r->ntargets; i++) {
			buf_adds(out, "<tr>");
			html_cell(out, "th", NULL, r->targets[i]);
			for (size_t j = 0; j < r->nlabels; j++) {
				const struct row *row = find_row(r, r->targets[i], r->labels[j]);
				if (row)
					html_cell(out, "td", status_classes[row->status],
						  status_names[row->status]);
				else
					buf_adds(out, "<td></td>");
			}
			buf_adds(out, "</tr>\n");
		}
		buf_adds(out, "</tbody>\n</table>\n<table class=\"detail\">\n<thead><tr>"
			      "<th>target</th><th>toolchain</th><th>python</th><th>status</th>"
			      "<th>last build (UTC)</th><th>duration</th><th>wheel size</th>"
			      "<th>ccache hits</th></tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct row *row = &r->rows[i];
			struct cells c;
			row_cells(row, &c);
			buf_adds(out, "<tr>");
			html_cell(out, "td", NULL, row->v->recipe->name);
			html_cell(out, "td", NULL, row->v->tc->name);
			html_cell(out, "td", NULL, row->v->python);
			html_cell(out, "td", status_classes[row->status], status_names[row->status]);
			html_cell(out, "td", NULL, c.last);
			html_cell(out, "td", "num", c.duration);
			html_cell(out, "td", "num", c.size);
			html_cell(out, "td", "num", c.hits);
			buf_adds(out, "</tr>\n");
		}
		buf_adds(out, "</tbody>\n</table>\n");
	}
	if (r->counts[ST_FAILED]) {
		buf_adds(out, "<h2>Failures</h2>\n<ul>\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct row *row = &r->rows[i];
			if (!row->have_fail)
				continue;
			char when[32];
			format_time(row->fail.finished, when, sizeof(when));
			buf_adds(out, "<li><strong>");
			html_escape(out, row->v->recipe->name);
			buf_adds(out, "</strong> (");
			html_escape(out, row->v->label);
			buf_adds(out, ") failed in ");
			html_escape(out, row->fail.phase);
			buf_addf(out, " at %s UTC", when);
			if (row->fail.message) {
				buf_adds(out, "<pre>");
				html_escape(out, row->fail.message);
				buf_adds(out, "</pre>");
			}
			if (row->fail.log) {
				buf_adds(out, "log: <code>");
				html_escape(out, row->fail.log);
				buf_adds(out, "</code>");
			}
			buf_adds(out, "</li>\n");
		}
		buf_adds(out, "</ul>\n");
	}
	buf_adds(out, "</body>\n</html>\n");
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void jw_kseconds(struct jw *w, const char *key, double seconds)
{
	/* to the millisecond the record keeps; jw_node writes a fraction exactly enough */
	struct jnode n = { .type = JSON_NUMBER };
	n.num = (double)(long long)(seconds * 1000 + 0.5) / 1000;
	jw_key(w, key);
	jw_node(w, &n);
}

static void render_json_variants(const struct report *r, struct jw *w)
{
	jw_kstring(w, "set", r->set); /* null without a set */
	jw_key(w, "variants");
	jw_array_begin(w);
	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->rows[i];
		const struct variant *v = row->v;
		jw_object_begin(w);
		jw_kstring(w, "recipe", v->recipe->name);
		jw_kstring(w, "toolchain", v->tc->name);
		jw_kstring(w, "python", v->python);
		jw_kstring(w, "variant", v->label);
		jw_kstring(w, "key", v->key);
		jw_kstring(w, "status", status_names[row->status]);
		/* the last successful build; null without one */
		if (row->have_rec) {
			jw_kint(w, "finished", row->rec.finished);
			jw_kseconds(w, "seconds", row->rec.seconds);
			jw_kint(w, "wheel_bytes", (long long)row->wheel_bytes);
			jw_kint(w, "ccache_hits", row->rec.ccache_hits);
			jw_kint(w, "ccache_misses", row->rec.ccache_misses);
		} else {
			static const char *const none[] = { "finished", "seconds", "wheel_bytes",
							    "ccache_hits", "ccache_misses" };
			for (size_t k = 0; k < sizeof(none) / sizeof(none[0]); k++) {
				jw_key(w, none[k]);
				jw_null(w);
			}
		}
		jw_key(w, "failure");
		if (row->have_fail) {
			jw_object_begin(w);
			jw_kint(w, "finished", row->fail.finished);
			jw_kstring(w, "key", row->fail.key);
			jw_kstring(w, "log", row->fail.log);
			jw_kstring(w, "message", row->fail.message);
			jw_kstring(w, "phase", row->fail.phase);
			jw_object_end(w);
		} else {
			jw_null(w);
		}
		jw_object_end(w);
	}
	jw_array_end(w);
}

/* ---- the command -------------------------------------------------------------------------- */

/* Writes `text` to `path` atomically; EXIT_ENVIRONMENT with the error recorded. */
static int write_out(struct cli *cli, const char *path, const struct buf *text)
{
	if (write_file_atomic(path, text->data, text->len) == 0) {
		diag_note(&cli->diags, NULL, "wrote the report to \"%s\"", path);
		return EXIT_OK;
	}
	diag_error(&cli->diags, NULL, "cannot write the report to \"%s\": %s", path,
		   strerror(errno));
	diag_hint(&cli->diags, "--out needs a file in a directory that exists and is writable");
	return EXIT_ENVIRONMENT;
}

static int emit(struct cli *cli, const struct report *r, const struct report_args *a)
{
	struct buf out = BUF_INIT;
	if (a->format == FORMAT_JSON) {
		struct jw w;
		json_result_begin(&w, &out, true);
		render_json_variants(r, &w);
		if (!a->out) {
			json_result_end(cli, &w, &out);
			return EXIT_OK;
		}
		write_diags_json(&w, &cli->diags);
		jw_object_end(&w);
		buf_addch(&out, '\n');
	} else if (a->format == FORMAT_HTML) {
		render_html(r, &out);
	} else {
		render_md(r, &out);
	}
	int code = EXIT_OK;
	if (a->out)
		code = write_out(cli, a->out, &out);
	else
		fputs(out.data, cli->out);
	buf_release(&out);
	return code;
}

static int check_targets(struct cli *cli, const struct session *s, char **targets, size_t n)
{
	int code = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < s->plan.n && !found; k++)
			found = !strcmp(s->plan.v[k].recipe->name, targets[i]);
		if (!found) {
			diag_error(&cli->diags, NULL, "\"%s\" has no variant in this plan%s%s%s",
				   targets[i], s->have_set ? " (set \"" : "",
				   s->have_set ? s->set.name : "", s->have_set ? "\")" : "");
			diag_hint(&cli->diags, "`ptbuild plan` lists the variants");
			code = EXIT_USAGE;
		}
	}
	return code;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	struct report_args a = { .format = FORMAT_MD };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct report r = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", report_long, on_option, &a, report_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (cli->json && a.format_given && a.format != FORMAT_JSON) {
		diag_error(&cli->diags, NULL, "--json asks for JSON, --format for %s: give one",
			   a.format == FORMAT_MD ? "md" : "html");
		code = EXIT_USAGE;
		goto done;
	}
	if (cli->json)
		a.format = FORMAT_JSON;
	if (a.format == FORMAT_JSON)
		cli->json = true; /* failures answer in JSON too */
	/* The whole set is planned (dependencies' keys are inputs); targets filter after. */
	code = cli_session_open(cli, &s, &a.plan, NULL, 0);
	if (code != EXIT_OK)
		goto done;
	code = cli_session_pin(cli, &s, &(struct pin_request){ .no_resolve = true }, &pins);
	if (code != EXIT_OK)
		goto done;
	char **targets = argv + first;
	size_t ntargets = (size_t)(argc - first);
	code = check_targets(cli, &s, targets, ntargets);
	if (code != EXIT_OK)
		goto done;
	report_load(&r, &s, cli, &pins, targets, ntargets);
	code = emit(cli, &r, &a);
	if (cli->json && !a.out)
		goto finish; /* the result carried the diagnostics */
done:
	if (cli->json && code != EXIT_OK && first != -2)
		print_failure_json(cli);
finish:
	code = cli_finish(cli, code);
	report_release(&r);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}
