/* A small streaming JSON writer, and parsed values written back as canonical JSON. */
#ifndef PTBUILD_JSON_WRITE_H
#define PTBUILD_JSON_WRITE_H

#include <stdbool.h>

#include "util/buf.h"
#include "util/json_read.h"

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

/* Appends `s` as a quoted JSON string. */
void json_quote(struct buf *out, const char *s);

#endif
