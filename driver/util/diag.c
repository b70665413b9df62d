#include "util/diag.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_release(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].msg);
		free(d->v[i].hint);
	}
	free(d->v);
	diags_init(d);
}

static bool same_pos(const struct pos *a, const struct pos *b)
{
	if (a->line != b->line || a->col != b->col)
		return false;
	if (!a->file || !b->file)
		return a->file == b->file;
	return strcmp(a->file, b->file) == 0;
}

static void record(struct diags *d, enum diag_level level, const struct pos *pos, const char *fmt,
		   va_list ap)
{
	struct buf msg = BUF_INIT;
	buf_vaddf(&msg, fmt, ap);
	struct pos p = pos ? *pos : (struct pos){ 0 };
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].level == level && same_pos(&d->v[i].pos, &p) &&
		    strcmp(d->v[i].msg, msg.data) == 0) {
			buf_release(&msg);
			d->last_dropped = true;
			return;
		}
	}
	GROW(d->v, d->cap, d->n + 1);
	d->v[d->n++] = (struct diag){ level, p, buf_detach(&msg), NULL, DIAG_INPUT };
	d->last_dropped = false;
	if (level == DIAG_ERROR)
		d->nerrors++;
	else if (level == DIAG_WARNING)
		d->nwarnings++;
}

int diag_error(struct diags *d, const struct pos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(d, DIAG_ERROR, pos, fmt, ap);
	va_end(ap);
	return -1;
}

void diag_warn(struct diags *d, const struct pos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(d, DIAG_WARNING, pos, fmt, ap);
	va_end(ap);
}

void diag_note(struct diags *d, const struct pos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(d, DIAG_NOTE, pos, fmt, ap);
	va_end(ap);
}

int diag_fail(struct diags *d, enum diag_class cls)
{
	if (cls > d->failure)
		d->failure = cls;
	return -1;
}

int diags_classify(struct diags *d, size_t since, enum diag_class cls)
{
	for (size_t i = since; i < d->n; i++)
		if (d->v[i].level == DIAG_ERROR)
			d->v[i].cls = cls;
	return diag_fail(d, cls);
}

enum diag_class diags_failure(const struct diags *d)
{
	enum diag_class worst = d->failure;
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == DIAG_ERROR && d->v[i].cls > worst)
			worst = d->v[i].cls;
	return worst;
}

void diag_hint(struct diags *d, const char *fmt, ...)
{
	if (!d->n || d->last_dropped)
		return;
	struct diag *last = &d->v[d->n - 1];
	struct buf hint = BUF_INIT;
	if (last->hint) {
		buf_adds(&hint, last->hint);
		buf_addch(&hint, '\n');
		free(last->hint);
	}
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&hint, fmt, ap);
	va_end(ap);
	last->hint = buf_detach(&hint);
}

void pos_render(const struct pos *pos, struct buf *out)
{
	if (!pos->file)
		return;
	buf_adds(out, pos->file);
	if (pos->line) {
		buf_addf(out, ":%u", pos->line);
		if (pos->col)
			buf_addf(out, ":%u", pos->col);
	}
}

static const char *level_name(enum diag_level level)
{
	switch (level) {
	case DIAG_ERROR:
		return "error";
	case DIAG_WARNING:
		return "warning";
	case DIAG_NOTE:
		return "note";
	}
	return "?";
}

void diags_render(const struct diags *d, struct buf *out, bool verbose)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (g->level == DIAG_NOTE && !verbose)
			continue;
		if (g->pos.file) {
			pos_render(&g->pos, out);
			buf_adds(out, ": ");
		}
		buf_addf(out, "%s: %s\n", level_name(g->level), g->msg);
		if (!g->hint)
			continue;
		/* Every line of a hint gets its own prefix. */
		for (const char *line = g->hint; *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			buf_adds(out, "hint: ");
			buf_add(out, line, len);
			buf_addch(out, '\n');
			line += len + (nl ? 1 : 0);
		}
	}
}

void diags_print(const struct diags *d, FILE *f, bool verbose)
{
	struct buf out = BUF_INIT;
	diags_render(d, &out, verbose);
	fputs(out.data, f);
	buf_release(&out);
}

void diags_take(struct diags *to, struct diags *from)
{
	for (size_t i = 0; i < from->n; i++) {
		GROW(to->v, to->cap, to->n + 1);
		to->v[to->n++] = from->v[i];
		if (from->v[i].level == DIAG_ERROR)
			to->nerrors++;
		else if (from->v[i].level == DIAG_WARNING)
			to->nwarnings++;
	}
	diag_fail(to, from->failure);
	free(from->v);
	diags_init(from);
}
