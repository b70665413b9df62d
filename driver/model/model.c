#include "model/model.h"

#include <stdlib.h>
#include <string.h>

const char *const builder_names[] = {
	[BUILDER_GENERIC] = "generic",
	[BUILDER_PYTORCH] = "pytorch",
	[BUILDER_TORCH_MUSA] = "torch_musa",
	[BUILDER_CPP_EXTENSION] = "cpp_extension",
	[BUILDER_PYG_LIB] = "pyg_lib",
	[BUILDER_TORCHAUDIO] = "torchaudio",
	[BUILDER_PYTHON] = "python",
	[BUILDER_WHEEL] = "wheel",
};

/* `path` is `dir` or below it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

bool submodule_selected(const struct submodule_select *sel, const char *path)
{
	bool listed = false, parent = false;
	for (size_t i = 0; sel && i < sel->paths.n; i++) {
		listed |= path_within(path, sel->paths.v[i].s);
		parent |= path_within(sel->paths.v[i].s, path);
	}
	switch (sel ? sel->mode : SUBMODULES_RECURSIVE) {
	case SUBMODULES_RECURSIVE:
		return true;
	case SUBMODULES_NONE:
		return false;
	case SUBMODULES_ONLY:
		return listed || parent;
	case SUBMODULES_EXCLUDE:
		return !listed;
	}
	return true;
}

int builder_parse(const char *name, enum builder *out)
{
	for (int i = 0; i < BUILDER_COUNT; i++) {
		if (strcmp(name, builder_names[i]) == 0) {
			*out = (enum builder)i;
			return 0;
		}
	}
	return -1;
}

void strpos_list_release(struct strpos_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void kv_list_release(struct kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct kv *kv_list_find(const struct kv_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

static void refs_release(struct recipe_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i].recipe);
	free(refs);
}

void recipe_release(struct recipe *r)
{
	free(r->name);
	free(r->version);
	free(r->provides);
	free(r->source.location);
	free(r->source.ref);
	free(r->source.sha256);
	free(r->source.index);
	strpos_list_release(&r->source.select.paths);
	strpos_list_release(&r->depends);
	strpos_list_release(&r->build_requires);
	strpos_list_release(&r->build);
	for (size_t i = 0; i < r->noverrides; i++) {
		free(r->overrides[i].path);
		free(r->overrides[i].git);
		free(r->overrides[i].ref);
	}
	free(r->overrides);
	for (size_t i = 0; i < r->npatches; i++) {
		free(r->patches[i].series);
		strpos_list_release(&r->patches[i].files);
		strpos_list_release(&r->patches[i].exclude);
		kv_list_release(&r->patches[i].when);
	}
	free(r->patches);
	kv_list_release(&r->env);
	kv_list_release(&r->compat);
	free(r->local_version);
	refs_release(r->refs, r->nrefs);
	memset(r, 0, sizeof(*r));
}

void toolchain_release(struct toolchain *t)
{
	free(t->name);
	free(t->tag);
	free(t->cc);
	free(t->cxx);
	free(t->cuda.version);
	free(t->cuda.home);
	free(t->cuda.arch_list);
	free(t->musa.version);
	free(t->musa.home);
	free(t->musa.arch_list);
	free(t->nccl_root);
	free(t->image);
	kv_list_release(&t->env);
	refs_release(t->refs, t->nrefs);
	memset(t, 0, sizeof(*t));
}

void buildset_release(struct buildset *s)
{
	free(s->name);
	strpos_list_release(&s->targets);
	strpos_list_release(&s->toolchains);
	strpos_list_release(&s->python);
	for (size_t i = 0; i < s->nexcludes; i++) {
		free(s->excludes[i].target);
		free(s->excludes[i].toolchain);
		free(s->excludes[i].python);
	}
	free(s->excludes);
	kv_list_release(&s->use);
	memset(s, 0, sizeof(*s));
}

const char *source_kind_name(enum source_kind kind)
{
	switch (kind) {
	case SOURCE_GIT:
		return "git";
	case SOURCE_ARCHIVE:
		return "archive";
	case SOURCE_PYPI:
		return "pypi";
	case SOURCE_WHEEL:
		return "wheel";
	case SOURCE_PATH:
		return "path";
	}
	return "?";
}

bool source_floating(const struct source *s)
{
	return s->kind == SOURCE_WHEEL && !s->sha256 && s->location && !strstr(s->location, "==");
}
