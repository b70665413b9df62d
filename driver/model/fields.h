/*
 * Strict, typed access to the members of a loaded JSON object: unknown keys, missing
 * required keys and wrong types become diagnostics at the right file:line:col.
 */
#ifndef PTBUILD_FIELDS_H
#define PTBUILD_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/json.h"
#include "model/model.h"
#include "util/diag.h"

struct fields {
	const struct jdoc *doc;
	const struct jnode *obj;
	const char *what;  /* the object in messages: `recipe "torch"`, `"source" of recipe "x"` */
	struct diags *d;
	int errors;        /* errors recorded through this struct */
};

void fields_init(struct fields *f, const struct jdoc *doc, const struct jnode *obj,
		 const char *what, struct diags *d);

/* Reports every member not in `known` (with a "did you mean"). */
void fields_known(struct fields *f, const char *const *known, size_t n);

/* The member `key` if present and of `type`; NULL otherwise (an error when it was required
 * or of the wrong type). */
const struct jnode *fields_get(struct fields *f, const char *key, enum jtype type, bool required);

/* Copies of string members; NULL when absent. `pos` (may be NULL) gets the value position. */
char *fields_string(struct fields *f, const char *key, bool required, struct pos *pos);
/* Arrays of strings; duplicates are errors when `unique`. */
void fields_string_list(struct fields *f, const char *key, bool unique, struct strpos_list *out);
/* Objects of strings. */
void fields_string_map(struct fields *f, const char *key, struct kv_list *out);
bool fields_bool(struct fields *f, const char *key, bool dflt);

/* Converts an array node of strings (elements of other types are errors). */
void node_string_list(struct fields *f, const struct jnode *arr, const char *name, bool unique,
		      struct strpos_list *out);
void node_string_map(struct fields *f, const struct jnode *obj, const char *name,
		     struct kv_list *out);

#endif
