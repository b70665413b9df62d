/* Helpers shared by the loaders of recipes, toolchains and build sets. */
#include "model/load_common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/interp.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- helpers ------------------------------------------------------------------------- */

char *describe(const char *kind, const char *name)
{
	struct buf b = BUF_INIT;
	if (name)
		buf_addf(&b, "%s \"%s\"", kind, name);
	else
		buf_adds(&b, kind);
	return buf_detach(&b);
}

bool valid_name(const char *s, bool toolchain)
{
	if (!islower((unsigned char)s[0]))
		return false;
	for (const char *c = s; *c; c++) {
		if (islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')
			continue;
		if (toolchain && (*c == '-' || *c == '.'))
			continue;
		return false;
	}
	return true;
}

bool is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isdigit((unsigned char)s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return false;
	return n == 64;
}

/* Checks the `${...}` references of the string node `n`; collects recipe references. */
void check_interp(struct fields *f, const struct jnode *n, const char *where,
			 bool in_toolchain, struct refs *refs)
{
	struct interp_ref *found;
	size_t nfound, bad;
	const char *why, *suggest;
	if (interp_scan(n->str, &found, &nfound, &bad, &why, &suggest) < 0) {
		struct pos p = jdoc_string_pos(f->doc, n, bad);
		size_t len = strcspn(n->str + bad, "}");
		diag_error(f->d, &p, "%s in %s of %s: \"%.*s%s\"", why, where, f->what, (int)len,
			   n->str + bad, n->str[bad + len] == '}' ? "}" : "");
		if (suggest)
			diag_hint(f->d, "did you mean \"${%s}\"?", suggest);
		else
			diag_hint(f->d, "the names ${...} may use are listed in docs/files.md "
					"(Interpolation); write $$ for a literal $");
		f->errors++;
		return;
	}
	for (size_t i = 0; i < nfound; i++) {
		struct pos p = jdoc_string_pos(f->doc, n, found[i].start);
		if (in_toolchain && (found[i].recipe || starts_with(found[i].name, "recipe.") ||
				     !strcmp(found[i].name, "src"))) {
			diag_error(f->d, &p, "\"${%s}\" in %s of %s names a recipe, but a toolchain "
					     "serves every recipe", found[i].name, where, f->what);
			diag_hint(f->d, "set this variable in the recipe's \"env\" instead");
			f->errors++;
			continue;
		}
		if (found[i].recipe) {
			GROW(refs->v, refs->cap, refs->n + 1);
			refs->v[refs->n++] = (struct recipe_ref){
				xstrdup(found[i].recipe), starts_with(found[i].name, "src:"), p };
		}
	}
	interp_refs_free(found, nfound);
}

void check_interp_members(struct fields *f, const struct jnode *obj, const char *key,
				 bool in_toolchain, struct refs *refs)
{
	const struct jnode *m = jnode_get(obj, key);
	if (!m || m->type != JSON_OBJECT)
		return;
	for (size_t i = 0; i < m->n; i++) {
		if (m->child[i].type != JSON_STRING)
			continue;
		struct buf where = BUF_INIT;
		buf_addf(&where, "%s \"%s\"", key, m->child[i].key);
		check_interp(f, &m->child[i], where.data, in_toolchain, refs);
		buf_release(&where);
	}
}
