#include "cli/report_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strutil.h"
#include "util/xalloc.h"

static const char *const status_classes[REPORT_NSTATUS] = {
	"up-to-date", "stale", "failed", "not-built", "prebuilt", "unknown",
};
static const char *const status_symbols[REPORT_NSTATUS] = {
	"\u2705", "\U0001F504", "\u274C", "\u2B1C", "\U0001F4E6", "\u2754",
};

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

static void row_cells(const struct report_row *row, struct cells *c)
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
	for (int st = 0; st < REPORT_NSTATUS; st++)
		if (r->counts[st]) {
			buf_addf(out, "%s%zu %s", sep, r->counts[st], report_status_name((enum report_status)st));
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

/* The columns of an image record as text. */
struct image_cells {
	char size[32], id[24], built[32], seconds[32];
};

static void image_cells(const struct image_record *im, struct image_cells *c)
{
	size_format((uint64_t)im->size, c->size, sizeof(c->size));
	/* "sha256:0123456789ab": the short id `docker images` shows */
	const char *hex = strncmp(im->id, "sha256:", 7) ? im->id : im->id + 7;
	snprintf(c->id, sizeof(c->id), "%.12s", hex);
	format_time(im->built_at, c->built, sizeof(c->built));
	format_duration(im->seconds, c->seconds, sizeof(c->seconds));
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

static void md_matrix(const struct report *r, struct buf *out);
static void md_images(const struct report *r, struct buf *out);

static void html_escape(struct buf *out, const char *s);

/* Whether the last build of `row` went through ccache at all. */
static bool row_has_calls(const struct report_row *row)
{
	const struct ccache_stats *cc = &row->rec.cc;
	return row->have_rec && !row->have_fail && (cc->hits || cc->misses || cc->uncacheable);
}

/* How one format writes the per-compiler section: its heading, each item's parts, its end. */
struct ccache_markup {
	const char *head, *item, *after_name, *item_end, *tail;
	void (*escape)(struct buf *, const char *);
};

/* Per compiler: hits/misses/uncacheable and the top reasons, so that uncacheable calls
 * (an nvcc that ccache cannot cache) show beside the hit rate. */
static void ccache_section(const struct report *r, struct buf *out, const struct ccache_markup *m)
{
	bool any = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct report_row *row = &r->rows[i];
		if (!row_has_calls(row))
			continue;
		if (!any)
			buf_adds(out, m->head);
		any = true;
		struct buf per = BUF_INIT;
		ccache_stats_describe(&row->rec.cc, &per);
		buf_adds(out, m->item);
		m->escape(out, row->v->recipe->name);
		buf_adds(out, m->after_name);
		m->escape(out, row->v->label);
		buf_adds(out, "): ");
		m->escape(out, per.data);
		buf_adds(out, m->item_end);
		buf_release(&per);
	}
	if (any)
		buf_adds(out, m->tail);
}

static const struct ccache_markup md_ccache = {
	"\n## ccache per compiler\n\n", "- ", " (", "\n", "", md_escape,
};
static const struct ccache_markup html_ccache = {
	"<h2>ccache per compiler</h2>\n<ul class=\"ccache\">\n", "<li><strong>", "</strong> (",
	"</li>\n", "</ul>\n", html_escape,
};

void report_render_md(const struct report *r, struct buf *out)
{
	buf_adds(out, "# ");
	title(r, out, md_escape);
	buf_adds(out, "\n\n");
	summary_line(r, out);
	buf_adds(out, ".\n\n");
	if (r->n)
		md_matrix(r, out);
	md_images(r, out);
}

/* The images `ptbuild image` built: training (dev) and inference (release) sizes side by
 * side per variant. */
static void md_images(const struct report *r, struct buf *out)
{
	if (!r->nimages)
		return;
	buf_adds(out, "\n## Images\n\n| variant | kind | tag | size | id | built (UTC) | "
		      "build time |\n|---|---|---|---:|---|---|---:|\n");
	for (size_t i = 0; i < r->nimages; i++) {
		const struct image_record *im = &r->images[i];
		struct image_cells c;
		image_cells(im, &c);
		buf_adds(out, "| ");
		md_escape(out, im->variant);
		buf_addf(out, " | %s | ", im->kind);
		md_escape(out, im->tag);
		buf_addf(out, " | %s | ", c.size);
		md_escape(out, c.id);
		buf_addf(out, " | %s | %s |\n", c.built, c.seconds);
	}
}

static void md_matrix(const struct report *r, struct buf *out)
{
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
			const struct report_row *row = report_find_row(r, r->targets[i], r->labels[j]);
			if (row)
				buf_addf(out, " %s %s |", status_symbols[row->status],
					 report_status_name(row->status));
			else
				buf_adds(out, " |");
		}
		buf_addch(out, '\n');
	}
	buf_adds(out, "\n| target | toolchain | python | status | last build (UTC) | duration "
		      "| wheel size | ccache hits |\n|---|---|---|---|---|---:|---:|---:|\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct report_row *row = &r->rows[i];
		struct cells c;
		row_cells(row, &c);
		buf_adds(out, "| ");
		md_escape(out, row->v->recipe->name);
		buf_adds(out, " | ");
		md_escape(out, row->v->tc->name);
		buf_adds(out, " | ");
		md_escape(out, row->v->python);
		buf_addf(out, " | %s | %s | %s | %s | %s |\n", report_status_name(row->status), c.last,
			 c.duration, c.size, c.hits);
	}
	ccache_section(r, out, &md_ccache);
	if (r->counts[REPORT_FAILED]) {
		buf_adds(out, "\n## Failures\n\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct report_row *row = &r->rows[i];
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
	if (r->counts[REPORT_STALE])
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
	".prebuilt{background:#ddf4ff}.unknown{background:#f6f8fa}"
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

void report_render_html(const struct report *r, struct buf *out)
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
				const struct report_row *row = report_find_row(r, r->targets[i], r->labels[j]);
				if (row)
					html_cell(out, "td", status_classes[row->status],
						  report_status_name(row->status));
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
			const struct report_row *row = &r->rows[i];
			struct cells c;
			row_cells(row, &c);
			buf_adds(out, "<tr>");
			html_cell(out, "td", NULL, row->v->recipe->name);
			html_cell(out, "td", NULL, row->v->tc->name);
			html_cell(out, "td", NULL, row->v->python);
			html_cell(out, "td", status_classes[row->status], report_status_name(row->status));
			html_cell(out, "td", NULL, c.last);
			html_cell(out, "td", "num", c.duration);
			html_cell(out, "td", "num", c.size);
			html_cell(out, "td", "num", c.hits);
			buf_adds(out, "</tr>\n");
		}
		buf_adds(out, "</tbody>\n</table>\n");
	}
	ccache_section(r, out, &html_ccache);
	if (r->counts[REPORT_FAILED]) {
		buf_adds(out, "<h2>Failures</h2>\n<ul>\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct report_row *row = &r->rows[i];
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
	if (r->nimages) {
		buf_adds(out, "<h2>Images</h2>\n<table class=\"images\">\n<thead><tr><th>variant</th>"
			      "<th>kind</th><th>tag</th><th>size</th><th>id</th><th>built (UTC)</th>"
			      "<th>build time</th></tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < r->nimages; i++) {
			const struct image_record *im = &r->images[i];
			struct image_cells c;
			image_cells(im, &c);
			buf_adds(out, "<tr>");
			html_cell(out, "td", NULL, im->variant);
			html_cell(out, "td", NULL, im->kind);
			html_cell(out, "td", NULL, im->tag);
			html_cell(out, "td", "num", c.size);
			html_cell(out, "td", NULL, c.id);
			html_cell(out, "td", NULL, c.built);
			html_cell(out, "td", "num", c.seconds);
			buf_adds(out, "</tr>\n");
		}
		buf_adds(out, "</tbody>\n</table>\n");
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

void report_render_json(const struct report *r, struct jw *w)
{
	jw_kstring(w, "set", r->set); /* null without a set */
	jw_key(w, "variants");
	jw_array_begin(w);
	for (size_t i = 0; i < r->n; i++) {
		const struct report_row *row = &r->rows[i];
		const struct variant *v = row->v;
		jw_object_begin(w);
		jw_kstring(w, "recipe", v->recipe->name);
		jw_kstring(w, "toolchain", v->tc->name);
		jw_kstring(w, "python", v->python);
		jw_kstring(w, "variant", v->label);
		jw_kstring(w, "key", v->key);
		jw_kstring(w, "status", report_status_name(row->status));
		/* the last successful build; null without one */
		if (row->have_rec) {
			jw_kint(w, "finished", row->rec.finished);
			jw_kseconds(w, "seconds", row->rec.seconds);
			jw_kint(w, "wheel_bytes", (long long)row->wheel_bytes);
			jw_kint(w, "ccache_hits", row->rec.ccache_hits);
			jw_kint(w, "ccache_misses", row->rec.ccache_misses);
			jw_kint(w, "ccache_uncacheable", row->rec.cc.uncacheable);
			jw_key(w, "ccache");
			jw_object_begin(w);
			ccache_stats_write_compilers(w, &row->rec.cc);
			ccache_stats_write_top(w, &row->rec.cc);
			jw_object_end(w);
		} else {
			static const char *const none[] = { "finished", "seconds", "wheel_bytes",
							    "ccache_hits", "ccache_misses",
							    "ccache_uncacheable", "ccache" };
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
	jw_key(w, "images");
	jw_array_begin(w);
	for (size_t i = 0; i < r->nimages; i++) {
		const struct image_record *im = &r->images[i];
		jw_object_begin(w);
		jw_kstring(w, "kind", im->kind);
		jw_kstring(w, "variant", im->variant);
		jw_kstring(w, "tag", im->tag);
		jw_kstring(w, "id", im->id);
		jw_kint(w, "size", im->size);
		jw_kint(w, "built_at", im->built_at);
		jw_kseconds(w, "seconds", im->seconds);
		jw_kstring(w, "wheelhouse", im->wheelhouse);
		jw_object_end(w);
	}
	jw_array_end(w);
}
