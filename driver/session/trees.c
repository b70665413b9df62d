#include "session/trees.h"

#include <stdlib.h>
#include <string.h>

#include "util/os.h"
#include "util/xalloc.h"

static struct tree_job *find_or_add(struct tree_work *w, const struct recipe *r,
				    const char *digest)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].r == r && !strcmp(w->v[i].digest, digest ? digest : ""))
			return &w->v[i];
	GROW(w->v, w->cap, w->n + 1);
	struct tree_job *f = &w->v[w->n++];
	memset(f, 0, sizeof(*f));
	f->r = r;
	snprintf(f->digest, sizeof(f->digest), "%s", digest ? digest : "");
	return f;
}

static void add_variant_label(struct tree_job *f, const struct variant *v)
{
	GROW(f->labels, f->cap_labels, f->nlabels + 1);
	f->labels[f->nlabels++] = v->label;
}

static bool selected(const struct tree_select *sel, size_t i)
{
	return !sel->variants || sel->variants[i];
}

const struct recipe **trees_source_recipes(const struct plan *plan, const struct project *p,
					   size_t *n)
{
	const struct recipe **v = xcalloc(p->nrecipes + 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *var = &plan->v[i];
		for (size_t k = 0; k <= var->nsource_deps; k++) {
			const struct recipe *r = k < var->nsource_deps ? &p->recipes[var->source_deps[k]]
								       : var->recipe;
			bool seen = false;
			for (size_t j = 0; j < *n && !seen; j++)
				seen = v[j] == r;
			if (!seen)
				v[(*n)++] = r;
		}
	}
	return v;
}

int trees_list(const struct plan *plan, const struct project *p, const struct tree_select *sel,
	       struct tree_work *w, struct diags *d)
{
	size_t n = 0;
	const struct recipe **recipes = trees_source_recipes(plan, p, &n);
	int errors = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *v = &plan->v[i];
		if (selected(sel, i) && v->patches_unresolved && !sel->pristine) {
			diag_error(d, &v->recipe->pos, "the patch series of \"%s\" (%s) read a tree "
				   "whose files are not listed", v->recipe->name, v->label);
			diag_hint(d, "run `ptbuild lock`");
			errors++;
		}
	}
	/* Pristine trees: recipes built without patches, sources only read, patch sources. */
	for (size_t k = 0; k < n && !errors; k++) {
		const struct recipe *r = recipes[k];
		bool unpatched = false, read = false;
		for (size_t i = 0; i < plan->n; i++) {
			const struct variant *v = &plan->v[i];
			if (!selected(sel, i))
				continue;
			if (v->recipe == r)
				unpatched |= sel->pristine || !v->patches.n;
			for (size_t q = 0; !sel->pristine && q < v->patches.n; q++)
				read |= v->patches.v[q].source && !strcmp(v->patches.v[q].source, r->name);
			for (size_t q = 0; !sel->patched_only && q < v->nsource_deps; q++)
				read |= &p->recipes[v->source_deps[q]] == r;
		}
		if (read || (!sel->patched_only && unpatched)) {
			struct tree_job *f = find_or_add(w, r, NULL);
			for (size_t i = 0; i < plan->n; i++)
				if (selected(sel, i) && plan->v[i].recipe == r &&
				    (sel->pristine || !plan->v[i].patches.n))
					add_variant_label(f, &plan->v[i]);
		}
	}
	for (size_t i = 0; i < plan->n && !errors && !sel->pristine; i++) {
		const struct variant *v = &plan->v[i];
		if (!v->patches.n || !selected(sel, i))
			continue;
		char digest[SHA256_HEX_SIZE];
		patch_list_digest(&v->patches, digest);
		struct tree_job *f = find_or_add(w, v->recipe, digest);
		f->patches = &v->patches;
		add_variant_label(f, v);
	}
	free(recipes);
	return errors ? -1 : 0;
}

/* The patch files of `f` as patch_apply reads them: this project's or in a pristine tree
 * prepared earlier in `w`. NULL (error recorded) if such a tree is missing. */
static struct patch_ref *patch_refs(const struct tree_work *w, const struct tree_job *f,
				    const char *project_dir, char ***paths, struct diags *d)
{
	const struct patch_list *l = f->patches;
	struct patch_ref *refs = xcalloc(l->n + 1, sizeof(*refs));
	*paths = xcalloc(l->n + 1, sizeof(char *));
	for (size_t i = 0; i < l->n; i++) {
		const struct patch_file *pf = &l->v[i];
		const char *base = project_dir;
		if (pf->source) {
			base = NULL;
			for (size_t k = 0; k < w->n && !base; k++)
				if (!w->v[k].patches && !strcmp(w->v[k].r->name, pf->source))
					base = w->v[k].tree;
			if (!base) {
				diag_error(d, NULL, "the tree of \"%s\", which holds the patch \"%s\", is "
					   "not ready", pf->source, pf->name);
				for (size_t k = 0; k < i; k++)
					free((*paths)[k]);
				free(*paths);
				free(refs);
				return NULL;
			}
		}
		(*paths)[i] = path_join(base, pf->path);
		refs[i] = (struct patch_ref){ pf->name, (*paths)[i], pf->sha256 };
	}
	return refs;
}

int trees_prepare(const struct source_opts *so, const char *project_dir, struct tree_work *w,
		  const struct pins *pins, struct diags *d)
{
	int rc = 0;
	for (size_t i = 0; i < w->n && !rc; i++) {
		struct tree_job *x = &w->v[i];
		x->pin = pins_find(pins, x->r->name);
		double t0 = monotonic_seconds();
		char **paths = NULL;
		struct tree_patches tp = { 0 };
		if (x->patches) {
			size_t since = d->n;
			tp.refs = patch_refs(w, x, project_dir, &paths, d);
			if (!tp.refs)
				return diags_classify(d, since, DIAG_ENVIRONMENT);
			tp.n = x->patches->n;
			tp.digest = x->digest;
		}
		size_t since = d->n;
		/* -2: a patch does not apply (the input); -1: fetching or writing failed */
		rc = source_checkout(so, x->r, x->pin, x->pin && x->pin->resolved_now,
				     x->patches ? &tp : NULL, &x->tree, &x->state, d);
		if (rc < 0 && rc != -2)
			diags_classify(d, since, DIAG_ENVIRONMENT);
		x->stats = tp.stats;
		x->seconds = monotonic_seconds() - t0;
		for (size_t k = 0; paths && k < tp.n; k++)
			free(paths[k]);
		free(paths);
		free((void *)tp.refs);
	}
	return rc < 0 ? -1 : 0;
}

const char *trees_for_variant(const struct tree_work *w, const struct variant *v)
{
	char digest[SHA256_HEX_SIZE] = "";
	if (v->patches.n)
		patch_list_digest(&v->patches, digest);
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].r == v->recipe && !strcmp(w->v[i].digest, digest))
			return w->v[i].tree;
	return NULL;
}

const char *trees_pristine(const struct tree_work *w, const struct recipe *r)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].r == r && !w->v[i].patches)
			return w->v[i].tree;
	return NULL;
}

void trees_release(struct tree_work *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].tree);
		free(w->v[i].labels);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
}
