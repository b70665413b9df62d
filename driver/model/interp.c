#include "model/interp.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "util/xalloc.h"

/* Indexed by enum interp_name, up to INTERP_RECIPE_VERSION. */
static const char *const plan_names[] = {
	"toolchain.name", "toolchain.tag", "toolchain.cc", "toolchain.cxx",
	"cuda.enabled", "cuda.version", "cuda.home", "cuda.arch_list",
	"musa.enabled", "musa.version", "musa.home", "musa.arch_list",
	"nccl.root", "python.version", "python.tag", "recipe.name", "recipe.version",
};

/* Indexed by enum interp_name - INTERP_PYTHON. */
static const char *const build_names[] = { "python", "out", "jobs", "src" };

/* Indexed by enum interp_name - INTERP_DEP_VERSION. */
static const char *const dep_fields[] = { "version", "version_short" };

static int index_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return (int)i;
	return -1;
}

static bool valid_ident(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Classifies `name`; returns -1 if it is outside the vocabulary. */
static int classify(const char *name, struct interp_ref *ref, const char **suggest)
{
	int k;
	if ((k = index_in(name, plan_names, ARRAY_SIZE(plan_names))) >= 0) {
		ref->cls = INTERP_PLAN;
		ref->id = (enum interp_name)k;
		return 0;
	}
	if ((k = index_in(name, build_names, ARRAY_SIZE(build_names))) >= 0) {
		ref->cls = INTERP_BUILD;
		ref->id = (enum interp_name)(INTERP_PYTHON + k);
		return 0;
	}
	if (starts_with(name, "src:") && valid_ident(name + 4, strlen(name + 4))) {
		ref->cls = INTERP_BUILD;
		ref->id = INTERP_SRC_OF;
		ref->recipe = xstrdup(name + 4);
		return 0;
	}
	if (starts_with(name, "env.") && valid_ident(name + 4, strlen(name + 4))) {
		ref->cls = INTERP_PLAN;
		ref->id = INTERP_ENV;
		ref->var = xstrdup(name + 4);
		return 0;
	}
	if (starts_with(name, "dep.")) {
		const char *rest = name + 4;
		const char *dot = strrchr(rest, '.');
		if (dot && valid_ident(rest, (size_t)(dot - rest)) &&
		    (k = index_in(dot + 1, dep_fields, ARRAY_SIZE(dep_fields))) >= 0) {
			ref->cls = INTERP_PLAN;
			ref->id = (enum interp_name)(INTERP_DEP_VERSION + k);
			ref->recipe = xstrndup(rest, (size_t)(dot - rest));
			return 0;
		}
		*suggest = "dep.NAME.version or dep.NAME.version_short";
		return -1;
	}
	const char *all[ARRAY_SIZE(plan_names) + ARRAY_SIZE(build_names)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(plan_names); i++)
		all[n++] = plan_names[i];
	for (size_t i = 0; i < ARRAY_SIZE(build_names); i++)
		all[n++] = build_names[i];
	*suggest = closest_match(name, all, n);
	return -1;
}

static void interp_refs_free_one(struct interp_ref *ref)
{
	free(ref->name);
	free(ref->recipe);
	free(ref->var);
}

void interp_refs_free(struct interp_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		interp_refs_free_one(&refs[i]);
	free(refs);
}

int interp_scan(const char *s, struct interp_ref **refs, size_t *nrefs, size_t *bad_index,
		const char **why, const char **suggest)
{
	*refs = NULL;
	*nrefs = 0;
	*suggest = NULL;
	size_t cap = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '$')
			continue;
		if (s[i + 1] == '$') {
			i++;
			continue;
		}
		if (s[i + 1] != '{')
			continue;
		const char *close = strchr(s + i + 2, '}');
		if (!close) {
			*bad_index = i;
			*why = "\"${\" is not closed by \"}\"";
			goto fail;
		}
		size_t len = (size_t)(close - (s + i + 2));
		if (!len) {
			*bad_index = i;
			*why = "empty \"${}\"";
			goto fail;
		}
		struct interp_ref ref = { .start = i, .name = xstrndup(s + i + 2, len) };
		if (classify(ref.name, &ref, suggest) < 0) {
			*bad_index = i;
			*why = "unknown name";
			interp_refs_free_one(&ref);
			goto fail;
		}
		GROW(*refs, cap, *nrefs + 1);
		(*refs)[(*nrefs)++] = ref;
		i += len + 2;
	}
	return 0;
fail:
	interp_refs_free(*refs, *nrefs);
	*refs = NULL;
	*nrefs = 0;
	return -1;
}

static void expand(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx,
		   bool keep_escapes)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '$' && s[i + 1] == '$') {
			buf_adds(out, keep_escapes ? "$$" : "$");
			i++;
			continue;
		}
		const char *close;
		if (s[i] == '$' && s[i + 1] == '{' && (close = strchr(s + i + 2, '}'))) {
			size_t len = (size_t)(close - (s + i + 2));
			struct interp_ref ref = { .start = i, .name = xstrndup(s + i + 2, len) };
			const char *suggest;
			const char *value = classify(ref.name, &ref, &suggest) == 0 ? lookup(&ref, ctx)
										    : NULL;
			if (value)
				buf_adds(out, value);
			else
				buf_add(out, s + i, len + 3);
			interp_refs_free_one(&ref);
			i += len + 2;
			continue;
		}
		buf_addch(out, s[i]);
	}
}

void interp_expand(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx)
{
	expand(out, s, lookup, ctx, false);
}

void interp_expand_partial(struct buf *out, const char *s, interp_lookup_fn lookup, void *ctx)
{
	expand(out, s, lookup, ctx, true);
}
