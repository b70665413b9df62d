/* The streaming JSON writer: jw_*, and parsed values written back canonically. */
#include "util/json_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_quote(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			buf_adds(out, "\\\"");
			break;
		case '\\':
			buf_adds(out, "\\\\");
			break;
		case '\n':
			buf_adds(out, "\\n");
			break;
		case '\t':
			buf_adds(out, "\\t");
			break;
		case '\r':
			buf_adds(out, "\\r");
			break;
		default:
			if (*p < 0x20) {
				buf_addf(out, "\\u%04x", *p);
			} else if (*p < 0x80) {
				buf_addch(out, (char)*p);
			} else {
				/* Text from outside (a path, a git message, a child's output) may
				 * be any bytes; JSON is UTF-8, so a byte that does not start a
				 * well-formed sequence becomes U+FFFD, as a UTF-8 decoder shows it. */
				size_t n = utf8_seq(p, strnlen((const char *)p, 4));
				if (n) {
					buf_add(out, (const char *)p, n);
					p += n - 1;
				} else {
					buf_adds(out, "\xEF\xBF\xBD");
				}
			}
		}
	}
	buf_addch(out, '"');
}

void jw_init(struct jw *w, struct buf *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first[0] = true;
}

static void newline(struct jw *w)
{
	if (!w->pretty)
		return;
	buf_addch(w->out, '\n');
	for (int i = 0; i < w->depth; i++)
		buf_adds(w->out, "  ");
}

/* Separator and indentation before a value or a key. */
static void before_item(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		buf_addch(w->out, ',');
	w->first[w->depth] = false;
	newline(w);
}

static void open_container(struct jw *w, char c)
{
	before_item(w);
	buf_addch(w->out, c);
	if (w->depth < 63)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_container(struct jw *w, char c)
{
	bool empty = w->first[w->depth];
	w->depth--;
	if (!empty)
		newline(w);
	buf_addch(w->out, c);
	if (w->depth == 0 && w->pretty)
		buf_addch(w->out, '\n');
}

void jw_object_begin(struct jw *w)
{
	open_container(w, '{');
}

void jw_object_end(struct jw *w)
{
	close_container(w, '}');
}

void jw_array_begin(struct jw *w)
{
	open_container(w, '[');
}

void jw_array_end(struct jw *w)
{
	close_container(w, ']');
}

void jw_key(struct jw *w, const char *key)
{
	before_item(w);
	json_quote(w->out, key);
	buf_adds(w->out, w->pretty ? ": " : ":");
	w->after_key = true;
}

void jw_string(struct jw *w, const char *s)
{
	before_item(w);
	if (s)
		json_quote(w->out, s);
	else
		buf_adds(w->out, "null");
}

void jw_int(struct jw *w, long long v)
{
	before_item(w);
	buf_addf(w->out, "%lld", v);
}

void jw_bool(struct jw *w, bool v)
{
	before_item(w);
	buf_adds(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	before_item(w);
	buf_adds(w->out, "null");
}

void jw_kstring(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string(w, s);
}

void jw_kint(struct jw *w, const char *key, long long v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_node(struct jw *w, const struct jnode *n)
{
	switch (n->type) {
	case JSON_NULL:
		jw_null(w);
		break;
	case JSON_BOOL:
		jw_bool(w, n->boolean);
		break;
	case JSON_NUMBER:
		/* The reader refuses what is not finite; a value written here never is. */
		if (!isfinite(n->num)) {
			jw_null(w);
		} else if (fabs(n->num) < 9.2e18 && n->num == (double)(long long)n->num) {
			jw_int(w, (long long)n->num);
		} else {
			before_item(w);
			buf_addf(w->out, "%.17g", n->num);
		}
		break;
	case JSON_STRING:
		jw_string(w, n->str);
		break;
	case JSON_ARRAY:
		jw_array_begin(w);
		for (size_t i = 0; i < n->n; i++)
			jw_node(w, &n->child[i]);
		jw_array_end(w);
		break;
	case JSON_OBJECT: {
		const struct jnode **m = jnode_sorted_members(n);
		jw_object_begin(w);
		for (size_t i = 0; i < n->n; i++) {
			jw_key(w, m[i]->key);
			jw_node(w, m[i]);
		}
		jw_object_end(w);
		free(m);
		break;
	}
	}
}

char *jnode_compact(const struct jnode *n)
{
	struct buf b = BUF_INIT;
	struct jw w;
	jw_init(&w, &b, false);
	jw_node(&w, n);
	return buf_detach(&b);
}
