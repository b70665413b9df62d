#include "session/session.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plan/series.h"
#include "session/trees.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

int session_plan(struct session *s, const char *dir, const char *cache_dir,
		 const struct plan_choice *c, struct diags *d)
{
	if (project_load(&s->project, dir, d) < 0)
		return -1;
	s->cache_dir = xstrdup(cache_dir);
	s->work_dir = path_join(s->project.dir, "build");
	s->lock_path = path_join(s->project.dir, LOCKFILE_NAME);
	const char *set_name = c->set;
	if (!set_name) {
		/* The default set gives the matrix (and its "use") when none is named. */
		char *path = project_set_path(&s->project, "default");
		if (path_exists(path))
			set_name = "default";
		free(path);
	}
	if (set_name) {
		if (project_load_set(&s->project, set_name, &s->set, d) < 0)
			return -1;
		s->have_set = true;
	}
	struct plan_request req = {
		.project = &s->project,
		.set = s->have_set ? &s->set : NULL,
		.targets = c->targets,
		.ntargets = c->ntargets,
		.toolchains = c->toolchains,
		.ntoolchains = c->ntoolchains,
		.pythons = c->pythons,
		.npythons = c->npythons,
	};
	if (plan_make(&s->plan, &req, d) < 0)
		return -1;
	return 0;
}

int session_load_sources(struct session *s, bool replace_unreadable_lock, struct diags *d)
{
	if (mirrors_load(&s->mirrors, s->project.dir, d) < 0)
		return -1;
	struct diags lock_d;
	diags_init(&lock_d);
	int rc = lockfile_load(&s->lock, s->lock_path, &lock_d);
	if (rc < 0 && replace_unreadable_lock) {
		/* rendered now: the messages point into the lock's document */
		struct buf why = BUF_INIT;
		diags_render(&lock_d, &why, false);
		buf_rtrim(&why);
		diags_release(&lock_d);
		lockfile_release(&s->lock);
		diag_warn(d, NULL, "%s cannot be read and is replaced by a new lock:\n%s",
			  s->lock_path, why.data);
		buf_release(&why);
		s->have_lock = false;
		return 0;
	}
	diags_take(d, &lock_d);
	if (rc < 0) {
		diag_hint(d, "`ptbuild lock --update` writes a new lock in its place (every source "
			     "resolved again), or move %s away", s->lock_path);
		return -1;
	}
	s->have_lock = rc == 1;
	return 0;
}

const char *session_set_name(const struct session *s)
{
	return s->have_set ? s->set.name : NULL;
}

struct source_opts session_source_opts(const struct session *s, bool offline)
{
	bool off = offline || s->offline;
	return (struct source_opts){ s->cache_dir, s->project.dir, s->work_dir, &s->mirrors,
				     off, off ? s->offline_flag : NULL };
}

void session_release(struct session *s)
{
	plan_release(&s->plan);
	buildset_release(&s->set);
	project_release(&s->project);
	mirrors_release(&s->mirrors);
	lockfile_release(&s->lock);
	lockfile_release(&s->lock_before);
	free(s->lock_path);
	free(s->cache_dir);
	free(s->work_dir);
	fleet_config_release(&s->fleet);
	memset(s, 0, sizeof(*s));
}

int session_load_fleet(struct session *s, struct diags *d)
{
	fleet_config_release(&s->fleet);
	return fleet_config_load(&s->fleet, s->project.dir, d);
}

struct source_python *session_pythons_of(const struct session *s, const struct recipe *r,
					 size_t *n)
{
	const struct plan *plan = &s->plan;
	struct source_python *v = xcalloc(plan->npythons + 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		if (plan->v[i].recipe != r)
			continue;
		const char *py = plan->v[i].python;
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = !strcmp(v[k].version, py);
		if (seen)
			continue;
		const struct python_fp *fp = fingerprints_python(&plan->fp, py);
		v[(*n)++] = (struct source_python){ py, fp ? fp->interpreter : NULL };
	}
	return v;
}

char *variant_lock_id(const struct variant *v)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/%s", v->recipe->name, v->label);
	return buf_detach(&b);
}

/* ---- pins ------------------------------------------------------------------------------- */

/* Appends the lines of jnode_diff(old, new) between two JSON texts, at most `max`. */
static void diff_json(const char *old, const char *new, struct buf *out, size_t max)
{
	struct jdoc a, b;
	struct diags d;
	diags_init(&d);
	if (jdoc_parse(&a, "(old)", old, strlen(old), &d) == 0 &&
	    jdoc_parse(&b, "(new)", new, strlen(new), &d) == 0) {
		struct buf lines = BUF_INIT;
		jnode_diff(&a.root, &b.root, &lines);
		size_t n = 0;
		for (const char *p = lines.data; *p; n++) {
			size_t len = strcspn(p, "\n");
			if (n < max)
				buf_addf(out, "\n  %.*s", (int)len, p);
			p += len + (p[len] == '\n');
		}
		if (n > max)
			buf_addf(out, "\n  ... and %zu more", n - max);
		buf_release(&lines);
	}
	jdoc_release(&a);
	jdoc_release(&b);
	diags_release(&d);
}

/* `name` after --update means `r`: its name, or the name it provides ("torch" for a
 * torch_nightly that provides torch). */
static bool update_means(const char *name, const struct recipe *r)
{
	return !strcmp(name, r->name) || (r->provides && !strcmp(name, r->provides));
}

static bool named(char *const *names, size_t n, const struct recipe *r)
{
	for (size_t i = 0; i < n; i++)
		if (update_means(names[i], r))
			return true;
	return false;
}

/* Every name after --update must be a recipe the plan reads, or a name one provides. */
static int check_update_names(struct session *s, struct diags *d, const struct pin_request *rq,
			      const struct recipe **recipes, size_t n)
{
	int errors = 0;
	for (size_t i = 0; i < rq->nupdate; i++) {
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = update_means(rq->update[i], recipes[k]);
		if (found)
			continue;
		errors++;
		const struct recipe *r = project_recipe(&s->project, rq->update[i]);
		if (r)
			diag_error(d, NULL, "recipe \"%s\" is not part of this plan%s%s%s; "
				   "there is nothing of it to update", rq->update[i],
				   s->have_set ? " (set \"" : "", s->have_set ? s->set.name : "",
				   s->have_set ? "\")" : "");
		else
			diag_error(d, NULL, "unknown recipe \"%s\" after --update",
				   rq->update[i]);
	}
	return errors;
}

static int locked_pin(struct session *s, struct diags *d, const struct recipe *r,
		      const struct pin *locked)
{
	if (!locked) {
		diag_error(d, &r->source.pos, "recipe \"%s\" is not in %s", r->name,
			   s->lock_path);
		diag_hint(d, "run `ptbuild lock%s%s` to pin it", s->have_set ? " --set " : "",
			  s->have_set ? s->set.name : "");
		return -1;
	}
	char *spec = source_spec(r);
	int rc = 0;
	if (strcmp(spec, locked->spec ? locked->spec : "")) {
		struct buf msg = BUF_INIT;
		diff_json(locked->spec ? locked->spec : "{}", spec, &msg, 12);
		rc = diag_error(d, &r->source.pos, "recipe \"%s\" changed its source since "
				"the lock (lock -> recipe):%s", r->name, msg.data);
		diag_hint(d, "run `ptbuild lock` to pin the new source, or undo the edit");
		buf_release(&msg);
	}
	free(spec);
	return rc;
}

static int compare_keys(struct session *s, struct diags *d)
{
	int errors = 0;
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		char *id = variant_lock_id(v);
		const struct lock_variant *lv = lockfile_variant(&s->lock, id);
		if (!lv) {
			diag_error(d, NULL, "variant %s is not in %s", id, s->lock_path);
			diag_hint(d, "the lock covers the variants of the set it was made "
				     "for; run `ptbuild lock%s%s`", s->have_set ? " --set " : "",
				  s->have_set ? s->set.name : "");
			errors++;
		} else if (strcmp(lv->key, v->key)) {
			struct buf msg = BUF_INIT;
			diff_json(lv->inputs, v->key_input, &msg, 12);
			diag_error(d, &lv->pos, "variant %s: its build inputs changed since "
				   "the lock (lock -> now):%s", id, msg.data);
			diag_hint(d, "run `ptbuild lock` to accept the new inputs, or undo "
				     "the change");
			buf_release(&msg);
			errors++;
		}
		free(id);
	}
	return errors;
}

/*
 * The files other recipes' patch series read from each source (`${src:NAME}/...`): listed
 * and hashed from its pristine tree into the pin's `reads`, unless the pin (from the lock)
 * already lists them for the same globs. 0 or -1.
 */
static int read_series_sources(struct session *s, struct diags *d, const struct pin_request *rq,
			       const struct recipe **recipes, size_t n, struct pins *pins)
{
	struct source_opts so = session_source_opts(s, rq->offline);
	int errors = 0;
	for (size_t i = 0; i < n; i++) {
		const struct recipe *r = recipes[i];
		char *globs = series_globs_reading(&s->project, r->name);
		struct pin *pin = globs ? pins_find(pins, r->name) : NULL;
		if (!pin || (pin->read_globs && !strcmp(pin->read_globs, globs))) {
			free(globs);
			continue;
		}
		if (rq->locked) {
			diag_error(d, &r->source.pos, "%s does not list the files of recipe "
				   "\"%s\" that patch series read now", s->lock_path, r->name);
			diag_hint(d, "a series reading ${src:%s} was added or changed since "
				  "the lock: run `ptbuild lock`", r->name);
			errors++;
		} else if (rq->no_resolve) {
			pin_clear_reads(pin); /* the series stay unresolved: the plan says so */
		} else {
			char *tree = NULL;
			enum checkout_state st;
			size_t since = d->n;
			int rc = source_checkout(&so, r, pin, pin->resolved_now, NULL, &tree, &st,
						 d);
			if (rc == 0)
				rc = series_read_tree(tree, globs, &s->project, pin, d);
			if (rc == -2)
				errors++; /* a wrong input: a patch, or a glob matching nothing */
			else if (rc < 0)
				errors += diags_classify(d, since, DIAG_ENVIRONMENT) < 0;
			free(tree);
		}
		free(globs);
	}
	return errors ? -1 : 0;
}

/* A local path source: a lock cannot pin it. 0, or -1 (an input error) with --locked. */
static int pin_path_source(const struct recipe *r, const struct pin_request *rq,
			   struct diags *d)
{
	if (rq->locked) {
		diag_error(d, &r->source.pos, "recipe \"%s\" builds from a local path (%s), "
			   "which a lock cannot pin", r->name, r->source.location);
		diag_hint(d, "drop --locked/--frozen for development builds");
		return -1;
	}
	if (!rq->no_resolve)
		diag_warn(d, &r->source.pos, "recipe \"%s\" builds from a local path (%s): not "
			  "lockable, used as it is", r->name, r->source.location);
	return 0;
}

/* --locked: the lock's pin, checked against the recipe and upstream. 0; -2 when it differs
 * (an input error); -1 when upstream could not be reached (classified). */
static int pin_from_lock(struct session *s, struct diags *d, const struct pin_request *rq,
			 const struct recipe *r, const struct source_python *pys, size_t npys,
			 struct pins *out)
{
	const struct pin *locked = pins_find(&s->lock.pins, r->name);
	if (locked_pin(s, d, r, locked) < 0)
		return -2;
	struct source_opts so = session_source_opts(s, rq->offline);
	size_t since = d->n;
	int rc = source_check_locked(&so, r, locked, pys, npys, d);
	/* A fresh runner's cache: the wheels a pinned wheel requires too (its venv installs
	 * them), which the check above does not download. */
	if (rc == 0 && !rq->offline && !rq->defer_files)
		rc = source_fetch_pinned(&so, r, locked, pys, npys, d);
	if (rc == -2)
		return -2;
	if (rc < 0)
		return diags_classify(d, since, DIAG_ENVIRONMENT);
	/* the check brought the mirrors up to date, unless offline */
	pins_add_copy(out, locked)->resolved_now = !rq->offline;
	return 0;
}

/* The lock's pin while it still matches the recipe (and is not to be updated), else one
 * resolved from upstream. 0, or -1 (classified environment). */
static int pin_or_resolve(struct session *s, struct diags *d, const struct pin_request *rq,
			  const struct recipe *r, const struct source_python *pys, size_t npys,
			  struct pins *out)
{
	const struct pin *locked = pins_find(&s->lock.pins, r->name);
	char *spec = source_spec(r);
	bool usable = locked && locked->spec && !strcmp(locked->spec, spec) && !rq->update_all &&
		      !named(rq->update, rq->nupdate, r);
	bool per_python = r->source.kind == SOURCE_WHEEL && !r->source.sha256;
	for (size_t k = 0; usable && per_python && k < npys; k++)
		usable = pin_file(locked, pys[k].version) != NULL;
	free(spec);
	if (usable && per_python && !rq->no_resolve && !rq->offline && !rq->defer_files) {
		/* the pin holds (a nightly the index moved past): its files, not the newest */
		struct source_opts so = session_source_opts(s, false);
		size_t since = d->n;
		int rc = source_fetch_pinned(&so, r, locked, pys, npys, d);
		if (rc == -2)
			return -2;
		if (rc < 0)
			return diags_classify(d, since, DIAG_ENVIRONMENT);
	}
	if (usable) {
		pins_add_copy(out, locked);
		return 0;
	}
	if (rq->no_resolve)
		return 0; /* unpinned: the key says so ("pinned": null) */
	size_t since = d->n;
	/* offline: resolved from the cache alone (a cached mirror's tags, cached files) */
	struct source_opts so = session_source_opts(s, rq->offline);
	int rc = source_resolve(&so, r, pys, npys, out, d);
	if (rc == -2)
		return -2; /* a submodule path the recipe names is not in its tree */
	if (rc < 0)
		return diags_classify(d, since, DIAG_ENVIRONMENT);
	pins_find(out, r->name)->resolved_now = !rq->offline;
	if (rq->note_unlocked && s->have_lock && !rq->write_lock)
		diag_note(d, &r->source.pos, "recipe \"%s\" is %s the lock; resolved from upstream "
			  "(`ptbuild lock` records it)", r->name, locked ? "changed since" : "not in");
	return 0;
}

int session_fetch_pinned_files(struct session *s, const struct pins *pins, struct diags *d)
{
	if (s->offline)
		return 0; /* --frozen: the cache has them, or the build says which it lacks */
	size_t n = 0, since = d->n;
	const struct recipe **recipes = trees_source_recipes(&s->plan, &s->project, &n);
	struct source_opts so = session_source_opts(s, false);
	int rc = 0, input = 0;
	for (size_t i = 0; i < n; i++) {
		const struct recipe *r = recipes[i];
		const struct pin *pin = pins_find(pins, r->name);
		if (r->source.kind != SOURCE_WHEEL || !pin)
			continue;
		size_t npys = 0;
		struct source_python *pys = session_pythons_of(s, r, &npys);
		int one = source_fetch_pinned(&so, r, pin, pys, npys, d);
		free(pys);
		input += one == -2;
		rc |= one < 0;
	}
	free(recipes);
	if (!rc)
		return 0;
	return input ? diags_classify(d, since, DIAG_INPUT) : diags_classify(d, since, DIAG_ENVIRONMENT);
}

int session_pin_sources(struct session *s, const struct pin_request *rq, struct pins *out,
			struct diags *d)
{
	s->offline = rq->offline;
	s->offline_flag = rq->offline ? (rq->offline_flag ? rq->offline_flag : "--frozen") : NULL;
	size_t n = 0;
	const struct recipe **recipes = trees_source_recipes(&s->plan, &s->project, &n);
	int input_errors = check_update_names(s, d, rq, recipes, n);
	int env_errors = 0;
	if (rq->locked && !s->have_lock) {
		diag_error(d, NULL, "--locked needs %s, and there is none", s->lock_path);
		diag_hint(d, "run `ptbuild lock` first");
		input_errors++;
	}
	for (size_t i = 0; i < n && !input_errors; i++) {
		const struct recipe *r = recipes[i];
		if (r->source.kind == SOURCE_PATH) {
			input_errors += pin_path_source(r, rq, d) < 0;
			continue;
		}
		size_t npys = 0;
		struct source_python *pys = session_pythons_of(s, r, &npys);
		int rc = rq->locked ? pin_from_lock(s, d, rq, r, pys, npys, out)
				    : pin_or_resolve(s, d, rq, r, pys, npys, out);
		input_errors += rc == -2;
		env_errors += rc == -1;
		free(pys);
	}
	int rc = input_errors || env_errors ? -1 : 0;
	if (rc == 0)
		rc = read_series_sources(s, d, rq, recipes, n, out);
	free(recipes);
	if (rc < 0)
		return -1;
	plan_rekey(&s->plan, out);
	if (rq->locked && compare_keys(s, d))
		return -1;
	return 0;
}

/* ---- the lock a build leaves ---------------------------------------------------------------- */

static void add_change(struct lock_update *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_change(struct lock_update *u, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	GROW(u->changes, u->cap, u->nchanges + 1);
	u->changes[u->nchanges++] = buf_detach(&b);
}

static bool plan_has_variant(const struct plan *plan, const char *id)
{
	bool found = false;
	for (size_t i = 0; i < plan->n && !found; i++) {
		char *one = variant_lock_id(&plan->v[i]);
		found = !strcmp(one, id);
		free(one);
	}
	return found;
}

/* The recipe of a lock variant id "recipe/variant" still exists in the project. */
static bool variant_recipe_exists(const struct project *p, const char *id)
{
	size_t len = strcspn(id, "/");
	for (size_t i = 0; i < p->nrecipes; i++)
		if (strlen(p->recipes[i].name) == len && !strncmp(p->recipes[i].name, id, len))
			return true;
	return false;
}

/* Why `now` differs from the lock's pin `was` (NULL: the lock had none). */
static const char *pin_change_reason(const struct pin *was, const struct pin *now)
{
	if (!was->spec || !now->spec || strcmp(was->spec, now->spec))
		return "source changed";
	if (now->read_globs && (!was->read_globs || strcmp(was->read_globs, now->read_globs)))
		return "patch series read it anew";
	return "a Python the lock lacked";
}

/* Fills `next` with what this run's lock holds; the changes against the lock read in `u`. */
static void next_lock(const struct session *s, const struct pins *pins, bool whole_plan,
		      struct lockfile *next, struct lock_update *u)
{
	const struct lockfile *old = &s->lock;
	for (size_t i = 0; i < pins->n; i++) {
		const struct pin *was = pins_find(&old->pins, pins->v[i].recipe);
		pins_add_copy(&next->pins, &pins->v[i]);
		if (s->have_lock && !was)
			add_change(u, "%s added (new in the plan)", pins->v[i].recipe);
		else if (s->have_lock && !lockfile_pins_equal(was, &pins->v[i]))
			add_change(u, "%s re-resolved (%s)", pins->v[i].recipe,
				   pin_change_reason(was, &pins->v[i]));
	}
	for (size_t i = 0; i < old->pins.n; i++) {
		const struct pin *was = &old->pins.v[i];
		if (pins_find(pins, was->recipe))
			continue;
		bool exists = project_recipe(&s->project, was->recipe) != NULL;
		if (!whole_plan && exists)
			pins_add_copy(&next->pins, was); /* outside this narrowed plan: kept */
		else
			add_change(u, "%s dropped (%s)", was->recipe,
				   exists ? "no longer read by the plan" : "recipe removed");
	}
	for (size_t i = 0; i < s->plan.n; i++) {
		char *id = variant_lock_id(&s->plan.v[i]);
		const struct lock_variant *was = lockfile_variant(old, id);
		lockfile_set_variant(next, id, s->plan.v[i].key, s->plan.v[i].key_input);
		/* a built variant's runtime closure holds while its key does */
		if (was && was->runtime_requires && !strcmp(was->key, s->plan.v[i].key))
			lock_variant_copy_runtime(&next->v[next->n - 1], was);
		if (s->have_lock && !was)
			add_change(u, "variant %s added", id);
		free(id);
	}
	for (size_t i = 0; i < old->n; i++) {
		const struct lock_variant *was = &old->v[i];
		if (plan_has_variant(&s->plan, was->id))
			continue;
		if (!whole_plan && variant_recipe_exists(&s->project, was->id)) {
			lockfile_set_variant(next, was->id, was->key, was->inputs);
			lock_variant_copy_runtime(&next->v[next->n - 1], was);
		} else {
			add_change(u, "variant %s dropped", was->id);
		}
	}
}

int session_write_lock(struct session *s, const struct pins *pins, bool whole_plan,
		       struct lock_update *u, struct diags *d)
{
	memset(u, 0, sizeof(*u));
	struct lockfile next = { 0 };
	next_lock(s, pins, whole_plan, &next, u);
	if (s->have_lock && !u->nchanges) {
		lockfile_release(&next);
		return 0; /* what the lock has: it stays byte for byte */
	}
	struct diags wd;
	diags_init(&wd);
	if (lockfile_write(&next, s->lock_path, &wd) < 0) {
		struct buf why = BUF_INIT;
		diags_render(&wd, &why, false);
		buf_rtrim(&why);
		diag_warn(d, NULL, "the resolved sources are not recorded: %s", why.data);
		diag_hint(d, "make the project directory writable, run `ptbuild lock` later, or "
			     "build with --no-write-lock");
		buf_release(&why);
		diags_release(&wd);
		lockfile_release(&next);
		return -1;
	}
	diags_release(&wd);
	u->written = true;
	u->created = !s->have_lock;
	u->nsources = next.pins.n;
	/* the lock read stays alive for the diagnostics that point into it */
	lockfile_release(&s->lock_before);
	s->lock_before = s->lock;
	s->lock = next;
	s->have_lock = true;
	return 0;
}

void lock_update_release(struct lock_update *u)
{
	for (size_t i = 0; i < u->nchanges; i++)
		free(u->changes[i]);
	free(u->changes);
	memset(u, 0, sizeof(*u));
}

const char *session_unpinned_source(const struct session *s, const struct pins *pins,
				    size_t i)
{
	const struct variant *v = &s->plan.v[i];
	if (v->recipe->source.kind != SOURCE_PATH && !pins_find(pins, v->recipe->name))
		return v->recipe->name;
	for (size_t k = 0; k < v->nsource_deps; k++) {
		const struct recipe *r = &s->project.recipes[v->source_deps[k]];
		if (r->source.kind != SOURCE_PATH && !pins_find(pins, r->name))
			return r->name;
	}
	for (size_t k = 0; k < v->ndeps; k++) {
		const char *name = session_unpinned_source(s, pins, v->deps[k]);
		if (name)
			return name;
	}
	return NULL;
}
