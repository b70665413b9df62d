#include "model/project.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/recipe_load.h"
#include "model/toolchain_load.h"
#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

const char *const known_pythons[] = { "3.9", "3.10", "3.11", "3.12", "3.13", "3.14" };
const size_t known_pythons_count = ARRAY_SIZE(known_pythons);

/* ---- loading a directory ------------------------------------------------------------- */

const char *project_keep_path(struct project *p, struct jdoc *doc)
{
	GROW(p->files, p->capfiles, p->nfiles + 1);
	p->files[p->nfiles++] = doc->path;
	doc->path = NULL;
	return p->files[p->nfiles - 1];
}

char *project_path(const struct project *p, const char *rel)
{
	if (!strcmp(p->dir, "."))
		return xstrdup(rel);
	return path_join(p->dir, rel);
}

typedef void (*load_fn)(struct project *p, const struct jdoc *doc, struct diags *d);

static void add_recipe(struct project *p, const struct jdoc *doc, struct diags *d)
{
	GROW(p->recipes, p->caprecipes, p->nrecipes + 1);
	if (recipe_load(&p->recipes[p->nrecipes], doc, d) == 0)
		p->nrecipes++;
}

static void add_toolchain(struct project *p, const struct jdoc *doc, struct diags *d)
{
	GROW(p->toolchains, p->captoolchains, p->ntoolchains + 1);
	if (toolchain_load(&p->toolchains[p->ntoolchains], doc, d) == 0)
		p->ntoolchains++;
}

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
			project_keep_path(p, &doc);
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

void project_hint_recipe_name(const struct project *p, const char *name, struct diags *d)
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
				project_hint_recipe_name(p, dep->s, d);
			}
		}
		for (size_t k = 0; k < r->nrefs; k++) {
			const struct recipe_ref *ref = &r->refs[k];
			if (ref->source_only) {
				if (!project_recipe(p, ref->recipe)) {
					diag_error(d, &ref->pos, "\"${src:%s}\" in recipe \"%s\" names no recipe",
						   ref->recipe, r->name);
					project_hint_recipe_name(p, ref->recipe, d);
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
	if (!is_directory(p->dir)) {
		diag_error(d, NULL, "the project directory \"%s\" %s", p->dir,
			   path_exists(p->dir) ? "is not a directory" : "does not exist");
		diag_hint(d, "check the path given to -C (a directory holding recipes/ and "
			     "toolchains/)");
		return -1;
	}
	char *recipes = project_path(p, "recipes");
	if (!is_directory(recipes)) {
		struct pos where = { p->dir, 0, 0 };
		diag_error(d, &where, "no recipes/ directory here");
		diag_hint(d, "run ptbuild in a project directory, or point at one with -C DIR");
		free(recipes);
		return -1;
	}
	free(recipes);
	load_dir(p, "recipes", add_recipe, d);
	load_dir(p, "toolchains", add_toolchain, d);
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
