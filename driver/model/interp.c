#include "model/interp.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "util/xalloc.h"

static const char *const plan_names[] = {
	"toolchain.name", "toolchain.tag", "toolchain.cc", "toolchain.cxx",
	"cuda.enabled", "cuda.version", "cuda.home", "cuda.arch_list",
	"musa.enabled", "musa.version", "musa.home", "musa.arch_list",
	"nccl.root", "python.version", "python.tag", "recipe.name", "recipe.version",
};

static const char *const build_names[] = { "python", "out", "jobs", "src" };

static const char *const dep_fields[] = { "version", "version_short" };

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
	if (str_in_list(name, plan_names, ARRAY_SIZE(plan_names))) {
		ref->cls = INTERP_PLAN;
		return 0;
	}
	if (str_in_list(name, build_names, ARRAY_SIZE(build_names))) {
		ref->cls = INTERP_BUILD;
		return 0;
	}
	if (starts_with(name, "src:") && valid_ident(name + 4, strlen(name + 4))) {
		ref->cls = INTERP_BUILD;
		ref->recipe = xstrdup(name + 4);
		return 0;
	}
	if (starts_with(name, "env.") && valid_ident(name + 4, strlen(name + 4))) {
		ref->cls = INTERP_PLAN;
		return 0;
	}
	if (starts_with(name, "dep.")) {
		const char *rest = name + 4;
		const char *dot = strrchr(rest, '.');
		if (dot && valid_ident(rest, (size_t)(dot - rest)) &&
		    str_in_list(dot + 1, dep_fields, ARRAY_SIZE(dep_fields))) {
			ref->cls = INTERP_PLAN;
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

void interp_refs_free(struct interp_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(refs[i].name);
		free(refs[i].recipe);
	}
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
			free(ref.name);
			free(ref.recipe);
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
			char *name = xstrndup(s + i + 2, len);
			const char *value = lookup(name, ctx);
			if (value)
				buf_adds(out, value);
			else
				buf_add(out, s + i, len + 3);
			free(name);
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
