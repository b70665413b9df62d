#include "plan/key.h"

#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/strutil.h"
#include "util/url.h"
#include "util/xalloc.h"

/* ---- the key input ---------------------------------------------------------------------- */

/* The source as declared (credentials redacted: they do not change what is built) and its
 * pinned identity (commit, submodule commits, file digests), null until resolved. */
static void write_source(struct jw *w, const struct pins *pins, const struct recipe *r,
			 const char *python)
{
	const struct source *s = &r->source;
	jw_object_begin(w);
	jw_kstring(w, "kind", source_kind_name(s->kind));
	char *location = url_redact(s->location);
	jw_kstring(w, "location", location);
	free(location);
	jw_key(w, "pinned");
	pin_write_identity(w, pins_find(pins, r->name), python);
	if (s->kind == SOURCE_GIT) {
		jw_kstring(w, "ref", s->ref);
		jw_key(w, "submodules");
		source_write_submodules(w, s);
	}
	if (s->sha256)
		jw_kstring(w, "sha256", s->sha256);
	if (s->kind == SOURCE_ARCHIVE)
		jw_kint(w, "strip", s->strip);
	jw_object_end(w);
}

static void write_strings(struct jw *w, const char *key, const struct strpos_list *l)
{
	jw_key(w, key);
	jw_array_begin(w);
	for (size_t i = 0; i < l->n; i++)
		jw_string(w, l->v[i].s);
	jw_array_end(w);
}

static int cmp_override(const void *a, const void *b)
{
	return strcmp((*(const struct submodule_override *const *)a)->path,
		      (*(const struct submodule_override *const *)b)->path);
}

static void write_recipe(struct jw *w, const struct variant *v, const struct pins *pins)
{
	const struct recipe *r = v->recipe;
	jw_object_begin(w);
	jw_key(w, "build");
	jw_array_begin(w);
	for (size_t i = 0; i < v->build_argc; i++)
		jw_string(w, v->build_argv[i]);
	jw_array_end(w);
	write_strings(w, "build_requires", &r->build_requires);
	jw_kstring(w, "builder", builder_names[r->builder]);
	jw_kstring(w, "local_version", v->local_version);
	jw_kstring(w, "name", r->name);
	jw_key(w, "source");
	write_source(w, pins, r, v->python);
	jw_key(w, "submodule_overrides");
	jw_object_begin(w);
	const struct submodule_override **sorted = xcalloc(r->noverrides + 1, sizeof(*sorted));
	for (size_t i = 0; i < r->noverrides; i++)
		sorted[i] = &r->overrides[i];
	qsort(sorted, r->noverrides, sizeof(*sorted), cmp_override);
	for (size_t i = 0; i < r->noverrides; i++) {
		jw_key(w, sorted[i]->path);
		jw_object_begin(w);
		char *git = url_redact(sorted[i]->git);
		jw_kstring(w, "git", git);
		free(git);
		jw_kstring(w, "ref", sorted[i]->ref);
		jw_object_end(w);
	}
	free(sorted);
	jw_object_end(w);
	jw_kstring(w, "version", r->version);
	jw_object_end(w);
}

/* "cuda" or "musa": its arch list, home and version, or null when not enabled. */
static void write_accelerator(struct jw *w, const char *key, bool enabled, const char *arch_list,
			      const char *home, const char *version)
{
	jw_key(w, key);
	if (!enabled) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	jw_kstring(w, "arch_list", arch_list);
	jw_kstring(w, "home", home);
	jw_kstring(w, "version", version);
	jw_object_end(w);
}

static void write_toolchain(struct jw *w, const struct variant *v, const struct toolchain_fp *fp)
{
	const struct toolchain *tc = v->tc;
	jw_object_begin(w);
	jw_kstring(w, "cc", tc->cc);
	write_accelerator(w, "cuda", tc->cuda.enabled, tc->cuda.arch_list, tc->cuda.home,
			  tc->cuda.version);
	jw_kstring(w, "cxx", tc->cxx);
	jw_key(w, "fingerprint");
	jw_object_begin(w);
	jw_kstring(w, "cc", fp->cc);
	jw_kstring(w, "cxx", fp->cxx);
	jw_kstring(w, "mcc", fp->mcc);
	jw_kstring(w, "nccl", fp->nccl);
	jw_kstring(w, "nvcc", fp->nvcc);
	jw_object_end(w);
	write_accelerator(w, "musa", tc->musa.enabled, tc->musa.arch_list, tc->musa.home,
			  tc->musa.version);
	jw_kstring(w, "name", tc->name);
	jw_key(w, "nccl");
	jw_object_begin(w);
	jw_kstring(w, "root", tc->nccl_root);
	jw_kbool(w, "system", tc->nccl_system);
	jw_object_end(w);
	jw_kstring(w, "tag", tc->tag);
	jw_object_end(w);
}

struct named_key {
	const char *name;
	const char *key;
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named_key *)a)->name, ((const struct named_key *)b)->name);
}

static void write_patches(struct jw *w, const struct key_context *ctx,
			  const struct variant *v)
{
	const struct recipe *r = v->recipe;
	jw_key(w, "patches");
	jw_array_begin(w);
	for (size_t i = 0; i < v->nseries; i++) {
		const struct patch_series *ps = &r->patches[v->series[i]];
		jw_object_begin(w);
		jw_key(w, "exclude");
		jw_array_begin(w);
		for (size_t k = 0; k < ps->exclude.n; k++)
			jw_string(w, ps->exclude.v[k].s);
		jw_array_end(w);
		if (ps->series)
			jw_kstring(w, "series", ps->series);
		jw_object_end(w);
	}
	jw_array_end(w);
	/* The files that apply, in order: names and contents. */
	jw_key(w, "patch_files");
	jw_array_begin(w);
	for (size_t i = 0; i < v->patches.n; i++) {
		jw_object_begin(w);
		jw_kstring(w, "path", v->patches.v[i].name);
		jw_kstring(w, "sha256", v->patches.v[i].sha256);
		jw_object_end(w);
	}
	jw_array_end(w);
	/* Recipes whose sources this one reads (${src:NAME}): their identity is an input. */
	jw_key(w, "source_deps");
	jw_object_begin(w);
	for (size_t i = 0; i < v->nsource_deps; i++) {
		const struct recipe *sr = &ctx->project->recipes[v->source_deps[i]];
		jw_key(w, sr->name);
		write_source(w, ctx->pins, sr, NULL);
	}
	jw_object_end(w);
}

void key_compute(struct variant *v, const struct key_context *ctx)
{
	struct buf text = BUF_INIT;
	struct jw w;
	jw_init(&w, &text, false);
	jw_object_begin(&w);
	jw_key(&w, "deps");
	jw_object_begin(&w);
	struct named_key *deps = xcalloc(v->ndeps + 1, sizeof(*deps));
	for (size_t i = 0; i < v->ndeps; i++) {
		const struct variant *dv = &ctx->variants[v->deps[i]];
		deps[i] = (struct named_key){ dv->recipe->name, dv->key };
	}
	qsort(deps, v->ndeps, sizeof(*deps), cmp_named);
	for (size_t i = 0; i < v->ndeps; i++)
		jw_kstring(&w, deps[i].name, deps[i].key);
	free(deps);
	jw_object_end(&w);
	jw_key(&w, "env");
	jw_object_begin(&w);
	for (size_t i = 0; i < v->env.n; i++) /* struct env is sorted by name */
		jw_kstring(&w, v->env.v[i].name, v->env.v[i].value);
	jw_object_end(&w);
	jw_kint(&w, "format", 1);
	write_patches(&w, ctx, v);
	jw_kstring(&w, "platform", ctx->fp->platform);
	const struct python_fp *py = fingerprints_python(ctx->fp, v->python);
	jw_key(&w, "python");
	jw_object_begin(&w);
	jw_kstring(&w, "fingerprint", py ? py->full : NULL);
	jw_kstring(&w, "version", v->python);
	jw_object_end(&w);
	jw_key(&w, "recipe");
	write_recipe(&w, v, ctx->pins);
	jw_key(&w, "toolchain");
	write_toolchain(&w, v, fingerprints_toolchain(ctx->fp, v->tc));
	jw_object_end(&w);
	sha256_hex(text.data, text.len, v->key);
	free(v->key_input);
	v->key_input = buf_detach(&text);
}

/* ---- the source part and the flag part -------------------------------------------------- */

void key_split(const char *inputs, char flags[SHA256_HEX_SIZE], char source[SHA256_HEX_SIZE])
{
	struct jdoc doc;
	struct diags d;
	diags_init(&d);
	struct buf f = BUF_INIT, s = BUF_INIT;
	if (jdoc_parse(&doc, "(inputs)", inputs, strlen(inputs), &d) == 0) {
		struct jw wf, ws;
		jw_init(&wf, &f, false);
		jw_init(&ws, &s, false);
		jw_object_begin(&wf);
		jw_object_begin(&ws);
		for (size_t i = 0; i < doc.root.n; i++) {
			const struct jnode *m = &doc.root.child[i];
			bool is_source = !strcmp(m->key, "patch_files") || !strcmp(m->key, "patches") ||
					 !strcmp(m->key, "source_deps");
			if (!strcmp(m->key, "recipe") && m->type == JSON_OBJECT) {
				jw_key(&wf, "recipe");
				jw_object_begin(&wf);
				for (size_t k = 0; k < m->n; k++) {
					const struct jnode *r = &m->child[k];
					bool src = !strcmp(r->key, "source") ||
						   !strcmp(r->key, "submodule_overrides");
					jw_key(src ? &ws : &wf, r->key);
					jw_node(src ? &ws : &wf, r);
				}
				jw_object_end(&wf);
				continue;
			}
			jw_key(is_source ? &ws : &wf, m->key);
			jw_node(is_source ? &ws : &wf, m);
		}
		jw_object_end(&wf);
		jw_object_end(&ws);
	}
	jdoc_release(&doc);
	sha256_hex(f.data ? f.data : "", f.len, flags);
	sha256_hex(s.data ? s.data : "", s.len, source);
	buf_release(&f);
	buf_release(&s);
	diags_release(&d);
}

/* ---- what changed between two key inputs ------------------------------------------------ */

static const struct jnode *at_path(const struct jnode *root, const char *path)
{
	const struct jnode *n = root;
	char *copy = xstrdup(path);
	for (char *part = copy, *dot; n && part; part = dot ? dot + 1 : NULL) {
		dot = strchr(part, '.');
		if (dot)
			*dot = '\0';
		n = n->type == JSON_OBJECT ? jnode_get(n, part) : NULL;
	}
	free(copy);
	return n;
}

static char *shown_value(const struct jnode *n)
{
	if (!n)
		return NULL;
	if (n->type == JSON_STRING) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "'%s'", n->str);
		return buf_detach(&b);
	}
	return jnode_compact(n);
}

#define PINNED "recipe.source.pinned"

static void classify(struct key_change *c)
{
	const char *path = c->path;
	c->kind = KEY_CHANGE_OTHER;
	c->name = path;
	if (starts_with(path, "env.")) {
		c->kind = KEY_CHANGE_ENV;
		c->name = path + 4;
	} else if (starts_with(path, "deps.")) {
		c->kind = KEY_CHANGE_DEPENDENCY;
		c->name = path + 5;
	} else if (!strcmp(path, "recipe.source.ref")) {
		c->kind = KEY_CHANGE_SOURCE_REF;
		c->name = "";
	} else if (starts_with(path, PINNED)) {
		c->kind = KEY_CHANGE_SOURCE_PIN;
		c->name = path + strlen(PINNED) + (path[strlen(PINNED)] == '.');
	} else if (!strcmp(path, "patch_files")) {
		c->kind = KEY_CHANGE_PATCHES;
		c->name = "";
	} else if (starts_with(path, "toolchain.fingerprint.")) {
		c->kind = KEY_CHANGE_FINGERPRINT;
		c->name = path + strlen("toolchain.fingerprint.");
	} else if (starts_with(path, "python.")) {
		c->kind = KEY_CHANGE_PYTHON;
		c->name = path + strlen("python.");
	}
}

static void add_change(struct key_changes *out, const char *path, const struct jnode *a,
		       const struct jnode *b)
{
	GROW(out->v, out->cap, out->n + 1);
	struct key_change *c = &out->v[out->n++];
	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	classify(c);
	c->old_value = shown_value(a);
	c->new_value = shown_value(b);
	c->old_text = a && a->str ? xstrdup(a->str) : NULL;
	c->new_text = b && b->str ? xstrdup(b->str) : NULL;
	c->old_count = a && a->type == JSON_ARRAY ? a->n : 0;
	c->new_count = b && b->type == JSON_ARRAY ? b->n : 0;
}

/* One change per line of jnode_diff ("path: old -> new"), its values looked up again by
 * path in each document. */
static void changes_of(const struct jnode *old, const struct jnode *now, struct key_changes *out)
{
	struct buf lines = BUF_INIT;
	jnode_diff(old, now, &lines);
	const char *cur = lines.data ? lines.data : "";
	char *line;
	while ((line = next_line(&cur))) {
		char *colon = strstr(line, ": ");
		if (colon) {
			*colon = '\0';
			add_change(out, line, at_path(old, line), at_path(now, line));
		}
		free(line);
	}
	buf_release(&lines);
}

/* Parses one side of a diff; an error goes into `d` without a position (the documents
 * do not outlive key_diff, and positions would point into them). */
static int parse_side(struct jdoc *doc, const char *which, const char *text, struct diags *d)
{
	struct diags pd;
	diags_init(&pd);
	int rc = jdoc_parse(doc, which, text, strlen(text), &pd);
	if (rc < 0)
		diag_error(d, NULL, "the %s key input is not JSON: %s", which,
			   pd.n ? pd.v[0].msg : "?");
	diags_release(&pd);
	return rc;
}

int key_diff(const char *old, const char *now, struct key_changes *out, struct diags *d)
{
	struct jdoc a, b;
	int rc = -1;
	if (parse_side(&a, "old", old, d) == 0) {
		if (parse_side(&b, "new", now, d) == 0) {
			changes_of(&a.root, &b.root, out);
			rc = 0;
		}
		jdoc_release(&b);
	}
	jdoc_release(&a);
	return rc;
}

void key_changes_release(struct key_changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].old_value);
		free(c->v[i].new_value);
		free(c->v[i].old_text);
		free(c->v[i].new_text);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}
