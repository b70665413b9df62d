#include "session/lockfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static const char *const source_keys[] = { "commit", "files", "kind", "reads", "source",
					   "submodules", "tag", "version" };
static const char *const reads_keys[] = { "files", "globs" };
static const char *const file_keys[] = { "name", "python", "sha256" };
static const char *const sub_keys[] = { "commit", "overridden", "url" };
static const char *const variant_keys[] = { "inputs", "key", "runtime" };
static const char *const runtime_keys[] = { "files", "requires" };
static const char *const runtime_file_keys[] = { "name", "sha256" };
static const char *const top_keys[] = { "format", "sources", "variants" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A hex string member of `len` digits, copied into `out` (size len + 1). */
static void hex_member(struct fields *f, const char *key, size_t len, bool required, char *out)
{
	const struct jnode *m = fields_get(f, key, JSON_STRING, required);
	if (!m)
		return;
	if (!is_hex(m->str, len)) {
		diag_error(f->d, &m->pos, "\"%s\" in %s must be %zu lowercase hex digits", key,
			   f->what, len);
		f->errors++;
		return;
	}
	memcpy(out, m->str, len + 1);
}

static void load_files(struct fields *f, struct pin *pin)
{
	const struct jnode *arr = fields_get(f, "files", JSON_ARRAY, false);
	for (size_t i = 0; arr && i < arr->n; i++) {
		const struct jnode *e = &arr->child[i];
		if (e->type != JSON_OBJECT) {
			diag_error(f->d, &e->pos, "element %zu of \"files\" in %s must be an object",
				   i + 1, f->what);
			f->errors++;
			continue;
		}
		struct fields ff;
		fields_init(&ff, f->doc, e, "a pinned file", f->d);
		fields_known(&ff, file_keys, N(file_keys));
		char *name = fields_string(&ff, "name", true, NULL);
		const struct jnode *py = jnode_get(e, "python");
		char *python = py && py->type == JSON_STRING ? xstrdup(py->str) : NULL;
		if (py && py->type != JSON_STRING && py->type != JSON_NULL) {
			diag_error(f->d, &py->pos, "\"python\" of a pinned file must be a string or null");
			ff.errors++;
		}
		char sha[SHA256_HEX_SIZE] = "";
		hex_member(&ff, "sha256", 64, true, sha);
		if (!ff.errors && name)
			pin_add_file(pin, python, name, sha);
		f->errors += ff.errors;
		free(name);
		free(python);
	}
}

static void load_subs(struct fields *f, struct pin *pin)
{
	const struct jnode *obj = fields_get(f, "submodules", JSON_OBJECT, false);
	for (size_t i = 0; obj && i < obj->n; i++) {
		const struct jnode *e = &obj->child[i];
		if (e->type != JSON_OBJECT) {
			diag_error(f->d, &e->pos, "submodule \"%s\" in %s must be an object", e->key,
				   f->what);
			f->errors++;
			continue;
		}
		struct fields sf;
		fields_init(&sf, f->doc, e, "a pinned submodule", f->d);
		fields_known(&sf, sub_keys, N(sub_keys));
		char commit[PIN_OID_SIZE] = "";
		hex_member(&sf, "commit", 40, true, commit);
		char *url = fields_string(&sf, "url", true, NULL);
		bool overridden = fields_bool(&sf, "overridden", false);
		if (!sf.errors)
			pin_add_sub(pin, e->key, url, commit, overridden);
		f->errors += sf.errors;
		free(url);
	}
}

/* "reads": the files of this tree that other recipes' patch series read. */
static void load_reads(struct fields *f, struct pin *pin)
{
	const struct jnode *obj = fields_get(f, "reads", JSON_OBJECT, false);
	if (!obj)
		return;
	struct fields rf;
	fields_init(&rf, f->doc, obj, "the \"reads\" of a locked source", f->d);
	fields_known(&rf, reads_keys, N(reads_keys));
	struct strpos_list globs = { 0 };
	fields_string_list(&rf, "globs", true, &globs);
	struct buf joined = BUF_INIT;
	for (size_t i = 0; i < globs.n; i++)
		buf_addf(&joined, "%s\n", globs.v[i].s);
	strpos_list_release(&globs);
	const struct jnode *files = fields_get(&rf, "files", JSON_OBJECT, true);
	for (size_t i = 0; files && i < files->n; i++) {
		const struct jnode *e = &files->child[i];
		if (e->type != JSON_STRING || !is_hex(e->str, 64)) {
			diag_error(f->d, &e->pos, "read file \"%s\" in %s must map to a sha256 (64 "
				   "lowercase hex digits)", e->key, f->what);
			rf.errors++;
			continue;
		}
		pin_add_read(pin, e->key, e->str);
	}
	if (!rf.errors)
		pin->read_globs = buf_detach(&joined);
	buf_release(&joined);
	f->errors += rf.errors;
}

static void release_runtime(struct lock_variant *v)
{
	free(v->runtime_requires);
	for (size_t i = 0; i < v->nruntime; i++)
		free(v->runtime[i].name);
	free(v->runtime);
	v->runtime_requires = NULL;
	v->runtime = NULL;
	v->nruntime = 0;
}

static void add_runtime_file(struct lock_variant *v, const char *name, const char *sha256)
{
	v->runtime = xrealloc(v->runtime, (v->nruntime + 1) * sizeof(*v->runtime));
	struct pinned_file *f = &v->runtime[v->nruntime++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
}

/* A variant's "runtime": {"requires": [LINE...], "files": [{"name", "sha256"}...]}. */
static void load_runtime(struct fields *vf, struct lock_variant *v)
{
	const struct jnode *obj = fields_get(vf, "runtime", JSON_OBJECT, false);
	if (!obj)
		return;
	struct fields rf;
	fields_init(&rf, vf->doc, obj, "the \"runtime\" of a locked variant", vf->d);
	fields_known(&rf, runtime_keys, N(runtime_keys));
	struct strpos_list reqs = { 0 };
	const struct jnode *req_node = fields_get(&rf, "requires", JSON_ARRAY, true);
	if (req_node)
		node_string_list(&rf, req_node, "requires", true, &reqs);
	struct buf joined = BUF_INIT;
	buf_adds(&joined, "");
	for (size_t i = 0; i < reqs.n; i++)
		buf_addf(&joined, "%s%s", i ? "\n" : "", reqs.v[i].s);
	strpos_list_release(&reqs);
	const struct jnode *files = fields_get(&rf, "files", JSON_ARRAY, true);
	for (size_t i = 0; files && i < files->n; i++) {
		const struct jnode *e = &files->child[i];
		if (e->type != JSON_OBJECT) {
			diag_error(vf->d, &e->pos, "element %zu of \"files\" in %s must be an object",
				   i + 1, rf.what);
			rf.errors++;
			continue;
		}
		struct fields ff;
		fields_init(&ff, vf->doc, e, "a pinned runtime wheel", vf->d);
		fields_known(&ff, runtime_file_keys, N(runtime_file_keys));
		char *name = fields_string(&ff, "name", true, NULL);
		char sha[SHA256_HEX_SIZE] = "";
		hex_member(&ff, "sha256", 64, true, sha);
		if (!ff.errors && name)
			add_runtime_file(v, name, sha);
		rf.errors += ff.errors;
		free(name);
	}
	v->runtime_requires = buf_detach(&joined);
	vf->errors += rf.errors;
}

static int load_source(struct lockfile *l, const struct jnode *e, struct diags *d)
{
	struct buf what = BUF_INIT;
	buf_addf(&what, "the lock's source \"%s\"", e->key);
	struct fields f;
	fields_init(&f, &l->doc, e, what.data, d);
	fields_known(&f, source_keys, N(source_keys));
	struct pin *pin = pins_add(&l->pins, e->key);
	const struct jnode *kind = fields_get(&f, "kind", JSON_STRING, true);
	static const enum source_kind kinds[] = { SOURCE_GIT, SOURCE_ARCHIVE, SOURCE_PYPI,
						  SOURCE_WHEEL };
	bool known = false;
	for (size_t i = 0; kind && i < N(kinds) && !known; i++)
		if (!strcmp(kind->str, source_kind_name(kinds[i]))) {
			pin->kind = kinds[i];
			known = true;
		}
	if (kind && !known) {
		diag_error(d, &kind->pos, "unknown source kind \"%s\" in %s", kind->str, what.data);
		f.errors++;
	}
	const struct jnode *spec = fields_get(&f, "source", JSON_OBJECT, true);
	if (spec)
		pin->spec = jnode_compact(spec);
	if (pin->kind == SOURCE_GIT) {
		hex_member(&f, "commit", 40, true, pin->commit);
		const struct jnode *tag = jnode_get(e, "tag");
		if (tag && tag->type != JSON_NULL)
			hex_member(&f, "tag", 40, false, pin->tag);
		load_subs(&f, pin);
	} else {
		load_files(&f, pin);
		/* a floating wheel source's resolved version (docs/files.md) */
		pin->version = fields_string(&f, "version", false, NULL);
	}
	load_reads(&f, pin);
	buf_release(&what);
	return f.errors ? -1 : 0;
}

int lockfile_load(struct lockfile *l, const char *path, struct diags *d)
{
	memset(l, 0, sizeof(*l));
	if (!path_exists(path))
		return 0;
	if (jdoc_load(&l->doc, path, d) < 0)
		return -1;
	l->loaded = true;
	const struct jnode *root = &l->doc.root;
	if (root->type != JSON_OBJECT)
		return diag_error(d, &root->pos, "a lock file is a JSON object");
	struct fields f;
	fields_init(&f, &l->doc, root, "the lock file", d);
	fields_known(&f, top_keys, N(top_keys));
	const struct jnode *format = fields_get(&f, "format", JSON_NUMBER, true);
	if (format && format->num != LOCKFILE_FORMAT) {
		diag_error(d, &format->pos, "lock format %g is not one this ptbuild reads (%d)",
			   format->num, LOCKFILE_FORMAT);
		diag_hint(d, "remove it and run `ptbuild lock` to write a new one");
		return -1;
	}
	int errors = 0;
	const struct jnode *sources = fields_get(&f, "sources", JSON_OBJECT, true);
	for (size_t i = 0; sources && i < sources->n; i++) {
		const struct jnode *e = &sources->child[i];
		if (e->type != JSON_OBJECT) {
			errors += diag_error(d, &e->pos, "source \"%s\" in the lock must be an object",
					     e->key) < 0;
			continue;
		}
		errors += load_source(l, e, d) < 0;
	}
	const struct jnode *variants = fields_get(&f, "variants", JSON_OBJECT, true);
	for (size_t i = 0; variants && i < variants->n; i++) {
		const struct jnode *e = &variants->child[i];
		struct fields vf;
		fields_init(&vf, &l->doc, e, "a locked variant", d);
		if (e->type != JSON_OBJECT) {
			errors += diag_error(d, &e->pos, "variant \"%s\" in the lock must be an object",
					     e->key) < 0;
			continue;
		}
		fields_known(&vf, variant_keys, N(variant_keys));
		char key[SHA256_HEX_SIZE] = "";
		hex_member(&vf, "key", 64, true, key);
		const struct jnode *inputs = fields_get(&vf, "inputs", JSON_OBJECT, true);
		struct lock_variant runtime = { 0 };
		load_runtime(&vf, &runtime);
		if (!vf.errors) {
			char *text = jnode_compact(inputs);
			lockfile_set_variant(l, e->key, key, text);
			l->v[l->n - 1].pos = e->key_pos;
			lock_variant_copy_runtime(&l->v[l->n - 1], &runtime);
			free(text);
		}
		release_runtime(&runtime);
		errors += vf.errors;
	}
	errors += f.errors;
	if (errors) {
		diag_hint(d, "the lock is written by `ptbuild lock`; remove it and run `ptbuild "
			     "lock` to write a new one");
		return -1;
	}
	return 1;
}

struct pos lockfile_source_pos(const struct lockfile *l, const char *name)
{
	struct pos none = { 0 };
	if (!l->loaded)
		return none;
	const struct jnode *sources = jnode_get(&l->doc.root, "sources");
	const struct jnode *e = sources ? jnode_get(sources, name) : NULL;
	return e ? e->key_pos : none;
}

const struct lock_variant *lockfile_variant(const struct lockfile *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return &l->v[i];
	return NULL;
}

void lockfile_set_variant(struct lockfile *l, const char *id, const char *key, const char *inputs)
{
	struct lock_variant *v = (struct lock_variant *)lockfile_variant(l, id);
	if (!v) {
		GROW(l->v, l->cap, l->n + 1);
		v = &l->v[l->n++];
		memset(v, 0, sizeof(*v));
		v->id = xstrdup(id);
	}
	free(v->inputs);
	v->inputs = xstrdup(inputs);
	snprintf(v->key, sizeof(v->key), "%s", key);
}

static int cmp_runtime_file(const void *a, const void *b)
{
	return strcmp(((const struct pinned_file *)a)->name, ((const struct pinned_file *)b)->name);
}

void lock_variant_copy_runtime(struct lock_variant *to, const struct lock_variant *from)
{
	if (to == from)
		return;
	release_runtime(to);
	if (!from->runtime_requires)
		return;
	to->runtime_requires = xstrdup(from->runtime_requires);
	for (size_t i = 0; i < from->nruntime; i++)
		add_runtime_file(to, from->runtime[i].name, from->runtime[i].sha256);
	if (to->nruntime)
		qsort(to->runtime, to->nruntime, sizeof(*to->runtime), cmp_runtime_file);
}

void lockfile_set_runtime(struct lockfile *l, const char *id, const char *requires,
			  const struct pinned_file *files, size_t n)
{
	struct lock_variant *v = (struct lock_variant *)lockfile_variant(l, id);
	if (!v)
		return;
	struct lock_variant from = { .runtime_requires = (char *)requires,
				     .runtime = (struct pinned_file *)files, .nruntime = n };
	lock_variant_copy_runtime(v, &from);
}

void lockfile_release(struct lockfile *l)
{
	pins_release(&l->pins);
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].inputs);
		release_runtime(&l->v[i]);
	}
	free(l->v);
	jdoc_release(&l->doc);
	memset(l, 0, sizeof(*l));
}

/* ---- writing ------------------------------------------------------------------------------ */

static int cmp_pin(const void *a, const void *b)
{
	return strcmp((*(const struct pin *const *)a)->recipe, (*(const struct pin *const *)b)->recipe);
}

static int cmp_file(const void *a, const void *b)
{
	const struct pinned_file *x = *(const struct pinned_file *const *)a;
	const struct pinned_file *y = *(const struct pinned_file *const *)b;
	int c = strcmp(x->python ? x->python : "", y->python ? y->python : "");
	return c ? c : strcmp(x->name, y->name);
}

static int cmp_variant(const void *a, const void *b)
{
	return strcmp((*(const struct lock_variant *const *)a)->id,
		      (*(const struct lock_variant *const *)b)->id);
}

/* Parses canonical JSON we wrote ourselves and writes it into `w` (pretty). */
static void write_embedded(struct jw *w, const char *json)
{
	struct jdoc doc;
	struct diags d;
	diags_init(&d);
	if (jdoc_parse(&doc, "(inputs)", json, strlen(json), &d) == 0)
		jw_node(w, &doc.root);
	else
		jw_null(w);
	jdoc_release(&doc);
	diags_release(&d);
}

static void write_pin(struct jw *w, const struct pin *pin)
{
	jw_object_begin(w);
	if (pin->kind == SOURCE_GIT)
		jw_kstring(w, "commit", pin->commit);
	if (pin->kind != SOURCE_GIT) {
		jw_key(w, "files");
		jw_array_begin(w);
		const struct pinned_file **files = xcalloc(pin->nfiles + 1, sizeof(*files));
		for (size_t i = 0; i < pin->nfiles; i++)
			files[i] = &pin->files[i];
		qsort(files, pin->nfiles, sizeof(*files), cmp_file);
		for (size_t i = 0; i < pin->nfiles; i++) {
			jw_object_begin(w);
			jw_kstring(w, "name", files[i]->name);
			jw_kstring(w, "python", files[i]->python);
			jw_kstring(w, "sha256", files[i]->sha256);
			jw_object_end(w);
		}
		free(files);
		jw_array_end(w);
	}
	jw_kstring(w, "kind", source_kind_name(pin->kind));
	if (pin->read_globs) {
		jw_key(w, "reads");
		jw_object_begin(w);
		jw_key(w, "files");
		jw_object_begin(w);
		for (size_t i = 0; i < pin->nreads; i++)
			jw_kstring(w, pin->reads[i].path, pin->reads[i].sha256);
		jw_object_end(w);
		jw_key(w, "globs");
		jw_array_begin(w);
		const char *g = pin->read_globs;
		for (char *one; (one = next_line(&g)); free(one))
			jw_string(w, one);
		jw_array_end(w);
		jw_object_end(w);
	}
	jw_key(w, "source");
	write_embedded(w, pin->spec ? pin->spec : "{}");
	if (pin->kind == SOURCE_GIT) {
		jw_key(w, "submodules");
		jw_object_begin(w);
		const struct pinned_sub **subs = pin_sorted_subs(pin);
		for (size_t i = 0; i < pin->nsubs; i++) {
			jw_key(w, subs[i]->path);
			jw_object_begin(w);
			jw_kstring(w, "commit", subs[i]->commit);
			jw_kbool(w, "overridden", subs[i]->overridden);
			jw_kstring(w, "url", subs[i]->url);
			jw_object_end(w);
		}
		free(subs);
		jw_object_end(w);
		jw_kstring(w, "tag", pin->tag[0] ? pin->tag : NULL);
	}
	if (pin->version)
		jw_kstring(w, "version", pin->version);
	jw_object_end(w);
}

static void write_runtime(struct jw *w, const struct lock_variant *v)
{
	jw_key(w, "runtime");
	jw_object_begin(w);
	jw_key(w, "files");
	jw_array_begin(w);
	for (size_t i = 0; i < v->nruntime; i++) {
		jw_object_begin(w);
		jw_kstring(w, "name", v->runtime[i].name);
		jw_kstring(w, "sha256", v->runtime[i].sha256);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_key(w, "requires");
	jw_array_begin(w);
	const char *r = v->runtime_requires;
	for (char *one; (one = next_line(&r)); free(one))
		jw_string(w, one);
	jw_array_end(w);
	jw_object_end(w);
}

bool lockfile_pins_equal(const struct pin *a, const struct pin *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	struct jw w;
	jw_init(&w, &x, false);
	write_pin(&w, a);
	jw_init(&w, &y, false);
	write_pin(&w, b);
	bool same = !strcmp(x.data, y.data);
	buf_release(&x);
	buf_release(&y);
	return same;
}

void lockfile_text(const struct lockfile *l, struct buf *out)
{
	struct jw w;
	jw_init(&w, out, true);
	jw_object_begin(&w);
	jw_kint(&w, "format", LOCKFILE_FORMAT);
	jw_key(&w, "sources");
	jw_object_begin(&w);
	const struct pin **pins = xcalloc(l->pins.n + 1, sizeof(*pins));
	for (size_t i = 0; i < l->pins.n; i++)
		pins[i] = &l->pins.v[i];
	qsort(pins, l->pins.n, sizeof(*pins), cmp_pin);
	for (size_t i = 0; i < l->pins.n; i++) {
		jw_key(&w, pins[i]->recipe);
		write_pin(&w, pins[i]);
	}
	free(pins);
	jw_object_end(&w);
	jw_key(&w, "variants");
	jw_object_begin(&w);
	const struct lock_variant **vs = xcalloc(l->n + 1, sizeof(*vs));
	for (size_t i = 0; i < l->n; i++)
		vs[i] = &l->v[i];
	qsort(vs, l->n, sizeof(*vs), cmp_variant);
	for (size_t i = 0; i < l->n; i++) {
		jw_key(&w, vs[i]->id);
		jw_object_begin(&w);
		jw_key(&w, "inputs");
		write_embedded(&w, vs[i]->inputs);
		jw_kstring(&w, "key", vs[i]->key);
		if (vs[i]->runtime_requires)
			write_runtime(&w, vs[i]);
		jw_object_end(&w);
	}
	free(vs);
	jw_object_end(&w);
	jw_object_end(&w);
	buf_addch(out, '\n');
}

int lockfile_write(const struct lockfile *l, const char *path, struct diags *d)
{
	struct buf out = BUF_INIT;
	buf_adds(&out, "// ptbuild.lock: the exact sources and build keys of this project's builds.\n"
		       "// Written by `ptbuild lock` (or the first `ptbuild build`); change it with "
		       "`ptbuild lock --update [TARGET...]`.\n");
	lockfile_text(l, &out);
	int rc = 0;
	if (write_file_atomic(path, out.data, out.len) < 0)
		rc = diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
	buf_release(&out);
	return rc;
}
