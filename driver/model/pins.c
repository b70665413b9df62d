#include "model/pins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/url.h"
#include "util/xalloc.h"

static int cmp_override(const void *a, const void *b)
{
	return strcmp((*(const struct submodule_override *const *)a)->path,
		      (*(const struct submodule_override *const *)b)->path);
}

static int cmp_strpos(const void *a, const void *b)
{
	return strcmp((*(const struct strpos *const *)a)->s, (*(const struct strpos *const *)b)->s);
}

void source_write_submodules(struct jw *w, const struct source *s)
{
	const struct submodule_select *sel = &s->select;
	if (sel->mode == SUBMODULES_RECURSIVE || sel->mode == SUBMODULES_NONE) {
		jw_bool(w, sel->mode == SUBMODULES_RECURSIVE); /* as before selections existed */
		return;
	}
	const struct strpos **sorted = xcalloc(sel->paths.n + 1, sizeof(*sorted));
	for (size_t i = 0; i < sel->paths.n; i++)
		sorted[i] = &sel->paths.v[i];
	qsort(sorted, sel->paths.n, sizeof(*sorted), cmp_strpos);
	jw_object_begin(w);
	jw_key(w, sel->mode == SUBMODULES_ONLY ? "only" : "exclude");
	jw_array_begin(w);
	for (size_t i = 0; i < sel->paths.n; i++)
		jw_string(w, sorted[i]->s);
	jw_array_end(w);
	jw_object_end(w);
	free(sorted);
}

char *source_spec(const struct recipe *r)
{
	const struct source *s = &r->source;
	struct buf out = BUF_INIT;
	struct jw w;
	jw_init(&w, &out, false);
	jw_object_begin(&w);
	/* keys sorted, as the lock reads them back; "index" and "pre" only when given, so the
	 * specs (and locks) of other sources are unchanged */
	if (s->index) {
		char *index = url_redact(s->index);
		jw_kstring(&w, "index", index);
		free(index);
	}
	jw_kstring(&w, "kind", source_kind_name(s->kind));
	char *location = url_redact(s->location);
	jw_kstring(&w, "location", location);
	free(location);
	if (s->pre)
		jw_kbool(&w, "pre", true);
	if (s->kind == SOURCE_GIT)
		jw_kstring(&w, "ref", s->ref);
	if (s->sha256)
		jw_kstring(&w, "sha256", s->sha256);
	if (s->kind == SOURCE_ARCHIVE)
		jw_kint(&w, "strip", s->strip);
	if (s->kind == SOURCE_GIT) {
		jw_key(&w, "submodule_overrides");
		jw_object_begin(&w);
		const struct submodule_override **sorted = xcalloc(r->noverrides + 1, sizeof(*sorted));
		for (size_t i = 0; i < r->noverrides; i++)
			sorted[i] = &r->overrides[i];
		qsort(sorted, r->noverrides, sizeof(*sorted), cmp_override);
		for (size_t i = 0; i < r->noverrides; i++) {
			jw_key(&w, sorted[i]->path);
			jw_object_begin(&w);
			char *git = url_redact(sorted[i]->git);
			jw_kstring(&w, "git", git);
			free(git);
			jw_kstring(&w, "ref", sorted[i]->ref);
			jw_object_end(&w);
		}
		free(sorted);
		jw_object_end(&w);
		jw_key(&w, "submodules");
		source_write_submodules(&w, s);
	}
	jw_object_end(&w);
	return buf_detach(&out);
}

void pin_release(struct pin *pin)
{
	free(pin->recipe);
	free(pin->spec);
	free(pin->version);
	for (size_t i = 0; i < pin->nsubs; i++) {
		free(pin->subs[i].path);
		free(pin->subs[i].url);
	}
	free(pin->subs);
	for (size_t i = 0; i < pin->nfiles; i++) {
		free(pin->files[i].python);
		free(pin->files[i].name);
	}
	free(pin->files);
	pin_clear_reads(pin);
	memset(pin, 0, sizeof(*pin));
}

void pin_clear_reads(struct pin *pin)
{
	for (size_t i = 0; i < pin->nreads; i++)
		free(pin->reads[i].path);
	free(pin->reads);
	free(pin->read_globs);
	pin->reads = NULL;
	pin->read_globs = NULL;
	pin->nreads = pin->cap_reads = 0;
}

void pin_add_read(struct pin *pin, const char *path, const char *sha256)
{
	GROW(pin->reads, pin->cap_reads, pin->nreads + 1);
	size_t at = pin->nreads;
	while (at > 0 && strcmp(pin->reads[at - 1].path, path) > 0)
		at--;
	memmove(&pin->reads[at + 1], &pin->reads[at], (pin->nreads - at) * sizeof(*pin->reads));
	pin->reads[at].path = xstrdup(path);
	snprintf(pin->reads[at].sha256, sizeof(pin->reads[at].sha256), "%s", sha256);
	pin->nreads++;
}

struct pin *pins_find(const struct pins *p, const char *recipe)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!strcmp(p->v[i].recipe, recipe))
			return &p->v[i];
	return NULL;
}

void pins_remove(struct pins *p, const char *recipe)
{
	struct pin *pin = pins_find(p, recipe);
	if (!pin)
		return;
	size_t i = (size_t)(pin - p->v);
	pin_release(pin);
	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
	p->n--;
}

struct pin *pins_add(struct pins *p, const char *recipe)
{
	pins_remove(p, recipe);
	GROW(p->v, p->cap, p->n + 1);
	struct pin *pin = &p->v[p->n++];
	memset(pin, 0, sizeof(*pin));
	pin->recipe = xstrdup(recipe);
	return pin;
}

void pins_release(struct pins *p)
{
	for (size_t i = 0; i < p->n; i++)
		pin_release(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static void copy_hex(char *dst, size_t size, const char *src);

struct pin *pins_add_copy(struct pins *into, const struct pin *src)
{
	struct pin *pin = pins_add(into, src->recipe);
	pin->kind = src->kind;
	pin->spec = src->spec ? xstrdup(src->spec) : NULL;
	pin->version = src->version ? xstrdup(src->version) : NULL;
	memcpy(pin->commit, src->commit, sizeof(pin->commit));
	memcpy(pin->tag, src->tag, sizeof(pin->tag));
	for (size_t i = 0; i < src->nsubs; i++)
		pin_add_sub(pin, src->subs[i].path, src->subs[i].url, src->subs[i].commit,
			    src->subs[i].overridden);
	for (size_t i = 0; i < src->nfiles; i++)
		pin_add_file(pin, src->files[i].python, src->files[i].name, src->files[i].sha256);
	if (src->read_globs)
		pin->read_globs = xstrdup(src->read_globs);
	for (size_t i = 0; i < src->nreads; i++)
		pin_add_read(pin, src->reads[i].path, src->reads[i].sha256);
	pin->resolved_now = src->resolved_now;
	return pin;
}

static void copy_hex(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void pin_add_sub(struct pin *pin, const char *path, const char *url, const char *commit,
		 bool overridden)
{
	GROW(pin->subs, pin->cap_subs, pin->nsubs + 1);
	struct pinned_sub *s = &pin->subs[pin->nsubs++];
	s->path = xstrdup(path);
	s->url = url_redact(url);
	copy_hex(s->commit, sizeof(s->commit), commit);
	s->overridden = overridden;
}

void pin_add_file(struct pin *pin, const char *python, const char *name, const char *sha256)
{
	GROW(pin->files, pin->cap_files, pin->nfiles + 1);
	struct pinned_file *f = &pin->files[pin->nfiles++];
	f->python = python ? xstrdup(python) : NULL;
	f->name = xstrdup(name);
	copy_hex(f->sha256, sizeof(f->sha256), sha256);
}

const struct pinned_file *pin_file(const struct pin *pin, const char *python)
{
	for (size_t i = 0; pin && i < pin->nfiles; i++) {
		const struct pinned_file *f = &pin->files[i];
		if (!f->python || (python && !strcmp(f->python, python)))
			return f;
	}
	return NULL;
}

static int cmp_sub(const void *a, const void *b)
{
	return strcmp((*(const struct pinned_sub *const *)a)->path,
		      (*(const struct pinned_sub *const *)b)->path);
}

const struct pinned_sub **pin_sorted_subs(const struct pin *pin)
{
	const struct pinned_sub **subs = xcalloc(pin->nsubs + 1, sizeof(*subs));
	for (size_t i = 0; i < pin->nsubs; i++)
		subs[i] = &pin->subs[i];
	qsort(subs, pin->nsubs, sizeof(*subs), cmp_sub);
	return subs;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp((*(const struct pinned_file *const *)a)->name,
		      (*(const struct pinned_file *const *)b)->name);
}

void pin_write_identity(struct jw *w, const struct pin *pin, const char *python)
{
	if (!pin) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	jw_kstring(w, "commit", pin->commit[0] ? pin->commit : NULL);
	jw_key(w, "files");
	jw_object_begin(w);
	const struct pinned_file **files = xcalloc(pin->nfiles + 1, sizeof(*files));
	size_t nf = 0;
	for (size_t i = 0; i < pin->nfiles; i++)
		if (!python || !pin->files[i].python || !strcmp(pin->files[i].python, python))
			files[nf++] = &pin->files[i];
	qsort(files, nf, sizeof(*files), cmp_file);
	for (size_t i = 0; i < nf; i++)
		jw_kstring(w, files[i]->name, files[i]->sha256);
	free(files);
	jw_object_end(w);
	jw_key(w, "submodules");
	jw_object_begin(w);
	const struct pinned_sub **subs = pin_sorted_subs(pin);
	for (size_t i = 0; i < pin->nsubs; i++)
		jw_kstring(w, subs[i]->path, subs[i]->commit);
	free(subs);
	jw_object_end(w);
	jw_object_end(w);
}
