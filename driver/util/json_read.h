/*
 * JSON with comments, read with positions.
 *
 * `//` and block comments are blanked, cJSON parses, and a second pass over the text gives
 * every member and value its file:line:col. Duplicate member names are errors. The text
 * must be UTF-8 (a UTF-8 byte order mark is skipped) without NUL bytes, raw or as \u0000:
 * UTF-16, a NUL and invalid UTF-8 are each reported at their place (docs/files.md,
 * "Encoding"). json_read.c is the only file that includes cJSON.
 */
#ifndef PTBUILD_JSON_READ_H
#define PTBUILD_JSON_READ_H

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
/* The members of an object sorted by name: an array the caller frees (the nodes stay the
 * object's). */
const struct jnode **jnode_sorted_members(const struct jnode *obj);
/* "a string", "an object", ... for messages. */
const char *jtype_name(enum jtype type);

/* Length of the well-formed UTF-8 sequence at s[0] (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF; `len` > 0 bytes readable), or 0 when the bytes there
 * are not one. */
size_t utf8_seq(const unsigned char *s, size_t len);

#endif
