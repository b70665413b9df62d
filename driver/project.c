#include "project.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "interp.h"
#include "json.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *const known_pythons[] = { "3.9", "3.10", "3.11", "3.12", "3.13", "3.14" };
const size_t known_pythons_count = COUNT(known_pythons);

/* ---- helpers ------------------------------------------------------------------------- */

static char *describe(const char *kind, const char *name)
{
	struct buf b = BUF_INIT;
	if (name)
		buf_addf(&b, "%s \"%s\"", kind, name);
	else
		buf_adds(&b, kind);
	return buf_detach(&b);
}

static bool valid_name(const char *s, bool toolchain)
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

static bool is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isdigit((unsigned char)s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return false;
	return n == 64;
}

struct refs {
	struct recipe_ref *v;
	size_t n, cap;
};

/* Checks the `${...}` references of the string node `n`; collects recipe references. */
static void check_interp(struct fields *f, const struct jnode *n, const char *where,
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

static void check_interp_members(struct fields *f, const struct jnode *obj, const char *key,
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

/* ---- recipes ------------------------------------------------------------------------- */

static const char *const recipe_keys[] = {
	"name", "version", "source", "builder", "provides", "depends", "compat", "build_requires",
	"build", "env", "patches", "submodule_overrides", "local_version",
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

static void load_source(struct fields *rf, struct recipe *r)
{
	const struct jnode *s = fields_get(rf, "source", JSON_OBJECT, true);
	if (!s)
		return;
	char *what = describe("\"source\" of recipe", r->name);
	struct fields f;
	fields_init(&f, rf->doc, s, what, rf->d);
	r->source.pos = s->pos;
	int kind = -1;
	int nkinds = 0;
	for (size_t k = 0; k < COUNT(source_kinds); k++) {
		const struct jnode *m = jnode_get(s, source_kinds[k]);
		if (!m)
			continue;
		if (kind >= 0) {
			diag_error(f.d, &m->key_pos, "%s has both \"%s\" and \"%s\"", what,
				   source_kinds[kind], source_kinds[k]);
			diag_hint(f.d, "a recipe has exactly one source; make another recipe for the other");
			f.errors++;
			nkinds++;
			continue;
		}
		kind = (int)k;
		nkinds++;
	}
	if (nkinds > 1)
		goto done;
	if (kind < 0) {
		fields_known(&f, source_kinds, COUNT(source_kinds));
		diag_error(f.d, &s->pos, "%s names no source", what);
		diag_hint(f.d, "use one of \"git\", \"archive\", \"pypi\", \"wheel\" or \"path\"");
		f.errors++;
		goto done;
	}
	r->source.kind = (enum source_kind)kind;
	struct pos loc_pos = { 0 };
	r->source.location = fields_string(&f, source_kinds[kind], true, &loc_pos);
	switch (r->source.kind) {
	case SOURCE_GIT: {
		static const char *const keys[] = { "git", "ref", "submodules" };
		fields_known(&f, keys, COUNT(keys));
		r->source.ref = fields_string(&f, "ref", true, NULL);
		struct pos sp;
		char *sub = fields_string(&f, "submodules", false, &sp);
		r->source.submodules = true;
		if (sub && !strcmp(sub, "none")) {
			r->source.submodules = false;
		} else if (sub && strcmp(sub, "recursive")) {
			diag_error(f.d, &sp, "\"submodules\" in %s must be \"recursive\" or \"none\", "
					     "not \"%s\"", what, sub);
			f.errors++;
		}
		free(sub);
		break;
	}
	case SOURCE_ARCHIVE: {
		static const char *const keys[] = { "archive", "sha256", "strip" };
		fields_known(&f, keys, COUNT(keys));
		struct pos hp;
		r->source.sha256 = fields_string(&f, "sha256", true, &hp);
		if (r->source.sha256 && !is_hex64(r->source.sha256)) {
			diag_error(f.d, &hp, "\"sha256\" in %s is not 64 lowercase hex digits", what);
			f.errors++;
		}
		const struct jnode *st = fields_get(&f, "strip", JSON_NUMBER, false);
		if (st && (st->num < 0 || st->num != (int)st->num)) {
			diag_error(f.d, &st->pos, "\"strip\" in %s must be a whole number >= 0", what);
			f.errors++;
		} else if (st) {
			r->source.strip = (int)st->num;
		}
		break;
	}
	case SOURCE_PYPI: {
		static const char *const keys[] = { "pypi", "kind" };
		fields_known(&f, keys, COUNT(keys));
		struct pos kp;
		char *k = fields_string(&f, "kind", false, &kp);
		if (k && strcmp(k, "sdist")) {
			diag_error(f.d, &kp, "\"kind\" in %s must be \"sdist\", not \"%s\"", what, k);
			diag_hint(f.d, "for a prebuilt wheel use {\"wheel\": \"name==version\"}");
			f.errors++;
		}
		free(k);
		if (r->source.location && !is_exact_pin(r->source.location)) {
			diag_error(f.d, &loc_pos, "\"pypi\" in %s must pin one version (\"name==1.2.3\"), "
						  "not \"%s\"", what, r->source.location);
			diag_hint(f.d, "a range would build whatever PyPI serves that day");
			f.errors++;
		}
		break;
	}
	case SOURCE_WHEEL: {
		static const char *const keys[] = { "wheel", "sha256" };
		fields_known(&f, keys, COUNT(keys));
		struct pos hp;
		r->source.sha256 = fields_string(&f, "sha256", false, &hp);
		const char *loc = r->source.location;
		bool url = loc && strstr(loc, "://");
		if (loc && url && !r->source.sha256) {
			diag_error(f.d, &loc_pos, "%s is a wheel URL without \"sha256\"", what);
			diag_hint(f.d, "add \"sha256\": the digest of the wheel, so a changed file is caught");
			f.errors++;
		} else if (loc && !url && !is_exact_pin(loc)) {
			diag_error(f.d, &loc_pos, "\"wheel\" in %s must pin one version (\"name==1.2.3\") "
						  "or be a URL, not \"%s\"", what, loc);
			f.errors++;
		}
		if (r->source.sha256 && !is_hex64(r->source.sha256)) {
			diag_error(f.d, &hp, "\"sha256\" in %s is not 64 lowercase hex digits", what);
			f.errors++;
		}
		break;
	}
	case SOURCE_PATH: {
		static const char *const keys[] = { "path" };
		fields_known(&f, keys, COUNT(keys));
		break;
	}
	}
done:
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
		fields_known(&f, keys, COUNT(keys));
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
		fields_known(&f, keys, COUNT(keys));
		struct submodule_override *o = &r->overrides[r->noverrides++];
		o->path = xstrdup(m->key);
		o->pos = m->key_pos;
		o->git = fields_string(&f, "git", true, NULL);
		o->ref = fields_string(&f, "ref", true, NULL);
		rf->errors += f.errors;
		buf_release(&what);
	}
}

static void load_recipe(struct project *p, const struct jdoc *doc, struct diags *d)
{
	const struct jnode *root = &doc->root;
	if (root->type != JSON_OBJECT) {
		diag_error(d, &root->pos, "a recipe must be a JSON object, not %s",
			   jtype_name(root->type));
		return;
	}
	GROW(p->recipes, p->caprecipes, p->nrecipes + 1);
	struct recipe *r = &p->recipes[p->nrecipes];
	memset(r, 0, sizeof(*r));
	r->file = doc->path;

	struct fields f;
	fields_init(&f, doc, root, "this recipe", d);
	r->name = fields_string(&f, "name", true, &r->pos);
	if (!r->name) {
		recipe_release(r);
		return;
	}
	char *what = describe("recipe", r->name);
	f.what = what;
	if (!valid_name(r->name, false)) {
		diag_error(d, &r->pos, "recipe name \"%s\" is not valid", r->name);
		diag_hint(d, "use lowercase letters, digits and '_', starting with a letter "
			     "(torch_scatter, not torch-scatter)");
		f.errors++;
	}
	fields_known(&f, recipe_keys, COUNT(recipe_keys));
	r->version = fields_string(&f, "version", true, &r->version_pos);
	if (r->version && !version_valid(r->version)) {
		diag_error(d, &r->version_pos, "\"version\" of %s is not a version: \"%s\"", what,
			   r->version);
		diag_hint(d, "write it as PyPI does, e.g. \"2.9.1\"");
		f.errors++;
	}
	load_source(&f, r);
	struct pos bp;
	char *builder = fields_string(&f, "builder", false, &bp);
	r->builder = r->source.kind == SOURCE_WHEEL ? BUILDER_WHEEL : BUILDER_GENERIC;
	if (builder && builder_parse(builder, &r->builder) < 0) {
		diag_error(d, &bp, "unknown builder \"%s\" in %s", builder, what);
		const char *near = closest_match(builder, builder_names, BUILDER_COUNT);
		if (near)
			diag_hint(d, "did you mean \"%s\"?", near);
		else
			diag_hint(d, "builders are listed in docs/files.md");
		f.errors++;
	} else if (builder && (r->source.kind == SOURCE_WHEEL) != (r->builder == BUILDER_WHEEL)) {
		diag_error(d, &bp, "builder \"%s\" does not fit the %s source of %s", builder,
			   source_kind_name(r->source.kind), what);
		diag_hint(d, "a prebuilt wheel source goes with builder \"wheel\", and only it");
		f.errors++;
	}
	free(builder);
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
	fields_string_map(&f, "compat", &r->compat);
	for (size_t i = 0; i < r->compat.n; i++) {
		if (version_matches("0", r->compat.v[i].value) < 0) {
			diag_error(d, &r->compat.v[i].pos, "compat \"%s\" of %s is not a version "
							   "specifier: \"%s\"", r->compat.v[i].key, what,
				   r->compat.v[i].value);
			diag_hint(d, "write clauses like \">=2.0,<2.9\" or \"==2.9.*\"");
			f.errors++;
		}
	}
	r->local_version = fields_string(&f, "local_version", false, &r->local_version_pos);

	struct refs refs = { 0 };
	check_interp_members(&f, root, "env", false, &refs);
	const struct jnode *build = jnode_get(root, "build");
	for (size_t i = 0; build && build->type == JSON_ARRAY && i < build->n; i++)
		if (build->child[i].type == JSON_STRING)
			check_interp(&f, &build->child[i], "\"build\"", false, &refs);
	const struct jnode *lv = jnode_get(root, "local_version");
	if (lv && lv->type == JSON_STRING)
		check_interp(&f, lv, "\"local_version\"", false, &refs);
	load_patches(&f, r, &refs);
	load_overrides(&f, r);
	if (r->noverrides && r->source.kind != SOURCE_GIT) {
		diag_error(d, &r->overrides[0].pos, "%s overrides a submodule but its source is not git",
			   what);
		f.errors++;
	}
	r->refs = refs.v;
	r->nrefs = refs.n;
	free(what);
	p->nrecipes++;
}

/* ---- toolchains ---------------------------------------------------------------------- */

static void load_accel(struct fields *tf, const char *key, bool *enabled, char **version,
		       char **home, char **arch_list, struct pos *arch_pos, struct pos *pos,
		       const char *dflt_home)
{
	const struct jnode *obj = fields_get(tf, key, JSON_OBJECT, false);
	if (!obj)
		return;
	struct buf what = BUF_INIT;
	buf_addf(&what, "\"%s\" of %s", key, tf->what);
	struct fields f;
	fields_init(&f, tf->doc, obj, what.data, tf->d);
	static const char *const keys[] = { "version", "home", "arch_list" };
	fields_known(&f, keys, COUNT(keys));
	*enabled = true;
	*pos = obj->pos;
	struct pos vp;
	*version = fields_string(&f, "version", true, &vp);
	if (*version && !version_valid(*version)) {
		diag_error(f.d, &vp, "\"version\" in %s is not a version: \"%s\"", what.data, *version);
		f.errors++;
	}
	*home = fields_string(&f, "home", false, NULL);
	if (!*home)
		*home = xstrdup(dflt_home);
	*arch_list = fields_string(&f, "arch_list", false, arch_pos);
	if (!*arch_list || !**arch_list) {
		diag_error(f.d, *arch_list ? arch_pos : &obj->pos, "%s has no \"arch_list\"", what.data);
		if (!strcmp(key, "cuda"))
			diag_hint(f.d, "a builder without a GPU cannot detect it: torch.utils.cpp_extension "
				       "fails with IndexError and PyTorch builds every arch; write e.g. "
				       "\"arch_list\": \"8.0;9.0;12.0+PTX\"");
		else
			diag_hint(f.d, "torch_musa's CMake stops without a GPU to detect; write e.g. "
				       "\"arch_list\": \"21;22\"");
		f.errors++;
	}
	tf->errors += f.errors;
	buf_release(&what);
}

static void load_toolchain(struct project *p, const struct jdoc *doc, struct diags *d)
{
	const struct jnode *root = &doc->root;
	if (root->type != JSON_OBJECT) {
		diag_error(d, &root->pos, "a toolchain must be a JSON object, not %s",
			   jtype_name(root->type));
		return;
	}
	GROW(p->toolchains, p->captoolchains, p->ntoolchains + 1);
	struct toolchain *t = &p->toolchains[p->ntoolchains];
	memset(t, 0, sizeof(*t));
	t->file = doc->path;
	struct fields f;
	fields_init(&f, doc, root, "this toolchain", d);
	t->name = fields_string(&f, "name", true, &t->pos);
	if (!t->name) {
		toolchain_release(t);
		return;
	}
	char *what = describe("toolchain", t->name);
	f.what = what;
	if (!valid_name(t->name, true)) {
		diag_error(d, &t->pos, "toolchain name \"%s\" is not valid", t->name);
		diag_hint(d, "use lowercase letters, digits, '_', '-' and '.', starting with a letter");
		f.errors++;
	}
	static const char *const keys[] = { "name", "tag", "cc", "cxx", "cuda", "musa", "nccl", "env" };
	fields_known(&f, keys, COUNT(keys));
	t->tag = fields_string(&f, "tag", true, NULL);
	t->cc = fields_string(&f, "cc", false, NULL);
	t->cxx = fields_string(&f, "cxx", false, NULL);
	if (!t->cc)
		t->cc = xstrdup("gcc");
	if (!t->cxx)
		t->cxx = xstrdup("g++");
	load_accel(&f, "cuda", &t->cuda.enabled, &t->cuda.version, &t->cuda.home, &t->cuda.arch_list,
		   &t->cuda.arch_pos, &t->cuda.pos, "/usr/local/cuda");
	struct pos unused;
	load_accel(&f, "musa", &t->musa.enabled, &t->musa.version, &t->musa.home, &t->musa.arch_list,
		   &unused, &t->musa.pos, "/usr/local/musa");
	if (t->cuda.enabled && t->musa.enabled) {
		diag_error(d, &t->musa.pos, "%s has both \"cuda\" and \"musa\"", what);
		diag_hint(d, "make one toolchain per accelerator");
		f.errors++;
	}
	const struct jnode *nccl = fields_get(&f, "nccl", JSON_OBJECT, false);
	if (nccl) {
		struct buf nw = BUF_INIT;
		buf_addf(&nw, "\"nccl\" of %s", what);
		struct fields nf;
		fields_init(&nf, doc, nccl, nw.data, d);
		static const char *const nkeys[] = { "system", "root" };
		fields_known(&nf, nkeys, COUNT(nkeys));
		t->nccl_system = fields_bool(&nf, "system", false);
		t->nccl_root = fields_string(&nf, "root", false, NULL);
		f.errors += nf.errors;
		buf_release(&nw);
	}
	if (!t->nccl_root && t->cuda.enabled)
		t->nccl_root = xstrdup(t->cuda.home);
	fields_string_map(&f, "env", &t->env);
	struct refs refs = { 0 };
	check_interp_members(&f, root, "env", true, &refs);
	t->refs = refs.v;
	t->nrefs = refs.n;
	free(what);
	p->ntoolchains++;
}

/* ---- loading a directory ------------------------------------------------------------- */

static const char *keep_path(struct project *p, struct jdoc *doc)
{
	GROW(p->files, p->capfiles, p->nfiles + 1);
	p->files[p->nfiles++] = doc->path;
	doc->path = NULL;
	return p->files[p->nfiles - 1];
}

static char *project_path(const struct project *p, const char *rel)
{
	if (!strcmp(p->dir, "."))
		return xstrdup(rel);
	return path_join(p->dir, rel);
}

typedef void (*load_fn)(struct project *p, const struct jdoc *doc, struct diags *d);

static void load_dir(struct project *p, const char *rel, load_fn load, struct diags *d)
{
	char *dir = project_path(p, rel);
	char **names;
	size_t n;
	if (list_dir(dir, ".json", &names, &n) < 0) {
		if (errno != ENOENT) {
			int e = errno;
			GROW(p->files, p->capfiles, p->nfiles + 1);
			p->files[p->nfiles++] = dir;
			struct pos where = { dir, 0, 0 };
			diag_error(d, &where, "cannot list directory: %s", strerror(e));
			return;
		}
		free(dir);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *path = path_join(dir, names[i]);
		struct jdoc doc;
		if (jdoc_load(&doc, path, d) == 0)
			load(p, &doc, d);
		if (doc.path)
			keep_path(p, &doc);
		jdoc_release(&doc);
		free(path);
	}
	free_names(names, n);
	free(dir);
}

/* ---- cross checks -------------------------------------------------------------------- */

const struct recipe *project_recipe(const struct project *p, const char *name)
{
	for (size_t i = 0; i < p->nrecipes; i++)
		if (!strcmp(p->recipes[i].name, name))
			return &p->recipes[i];
	return NULL;
}

const struct toolchain *project_toolchain(const struct project *p, const char *name)
{
	for (size_t i = 0; i < p->ntoolchains; i++)
		if (!strcmp(p->toolchains[i].name, name))
			return &p->toolchains[i];
	return NULL;
}

const struct recipe *project_resolve(const struct project *p, const char *name,
				     const struct kv_list *use)
{
	const struct kv *chosen = use ? kv_list_find(use, name) : NULL;
	if (chosen)
		return project_recipe(p, chosen->value);
	const struct recipe *r = project_recipe(p, name);
	if (r)
		return r;
	const struct recipe *only = NULL;
	for (size_t i = 0; i < p->nrecipes; i++) {
		if (p->recipes[i].provides && !strcmp(p->recipes[i].provides, name)) {
			if (only)
				return NULL;
			only = &p->recipes[i];
		}
	}
	return only;
}

static bool name_is_known(const struct project *p, const char *name)
{
	if (project_recipe(p, name))
		return true;
	for (size_t i = 0; i < p->nrecipes; i++)
		if (p->recipes[i].provides && !strcmp(p->recipes[i].provides, name))
			return true;
	return false;
}

static const char **recipe_names(const struct project *p)
{
	const char **names = xcalloc(p->nrecipes + 1, sizeof(*names));
	for (size_t i = 0; i < p->nrecipes; i++)
		names[i] = p->recipes[i].name;
	return names;
}

static void hint_recipe_name(const struct project *p, const char *name, struct diags *d)
{
	const char **names = recipe_names(p);
	const char *near = closest_match(name, names, p->nrecipes);
	if (near)
		diag_hint(d, "did you mean \"%s\"?", near);
	else
		diag_hint(d, "no recipe in recipes/ has that name; add recipes/%s.json or fix the name",
			  name);
	free(names);
}

static void check_duplicates(struct project *p, struct diags *d)
{
	for (size_t i = 0; i < p->nrecipes; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->recipes[i].name, p->recipes[j].name))
				continue;
			diag_error(d, &p->recipes[i].pos, "recipe \"%s\" is defined twice",
				   p->recipes[i].name);
			struct buf first = BUF_INIT;
			pos_render(&p->recipes[j].pos, &first);
			diag_hint(d, "the first definition is at %s; rename or remove one", first.data);
			buf_release(&first);
			break;
		}
	}
	for (size_t i = 0; i < p->ntoolchains; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->toolchains[i].name, p->toolchains[j].name))
				continue;
			diag_error(d, &p->toolchains[i].pos, "toolchain \"%s\" is defined twice",
				   p->toolchains[i].name);
			struct buf first = BUF_INIT;
			pos_render(&p->toolchains[j].pos, &first);
			diag_hint(d, "the first definition is at %s; rename or remove one", first.data);
			buf_release(&first);
			break;
		}
	}
}

static void check_references(struct project *p, struct diags *d)
{
	for (size_t i = 0; i < p->nrecipes; i++) {
		const struct recipe *r = &p->recipes[i];
		for (size_t k = 0; k < r->depends.n; k++) {
			const struct strpos *dep = &r->depends.v[k];
			if (!strcmp(dep->s, r->name)) {
				diag_error(d, &dep->pos, "recipe \"%s\" depends on itself", r->name);
				continue;
			}
			if (!name_is_known(p, dep->s)) {
				diag_error(d, &dep->pos, "recipe \"%s\" depends on \"%s\", which no recipe "
							 "is or provides", r->name, dep->s);
				hint_recipe_name(p, dep->s, d);
			}
		}
		for (size_t k = 0; k < r->nrefs; k++) {
			const struct recipe_ref *ref = &r->refs[k];
			if (ref->source_only) {
				if (!project_recipe(p, ref->recipe)) {
					diag_error(d, &ref->pos, "\"${src:%s}\" in recipe \"%s\" names no recipe",
						   ref->recipe, r->name);
					hint_recipe_name(p, ref->recipe, d);
				} else if (!strcmp(ref->recipe, r->name)) {
					diag_error(d, &ref->pos, "recipe \"%s\" refers to its own source as "
								 "\"${src:%s}\"", r->name, r->name);
					diag_hint(d, "write \"${src}\"");
				}
				continue;
			}
			bool listed = false;
			for (size_t j = 0; j < r->depends.n && !listed; j++)
				listed = !strcmp(r->depends.v[j].s, ref->recipe);
			if (!listed) {
				diag_error(d, &ref->pos, "\"${dep.%s...}\" in recipe \"%s\": \"%s\" is not in "
							 "its \"depends\"", ref->recipe, r->name, ref->recipe);
				diag_hint(d, "add \"%s\" to \"depends\", or fix the name", ref->recipe);
			}
		}
		for (size_t k = 0; k < r->compat.n; k++) {
			const struct kv *c = &r->compat.v[k];
			if (!strcmp(c->key, "python") || !strcmp(c->key, "cuda"))
				continue;
			bool listed = false;
			for (size_t j = 0; j < r->depends.n && !listed; j++)
				listed = !strcmp(r->depends.v[j].s, c->key);
			if (!listed) {
				diag_error(d, &c->key_pos, "compat \"%s\" of recipe \"%s\" is neither a "
							   "dependency nor \"python\" or \"cuda\"", c->key,
					   r->name);
				diag_hint(d, "compat constrains the versions of what this recipe depends on");
			}
		}
		if (r->provides && project_recipe(p, r->provides) == r) {
			diag_error(d, &r->pos, "recipe \"%s\" provides its own name", r->name);
		}
	}
}

/* Depth-first search for cycles along `depends` with each name resolved without a set. */
static void find_cycles(struct project *p, struct diags *d)
{
	enum { WHITE, GREY, BLACK };
	size_t n = p->nrecipes;
	int *color = xcalloc(n, sizeof(int));
	size_t *stack = xcalloc(n + 1, sizeof(size_t));
	size_t *next_dep = xcalloc(n, sizeof(size_t));
	for (size_t start = 0; start < n; start++) {
		if (color[start] != WHITE)
			continue;
		size_t depth = 0;
		stack[depth++] = start;
		color[start] = GREY;
		while (depth) {
			size_t cur = stack[depth - 1];
			const struct recipe *r = &p->recipes[cur];
			if (next_dep[cur] >= r->depends.n) {
				color[cur] = BLACK;
				depth--;
				continue;
			}
			const struct strpos *dep = &r->depends.v[next_dep[cur]++];
			const struct recipe *target = project_resolve(p, dep->s, NULL);
			if (!target)
				continue;
			size_t t = (size_t)(target - p->recipes);
			if (color[t] == GREY) {
				struct buf cycle = BUF_INIT;
				size_t from = 0;
				while (stack[from] != t)
					from++;
				for (size_t k = from; k < depth; k++)
					buf_addf(&cycle, "%s -> ", p->recipes[stack[k]].name);
				buf_adds(&cycle, target->name);
				diag_error(d, &dep->pos, "dependency cycle: %s", cycle.data);
				diag_hint(d, "a recipe cannot need its own build; remove one of these "
					     "\"depends\" entries");
				buf_release(&cycle);
			} else if (color[t] == WHITE) {
				color[t] = GREY;
				stack[depth++] = t;
			}
		}
	}
	free(color);
	free(stack);
	free(next_dep);
}

int project_load(struct project *p, const char *dir, struct diags *d)
{
	memset(p, 0, sizeof(*p));
	p->dir = xstrdup(dir);
	size_t before = d->nerrors;
	char *recipes = project_path(p, "recipes");
	if (!is_directory(recipes)) {
		struct pos where = { p->dir, 0, 0 };
		diag_error(d, &where, "no recipes/ directory here");
		diag_hint(d, "run ptbuild in a project directory, or point at one with -C DIR");
		free(recipes);
		return -1;
	}
	free(recipes);
	load_dir(p, "recipes", load_recipe, d);
	load_dir(p, "toolchains", load_toolchain, d);
	if (d->nerrors == before) {
		check_duplicates(p, d);
		check_references(p, d);
	}
	if (d->nerrors == before)
		find_cycles(p, d);
	return d->nerrors == before ? 0 : -1;
}

void project_release(struct project *p)
{
	for (size_t i = 0; i < p->nrecipes; i++)
		recipe_release(&p->recipes[i]);
	free(p->recipes);
	for (size_t i = 0; i < p->ntoolchains; i++)
		toolchain_release(&p->toolchains[i]);
	free(p->toolchains);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p->dir);
	memset(p, 0, sizeof(*p));
}

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
			hint_recipe_name(p, s->targets.v[i].s, d);
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
			hint_recipe_name(p, u->value, d);
		} else if (strcmp(r->name, u->key) && (!r->provides || strcmp(r->provides, u->key))) {
			diag_error(d, &u->pos, "\"use\" in build set \"%s\": recipe \"%s\" does not provide "
					       "\"%s\"", s->name, u->value, u->key);
			diag_hint(d, "add \"provides\": \"%s\" to recipe \"%s\" if it can stand in for it",
				  u->key, u->value);
		}
	}
}

int project_load_set(struct project *p, const char *name_or_path, struct buildset *s,
		     struct diags *d)
{
	memset(s, 0, sizeof(*s));
	size_t before = d->nerrors;
	char *path = project_set_path(p, name_or_path);
	if (!path_exists(path)) {
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
		free(path);
		return -1;
	}
	struct jdoc doc;
	if (jdoc_load(&doc, path, d) < 0) {
		if (doc.path)
			keep_path(p, &doc);
		jdoc_release(&doc);
		free(path);
		return -1;
	}
	const char *file = keep_path(p, &doc);
	s->file = file;
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
	char *what = describe("build set", s->name);
	struct fields f;
	fields_init(&f, &doc, &doc.root, what, d);
	static const char *const keys[] = { "targets", "toolchains", "python", "exclude", "use" };
	fields_known(&f, keys, COUNT(keys));
	static const char *const lists[] = { "targets", "toolchains", "python" };
	struct strpos_list *dest[] = { &s->targets, &s->toolchains, &s->python };
	for (size_t i = 0; i < COUNT(lists); i++) {
		const struct jnode *m = fields_get(&f, lists[i], JSON_ARRAY, true);
		if (m)
			node_string_list(&f, m, lists[i], true, dest[i]);
		if (m && !m->n) {
			diag_error(d, &m->pos, "\"%s\" of %s is empty", lists[i], what);
			diag_hint(d, "a build set needs at least one of each: targets, toolchains, python");
		}
	}
	fields_string_map(&f, "use", &s->use);
	const struct jnode *ex = fields_get(&f, "exclude", JSON_ARRAY, false);
	if (ex) {
		s->excludes = xcalloc(ex->n, sizeof(*s->excludes));
		for (size_t i = 0; i < ex->n; i++) {
			const struct jnode *e = &ex->child[i];
			if (e->type != JSON_OBJECT) {
				diag_error(d, &e->pos, "exclude entry %zu of %s must be an object, not %s",
					   i + 1, what, jtype_name(e->type));
				continue;
			}
			struct buf ew = BUF_INIT;
			buf_addf(&ew, "exclude entry %zu of %s", i + 1, what);
			struct fields xf;
			fields_init(&xf, &doc, e, ew.data, d);
			static const char *const xkeys[] = { "target", "toolchain", "python" };
			fields_known(&xf, xkeys, COUNT(xkeys));
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
				diag_error(d, &tp, "%s names \"%s\", which is not a recipe", ew.data,
					   x->target);
				hint_recipe_name(p, x->target, d);
			}
			if (x->toolchain && !project_toolchain(p, x->toolchain))
				diag_error(d, &cp, "%s names toolchain \"%s\", which is not in toolchains/",
					   ew.data, x->toolchain);
			bool py_ok = !x->python;
			for (size_t k = 0; k < known_pythons_count && !py_ok; k++)
				py_ok = !strcmp(x->python, known_pythons[k]);
			if (!py_ok)
				diag_error(d, &pyp, "%s names Python \"%s\", which ptbuild does not know",
					   ew.data, x->python);
			buf_release(&ew);
		}
	}
	free(what);
	jdoc_release(&doc);
	if (d->nerrors == before)
		check_set_names(p, s, d);
	if (d->nerrors == before)
		return 0;
	buildset_release(s);
	return -1;
}
