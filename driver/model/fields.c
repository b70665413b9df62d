#include "model/fields.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "util/xalloc.h"

void fields_init(struct fields *f, const struct jdoc *doc, const struct jnode *obj,
		 const char *what, struct diags *d)
{
	*f = (struct fields){ doc, obj, what, d, 0 };
}

void fields_known(struct fields *f, const char *const *known, size_t n)
{
	for (size_t i = 0; i < f->obj->n; i++) {
		const struct jnode *m = &f->obj->child[i];
		bool ok = false;
		for (size_t k = 0; k < n && !ok; k++)
			ok = strcmp(m->key, known[k]) == 0;
		if (ok)
			continue;
		diag_error(f->d, &m->key_pos, "unknown key \"%s\" in %s", m->key, f->what);
		const char *near = closest_match(m->key, known, n);
		if (near) {
			diag_hint(f->d, "did you mean \"%s\"?", near);
		} else {
			struct buf list = BUF_INIT;
			for (size_t k = 0; k < n; k++)
				buf_addf(&list, "%s\"%s\"", k ? ", " : "", known[k]);
			diag_hint(f->d, "known keys: %s", list.data);
			buf_release(&list);
		}
		f->errors++;
	}
}

const struct jnode *fields_get(struct fields *f, const char *key, enum jtype type, bool required)
{
	const struct jnode *m = jnode_get(f->obj, key);
	if (!m) {
		if (required) {
			diag_error(f->d, &f->obj->pos, "%s has no \"%s\"", f->what, key);
			diag_hint(f->d, "\"%s\" is required (see docs/files.md)", key);
			f->errors++;
		}
		return NULL;
	}
	if (m->type != type) {
		diag_error(f->d, &m->pos, "\"%s\" in %s must be %s, not %s", key, f->what,
			   jtype_name(type), jtype_name(m->type));
		if (type == JSON_STRING && (m->type == JSON_NUMBER || m->type == JSON_BOOL))
			diag_hint(f->d, "quote the value, e.g. \"1\"");
		f->errors++;
		return NULL;
	}
	return m;
}

char *fields_string(struct fields *f, const char *key, bool required, struct pos *pos)
{
	const struct jnode *m = fields_get(f, key, JSON_STRING, required);
	if (!m)
		return NULL;
	if (pos)
		*pos = m->pos;
	return xstrdup(m->str);
}

void node_string_list(struct fields *f, const struct jnode *arr, const char *name, bool unique,
		      struct strpos_list *out)
{
	out->v = xcalloc(arr->n, sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < arr->n; i++) {
		const struct jnode *e = &arr->child[i];
		if (e->type != JSON_STRING) {
			diag_error(f->d, &e->pos, "element %zu of \"%s\" in %s must be a string, not %s",
				   i + 1, name, f->what, jtype_name(e->type));
			f->errors++;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; unique && k < out->n && !dup; k++)
			dup = strcmp(out->v[k].s, e->str) == 0;
		if (dup) {
			diag_error(f->d, &e->pos, "\"%s\" appears twice in \"%s\" of %s", e->str, name,
				   f->what);
			f->errors++;
			continue;
		}
		out->v[out->n++] = (struct strpos){ xstrdup(e->str), e->pos };
	}
}

void fields_string_list(struct fields *f, const char *key, bool unique, struct strpos_list *out)
{
	out->v = NULL;
	out->n = 0;
	const struct jnode *m = fields_get(f, key, JSON_ARRAY, false);
	if (m)
		node_string_list(f, m, key, unique, out);
}

void node_string_map(struct fields *f, const struct jnode *obj, const char *name,
		     struct kv_list *out)
{
	out->v = xcalloc(obj->n, sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < obj->n; i++) {
		const struct jnode *m = &obj->child[i];
		if (m->type != JSON_STRING) {
			diag_error(f->d, &m->pos, "\"%s\" in \"%s\" of %s must be a string, not %s",
				   m->key, name, f->what, jtype_name(m->type));
			if (m->type == JSON_NUMBER || m->type == JSON_BOOL)
				diag_hint(f->d, "quote the value, e.g. \"1\"");
			f->errors++;
			continue;
		}
		out->v[out->n++] = (struct kv){ xstrdup(m->key), xstrdup(m->str), m->key_pos, m->pos };
	}
}

void fields_string_map(struct fields *f, const char *key, struct kv_list *out)
{
	out->v = NULL;
	out->n = 0;
	const struct jnode *m = fields_get(f, key, JSON_OBJECT, false);
	if (m)
		node_string_map(f, m, key, out);
}

bool fields_bool(struct fields *f, const char *key, bool dflt)
{
	const struct jnode *m = fields_get(f, key, JSON_BOOL, false);
	return m ? m->boolean : dflt;
}
