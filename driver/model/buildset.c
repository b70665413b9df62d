/* Loading a build set and checking it against the project (docs/files.md, "Build sets"). */
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "model/load_common.h"
#include "model/project.h"
#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- build sets ---------------------------------------------------------------------- */

char *project_set_path(const struct project *p, const char *name_or_path)
{
	if (strchr(name_or_path, '/') || ends_with(name_or_path, ".json"))
		return xstrdup(name_or_path);
	struct buf rel = BUF_INIT;
	buf_addf(&rel, "recipes/sets/%s.json", name_or_path);
	char *path = project_path(p, rel.data);
	buf_release(&rel);
	return path;
}

static void check_set_names(struct project *p, struct buildset *s, struct diags *d)
{
	for (size_t i = 0; i < s->targets.n; i++) {
		if (!project_recipe(p, s->targets.v[i].s)) {
			diag_error(d, &s->targets.v[i].pos, "build set \"%s\" targets \"%s\", which is not "
							    "a recipe", s->name, s->targets.v[i].s);
			project_hint_recipe_name(p, s->targets.v[i].s, d);
		}
	}
	const char **tnames = xcalloc(p->ntoolchains + 1, sizeof(*tnames));
	for (size_t i = 0; i < p->ntoolchains; i++)
		tnames[i] = p->toolchains[i].name;
	for (size_t i = 0; i < s->toolchains.n; i++) {
		if (project_toolchain(p, s->toolchains.v[i].s))
			continue;
		diag_error(d, &s->toolchains.v[i].pos, "build set \"%s\" names toolchain \"%s\", which is "
						       "not in toolchains/", s->name, s->toolchains.v[i].s);
		const char *near = closest_match(s->toolchains.v[i].s, tnames, p->ntoolchains);
		if (near)
			diag_hint(d, "did you mean \"%s\"?", near);
		else
			diag_hint(d, "add toolchains/%s.json or fix the name", s->toolchains.v[i].s);
	}
	free(tnames);
	for (size_t i = 0; i < s->python.n; i++) {
		bool ok = false;
		for (size_t k = 0; k < known_pythons_count && !ok; k++)
			ok = !strcmp(s->python.v[i].s, known_pythons[k]);
		if (ok)
			continue;
		diag_error(d, &s->python.v[i].pos, "build set \"%s\" names Python \"%s\", which ptbuild "
						   "does not know", s->name, s->python.v[i].s);
		diag_hint(d, "use one of 3.9, 3.10, 3.11, 3.12, 3.13, 3.14 (major.minor only)");
	}
	for (size_t i = 0; i < s->use.n; i++) {
		const struct kv *u = &s->use.v[i];
		const struct recipe *r = project_recipe(p, u->value);
		if (!r) {
			diag_error(d, &u->pos, "\"use\" in build set \"%s\" names \"%s\", which is not a "
					       "recipe", s->name, u->value);
			project_hint_recipe_name(p, u->value, d);
		} else if (strcmp(r->name, u->key) && (!r->provides || strcmp(r->provides, u->key))) {
			diag_error(d, &u->pos, "\"use\" in build set \"%s\": recipe \"%s\" does not provide "
					       "\"%s\"", s->name, u->value, u->key);
			diag_hint(d, "add \"provides\": \"%s\" to recipe \"%s\" if it can stand in for it",
				  u->key, u->value);
		}
	}
}

/* The error for a set file that is not there, with the sets there are. */
static void report_missing_set(struct project *p, const char *name_or_path, const char *path,
			       struct diags *d)
{
	struct pos where = { 0 };
	diag_error(d, &where, "no build set \"%s\" (looked for %s)", name_or_path, path);
	char **names;
	size_t n;
	char *dir = project_path(p, "recipes/sets");
	if (list_dir(dir, ".json", &names, &n) == 0 && n) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			names[i][strlen(names[i]) - 5] = '\0';
			buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
		}
		diag_hint(d, "sets in recipes/sets/: %s", list.data);
		buf_release(&list);
		free_names(names, n);
	}
	free(dir);
}

/* "targets", "toolchains" and "python": each a non-empty list of strings. */
static void load_set_lists(struct fields *f, struct buildset *s, const char *what)
{
	static const char *const lists[] = { "targets", "toolchains", "python" };
	struct strpos_list *dest[] = { &s->targets, &s->toolchains, &s->python };
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const struct jnode *m = fields_get(f, lists[i], JSON_ARRAY, true);
		if (m)
			node_string_list(f, m, lists[i], true, dest[i]);
		if (m && !m->n) {
			diag_error(f->d, &m->pos, "\"%s\" of %s is empty", lists[i], what);
			diag_hint(f->d, "a build set needs at least one of each: targets, toolchains, python");
		}
	}
}

/* Exclude entry `e` (number `i` from 0) into the set's next exclude. */
static void load_set_exclude(struct project *p, const struct jdoc *doc, const struct jnode *e,
			     size_t i, const char *what, struct buildset *s, struct diags *d)
{
	if (e->type != JSON_OBJECT) {
		diag_error(d, &e->pos, "exclude entry %zu of %s must be an object, not %s", i + 1,
			   what, jtype_name(e->type));
		return;
	}
	struct buf ew = BUF_INIT;
	buf_addf(&ew, "exclude entry %zu of %s", i + 1, what);
	struct fields xf;
	fields_init(&xf, doc, e, ew.data, d);
	static const char *const xkeys[] = { "target", "toolchain", "python" };
	fields_known(&xf, xkeys, ARRAY_SIZE(xkeys));
	struct set_exclude *x = &s->excludes[s->nexcludes++];
	x->pos = e->pos;
	struct pos tp, cp, pyp;
	x->target = fields_string(&xf, "target", false, &tp);
	x->toolchain = fields_string(&xf, "toolchain", false, &cp);
	x->python = fields_string(&xf, "python", false, &pyp);
	if (!e->n) {
		diag_error(d, &e->pos, "%s is empty and would exclude everything", ew.data);
	}
	if (x->target && !project_recipe(p, x->target)) {
		diag_error(d, &tp, "%s names \"%s\", which is not a recipe", ew.data, x->target);
		project_hint_recipe_name(p, x->target, d);
	}
	if (x->toolchain && !project_toolchain(p, x->toolchain))
		diag_error(d, &cp, "%s names toolchain \"%s\", which is not in toolchains/", ew.data,
			   x->toolchain);
	bool py_ok = !x->python;
	for (size_t k = 0; k < known_pythons_count && !py_ok; k++)
		py_ok = !strcmp(x->python, known_pythons[k]);
	if (!py_ok)
		diag_error(d, &pyp, "%s names Python \"%s\", which ptbuild does not know", ew.data,
			   x->python);
	buf_release(&ew);
}

/* The members of the set object in `doc` into `s`. */
static void load_set_members(struct project *p, const struct jdoc *doc, struct buildset *s,
			     struct diags *d)
{
	char *what = describe("build set", s->name);
	struct fields f;
	fields_init(&f, doc, &doc->root, what, d);
	static const char *const keys[] = { "targets", "toolchains", "python", "exclude", "use" };
	fields_known(&f, keys, ARRAY_SIZE(keys));
	load_set_lists(&f, s, what);
	fields_string_map(&f, "use", &s->use);
	const struct jnode *ex = fields_get(&f, "exclude", JSON_ARRAY, false);
	if (ex) {
		s->excludes = xcalloc(ex->n, sizeof(*s->excludes));
		for (size_t i = 0; i < ex->n; i++)
			load_set_exclude(p, doc, &ex->child[i], i, what, s, d);
	}
	free(what);
}

int project_load_set(struct project *p, const char *name_or_path, struct buildset *s,
		     struct diags *d)
{
	memset(s, 0, sizeof(*s));
	size_t before = d->nerrors;
	char *path = project_set_path(p, name_or_path);
	if (!path_exists(path)) {
		report_missing_set(p, name_or_path, path, d);
		free(path);
		return -1;
	}
	struct jdoc doc;
	if (jdoc_load(&doc, path, d) < 0) {
		if (doc.path)
			project_keep_path(p, &doc);
		jdoc_release(&doc);
		free(path);
		return -1;
	}
	s->file = project_keep_path(p, &doc);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	s->name = xstrndup(base, ends_with(base, ".json") ? strlen(base) - 5 : strlen(base));
	free(path);
	if (doc.root.type != JSON_OBJECT) {
		diag_error(d, &doc.root.pos, "a build set must be a JSON object, not %s",
			   jtype_name(doc.root.type));
		jdoc_release(&doc);
		buildset_release(s);
		return -1;
	}
	load_set_members(p, &doc, s, d);
	jdoc_release(&doc);
	if (d->nerrors == before)
		check_set_names(p, s, d);
	if (d->nerrors == before)
		return 0;
	buildset_release(s);
	return -1;
}
