#include "plan/plan.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/interp.h"
#include "plan/key.h"
#include "util/buf.h"
#include "util/settings.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define VISITING SIZE_MAX

struct planner {
	struct plan *plan;
	const struct project *p;
	const struct kv_list *use;
	const struct set_exclude *excludes;
	size_t nexcludes;
	const struct toolchain **tcs;
	size_t *slot;  /* (recipe, toolchain, python) -> variant index + 1, 0, or VISITING */
	size_t cap;
	struct diags *d;
	int errors;
	long arg_max;  /* sysconf(_SC_ARG_MAX), once asked; -1 when unknown */
};

static size_t recipe_index(const struct project *p, const struct recipe *r)
{
	return (size_t)(r - p->recipes);
}

static size_t slot_of(const struct planner *pl, size_t r, size_t t, size_t y)
{
	return (r * pl->plan->ntoolchains + t) * pl->plan->npythons + y;
}

static bool excluded(const struct planner *pl, const char *target, const char *tc, const char *py)
{
	for (size_t i = 0; i < pl->nexcludes; i++) {
		const struct set_exclude *x = &pl->excludes[i];
		if ((!x->target || !strcmp(x->target, target)) &&
		    (!x->toolchain || !strcmp(x->toolchain, tc)) && (!x->python || !strcmp(x->python, py)))
			return true;
	}
	return false;
}

static const struct recipe *resolve_dep(struct planner *pl, const struct recipe *r,
					const struct strpos *dep)
{
	const struct recipe *target = project_resolve(pl->p, dep->s, pl->use);
	if (target)
		return target;
	struct buf providers = BUF_INIT;
	for (size_t i = 0; i < pl->p->nrecipes; i++) {
		const struct recipe *c = &pl->p->recipes[i];
		if (c->provides && !strcmp(c->provides, dep->s))
			buf_addf(&providers, "%s\"%s\"", providers.len ? ", " : "", c->name);
	}
	diag_error(pl->d, &dep->pos, "recipe \"%s\" depends on \"%s\", which several recipes provide "
				     "(%s)", r->name, dep->s, providers.data);
	diag_hint(pl->d, "choose one in the build set: \"use\": {\"%s\": \"...\"}", dep->s);
	buf_release(&providers);
	pl->errors++;
	return NULL;
}

/* Adds the variant and, first, its dependencies; returns its index or SIZE_MAX. */
static size_t add_variant(struct planner *pl, const struct recipe *r, size_t t, size_t y,
			  bool target, const struct strpos *via)
{
	size_t s = slot_of(pl, recipe_index(pl->p, r), t, y);
	if (pl->slot[s] == VISITING) {
		diag_error(pl->d, via ? &via->pos : &r->pos, "dependency cycle through recipe \"%s\" "
							   "with this build set's \"use\"", r->name);
		diag_hint(pl->d, "a recipe cannot need its own build; check \"use\" and \"depends\"");
		pl->errors++;
		return SIZE_MAX;
	}
	if (pl->slot[s]) {
		size_t i = pl->slot[s] - 1;
		pl->plan->v[i].target |= target;
		return i;
	}
	pl->slot[s] = VISITING;
	size_t *deps = xcalloc(r->depends.n + 1, sizeof(size_t));
	size_t ndeps = 0;
	for (size_t k = 0; k < r->depends.n; k++) {
		const struct recipe *dr = resolve_dep(pl, r, &r->depends.v[k]);
		if (!dr)
			continue;
		size_t di = add_variant(pl, dr, t, y, false, &r->depends.v[k]);
		if (di != SIZE_MAX)
			deps[ndeps++] = di;
	}
	struct plan *plan = pl->plan;
	GROW(plan->v, pl->cap, plan->n + 1);
	struct variant *v = &plan->v[plan->n];
	memset(v, 0, sizeof(*v));
	v->recipe = r;
	v->tc = pl->tcs[t];
	v->python = plan->pythons[y];
	struct buf label = BUF_INIT;
	buf_addf(&label, "%s-py%s", v->tc->name, v->python);
	v->label = buf_detach(&label);
	v->target = target;
	v->deps = deps;
	v->ndeps = ndeps;
	env_init(&v->env);
	pl->slot[s] = ++plan->n;
	return plan->n - 1;
}

/* ---- compat ---------------------------------------------------------------------------- */

static void check_compat(struct planner *pl, const struct variant *v)
{
	const struct recipe *r = v->recipe;
	for (size_t i = 0; i < r->compat.n; i++) {
		const struct kv *c = &r->compat.v[i];
		const char *have = NULL;
		struct buf which = BUF_INIT;
		if (!strcmp(c->key, "python")) {
			have = v->python;
			buf_addf(&which, "Python %s", have);
		} else if (!strcmp(c->key, "cuda")) {
			if (!v->tc->cuda.enabled)
				continue;
			have = v->tc->cuda.version;
			buf_addf(&which, "CUDA %s (toolchain \"%s\")", have, v->tc->name);
		} else {
			for (size_t k = 0; k < v->ndeps; k++) {
				const struct recipe *dr = pl->plan->v[v->deps[k]].recipe;
				if (!strcmp(dr->name, c->key) || (dr->provides && !strcmp(dr->provides, c->key))) {
					have = dr->version;
					buf_addf(&which, "%s %s (recipe \"%s\")", c->key, have, dr->name);
				}
			}
		}
		if (have && version_matches(have, c->value) == 0) {
			diag_error(pl->d, &c->pos, "%s %s supports %s %s, but this plan pairs it with %s",
				   r->name, r->version, c->key, c->value, which.data);
			diag_hint(pl->d, "use a %s within \"%s\", or a %s release made for %s %s", c->key,
				  c->value, r->name, c->key, have);
			pl->errors++;
		}
		buf_release(&which);
	}
}

/* ---- environment ------------------------------------------------------------------------ */

struct lookup_ctx {
	const struct planner *pl;
	const struct variant *v;
	struct buf scratch;
};

static const char *dep_version(const struct lookup_ctx *lc, const char *name)
{
	const struct variant *v = lc->v;
	for (size_t k = 0; k < v->ndeps; k++) {
		const struct recipe *dr = lc->pl->plan->v[v->deps[k]].recipe;
		if (!strcmp(dr->name, name) || (dr->provides && !strcmp(dr->provides, name)))
			return dr->version;
	}
	return NULL;
}

/* ${dep.NAME.version} and ${dep.NAME.version_short} ("2.9.1" -> "29"): "" when the variant
 * has no such dependency. */
static const char *lookup_dep(struct lookup_ctx *lc, const struct interp_ref *ref)
{
	struct buf *s = &lc->scratch;
	const char *version = dep_version(lc, ref->recipe);
	if (!version)
		return "";
	if (ref->id == INTERP_DEP_VERSION)
		return version;
	/* version_short: major and minor without the dot, "2.9.1" -> "29" */
	int dots = 0;
	for (const char *c = version; *c && isdigit((unsigned char)*c) | (*c == '.'); c++) {
		if (*c == '.' && ++dots == 2)
			break;
		if (*c != '.')
			buf_addch(s, *c);
	}
	return s->data;
}

/* An accelerator's value, "" when the toolchain does not enable it. */
static const char *if_enabled(bool enabled, const char *value)
{
	return enabled ? value : "";
}

static const char *lookup(const struct interp_ref *ref, void *ctx)
{
	struct lookup_ctx *lc = ctx;
	const struct toolchain *tc = lc->v->tc;
	const struct recipe *r = lc->v->recipe;
	struct buf *s = &lc->scratch;
	buf_reset(s);
	switch (ref->id) {
	case INTERP_TOOLCHAIN_NAME: return tc->name;
	case INTERP_TOOLCHAIN_TAG: return tc->tag;
	case INTERP_TOOLCHAIN_CC: return tc->cc;
	case INTERP_TOOLCHAIN_CXX: return tc->cxx;
	case INTERP_CUDA_ENABLED: return tc->cuda.enabled ? "1" : "0";
	case INTERP_CUDA_VERSION: return if_enabled(tc->cuda.enabled, tc->cuda.version);
	case INTERP_CUDA_HOME: return if_enabled(tc->cuda.enabled, tc->cuda.home);
	case INTERP_CUDA_ARCH_LIST: return if_enabled(tc->cuda.enabled, tc->cuda.arch_list);
	case INTERP_MUSA_ENABLED: return tc->musa.enabled ? "1" : "0";
	case INTERP_MUSA_VERSION: return if_enabled(tc->musa.enabled, tc->musa.version);
	case INTERP_MUSA_HOME: return if_enabled(tc->musa.enabled, tc->musa.home);
	case INTERP_MUSA_ARCH_LIST: return if_enabled(tc->musa.enabled, tc->musa.arch_list);
	case INTERP_NCCL_ROOT: return tc->nccl_root ? tc->nccl_root : "";
	case INTERP_PYTHON_VERSION: return lc->v->python;
	case INTERP_PYTHON_TAG:
		buf_adds(s, "cp");
		for (const char *c = lc->v->python; *c; c++)
			if (*c != '.')
				buf_addch(s, *c);
		return s->data;
	case INTERP_RECIPE_NAME: return r->name;
	case INTERP_RECIPE_VERSION: return r->version;
	case INTERP_ENV:
		/* A variable the toolchain or recipe set is an input; an inherited one (PATH)
		 * differs between machines, so it stays symbolic until the build. */
		return env_get(&lc->v->env, ref->var);
	case INTERP_DEP_VERSION:
	case INTERP_DEP_VERSION_SHORT:
		return lookup_dep(lc, ref);
	case INTERP_PYTHON:
	case INTERP_OUT:
	case INTERP_JOBS:
	case INTERP_SRC:
	case INTERP_SRC_OF:
		break;
	}
	return NULL; /* build-time names stay symbolic */
}

static char *expand(struct lookup_ctx *lc, const char *s)
{
	struct buf out = BUF_INIT;
	interp_expand(&out, s, lookup, lc);
	return buf_detach(&out);
}

/* For the environment and the build command, expanded once more when building. */
static char *expand_partial(struct lookup_ctx *lc, const char *s)
{
	struct buf out = BUF_INIT;
	interp_expand_partial(&out, s, lookup, lc);
	return buf_detach(&out);
}

static const char *torch_version_for(const struct planner *pl, const struct variant *v)
{
	const struct recipe *r = v->recipe;
	if (!strcmp(r->name, "torch") || (r->provides && !strcmp(r->provides, "torch")))
		return r->version;
	struct lookup_ctx lc = { pl, v, BUF_INIT };
	const char *version = dep_version(&lc, "torch");
	buf_release(&lc.scratch);
	return version;
}

/* A toolchain's or recipe's "env" map, expanded in its order, into `env` in batches (a
 * map of 100,000 variables in no order would be 100,000 insertions into a sorted array).
 * A value reading ${env.X} sees every variable before it: the batch is set first. */
static void set_env_map(struct lookup_ctx *lc, struct env *env, const struct kv_list *map,
			enum env_origin origin)
{
	struct envvar *add = xcalloc(map->n + 1, sizeof(*add));
	size_t n = 0;
	for (size_t i = 0; i < map->n; i++) {
		if (n && strstr(map->v[i].value, "${env.")) {
			env_set_all(env, add, n);
			n = 0;
		}
		add[n++] = (struct envvar){ xstrdup(map->v[i].key),
					    expand_partial(lc, map->v[i].value), map->v[i].pos,
					    origin };
	}
	env_set_all(env, add, n);
	free(add);
}

/* The build could start with this environment and command line: under ARG_MAX and
 * MAX_ARG_STRLEN (model/envflags), counting what it would inherit from this process. The
 * default command (pip wheel) is short, inside the reserve for ptbuild's own variables. */
static void check_exec_size(struct planner *pl, struct variant *v)
{
	if (!pl->arg_max)
		pl->arg_max = sysconf(_SC_ARG_MAX);
	size_t argv_bytes = 0;
	for (size_t i = 0; i < v->build_argc; i++)
		argv_bytes += strlen(v->build_argv[i]) + 1 + sizeof(char *);
	const struct recipe *r = v->recipe;
	const struct toolchain *tc = v->tc;
	struct exec_need need = {
		.inherited = setting_environ(),
		.argv_bytes = argv_bytes,
		.arg_max = pl->arg_max,
		.recipe = r->name,
		.variant = v->label,
		.toolchain_env = tc->env.n ? &tc->env.v[0].key_pos : &tc->pos,
		.recipe_env = r->env.n ? &r->env.v[0].key_pos : &r->pos,
	};
	if (env_check_exec_size(&v->env, &need, pl->d) < 0)
		pl->errors++;
}

static void compose_env(struct planner *pl, struct variant *v)
{
	const struct toolchain *tc = v->tc;
	const struct recipe *r = v->recipe;
	struct lookup_ctx lc = { pl, v, BUF_INIT };
	env_set(&v->env, "CC", tc->cc, &tc->pos, ENV_TOOLCHAIN);
	env_set(&v->env, "CXX", tc->cxx, &tc->pos, ENV_TOOLCHAIN);
	if (tc->cuda.enabled) {
		env_set(&v->env, "CUDA_HOME", tc->cuda.home, &tc->cuda.pos, ENV_TOOLCHAIN);
		env_set(&v->env, "TORCH_CUDA_ARCH_LIST", tc->cuda.arch_list, &tc->cuda.arch_pos,
			ENV_TOOLCHAIN);
	}
	if (tc->musa.enabled) {
		env_set(&v->env, "MUSA_HOME", tc->musa.home, &tc->musa.pos, ENV_TOOLCHAIN);
		env_set(&v->env, "TORCH_MUSA_ARCH_LIST", tc->musa.arch_list, &tc->musa.pos,
			ENV_TOOLCHAIN);
	}
	set_env_map(&lc, &v->env, &tc->env, ENV_TOOLCHAIN);
	set_env_map(&lc, &v->env, &r->env, ENV_RECIPE);
	if (r->local_version)
		v->local_version = expand(&lc, r->local_version);
	v->build_argv = xcalloc(r->build.n + 1, sizeof(char *));
	for (size_t i = 0; i < r->build.n; i++)
		v->build_argv[i] = expand_partial(&lc, r->build.v[i].s);
	v->build_argc = r->build.n;
	buf_release(&lc.scratch);
	struct flag_context fc = { r->builder, r->name, torch_version_for(pl, v), tc->cuda.enabled };
	if (envflags_check(&v->env, &fc, pl->d) < 0)
		pl->errors++;
	check_exec_size(pl, v);
}

/* ---- patches ---------------------------------------------------------------------------- */

/* The series that apply, and this project's files of them (hashed now). */
static void collect_patches(struct planner *pl, struct variant *v)
{
	const struct recipe *r = v->recipe;
	v->series = xcalloc(r->npatches + 1, sizeof(size_t));
	for (size_t i = 0; i < r->npatches; i++) {
		const struct patch_series *ps = &r->patches[i];
		if (!series_applies(ps, v->tc->name, v->python, &v->env))
			continue;
		v->series[v->nseries++] = i;
		if (series_expand_local(ps, i, pl->p->dir, r->name, &v->local_patches, pl->d) < 0)
			pl->errors++;
	}
}

/* Every file that applies, in series order: this project's and, from the pins, those in
 * other recipes' trees. */
static void list_patches(struct planner *pl, struct variant *v)
{
	patch_list_release(&v->patches);
	v->patches_unresolved = false;
	for (size_t i = 0; i < v->nseries; i++) {
		const struct patch_series *ps = &v->recipe->patches[v->series[i]];
		if (!series_expand(ps, v->series[i], &v->local_patches, pl->p, pl->plan->pins,
				   &v->patches))
			v->patches_unresolved = true;
	}
}

/* ---- sources read through ${src:NAME} ---------------------------------------------------- */

static void collect_source_deps(struct planner *pl, struct variant *v)
{
	const struct recipe *r = v->recipe;
	v->source_deps = xcalloc(r->nrefs + 1, sizeof(size_t));
	for (size_t i = 0; i < r->nrefs; i++) {
		if (!r->refs[i].source_only)
			continue;
		const struct recipe *sr = project_recipe(pl->p, r->refs[i].recipe);
		if (!sr)
			continue;
		size_t idx = recipe_index(pl->p, sr);
		bool seen = false;
		for (size_t k = 0; k < v->nsource_deps && !seen; k++)
			seen = v->source_deps[k] == idx;
		if (!seen)
			v->source_deps[v->nsource_deps++] = idx;
	}
	/* Sorted by name so the key does not depend on where the references were written. */
	for (size_t i = 1; i < v->nsource_deps; i++)
		for (size_t k = i; k > 0 && strcmp(pl->p->recipes[v->source_deps[k - 1]].name,
						   pl->p->recipes[v->source_deps[k]].name) > 0; k--) {
			size_t t = v->source_deps[k];
			v->source_deps[k] = v->source_deps[k - 1];
			v->source_deps[k - 1] = t;
		}
}

/* What the keys of `plan` read besides each variant. */
static struct key_context key_context_of(const struct plan *plan)
{
	return (struct key_context){ .project = plan->project, .variants = plan->v,
				     .pins = plan->pins, .fp = &plan->fp };
}

/* ---- the request ------------------------------------------------------------------------- */

/* The toolchains of the plan's axis, each once (into pl->tcs). Returns the errors. */
static int resolve_toolchains(struct planner *pl)
{
	struct plan *plan = pl->plan;
	const struct project *p = pl->p;
	int errors = 0;
	pl->tcs = xcalloc(plan->ntoolchains, sizeof(*pl->tcs));
	for (size_t i = 0; i < plan->ntoolchains; i++) {
		pl->tcs[i] = project_toolchain(p, plan->toolchains[i]);
		if (!pl->tcs[i]) {
			diag_error(pl->d, NULL, "no toolchain \"%s\" in toolchains/", plan->toolchains[i]);
			struct buf list = BUF_INIT;
			for (size_t k = 0; k < p->ntoolchains; k++)
				buf_addf(&list, "%s%s", k ? ", " : "", p->toolchains[k].name);
			if (p->ntoolchains)
				diag_hint(pl->d, "toolchains: %s", list.data);
			else
				diag_hint(pl->d, "%s/toolchains/ has no toolchain file: add one such as "
					  "toolchains/cpu.json ({ \"name\": \"cpu\", \"tag\": \"cpu\" })",
					  p->dir);
			buf_release(&list);
			errors++;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(plan->toolchains[k], plan->toolchains[i])) {
				diag_error(pl->d, NULL, "toolchain \"%s\" is named twice", plan->toolchains[i]);
				errors++;
			}
	}
	return errors;
}

/* The Pythons of the plan's axis are known ones, each once. Returns the errors. */
static int check_pythons(struct planner *pl)
{
	const struct plan *plan = pl->plan;
	int errors = 0;
	for (size_t i = 0; i < plan->npythons; i++) {
		bool ok = false;
		for (size_t k = 0; k < known_pythons_count && !ok; k++)
			ok = !strcmp(plan->pythons[i], known_pythons[k]);
		if (!ok) {
			diag_error(pl->d, NULL, "Python \"%s\" is not one ptbuild knows", plan->pythons[i]);
			diag_hint(pl->d, "use one of 3.9, 3.10, 3.11, 3.12, 3.13, 3.14 (major.minor only)");
			errors++;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(plan->pythons[k], plan->pythons[i])) {
				diag_error(pl->d, NULL, "Python \"%s\" is named twice", plan->pythons[i]);
				errors++;
			}
	}
	return errors;
}

/* The toolchain and Python axes: the request's, else the set's; each checked. */
static int pick_axes(struct planner *pl, const struct plan_request *req)
{
	const struct buildset *set = req->set;
	struct plan *plan = pl->plan;
	if (req->ntoolchains) {
		plan->toolchains = xcalloc(req->ntoolchains, sizeof(char *));
		for (size_t i = 0; i < req->ntoolchains; i++)
			plan->toolchains[plan->ntoolchains++] = req->toolchains[i];
	} else if (set) {
		plan->toolchains = xcalloc(set->toolchains.n + 1, sizeof(char *));
		for (size_t i = 0; i < set->toolchains.n; i++)
			plan->toolchains[plan->ntoolchains++] = set->toolchains.v[i].s;
	}
	if (req->npythons) {
		plan->pythons = xcalloc(req->npythons, sizeof(char *));
		for (size_t i = 0; i < req->npythons; i++)
			plan->pythons[plan->npythons++] = req->pythons[i];
	} else if (set) {
		plan->pythons = xcalloc(set->python.n + 1, sizeof(char *));
		for (size_t i = 0; i < set->python.n; i++)
			plan->pythons[plan->npythons++] = set->python.v[i].s;
	}
	if (!plan->ntoolchains) {
		if (!set) {
			diag_error(pl->d, NULL, "no build set and no --toolchain: there is no "
				   "%s/recipes/sets/default.json", pl->p->dir);
			diag_hint(pl->d, "add recipes/sets/default.json (targets, toolchains, python), "
				     "or pass --set NAME, or --toolchain NAME and --python X.Y");
		} else {
			diag_error(pl->d, NULL, "no toolchain to plan for");
			diag_hint(pl->d, "pass --toolchain NAME or --set NAME");
		}
		return -1;
	}
	if (!plan->npythons) {
		diag_error(pl->d, NULL, "no Python version to plan for");
		diag_hint(pl->d, "pass --python 3.X or --set NAME");
		return -1;
	}
	int errors = resolve_toolchains(pl);
	errors += check_pythons(pl);
	return errors ? -1 : 0;
}

static int expand_targets(struct planner *pl, const struct plan_request *req)
{
	const struct project *p = pl->p;
	struct plan *plan = pl->plan;
	size_t ntargets = req->ntargets ? req->ntargets : (req->set ? req->set->targets.n : 0);
	if (!ntargets) {
		diag_error(pl->d, NULL, "nothing to plan");
		diag_hint(pl->d, "name targets, or a build set with --set NAME");
		return -1;
	}
	const struct recipe **targets = xcalloc(ntargets, sizeof(*targets));
	const struct strpos **target_pos = xcalloc(ntargets, sizeof(*target_pos));
	int errors = 0;
	for (size_t i = 0; i < ntargets; i++) {
		const char *name = req->ntargets ? req->targets[i] : req->set->targets.v[i].s;
		target_pos[i] = req->ntargets ? NULL : &req->set->targets.v[i];
		targets[i] = project_resolve(p, name, pl->use);
		if (!targets[i]) {
			diag_error(pl->d, NULL, "no recipe \"%s\"", name);
			const char **names = xcalloc(p->nrecipes + 1, sizeof(char *));
			for (size_t k = 0; k < p->nrecipes; k++)
				names[k] = p->recipes[k].name;
			const char *near = closest_match(name, names, p->nrecipes);
			if (near)
				diag_hint(pl->d, "did you mean \"%s\"?", near);
			else
				diag_hint(pl->d, "`ls recipes/` shows the recipes of this project");
			free(names);
			errors++;
		}
	}
	if (!errors) {
		pl->slot = xcalloc(p->nrecipes * plan->ntoolchains * plan->npythons + 1, sizeof(size_t));
		for (size_t t = 0; t < plan->ntoolchains; t++)
			for (size_t y = 0; y < plan->npythons; y++)
				for (size_t i = 0; i < ntargets; i++) {
					if (excluded(pl, targets[i]->name, plan->toolchains[t], plan->pythons[y]))
						continue;
					add_variant(pl, targets[i], t, y, true, target_pos[i]);
				}
		if (!plan->n && !pl->errors) {
			diag_error(pl->d, NULL, "the build set's \"exclude\" leaves nothing to plan");
			errors++;
		}
	}
	free(targets);
	free(target_pos);
	return errors || pl->errors ? -1 : 0;
}

int plan_make(struct plan *plan, const struct plan_request *req, struct diags *d)
{
	memset(plan, 0, sizeof(*plan));
	plan->project = req->project;
	struct planner pl = { .plan = plan, .p = req->project, .d = d };
	if (req->set) {
		pl.use = &req->set->use;
		pl.excludes = req->set->excludes;
		pl.nexcludes = req->set->nexcludes;
	}
	int rc = -1;
	if (pick_axes(&pl, req) < 0 || expand_targets(&pl, req) < 0)
		goto done;
	fingerprints_collect(&plan->fp, pl.tcs, plan->ntoolchains, plan->pythons, plan->npythons, d);
	for (size_t i = 0; i < plan->n; i++)
		check_compat(&pl, &plan->v[i]);
	for (size_t i = 0; i < plan->n; i++) {
		struct variant *v = &plan->v[i];
		compose_env(&pl, v);
		collect_source_deps(&pl, v);
		collect_patches(&pl, v);
	}
	if (pl.errors)
		goto done;
	struct key_context kc = key_context_of(plan);
	for (size_t i = 0; i < plan->n; i++) { /* dependencies come first: their keys exist */
		list_patches(&pl, &plan->v[i]);
		key_compute(&plan->v[i], &kc);
	}
	rc = 0;
done:
	free(pl.slot);
	free(pl.tcs);
	return rc;
}

void plan_rekey(struct plan *plan, const struct pins *pins)
{
	struct planner pl = { .plan = plan, .p = plan->project };
	plan->pins = pins;
	struct key_context kc = key_context_of(plan);
	for (size_t i = 0; i < plan->n; i++) {
		list_patches(&pl, &plan->v[i]);
		key_compute(&plan->v[i], &kc);
	}
}

void plan_release(struct plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct variant *v = &plan->v[i];
		free(v->label);
		free(v->deps);
		free(v->source_deps);
		env_release(&v->env);
		patch_list_release(&v->local_patches);
		patch_list_release(&v->patches);
		free(v->series);
		free(v->local_version);
		for (size_t k = 0; k < v->build_argc; k++)
			free(v->build_argv[k]);
		free(v->build_argv);
		free(v->key_input);
	}
	free(plan->v);
	fingerprints_release(&plan->fp);
	free(plan->toolchains);
	free(plan->pythons);
	memset(plan, 0, sizeof(*plan));
}
