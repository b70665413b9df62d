#include "sources/patch_parse.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sources/git_source.h"
#include "util/xalloc.h"

/* ---- traditional diffs ------------------------------------------------------------------ */

/* Lines added by the conversion, by their line number in the converted text, so that
 * messages can name lines of the file as written. */
struct line_map {
	unsigned *added; /* owned, ascending */
	size_t n, cap;
};

static unsigned original_line(const struct line_map *m, unsigned converted)
{
	unsigned before = 0;
	for (size_t i = 0; i < m->n && m->added[i] < converted; i++)
		before++;
	return converted - before;
}

static size_t line_len(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	return nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
}

/* Whether the text [s, end) starts with `prefix`: the text need not end in a NUL. */
static bool at_prefix(const char *s, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(end - s) >= n && !memcmp(s, prefix, n);
}

/* "a/dir/f.c\t2024-01-01 ..." -> "dir/f.c" (git apply's -p1); NULL for /dev/null. */
static char *traditional_path(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && s[n] != '\t' && s[n] != '\n' && s[n] != '\r')
		n++;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 9 && !memcmp(s, "/dev/null", 9))
		return NULL;
	const char *slash = memchr(s, '/', n);
	if (slash && (size_t)(slash - s) + 1 < n)
		return xstrndup(slash + 1, n - (size_t)(slash - s) - 1);
	return xstrndup(s, n);
}

/* Appends a line the patch file does not have. */
static void add_line(struct buf *out, struct line_map *m, unsigned *line, const char *text)
{
	buf_adds(out, text);
	(*line)++;
	GROW(m->added, m->cap, m->n + 1);
	m->added[m->n++] = *line;
}

/*
 * Gives each file of a traditional unified diff ("--- a/f", "+++ b/f", "@@") the
 * "diff --git" header libgit2 needs, with "new file" / "deleted file" for /dev/null sides.
 * Text that already has git headers is left alone (returns false).
 */
static bool add_git_headers(const char *data, size_t len, struct buf *out, struct line_map *m)
{
	const char *end = data + len;
	for (const char *s = data; s < end; s += line_len(s, end))
		if (at_prefix(s, end, "diff --git "))
			return false;
	unsigned line = 0;
	for (const char *s = data; s < end;) {
		size_t n1 = line_len(s, end);
		const char *plus = s + n1;
		size_t n2 = plus < end ? line_len(plus, end) : 0;
		const char *at = plus + n2;
		if (n1 > 4 && at_prefix(s, end, "--- ") && n2 > 4 && at_prefix(plus, end, "+++ ") &&
		    at_prefix(at, end, "@@ ")) {
			char *oldp = traditional_path(s + 4, n1 - 4);
			char *newp = traditional_path(plus + 4, n2 - 4);
			const char *path = newp ? newp : oldp ? oldp : "";
			struct buf header = BUF_INIT;
			buf_addf(&header, "diff --git a/%s b/%s\n", path, path);
			add_line(out, m, &line, header.data);
			buf_release(&header);
			if (!oldp)
				add_line(out, m, &line, "new file mode 100644\n");
			if (!newp)
				add_line(out, m, &line, "deleted file mode 100644\n");
			if (oldp)
				buf_addf(out, "--- a/%s\n", path);
			else
				buf_adds(out, "--- /dev/null\n");
			if (newp)
				buf_addf(out, "+++ b/%s\n", path);
			else
				buf_adds(out, "+++ /dev/null\n");
			line += 2;
			free(oldp);
			free(newp);
			s = at;
			continue;
		}
		buf_add(out, s, n1);
		line++;
		s += n1;
	}
	return true;
}

/* ---- reading with libgit2 ---------------------------------------------------------------- */

void blob_id_hex(const void *data, size_t len, char out[BLOB_ID_HEX_SIZE])
{
	git_oid oid;
	git_source_init(); /* libgit2, once per process */
	if (git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB) < 0)
		memset(&oid, 0, sizeof(oid));
	git_oid_tostr(out, BLOB_ID_HEX_SIZE, &oid);
}

static int inflate_into(struct buf *out, const char *data, size_t len, size_t size)
{
	buf_reset(out);
	buf_grow(out, size + 1);
	uLongf have = (uLongf)size;
	if (size && uncompress((Bytef *)out->data, &have, (const Bytef *)data, (uLong)len) != Z_OK)
		return -1;
	if (have != size)
		return -1;
	out->len = size;
	out->data[size] = '\0';
	return 0;
}

struct walk {
	struct patch *p;
	const char *name;
	struct diags *d;
	size_t index; /* of the delta being visited */
	int errors;
};

static int on_file(const git_diff_delta *delta, float progress, void *payload)
{
	(void)delta;
	(void)progress;
	struct walk *w = payload;
	w->index++;
	return 0;
}

static int on_binary(const git_diff_delta *delta, const git_diff_binary *bin, void *payload)
{
	(void)delta;
	struct walk *w = payload;
	struct patch_delta *pd = &w->p->deltas[w->index - 1];
	pd->binary = true;
	pd->binary_has_data = bin->contains_data;
	if (!bin->contains_data)
		return 0;
	pd->binary_delta = bin->new_file.type == GIT_DIFF_BINARY_DELTA;
	if (inflate_into(&pd->binary_data, bin->new_file.data, bin->new_file.datalen,
			 bin->new_file.inflatedlen) < 0) {
		diag_error(w->d, &(struct pos){ w->name, 0, 0 },
			   "the binary patch of \"%s\" in \"%s\" is corrupt (it does not inflate to "
			   "%zu bytes)", pd->new_path, w->name, bin->new_file.inflatedlen);
		w->errors++;
	}
	return 0;
}

static void copy_id(char out[BLOB_ID_HEX_SIZE], const git_diff_file *f)
{
	out[0] = '\0';
	if (f->id_abbrev == GIT_OID_HEXSZ && !git_oid_is_zero(&f->id))
		git_oid_tostr(out, BLOB_ID_HEX_SIZE, &f->id);
}

static enum patch_change change_of(git_delta_t status)
{
	switch (status) {
	case GIT_DELTA_ADDED: return PATCH_ADD;
	case GIT_DELTA_DELETED: return PATCH_DELETE;
	case GIT_DELTA_RENAMED: return PATCH_RENAME;
	case GIT_DELTA_COPIED: return PATCH_COPY;
	default: return PATCH_MODIFY;
	}
}

/* Line number (1-based) of byte `offset` of `text`; `cursor` makes ascending calls cheap. */
struct line_cursor {
	size_t offset;
	unsigned line;
};

static unsigned line_at(const char *text, size_t offset, struct line_cursor *c)
{
	if (offset < c->offset)
		*c = (struct line_cursor){ 0, 1 };
	for (; c->offset < offset; c->offset++)
		if (text[c->offset] == '\n')
			c->line++;
	return c->line;
}

static void read_hunk(struct patch_hunk *h, git_patch *gp, size_t hi, size_t nlines)
{
	struct buf text = BUF_INIT;
	h->lines = xcalloc(nlines + 1, sizeof(*h->lines));
	size_t *offs = xcalloc(nlines + 1, sizeof(size_t));
	for (size_t l = 0; l < nlines; l++) {
		const git_diff_line *ln;
		if (git_patch_get_line_in_hunk(&ln, gp, hi, l) < 0)
			break;
		if (ln->origin == GIT_DIFF_LINE_CONTEXT_EOFNL || ln->origin == GIT_DIFF_LINE_ADD_EOFNL ||
		    ln->origin == GIT_DIFF_LINE_DEL_EOFNL) {
			if (h->nlines)
				h->lines[h->nlines - 1].newline = false;
			continue;
		}
		struct patch_line *pl = &h->lines[h->nlines];
		pl->origin = ln->origin == GIT_DIFF_LINE_ADDITION ? '+'
			   : ln->origin == GIT_DIFF_LINE_DELETION ? '-' : ' ';
		size_t len = ln->content_len;
		pl->newline = len && ln->content[len - 1] == '\n';
		if (pl->newline)
			len--;
		offs[h->nlines] = text.len;
		pl->len = len;
		buf_add(&text, ln->content, len);
		h->nlines++;
	}
	h->text = buf_detach(&text);
	for (size_t l = 0; l < h->nlines; l++)
		h->lines[l].text = h->text + offs[l];
	free(offs);
}

/* Hunk `h` of `gp`: its header, ranges, lines and the line it starts at in the patch file
 * (`data` is the text libgit2 read, `map` leads back to the file's own lines). */
static void read_hunk_of(struct patch_hunk *ph, git_patch *gp, size_t h, const char *data,
			 const struct line_map *map, struct line_cursor *cur)
{
	const git_diff_hunk *gh;
	size_t nlines = 0;
	git_patch_get_hunk(&gh, &nlines, gp, h);
	size_t hl = gh->header_len;
	while (hl && (gh->header[hl - 1] == '\n' || gh->header[hl - 1] == '\r'))
		hl--;
	ph->header = xstrndup(gh->header, hl);
	ph->old_start = (size_t)gh->old_start;
	ph->old_lines = (size_t)gh->old_lines;
	ph->new_start = (size_t)gh->new_start;
	ph->new_lines = (size_t)gh->new_lines;
	const git_diff_line *first;
	if (nlines && git_patch_get_line_in_hunk(&first, gp, h, 0) == 0 &&
	    first->content_offset > 0) {
		unsigned l = line_at(data, (size_t)first->content_offset, cur);
		ph->line = original_line(map, l > 1 ? l - 1 : 1);
	}
	read_hunk(ph, gp, h, nlines);
}

/* Delta `i` of `diff`: paths, modes, ids and hunks (binary contents come later). */
static void read_delta(struct patch_delta *pd, git_diff *diff, size_t i, const char *data,
		       const struct line_map *map, struct line_cursor *cur)
{
	const git_diff_delta *gd = git_diff_get_delta(diff, i);
	pd->change = change_of(gd->status);
	pd->old_path = xstrdup(gd->old_file.path ? gd->old_file.path : "");
	pd->new_path = xstrdup(gd->new_file.path ? gd->new_file.path : pd->old_path);
	pd->old_mode = gd->old_file.mode;
	pd->new_mode = gd->new_file.mode;
	copy_id(pd->old_id, &gd->old_file);
	copy_id(pd->new_id, &gd->new_file);
	git_patch *gp = NULL;
	if (git_patch_from_diff(&gp, diff, i) < 0)
		return;
	pd->nhunks = git_patch_num_hunks(gp);
	pd->hunks = xcalloc(pd->nhunks + 1, sizeof(*pd->hunks));
	for (size_t h = 0; h < pd->nhunks; h++)
		read_hunk_of(&pd->hunks[h], gp, h, data, map, cur);
	if (pd->nhunks)
		pd->line = pd->hunks[0].line;
	git_patch_free(gp);
}

int patch_parse(struct patch *p, const char *name, const char *data, size_t len,
		struct diags *d)
{
	memset(p, 0, sizeof(*p));
	/* libgit2 1.5 copies a hunk line only up to a NUL but keeps its full length (reads
	 * past the copy: found by tests/fuzz/fuzz_patch.c). git itself writes a file with a
	 * NUL as a binary patch, so a text patch holding one is refused, at its place. */
	const char *nul = memchr(data, '\0', len);
	if (nul) {
		struct pos p0 = { name, 1, 1 };
		for (const char *c = data; c < nul; c++) {
			if (*c == '\n') {
				p0.line++;
				p0.col = 1;
			} else if (((unsigned char)*c & 0xC0) != 0x80) {
				p0.col++; /* characters, not bytes */
			}
		}
		diag_error(d, &p0, "the patch \"%s\" holds a NUL byte: a text patch cannot", name);
		diag_hint(d, "a file with NUL bytes is binary: make the patch with `git diff --binary` "
			     "or `git format-patch`");
		return -1;
	}
	struct buf converted = BUF_INIT;
	struct line_map map = { 0 };
	if (add_git_headers(data, len, &converted, &map)) {
		data = converted.data;
		len = converted.len;
	}
	git_source_init(); /* libgit2, once per process */
	git_diff *diff = NULL;
	int rc = -1;
	struct pos at = { name, 0, 0 };
	if (git_diff_from_buffer(&diff, data, len) < 0) {
		const git_error *e = git_error_last();
		diag_error(d, &at, "cannot read the patch \"%s\": %s", name,
			   e && e->message ? e->message : "not a patch");
		diag_hint(d, "patches are read as `git apply` reads them: `git diff`, `git "
			     "format-patch` or unified `diff -u` output");
		goto out;
	}
	p->ndeltas = git_diff_num_deltas(diff);
	if (!p->ndeltas) {
		diag_error(d, &at, "the patch \"%s\" holds no change", name);
		diag_hint(d, "an empty or non-diff file in a series is a mistake: remove it or add "
			     "it to the series' \"exclude\"");
		goto out;
	}
	p->deltas = xcalloc(p->ndeltas, sizeof(*p->deltas));
	struct line_cursor cur = { 0, 1 };
	for (size_t i = 0; i < p->ndeltas; i++)
		read_delta(&p->deltas[i], diff, i, data, &map, &cur);
	struct walk w = { p, name, d, 0, 0 };
	git_diff_foreach(diff, on_file, on_binary, NULL, NULL, &w);
	rc = w.errors ? -1 : 0;
out:
	git_diff_free(diff);
	buf_release(&converted);
	free(map.added);
	if (rc < 0)
		patch_release(p);
	return rc;
}

void patch_release(struct patch *p)
{
	for (size_t i = 0; i < p->ndeltas; i++) {
		struct patch_delta *pd = &p->deltas[i];
		for (size_t h = 0; h < pd->nhunks; h++) {
			free(pd->hunks[h].header);
			free(pd->hunks[h].lines);
			free(pd->hunks[h].text);
		}
		free(pd->hunks);
		free(pd->old_path);
		free(pd->new_path);
		buf_release(&pd->binary_data);
	}
	free(p->deltas);
	memset(p, 0, sizeof(*p));
}
