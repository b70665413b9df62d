/* JSON with comments read into a tree with positions: the only includer of cJSON. */
#include "util/json_read.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/os.h"
#include "util/xalloc.h"

/* ---- comments ---------------------------------------------------------------------- */

/* Blanks comments with spaces (newlines kept) so offsets stay valid. Returns -1 on an
 * unterminated block comment and stores its offset in *bad. */
static int blank_comments(char *s, size_t len, size_t *bad)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < len)
					i++;
			i++;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
			while (i < len && s[i] != '\n')
				s[i++] = ' ';
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			size_t start = i;
			s[i++] = ' ';
			s[i++] = ' ';
			while (i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/')) {
				if (s[i] != '\n')
					s[i] = ' ';
				i++;
			}
			if (i >= len) {
				*bad = start;
				return -1;
			}
			s[i++] = ' ';
			s[i++] = ' ';
		} else {
			i++;
		}
	}
	return 0;
}

/* ---- positions ---------------------------------------------------------------------- */

static void index_lines(struct jdoc *doc)
{
	size_t cap = 0;
	GROW(doc->line_starts, cap, 1);
	doc->line_starts[doc->nlines++] = 0;
	for (size_t i = 0; i < doc->len; i++) {
		if (doc->text[i] == '\n') {
			GROW(doc->line_starts, cap, doc->nlines + 1);
			doc->line_starts[doc->nlines++] = i + 1;
		}
	}
}

static struct pos offset_pos(const struct jdoc *doc, size_t off)
{
	size_t lo = 0, hi = doc->nlines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (doc->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	unsigned col = 1;
	for (size_t i = doc->line_starts[lo]; i < off && i < doc->len; i++)
		if (((unsigned char)doc->text[i] & 0xC0) != 0x80) /* count characters, not bytes */
			col++;
	return (struct pos){ doc->path, (unsigned)lo + 1, col };
}

/* ---- encoding ----------------------------------------------------------------------- */

size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* U+D800..U+DFFF, the surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else {
		return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Whether the text looks like UTF-16 without a byte order mark: ASCII characters with
 * a NUL beside each, the NULs all at even (big-endian) or all at odd (little-endian)
 * offsets of the first bytes. Sets *big_endian. */
static bool looks_utf16(const unsigned char *t, size_t len, bool *big_endian)
{
	size_t n = len < 64 ? len & ~(size_t)1 : 64;
	if (n < 4)
		return false;
	bool le = true, be = true;
	for (size_t i = 0; i < n; i += 2) {
		le = le && t[i] && !t[i + 1];
		be = be && !t[i] && t[i + 1];
	}
	*big_endian = be;
	return le || be;
}

static struct pos offset_pos(const struct jdoc *doc, size_t off);

/*
 * The encoding rule (docs/files.md, "Encoding"): UTF-8, a UTF-8 byte order mark allowed
 * (jdoc_parse drops it), no NUL byte. UTF-16 is named as such, with how to convert.
 * Returns 0 or -1 with the error recorded at the first offending byte.
 */
static int check_encoding(const struct jdoc *doc, const unsigned char *t, size_t len,
			  struct diags *d)
{
	bool big_endian = false;
	if (len >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF))) {
		struct pos p = { doc->path, 1, 1 };
		diag_error(d, &p, "the file is UTF-16 (it starts with the byte order mark %02X %02X), "
			   "not UTF-8", t[0], t[1]);
		diag_hint(d, "save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 '%s' > NEW", doc->path);
		return -1;
	}
	if (looks_utf16(t, len, &big_endian)) {
		struct pos p = { doc->path, 1, 1 };
		diag_error(d, &p, "the file looks like UTF-16%s (a NUL byte beside every character), "
			   "not UTF-8", big_endian ? "BE" : "LE");
		diag_hint(d, "save it as UTF-8, e.g. iconv -f UTF-16%s -t UTF-8 '%s' > NEW",
			  big_endian ? "BE" : "LE", doc->path);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		if (!t[i]) {
			struct pos p = offset_pos(doc, i);
			diag_error(d, &p, "a NUL byte (0x00) is not allowed in a JSON file");
			diag_hint(d, "this is not a text file, or one in another encoding: save it as "
				  "UTF-8 text, or remove the byte");
			return -1;
		}
		size_t n = utf8_seq(t + i, len - i);
		if (!n) {
			struct pos p = offset_pos(doc, i);
			diag_error(d, &p, "not valid UTF-8: byte 0x%02x does not belong here", t[i]);
			diag_hint(d, "save the file as UTF-8 (from Latin-1: iconv -f LATIN1 -t UTF-8 '%s' "
				  "> NEW)", doc->path);
			return -1;
		}
		i += n;
	}
	return 0;
}

/* ---- the positional walk over text cJSON has already accepted ------------------------ */

struct walker {
	struct jdoc *doc;
	struct diags *d;
	size_t i;
	int errors;
	size_t last_off;      /* the last position asked for, to go on from there: */
	struct pos last_pos;  /* a compact document is one line of megabytes */
};

/* offset_pos for the walk, whose offsets only grow: counted on from the last one when it
 * is on the same line, so a one-line document is read in linear time. */
static struct pos walker_pos(struct walker *w, size_t off)
{
	const struct jdoc *doc = w->doc;
	struct pos p = w->last_pos;
	bool same_line = p.line && off >= w->last_off &&
			 (p.line >= doc->nlines || doc->line_starts[p.line] > off);
	if (!same_line) {
		p = offset_pos(doc, off);
	} else {
		for (size_t i = w->last_off; i < off && i < doc->len; i++)
			if (((unsigned char)doc->text[i] & 0xC0) != 0x80)
				p.col++;
	}
	w->last_off = off;
	w->last_pos = p;
	return p;
}

static void skip_ws(struct walker *w)
{
	while (w->i < w->doc->len && (unsigned char)w->doc->text[w->i] <= 32)
		w->i++;
}

static void skip_string(struct walker *w)
{
	const char *t = w->doc->text;
	for (w->i++; w->i < w->doc->len && t[w->i] != '"'; w->i++)
		if (t[w->i] == '\\')
			w->i++;
	w->i++;
}

static void skip_scalar(struct walker *w)
{
	while (w->i < w->doc->len && !strchr(",]} \t\r\n", w->doc->text[w->i]))
		w->i++;
}

static void convert(struct walker *w, const cJSON *c, struct jnode *n);

static int cmp_key_then_place(const void *a, const void *b)
{
	const struct jnode *x = *(const struct jnode *const *)a, *y = *(const struct jnode *const *)b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x > y) - (x < y);
}

/* Every key of object `n` that an earlier member has already, in document order; sorting
 * keeps this O(n log n) for an env map of 100,000 entries. */
static void check_duplicates(struct walker *w, struct jnode *n)
{
	if (n->n < 2)
		return;
	const struct jnode **by_key = xcalloc(n->n, sizeof(*by_key));
	const struct jnode **first = xcalloc(n->n, sizeof(*first)); /* per member, or NULL */
	for (size_t k = 0; k < n->n; k++)
		by_key[k] = &n->child[k];
	qsort(by_key, n->n, sizeof(*by_key), cmp_key_then_place);
	for (size_t k = 1, g = 0; k < n->n; k++) {
		if (strcmp(by_key[k]->key, by_key[g]->key))
			g = k;
		else
			first[by_key[k] - n->child] = by_key[g];
	}
	for (size_t k = 0; k < n->n; k++) {
		if (!first[k])
			continue;
		diag_error(w->d, &n->child[k].key_pos, "duplicate key \"%s\" (first at line %u)",
			   n->child[k].key, first[k]->key_pos.line);
		diag_hint(w->d, "keep one of the two; JSON readers disagree on which wins");
		w->errors++;
	}
	free(first);
	free(by_key);
}

static void convert_children(struct walker *w, const cJSON *c, struct jnode *n, bool object)
{
	size_t count = 0;
	for (const cJSON *e = c->child; e; e = e->next)
		count++;
	n->child = xcalloc(count, sizeof(*n->child));
	n->n = count;
	w->i++; /* '{' or '[' */
	size_t k = 0;
	for (const cJSON *e = c->child; e; e = e->next, k++) {
		struct jnode *m = &n->child[k];
		skip_ws(w);
		if (object) {
			m->key = xstrdup(e->string);
			m->key_pos = walker_pos(w, w->i);
			skip_string(w);
			skip_ws(w);
			w->i++; /* ':' */
			skip_ws(w);
		}
		convert(w, e, m);
		skip_ws(w);
		if (w->i < w->doc->len && w->doc->text[w->i] == ',')
			w->i++;
	}
	skip_ws(w);
	w->i++; /* '}' or ']' */
	if (object)
		check_duplicates(w, n);
}

static void convert(struct walker *w, const cJSON *c, struct jnode *n)
{
	n->offset = w->i;
	n->pos = walker_pos(w, w->i);
	if (cJSON_IsObject(c)) {
		n->type = JSON_OBJECT;
		convert_children(w, c, n, true);
	} else if (cJSON_IsArray(c)) {
		n->type = JSON_ARRAY;
		convert_children(w, c, n, false);
	} else if (cJSON_IsString(c)) {
		n->type = JSON_STRING;
		n->str = xstrdup(c->valuestring);
		skip_string(w);
	} else {
		if (cJSON_IsNumber(c)) {
			n->type = JSON_NUMBER;
			n->num = c->valuedouble;
			if (!isfinite(n->num)) {
				diag_error(w->d, &n->pos, "number is too large for a double");
				diag_hint(w->d, "write it as a string if it is an identifier");
				w->errors++;
			}
		} else if (cJSON_IsBool(c)) {
			n->type = JSON_BOOL;
			n->boolean = cJSON_IsTrue(c);
		} else {
			n->type = JSON_NULL;
		}
		skip_scalar(w);
	}
}

/* ---- parse errors -------------------------------------------------------------------- */

/*
 * cJSON says only roughly where it stopped (often one token late), so this small scanner
 * walks the grammar first to name the first error exactly.
 */
struct locator {
	const char *t;
	size_t len, i;
	size_t at;        /* where the error is */
	const char *what; /* static message */
	const char *hint; /* static hint or NULL */
	int depth;
};

static bool loc_fail(struct locator *l, size_t at, const char *what, const char *hint)
{
	l->at = at;
	l->what = what;
	l->hint = hint;
	return false;
}

static void loc_ws(struct locator *l)
{
	while (l->i < l->len && strchr(" \t\r\n", l->t[l->i]) && l->t[l->i])
		l->i++;
}

static bool loc_eof(struct locator *l)
{
	return loc_fail(l, l->len, "unexpected end of file",
			"a closing brace, bracket or quote is missing");
}

/* The four hex digits of "\\uXXXX" at l->t + at + 2, or -1. */
static long loc_hex4(const struct locator *l, size_t at)
{
	if (l->len - at < 6)
		return -1;
	long v = 0;
	for (size_t k = at + 2; k < at + 6; k++) {
		char h = l->t[k];
		int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
			    h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
		if (digit < 0)
			return -1;
		v = v * 16 + digit;
	}
	return v;
}

/* "\\uXXXX" at l->i (a surrogate pair as two): one character, never U+0000, which a
 * value could not hold. Moves past it. */
static bool loc_unicode_escape(struct locator *l)
{
	long v = loc_hex4(l, l->i);
	if (v < 0)
		return loc_fail(l, l->i, "invalid \\u escape: it takes four hex digits",
				"write e.g. \\u00e9, or the character itself");
	if (v == 0)
		return loc_fail(l, l->i, "\\u0000 (a NUL character) is not allowed in a string",
				"remove it: no file, command or variable can hold one");
	if (v >= 0xDC00 && v <= 0xDFFF)
		return loc_fail(l, l->i, "invalid \\u escape: a low surrogate without a high one "
				"before it", "write the character itself, in UTF-8");
	if (v >= 0xD800 && v <= 0xDBFF) {
		long low = l->len - l->i >= 12 && l->t[l->i + 6] == '\\' && l->t[l->i + 7] == 'u' ?
				   loc_hex4(l, l->i + 6) : -1;
		if (low < 0xDC00 || low > 0xDFFF)
			return loc_fail(l, l->i, "invalid \\u escape: a high surrogate without a low "
					"one after it", "write the character itself, in UTF-8");
		l->i += 6;
	}
	l->i += 6;
	return true;
}

static bool loc_string(struct locator *l)
{
	size_t open = l->i++;
	while (l->i < l->len && l->t[l->i] != '"') {
		unsigned char c = (unsigned char)l->t[l->i];
		if (c < 0x20)
			return loc_fail(l, l->i, c == '\n' ? "newline inside a string" :
					"control character inside a string", "write it escaped, e.g. \\n");
		if (c == '\\') {
			char e = l->i + 1 < l->len ? l->t[l->i + 1] : '\0';
			if (!e || !strchr("\"\\/bfnrtu", e))
				return loc_fail(l, l->i, "invalid escape in a string",
						"write a backslash as \\\\");
			if (e == 'u') {
				if (!loc_unicode_escape(l))
					return false;
				continue;
			}
			l->i++;
		}
		l->i++;
	}
	if (l->i >= l->len)
		return loc_fail(l, open, "string is not closed", "add the closing \"");
	l->i++;
	return true;
}

static bool loc_value(struct locator *l);

static bool loc_container(struct locator *l, bool object)
{
	char close = object ? '}' : ']';
	if (++l->depth > 900)
		return loc_fail(l, l->i, "nesting is too deep", NULL);
	l->i++;
	loc_ws(l);
	if (l->i < l->len && l->t[l->i] == close) {
		l->i++;
		l->depth--;
		return true;
	}
	for (;;) {
		loc_ws(l);
		if (l->i >= l->len)
			return loc_eof(l);
		if (object) {
			char c = l->t[l->i];
			if (c == '\'')
				return loc_fail(l, l->i, "strings need double quotes", NULL);
			if (c != '"')
				return loc_fail(l, l->i, "expected a member name in double quotes", NULL);
			if (!loc_string(l))
				return false;
			loc_ws(l);
			if (l->i >= l->len)
				return loc_eof(l);
			if (l->t[l->i] != ':')
				return loc_fail(l, l->i, "expected ':' after the member name", NULL);
			l->i++;
		}
		if (!loc_value(l))
			return false;
		loc_ws(l);
		if (l->i >= l->len)
			return loc_eof(l);
		char c = l->t[l->i];
		if (c == close) {
			l->i++;
			l->depth--;
			return true;
		}
		if (c != ',') {
			if (strchr("\"{[-0123456789tfn", c))
				return loc_fail(l, l->i, "missing comma before this value", NULL);
			return loc_fail(l, l->i, object ? "expected ',' or '}'" : "expected ',' or ']'",
					NULL);
		}
		size_t comma = l->i++;
		loc_ws(l);
		if (l->i < l->len && (l->t[l->i] == '}' || l->t[l->i] == ']'))
			return loc_fail(l, comma, object ? "trailing comma before '}'" :
					"trailing comma before ']'", "remove the comma after the last element");
	}
}

static bool loc_value(struct locator *l)
{
	loc_ws(l);
	if (l->i >= l->len)
		return loc_eof(l);
	char c = l->t[l->i];
	if (c == '{' || c == '[')
		return loc_container(l, c == '{');
	if (c == '"')
		return loc_string(l);
	if (c == '\'')
		return loc_fail(l, l->i, "strings need double quotes", NULL);
	static const char *const literals[] = { "true", "false", "null" };
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(literals[k]);
		if (l->len - l->i >= n && !strncmp(l->t + l->i, literals[k], n)) {
			l->i += n;
			return true;
		}
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		size_t start = l->i;
		if (c == '-')
			l->i++;
		size_t digits = strspn(l->t + l->i, "0123456789");
		if (!digits)
			return loc_fail(l, start, "invalid number", NULL);
		if (digits > 1 && l->t[l->i] == '0')
			return loc_fail(l, start, "a number must not start with 0",
					"write versions and codes as strings, e.g. \"01\"");
		l->i += digits;
		if (l->t[l->i] == '.') {
			l->i++;
			digits = strspn(l->t + l->i, "0123456789");
			if (!digits)
				return loc_fail(l, start, "invalid number", NULL);
			l->i += digits;
		}
		if (l->t[l->i] == 'e' || l->t[l->i] == 'E') {
			l->i++;
			if (l->t[l->i] == '+' || l->t[l->i] == '-')
				l->i++;
			digits = strspn(l->t + l->i, "0123456789");
			if (!digits)
				return loc_fail(l, start, "invalid number", NULL);
			l->i += digits;
		}
		return true;
	}
	return loc_fail(l, l->i, NULL, NULL); /* an unexpected character, named by the caller */
}

/* Returns 0 when the text is well-formed JSON, else -1 with the first error recorded. */
static int check_syntax(struct jdoc *doc, struct diags *d)
{
	struct locator l = { .t = doc->text, .len = doc->len };
	bool ok = loc_value(&l);
	if (ok) {
		loc_ws(&l);
		if (l.i >= l.len)
			return 0;
		loc_fail(&l, l.i, NULL, "there is text after the end of the JSON value");
	}
	struct pos p = offset_pos(doc, l.at);
	if (l.what) {
		diag_error(d, &p, "invalid JSON: %s", l.what);
	} else {
		unsigned char c = l.at < doc->len ? (unsigned char)doc->text[l.at] : 0;
		if (c >= 32 && c < 127)
			diag_error(d, &p, "invalid JSON: unexpected '%c'", c);
		else
			diag_error(d, &p, "invalid JSON: unexpected byte 0x%02x", c);
	}
	if (l.hint)
		diag_hint(d, "%s", l.hint);
	return -1;
}

int jdoc_parse(struct jdoc *doc, const char *path, const char *text, size_t len, struct diags *d)
{
	memset(doc, 0, sizeof(*doc));
	doc->path = xstrdup(path);
	/* A UTF-8 byte order mark is dropped: positions count from the character after it,
	 * as an editor shows them. */
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	/* One trailing space past the text, so every scan may look one byte ahead. */
	doc->text = xmalloc(len + 2);
	memcpy(doc->text, text, len);
	doc->text[len] = ' ';
	doc->text[len + 1] = '\0';
	doc->len = len + 1;
	index_lines(doc);
	if (check_encoding(doc, (const unsigned char *)text, len, d) < 0)
		return -1;
	size_t bad;
	if (blank_comments(doc->text, doc->len, &bad) < 0) {
		struct pos p = offset_pos(doc, bad);
		diag_error(d, &p, "unterminated comment");
		diag_hint(d, "close it with */");
		return -1;
	}
	/* The scanner is stricter than cJSON (no raw control characters in strings) and
	 * names the first error exactly; cJSON then builds the values. */
	if (check_syntax(doc, d) < 0)
		return -1;
	cJSON *root = cJSON_ParseWithLengthOpts(doc->text, doc->len, NULL, 0);
	if (!root) {
		struct pos p = { doc->path, 1, 1 };
		return diag_error(d, &p, "invalid JSON: the JSON parser refused this file");
	}
	struct walker w = { .doc = doc, .d = d };
	skip_ws(&w);
	convert(&w, root, &doc->root);
	cJSON_Delete(root);
	return w.errors ? -1 : 0;
}

int jdoc_load(struct jdoc *doc, const char *path, struct diags *d)
{
	struct buf text = BUF_INIT;
	if (read_file(path, &text) < 0) {
		int e = errno;
		memset(doc, 0, sizeof(*doc));
		doc->path = xstrdup(path);
		buf_release(&text);
		struct pos p = { doc->path, 0, 0 };
		return diag_error(d, &p, "cannot read file: %s", strerror(e));
	}
	int rc = jdoc_parse(doc, path, text.data, text.len, d);
	buf_release(&text);
	return rc;
}

static void jnode_release(struct jnode *n)
{
	for (size_t i = 0; i < n->n; i++)
		jnode_release(&n->child[i]);
	free(n->child);
	free(n->key);
	free(n->str);
}

void jdoc_release(struct jdoc *doc)
{
	jnode_release(&doc->root);
	free(doc->path);
	free(doc->text);
	free(doc->line_starts);
	memset(doc, 0, sizeof(*doc));
}

struct pos jdoc_string_pos(const struct jdoc *doc, const struct jnode *n, size_t index)
{
	size_t i = n->offset + 1; /* after the opening quote */
	size_t decoded = 0;
	while (i < doc->len && doc->text[i] != '"' && decoded < index) {
		if (doc->text[i] == '\\') {
			i += doc->text[i + 1] == 'u' ? 6 : 2;
			decoded++;
		} else {
			i++;
			decoded++;
		}
	}
	return offset_pos(doc, i);
}

const struct jnode *jnode_get(const struct jnode *obj, const char *key)
{
	if (obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->child[i].key, key) == 0)
			return &obj->child[i];
	return NULL;
}

const char *jtype_name(enum jtype type)
{
	switch (type) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "a boolean";
	case JSON_NUMBER:
		return "a number";
	case JSON_STRING:
		return "a string";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	}
	return "?";
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp((*(const struct jnode *const *)a)->key, (*(const struct jnode *const *)b)->key);
}

const struct jnode **jnode_sorted_members(const struct jnode *obj)
{
	const struct jnode **v = xcalloc(obj->n + 1, sizeof(*v));
	for (size_t i = 0; i < obj->n; i++)
		v[i] = &obj->child[i];
	qsort(v, obj->n, sizeof(*v), cmp_member);
	return v;
}
