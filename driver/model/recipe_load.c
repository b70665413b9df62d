/* Loading one recipe file into a struct recipe (docs/files.md, "Recipes"). */
#include "model/recipe_load.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "model/load_common.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- recipes ------------------------------------------------------------------------- */

static const char *const recipe_keys[] = {
	"name", "version", "source", "builder", "provides", "depends", "compat", "build_requires",
	"build", "env", "patches", "submodule_overrides", "local_version", "mem_per_job",
};

static const char *const source_kinds[] = { "git", "archive", "pypi", "wheel", "path" };

static bool is_exact_pin(const char *req)
{
	const char *eq = strstr(req, "==");
	if (!eq || eq == req)
		return false;
	for (const char *c = req; c < eq; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	return version_valid(eq + 2) && !strpbrk(eq + 2, "*,;<>=! ");
}

/* The one source kind `s` names, or -1 (errors recorded) when it names none or several. */
static int source_kind_of(struct fields *f, const struct jnode *s, const char *what)
{
	int kind = -1;
	bool several = false;
	for (size_t k = 0; k < ARRAY_SIZE(source_kinds); k++) {
		const struct jnode *m = jnode_get(s, source_kinds[k]);
		if (!m)
			continue;
		if (kind >= 0) {
			diag_error(f->d, &m->key_pos, "%s has both \"%s\" and \"%s\"", what,
				   source_kinds[kind], source_kinds[k]);
			diag_hint(f->d, "a recipe has exactly one source; make another recipe for the other");
			f->errors++;
			several = true;
			continue;
		}
		kind = (int)k;
	}
	if (several)
		return -1;
	if (kind < 0) {
		fields_known(f, source_kinds, ARRAY_SIZE(source_kinds));
		diag_error(f->d, &s->pos, "%s names no source", what);
		diag_hint(f->d, "use one of \"git\", \"archive\", \"pypi\", \"wheel\" or \"path\"");
		f->errors++;
	}
	return kind;
}

/* A submodule path as git writes it: relative, '/'-separated, no empty, "." or ".." part. */
static bool valid_sub_path(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false; /* a trailing '/' */
	}
	return true;
}

/* {"only": [PATH...]} or {"exclude": [PATH...]}. */
static void load_sub_selection(struct fields *f, const struct jnode *m, struct source *src,
			       const char *what)
{
	struct buf sw = BUF_INIT;
	buf_addf(&sw, "\"submodules\" in %s", what);
	struct fields sf;
	fields_init(&sf, f->doc, m, sw.data, f->d);
	static const char *const keys[] = { "only", "exclude" };
	fields_known(&sf, keys, ARRAY_SIZE(keys));
	const struct jnode *only = jnode_get(m, "only"), *excl = jnode_get(m, "exclude");
	if (!only == !excl) {
		diag_error(f->d, &m->pos, "%s needs exactly one of \"only\" and \"exclude\"", sw.data);
		diag_hint(f->d, "write {\"only\": [\"third_party/METIS\"]} or {\"exclude\": "
				"[\"third_party/cutlass\"]}: paths of submodules in the tree");
		sf.errors++;
	}
	src->select.mode = only ? SUBMODULES_ONLY : SUBMODULES_EXCLUDE;
	const char *key = only ? "only" : "exclude";
	const struct jnode *arr = fields_get(&sf, key, JSON_ARRAY, false);
	if (arr)
		node_string_list(&sf, arr, key, true, &src->select.paths);
	const struct strpos_list *l = &src->select.paths;
	if (arr && !arr->n) {
		diag_error(f->d, &arr->pos, "\"%s\" of %s lists no path", key, sw.data);
		diag_hint(f->d, "%s", only ? "for no submodule at all write \"submodules\": \"none\""
					   : "for every submodule drop \"submodules\" (or write "
					     "\"recursive\")");
		sf.errors++;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (!valid_sub_path(l->v[i].s)) {
			diag_error(f->d, &l->v[i].pos, "\"%s\" in %s is not a submodule path", l->v[i].s,
				   sw.data);
			diag_hint(f->d, "write the path from the top of the tree, as .gitmodules does: "
					"\"third_party/METIS/GKlib\"");
			sf.errors++;
			continue;
		}
		for (size_t k = 0; k < l->n; k++) {
			size_t n = strlen(l->v[k].s);
			if (k == i || strncmp(l->v[i].s, l->v[k].s, n) || l->v[i].s[n] != '/')
				continue;
			diag_error(f->d, &l->v[i].pos, "\"%s\" in %s is inside \"%s\", which the list "
						       "already %s", l->v[i].s, sw.data, l->v[k].s,
				   only ? "selects with everything below it"
					: "leaves out with everything below it");
			diag_hint(f->d, "drop \"%s\"", l->v[i].s);
			sf.errors++;
			break;
		}
	}
	f->errors += sf.errors;
	buf_release(&sw);
}

static void load_git_source(struct fields *f, struct source *src, const char *what)
{
	static const char *const keys[] = { "git", "ref", "submodules" };
	fields_known(f, keys, ARRAY_SIZE(keys));
	src->ref = fields_string(f, "ref", true, NULL);
	src->select.mode = SUBMODULES_RECURSIVE;
	const struct jnode *m = jnode_get(f->obj, "submodules");
	if (m)
		src->select.pos = m->pos;
	if (m && m->type == JSON_OBJECT) {
		load_sub_selection(f, m, src, what);
	} else if (m && m->type == JSON_STRING && !strcmp(m->str, "none")) {
		src->select.mode = SUBMODULES_NONE;
	} else if (m && (m->type != JSON_STRING || strcmp(m->str, "recursive"))) {
		if (m->type == JSON_STRING)
			diag_error(f->d, &m->pos, "\"submodules\" in %s must be \"recursive\" or "
						  "\"none\", not \"%s\"", what, m->str);
		else
			diag_error(f->d, &m->pos, "\"submodules\" in %s must be \"recursive\", "
						  "\"none\" or an object, not %s", what,
				   jtype_name(m->type));
		diag_hint(f->d, "or choose by path: {\"only\": [PATH...]} or {\"exclude\": "
				"[PATH...]}");
		f->errors++;
	}
	src->submodules = src->select.mode != SUBMODULES_NONE;
}

static void load_archive_source(struct fields *f, struct source *src, const char *what)
{
	static const char *const keys[] = { "archive", "sha256", "strip" };
	fields_known(f, keys, ARRAY_SIZE(keys));
	struct pos hp;
	src->sha256 = fields_string(f, "sha256", true, &hp);
	if (src->sha256 && !is_hex64(src->sha256)) {
		diag_error(f->d, &hp, "\"sha256\" in %s is not 64 lowercase hex digits", what);
		f->errors++;
	}
	const struct jnode *st = fields_get(f, "strip", JSON_NUMBER, false);
	if (st && (st->num < 0 || st->num != (int)st->num)) {
		diag_error(f->d, &st->pos, "\"strip\" in %s must be a whole number >= 0", what);
		f->errors++;
	} else if (st) {
		src->strip = (int)st->num;
	}
}

static void load_pypi_source(struct fields *f, struct source *src, const char *what,
			     const struct pos *loc_pos)
{
	static const char *const keys[] = { "pypi", "kind" };
	fields_known(f, keys, ARRAY_SIZE(keys));
	struct pos kp;
	char *k = fields_string(f, "kind", false, &kp);
	if (k && strcmp(k, "sdist")) {
		diag_error(f->d, &kp, "\"kind\" in %s must be \"sdist\", not \"%s\"", what, k);
		diag_hint(f->d, "for a prebuilt wheel use {\"wheel\": \"name==version\"}");
		f->errors++;
	}
	free(k);
	if (src->location && !is_exact_pin(src->location)) {
		diag_error(f->d, loc_pos, "\"pypi\" in %s must pin one version (\"name==1.2.3\"), "
					  "not \"%s\"", what, src->location);
		diag_hint(f->d, "a range would build whatever PyPI serves that day");
		f->errors++;
	}
}

/* A bare project name ("torch"): what a floating wheel source names. */
static bool is_project_name(const char *s)
{
	if (!*s || !isalnum((unsigned char)*s))
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	return true;
}

/* "index" (an http(s) or file URL) and "pre" of a wheel source by requirement. */
static void load_wheel_index(struct fields *f, struct source *src, const char *what, bool url)
{
	src->index = fields_string(f, "index", false, &src->index_pos);
	src->pre = fields_bool(f, "pre", false);
	const struct jnode *idx = jnode_get(f->obj, "index"), *pre = jnode_get(f->obj, "pre");
	if (url && (idx || pre)) {
		const struct jnode *m = idx ? idx : pre;
		diag_error(f->d, &m->key_pos, "\"%s\" in %s does not apply to a wheel URL: pip "
			   "chooses nothing there", m->key, what);
		diag_hint(f->d, "drop \"%s\", or name the wheel by requirement (\"torch\" or "
				"\"torch==2.9.1\")", m->key);
		f->errors++;
	}
	if (src->index && !starts_with(src->index, "http://") &&
	    !starts_with(src->index, "https://") && !starts_with(src->index, "file://")) {
		diag_error(f->d, &src->index_pos, "\"index\" in %s must be an http(s) or file URL "
			   "of a PEP 503 index, not \"%s\"", what, src->index);
		diag_hint(f->d, "e.g. \"https://download.pytorch.org/whl/nightly/cpu\"");
		f->errors++;
	}
}

static void load_wheel_source(struct fields *f, struct source *src, const char *what,
			      const struct pos *loc_pos)
{
	static const char *const keys[] = { "wheel", "sha256", "index", "pre" };
	fields_known(f, keys, ARRAY_SIZE(keys));
	struct pos hp;
	src->sha256 = fields_string(f, "sha256", false, &hp);
	const char *loc = src->location;
	bool url = loc && strstr(loc, "://");
	load_wheel_index(f, src, what, url);
	/* a bare name is allowed once either is written (even of a wrong type, which has its
	 * own error) */
	bool floating = jnode_get(f->obj, "index") || jnode_get(f->obj, "pre");
	if (loc && url && !src->sha256) {
		diag_error(f->d, loc_pos, "%s is a wheel URL without \"sha256\"", what);
		diag_hint(f->d, "add \"sha256\": the digest of the wheel, so a changed file is caught");
		f->errors++;
	} else if (loc && !url && !is_exact_pin(loc) && !(floating && is_project_name(loc))) {
		if (floating)
			diag_error(f->d, loc_pos, "\"wheel\" in %s must be a project name (\"torch\") "
						  "or pin one version (\"name==1.2.3\"), not \"%s\"",
				   what, loc);
		else
			diag_error(f->d, loc_pos, "\"wheel\" in %s must pin one version "
						  "(\"name==1.2.3\") or be a URL, not \"%s\"", what, loc);
		if (floating || !is_project_name(loc))
			diag_hint(f->d, "a range would take whatever the index serves that day; a "
					"bare name with \"index\" or \"pre\" is pinned by the lock");
		else
			diag_hint(f->d, "or, for a nightly, add \"index\" and \"pre\": true: the lock "
					"then pins the version the index serves");
		f->errors++;
	}
	if (src->sha256 && !is_hex64(src->sha256)) {
		diag_error(f->d, &hp, "\"sha256\" in %s is not 64 lowercase hex digits", what);
		f->errors++;
	}
}

static void load_source(struct fields *rf, struct recipe *r)
{
	const struct jnode *s = fields_get(rf, "source", JSON_OBJECT, true);
	if (!s)
		return;
	char *what = describe("\"source\" of recipe", r->name);
	struct fields f;
	fields_init(&f, rf->doc, s, what, rf->d);
	r->source.pos = s->pos;
	int kind = source_kind_of(&f, s, what);
	if (kind >= 0) {
		r->source.kind = (enum source_kind)kind;
		struct pos loc_pos = { 0 };
		r->source.location = fields_string(&f, source_kinds[kind], true, &loc_pos);
		switch (r->source.kind) {
		case SOURCE_GIT:
			load_git_source(&f, &r->source, what);
			break;
		case SOURCE_ARCHIVE:
			load_archive_source(&f, &r->source, what);
			break;
		case SOURCE_PYPI:
			load_pypi_source(&f, &r->source, what, &loc_pos);
			break;
		case SOURCE_WHEEL:
			load_wheel_source(&f, &r->source, what, &loc_pos);
			break;
		case SOURCE_PATH: {
			static const char *const keys[] = { "path" };
			fields_known(&f, keys, ARRAY_SIZE(keys));
			break;
		}
		}
	}
	rf->errors += f.errors;
	free(what);
}

static void load_patches(struct fields *rf, struct recipe *r, struct refs *refs)
{
	const struct jnode *arr = fields_get(rf, "patches", JSON_ARRAY, false);
	if (!arr)
		return;
	r->patches = xcalloc(arr->n, sizeof(*r->patches));
	for (size_t i = 0; i < arr->n; i++) {
		const struct jnode *e = &arr->child[i];
		if (e->type != JSON_OBJECT) {
			diag_error(rf->d, &e->pos, "patch entry %zu of recipe \"%s\" must be an object, "
						   "not %s", i + 1, r->name, jtype_name(e->type));
			diag_hint(rf->d, "write {\"series\": \"patches/%s/*.patch\"}", r->name);
			rf->errors++;
			continue;
		}
		struct buf what = BUF_INIT;
		buf_addf(&what, "patch entry %zu of recipe \"%s\"", i + 1, r->name);
		struct fields f;
		fields_init(&f, rf->doc, e, what.data, rf->d);
		static const char *const keys[] = { "series", "files", "exclude", "when" };
		fields_known(&f, keys, ARRAY_SIZE(keys));
		struct patch_series *ps = &r->patches[r->npatches++];
		ps->pos = e->pos;
		ps->series = fields_string(&f, "series", false, NULL);
		fields_string_list(&f, "files", true, &ps->files);
		fields_string_list(&f, "exclude", true, &ps->exclude);
		fields_string_map(&f, "when", &ps->when);
		if (!ps->series == !jnode_get(e, "files")) {
			diag_error(f.d, &e->pos, "%s needs exactly one of \"series\" and \"files\"",
				   what.data);
			f.errors++;
		}
		for (size_t k = 0; k < ps->when.n; k++) {
			const char *key = ps->when.v[k].key;
			if (strcmp(key, "toolchain") && strcmp(key, "python") && !starts_with(key, "env.")) {
				diag_error(f.d, &ps->when.v[k].key_pos, "unknown condition \"%s\" in %s",
					   key, what.data);
				diag_hint(f.d, "conditions are \"toolchain\", \"python\" and \"env.NAME\"");
				f.errors++;
			}
		}
		const struct jnode *s = jnode_get(e, "series");
		if (s && s->type == JSON_STRING)
			check_interp(&f, s, "\"series\"", false, refs);
		const struct jnode *files = jnode_get(e, "files");
		for (size_t k = 0; files && files->type == JSON_ARRAY && k < files->n; k++)
			if (files->child[k].type == JSON_STRING)
				check_interp(&f, &files->child[k], "\"files\"", false, refs);
		rf->errors += f.errors;
		buf_release(&what);
	}
}

static void load_overrides(struct fields *rf, struct recipe *r)
{
	const struct jnode *obj = fields_get(rf, "submodule_overrides", JSON_OBJECT, false);
	if (!obj)
		return;
	r->overrides = xcalloc(obj->n, sizeof(*r->overrides));
	for (size_t i = 0; i < obj->n; i++) {
		const struct jnode *m = &obj->child[i];
		struct buf what = BUF_INIT;
		buf_addf(&what, "submodule override \"%s\" of recipe \"%s\"", m->key, r->name);
		if (m->type != JSON_OBJECT) {
			diag_error(rf->d, &m->pos, "%s must be an object, not %s", what.data,
				   jtype_name(m->type));
			diag_hint(rf->d, "write {\"git\": URL, \"ref\": TAG}");
			rf->errors++;
			buf_release(&what);
			continue;
		}
		struct fields f;
		fields_init(&f, rf->doc, m, what.data, rf->d);
		static const char *const keys[] = { "git", "ref" };
		fields_known(&f, keys, ARRAY_SIZE(keys));
		struct submodule_override *o = &r->overrides[r->noverrides++];
		o->path = xstrdup(m->key);
		o->pos = m->key_pos;
		o->git = fields_string(&f, "git", true, NULL);
		o->ref = fields_string(&f, "ref", true, NULL);
		rf->errors += f.errors;
		buf_release(&what);
	}
}

static void load_version(struct fields *f, struct recipe *r, const char *what)
{
	r->version = fields_string(f, "version", true, &r->version_pos);
	if (r->version && !version_valid(r->version)) {
		diag_error(f->d, &r->version_pos, "\"version\" of %s is not a version: \"%s\"", what,
			   r->version);
		diag_hint(f->d, "write it as PyPI does, e.g. \"2.9.1\"");
		f->errors++;
	}
}

/* "builder", defaulting by the source kind (load_source first). */
static void load_builder(struct fields *f, struct recipe *r, const char *what)
{
	struct pos bp;
	char *builder = fields_string(f, "builder", false, &bp);
	r->builder = r->source.kind == SOURCE_WHEEL ? BUILDER_WHEEL : BUILDER_GENERIC;
	if (builder && builder_parse(builder, &r->builder) < 0) {
		diag_error(f->d, &bp, "unknown builder \"%s\" in %s", builder, what);
		const char *near = closest_match(builder, builder_names, BUILDER_COUNT);
		if (near)
			diag_hint(f->d, "did you mean \"%s\"?", near);
		else
			diag_hint(f->d, "builders are listed in docs/files.md");
		f->errors++;
	} else if (builder && (r->source.kind == SOURCE_WHEEL) != (r->builder == BUILDER_WHEEL)) {
		diag_error(f->d, &bp, "builder \"%s\" does not fit the %s source of %s", builder,
			   source_kind_name(r->source.kind), what);
		diag_hint(f->d, "a prebuilt wheel source goes with builder \"wheel\", and only it");
		f->errors++;
	}
	free(builder);
}

static void load_compat(struct fields *f, struct recipe *r, const char *what)
{
	fields_string_map(f, "compat", &r->compat);
	for (size_t i = 0; i < r->compat.n; i++) {
		if (version_matches("0", r->compat.v[i].value) < 0) {
			diag_error(f->d, &r->compat.v[i].pos, "compat \"%s\" of %s is not a version "
							      "specifier: \"%s\"", r->compat.v[i].key, what,
				   r->compat.v[i].value);
			diag_hint(f->d, "write clauses like \">=2.0,<2.9\" or \"==2.9.*\"");
			f->errors++;
		}
	}
}

static void load_mem_per_job(struct fields *f, struct recipe *r, const char *what)
{
	struct pos mp;
	char *mem = fields_string(f, "mem_per_job", false, &mp);
	if (mem && size_parse(mem, &r->mem_per_job) < 0) {
		diag_error(f->d, &mp, "mem_per_job of %s is not a size: \"%s\"", what, mem);
		diag_hint(f->d, "write bytes with a unit, such as \"4GiB\" or \"512MiB\"");
		f->errors++;
	}
	free(mem);
}

/* The `${...}` of "env", "build" and "local_version" (patches are checked as they load). */
static void check_recipe_interp(struct fields *f, const struct jnode *root, struct refs *refs)
{
	check_interp_members(f, root, "env", false, refs);
	const struct jnode *build = jnode_get(root, "build");
	for (size_t i = 0; build && build->type == JSON_ARRAY && i < build->n; i++)
		if (build->child[i].type == JSON_STRING)
			check_interp(f, &build->child[i], "\"build\"", false, refs);
	const struct jnode *lv = jnode_get(root, "local_version");
	if (lv && lv->type == JSON_STRING)
		check_interp(f, lv, "\"local_version\"", false, refs);
}

int recipe_load(struct recipe *r, const struct jdoc *doc, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	const struct jnode *root = &doc->root;
	if (root->type != JSON_OBJECT) {
		diag_error(d, &root->pos, "a recipe must be a JSON object, not %s",
			   jtype_name(root->type));
		return -1;
	}
	r->file = doc->path;

	struct fields f;
	fields_init(&f, doc, root, "this recipe", d);
	r->name = fields_string(&f, "name", true, &r->pos);
	if (!r->name) {
		recipe_release(r);
		return -1;
	}
	char *what = describe("recipe", r->name);
	f.what = what;
	if (!valid_name(r->name, false)) {
		diag_error(d, &r->pos, "recipe name \"%s\" is not valid", r->name);
		diag_hint(d, "use lowercase letters, digits and '_', starting with a letter "
			     "(torch_scatter, not torch-scatter)");
		f.errors++;
	}
	fields_known(&f, recipe_keys, ARRAY_SIZE(recipe_keys));
	load_version(&f, r, what);
	load_source(&f, r);
	load_builder(&f, r, what);
	struct pos pp;
	r->provides = fields_string(&f, "provides", false, &pp);
	if (r->provides && !strcmp(r->provides, r->name)) {
		diag_error(d, &pp, "%s provides itself", what);
		f.errors++;
	}
	fields_string_list(&f, "depends", true, &r->depends);
	fields_string_list(&f, "build_requires", false, &r->build_requires);
	fields_string_list(&f, "build", false, &r->build);
	fields_string_map(&f, "env", &r->env);
	load_compat(&f, r, what);
	r->local_version = fields_string(&f, "local_version", false, &r->local_version_pos);
	load_mem_per_job(&f, r, what);

	struct refs refs = { 0 };
	check_recipe_interp(&f, root, &refs);
	load_patches(&f, r, &refs);
	load_overrides(&f, r);
	if (r->noverrides && r->source.kind != SOURCE_GIT) {
		diag_error(d, &r->overrides[0].pos, "%s overrides a submodule but its source is not git",
			   what);
		f.errors++;
	}
	for (size_t i = 0; r->source.kind == SOURCE_GIT && i < r->noverrides; i++) {
		const struct submodule_override *o = &r->overrides[i];
		if (submodule_selected(&r->source.select, o->path))
			continue;
		diag_error(d, &o->pos, "submodule override \"%s\" of %s is for a submodule that its "
				       "\"submodules\" leaves out", o->path, what);
		diag_hint(d, "drop the override, or select \"%s\" in \"submodules\" (%s:%u:%u)",
			  o->path, r->source.select.pos.file, r->source.select.pos.line,
			  r->source.select.pos.col);
		f.errors++;
	}
	r->refs = refs.v;
	r->nrefs = refs.n;
	free(what);
	return 0;
}
