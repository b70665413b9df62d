/*
 * JSON with comments, read with positions, and a small streaming writer.
 *
 * Reading: `//` and block comments are blanked, cJSON parses, and a second pass over the
 * text gives every member and value its file:line:col. Duplicate member names are errors.
 * This module is the only one that includes cJSON.
 */
#ifndef PTBUILD_JSON_H
#define PTBUILD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

enum jtype { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct jnode {
	enum jtype type;
	char *key;            /* owned; the member name when the parent is an object */
	struct pos key_pos;   /* where the member name starts */
	struct pos pos;       /* where the value starts */
	size_t offset;        /* byte offset of the value in the document */
	char *str;            /* owned; JSON_STRING only, decoded */
	double num;           /* JSON_NUMBER */
	bool boolean;         /* JSON_BOOL */
	struct jnode *child;  /* owned array of `n`: elements or members in file order */
	size_t n;
};

struct jdoc {
	char *path;           /* owned; every pos.file of this document points here */
	char *text;           /* owned; the text with comments blanked */
	size_t len;
	size_t *line_starts;  /* owned; byte offset of each line */
	size_t nlines;
	struct jnode root;
};

/* Parses `text` as file `path`. On error records it in `d` and returns -1; release anyway. */
int jdoc_parse(struct jdoc *doc, const char *path, const char *text, size_t len, struct diags *d);
int jdoc_load(struct jdoc *doc, const char *path, struct diags *d);
void jdoc_release(struct jdoc *doc);

/* Position of the byte at `index` of the decoded string value `n` (for `${...}` errors). */
struct pos jdoc_string_pos(const struct jdoc *doc, const struct jnode *n, size_t index);

/* The member `key` of an object, or NULL. */
const struct jnode *jnode_get(const struct jnode *obj, const char *key);
/* "a string", "an object", ... for messages. */
const char *jtype_name(enum jtype type);

/* Streaming writer. Keys are written in the order given: callers sort where order matters. */
struct jw {
	struct buf *out;  /* borrowed */
	bool pretty;
	int depth;
	bool first[64];   /* nothing written yet at this depth */
	bool after_key;
};

void jw_init(struct jw *w, struct buf *out, bool pretty);
void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s); /* NULL writes null */
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Shorthands for a member. */
void jw_kstring(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, long long v);
void jw_kbool(struct jw *w, const char *key, bool v);

/* Writes a parsed value; object members sorted by name, so the output is canonical. */
void jw_node(struct jw *w, const struct jnode *n);
/* A value as canonical compact JSON. Caller frees. */
char *jnode_compact(const struct jnode *n);
/*
 * Appends one line per leaf that differs between `a` and `b`, as
 * "path.to.member: old -> new" (compact JSON; "(absent)" where one side lacks it).
 * Arrays compare as whole values. Nothing is appended when they are equal.
 */
void jnode_diff(const struct jnode *a, const struct jnode *b, struct buf *out);

/* Appends `s` as a quoted JSON string. */
void json_quote(struct buf *out, const char *s);

#endif
