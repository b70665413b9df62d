#include "session/session.h"

#include <stdlib.h>
#include <string.h>

#include "plan/series.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

static void split_into(const char *arg, char ***list, size_t *n, size_t *cap)
{
	for (const char *p = arg; *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			GROW(*list, *cap, *n + 1);
			(*list)[(*n)++] = xstrndup(p, len);
		}
		p += len + (p[len] == ',');
	}
}

int plan_args_option(struct plan_args *a, int opt, const char *arg)
{
	if (opt == OPT_SET)
		a->set = arg;
	else if (opt == OPT_TOOLCHAIN)
		split_into(arg, &a->toolchains, &a->ntoolchains, &a->cap_tc);
	else if (opt == OPT_PYTHON)
		split_into(arg, &a->pythons, &a->npythons, &a->cap_py);
	else
		return 0;
	return 1;
}

void plan_args_release(struct plan_args *a)
{
	for (size_t i = 0; i < a->ntoolchains; i++)
		free(a->toolchains[i]);
	free(a->toolchains);
	for (size_t i = 0; i < a->npythons; i++)
		free(a->pythons[i]);
	free(a->pythons);
	memset(a, 0, sizeof(*a));
}

int session_plan(struct session *s, struct cli *cli, const struct plan_args *a,
		 char *const *targets, size_t ntargets)
{
	s->have_project = true;
	if (project_load(&s->project, cli->dir, &cli->diags) < 0)
		return EXIT_USAGE;
	s->cache_dir = cli_cache_dir(cli);
	s->work_dir = path_join(s->project.dir, "build");
	s->lock_path = path_join(s->project.dir, LOCKFILE_NAME);
	const char *set_name = a->set;
	if (!set_name) {
		/* The default set gives the matrix (and its "use") when none is named. */
		char *path = project_set_path(&s->project, "default");
		if (path_exists(path))
			set_name = "default";
		free(path);
	}
	if (set_name) {
		if (project_load_set(&s->project, set_name, &s->set, &cli->diags) < 0)
			return EXIT_USAGE;
		s->have_set = true;
	}
	struct plan_request req = {
		.project = &s->project,
		.set = s->have_set ? &s->set : NULL,
		.targets = (const char *const *)targets,
		.ntargets = ntargets,
		.toolchains = (const char *const *)a->toolchains,
		.ntoolchains = a->ntoolchains,
		.pythons = (const char *const *)a->pythons,
		.npythons = a->npythons,
	};
	if (plan_make(&s->plan, &req, &cli->diags) < 0)
		return EXIT_USAGE;
	s->planned = true;
	return EXIT_OK;
}

int session_load_sources(struct session *s, struct cli *cli)
{
	if (mirrors_load(&s->mirrors, s->project.dir, &cli->diags) < 0)
		return EXIT_USAGE;
	int rc = lockfile_load(&s->lock, s->lock_path, &cli->diags);
	if (rc < 0)
		return EXIT_USAGE;
	s->have_lock = rc == 1;
	return EXIT_OK;
}

const char *session_set_name(const struct session *s)
{
	return s->have_set ? s->set.name : NULL;
}

struct source_opts session_source_opts(const struct session *s, bool offline)
{
	return (struct source_opts){ s->cache_dir, s->project.dir, s->work_dir, &s->mirrors,
				     offline };
}

void session_release(struct session *s)
{
	plan_release(&s->plan);
	if (s->have_set)
		buildset_release(&s->set);
	if (s->have_project)
		project_release(&s->project);
	mirrors_release(&s->mirrors);
	lockfile_release(&s->lock);
	free(s->lock_path);
	free(s->cache_dir);
	free(s->work_dir);
	memset(s, 0, sizeof(*s));
}

const struct recipe **session_source_recipes(const struct session *s, size_t *n)
{
	const struct plan *plan = &s->plan;
	const struct recipe **v = xcalloc(s->project.nrecipes + 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *var = &plan->v[i];
		for (size_t k = 0; k <= var->nsource_deps; k++) {
			const struct recipe *r = k < var->nsource_deps
							 ? &s->project.recipes[var->source_deps[k]]
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

void write_diags_json(struct jw *w, const struct diags *d)
{
	static const char *const levels[] = { "error", "warning", "note" };
	jw_key(w, "diagnostics");
	jw_array_begin(w);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		jw_object_begin(w);
		jw_kstring(w, "level", levels[g->level]);
		jw_kstring(w, "file", g->pos.file);
		jw_kint(w, "line", g->pos.line);
		jw_kint(w, "col", g->pos.col);
		jw_kstring(w, "message", g->msg);
		jw_kstring(w, "hint", g->hint);
		jw_object_end(w);
	}
	jw_array_end(w);
}

void json_result_begin(struct jw *w, struct buf *out, bool ok)
{
	jw_init(w, out, true);
	jw_object_begin(w);
	jw_kbool(w, "ok", ok);
}

void json_result_end(struct cli *cli, struct jw *w, struct buf *out)
{
	write_diags_json(w, &cli->diags);
	jw_object_end(w);
	fputs(out->data, cli->out);
	buf_release(out);
}

void print_failure_json(struct cli *cli)
{
	struct buf out = BUF_INIT;
	struct jw w;
	json_result_begin(&w, &out, false);
	json_result_end(cli, &w, &out);
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

static bool named(char *const *names, size_t n, const struct recipe *r)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], r->name))
			return true;
	return false;
}

/* Every name after --update must be a recipe the plan reads. */
static int check_update_names(struct session *s, struct cli *cli, const struct pin_request *rq,
			      const struct recipe **recipes, size_t n)
{
	int errors = 0;
	for (size_t i = 0; i < rq->nupdate; i++) {
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = !strcmp(recipes[k]->name, rq->update[i]);
		if (found)
			continue;
		errors++;
		const struct recipe *r = project_recipe(&s->project, rq->update[i]);
		if (r)
			diag_error(&cli->diags, NULL, "recipe \"%s\" is not part of this plan%s%s%s; "
				   "there is nothing of it to update", rq->update[i],
				   s->have_set ? " (set \"" : "", s->have_set ? s->set.name : "",
				   s->have_set ? "\")" : "");
		else
			diag_error(&cli->diags, NULL, "unknown recipe \"%s\" after --update",
				   rq->update[i]);
	}
	return errors;
}

static int locked_pin(struct session *s, struct cli *cli, const struct recipe *r,
		      const struct pin *locked)
{
	if (!locked) {
		diag_error(&cli->diags, &r->source.pos, "recipe \"%s\" is not in %s", r->name,
			   s->lock_path);
		diag_hint(&cli->diags, "run `ptbuild lock%s%s` to pin it", s->have_set ? " --set " : "",
			  s->have_set ? s->set.name : "");
		return -1;
	}
	char *spec = source_spec(r);
	int rc = 0;
	if (strcmp(spec, locked->spec ? locked->spec : "")) {
		struct buf msg = BUF_INIT;
		diff_json(locked->spec ? locked->spec : "{}", spec, &msg, 12);
		rc = diag_error(&cli->diags, &r->source.pos, "recipe \"%s\" changed its source since "
				"the lock (lock -> recipe):%s", r->name, msg.data);
		diag_hint(&cli->diags, "run `ptbuild lock` to pin the new source, or undo the edit");
		buf_release(&msg);
	}
	free(spec);
	return rc;
}

static int compare_keys(struct session *s, struct cli *cli)
{
	int errors = 0;
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		char *id = variant_lock_id(v);
		const struct lock_variant *lv = lockfile_variant(&s->lock, id);
		if (!lv) {
			diag_error(&cli->diags, NULL, "variant %s is not in %s", id, s->lock_path);
			diag_hint(&cli->diags, "the lock covers the variants of the set it was made "
				     "for; run `ptbuild lock%s%s`", s->have_set ? " --set " : "",
				  s->have_set ? s->set.name : "");
			errors++;
		} else if (strcmp(lv->key, v->key)) {
			struct buf msg = BUF_INIT;
			diff_json(lv->inputs, v->key_input, &msg, 12);
			diag_error(&cli->diags, &lv->pos, "variant %s: its build inputs changed since "
				   "the lock (lock -> now):%s", id, msg.data);
			diag_hint(&cli->diags, "run `ptbuild lock` to accept the new inputs, or undo "
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
 * already lists them for the same globs. Returns the exit code.
 */
static int read_series_sources(struct session *s, struct cli *cli, const struct pin_request *rq,
			       const struct recipe **recipes, size_t n, struct pins *pins)
{
	struct source_opts so = session_source_opts(s, rq->offline);
	int input_errors = 0, env_errors = 0;
	for (size_t i = 0; i < n; i++) {
		const struct recipe *r = recipes[i];
		char *globs = series_globs_reading(&s->project, r->name);
		struct pin *pin = globs ? pins_find(pins, r->name) : NULL;
		if (!pin || (pin->read_globs && !strcmp(pin->read_globs, globs))) {
			free(globs);
			continue;
		}
		if (rq->locked) {
			diag_error(&cli->diags, &r->source.pos, "%s does not list the files of recipe "
				   "\"%s\" that patch series read now", s->lock_path, r->name);
			diag_hint(&cli->diags, "a series reading ${src:%s} was added or changed since "
				  "the lock: run `ptbuild lock`", r->name);
			input_errors++;
		} else if (rq->no_resolve) {
			pin_clear_reads(pin); /* the series stay unresolved: the plan says so */
		} else {
			char *tree = NULL;
			enum checkout_state st;
			int rc = source_checkout(&so, r, pin, pin->resolved_now, NULL, &tree, &st,
						 &cli->diags);
			if (rc == -2)
				input_errors++;
			else if (rc < 0 || series_read_tree(tree, globs, pin, &cli->diags) < 0)
				env_errors++;
			free(tree);
		}
		free(globs);
	}
	return input_errors ? EXIT_USAGE : env_errors ? EXIT_ENVIRONMENT : EXIT_OK;
}

int session_pin_sources(struct session *s, struct cli *cli, const struct pin_request *rq,
			struct pins *out)
{
	size_t n = 0;
	const struct recipe **recipes = session_source_recipes(s, &n);
	struct source_opts so = session_source_opts(s, rq->offline);
	int input_errors = check_update_names(s, cli, rq, recipes, n);
	int env_errors = 0;
	if (rq->locked && !s->have_lock) {
		diag_error(&cli->diags, NULL, "--locked needs %s, and there is none", s->lock_path);
		diag_hint(&cli->diags, "run `ptbuild lock` first");
		input_errors++;
	}
	for (size_t i = 0; i < n && !input_errors; i++) {
		const struct recipe *r = recipes[i];
		if (r->source.kind == SOURCE_PATH) {
			if (rq->locked) {
				diag_error(&cli->diags, &r->source.pos, "recipe \"%s\" builds from a "
					   "local path (%s), which a lock cannot pin", r->name,
					   r->source.location);
				diag_hint(&cli->diags, "drop --locked/--frozen for development builds");
				input_errors++;
			} else if (!rq->no_resolve) {
				diag_warn(&cli->diags, &r->source.pos, "recipe \"%s\" builds from a local "
					  "path (%s): not lockable, used as it is", r->name,
					  r->source.location);
			}
			continue;
		}
		size_t npys = 0;
		struct source_python *pys = session_pythons_of(s, r, &npys);
		const struct pin *locked = pins_find(&s->lock.pins, r->name);
		if (rq->locked) {
			/* differs from the lock: -1 here, -2 from the check; unreachable: -1 */
			int rc = locked_pin(s, cli, r, locked) < 0 ? -2 : 0;
			if (rc == 0)
				rc = source_check_locked(&so, r, locked, pys, npys, &cli->diags);
			if (rc == -2)
				input_errors++;
			else if (rc < 0)
				env_errors++;
			else /* the check brought the mirrors up to date, unless offline */
				pins_add_copy(out, locked)->resolved_now = !rq->offline;
			free(pys);
			continue;
		}
		char *spec = source_spec(r);
		bool usable = locked && locked->spec && !strcmp(locked->spec, spec) &&
			      !rq->update_all && !named(rq->update, rq->nupdate, r);
		bool per_python = r->source.kind == SOURCE_WHEEL && !r->source.sha256;
		for (size_t k = 0; usable && per_python && k < npys; k++)
			usable = pin_file(locked, pys[k].version) != NULL;
		free(spec);
		if (usable) {
			pins_add_copy(out, locked);
		} else if (rq->no_resolve) {
			/* unpinned: the key says so ("pinned": null) */
		} else if (rq->offline) {
			diag_error(&cli->diags, &r->source.pos, "recipe \"%s\" is not pinned by %s, and "
				   "--frozen forbids the network", r->name, s->lock_path);
			diag_hint(&cli->diags, "run `ptbuild lock` with the network first");
			env_errors++;
		} else if (source_resolve(&so, r, pys, npys, out, &cli->diags) < 0) {
			env_errors++;
		} else {
			pins_find(out, r->name)->resolved_now = true;
			if (rq->note_unlocked)
				diag_note(&cli->diags, &r->source.pos, "recipe \"%s\" is %s the lock; "
					  "resolved from upstream (`ptbuild lock` records it)", r->name,
					  locked ? "changed since" : "not in");
		}
		free(pys);
	}
	int code = input_errors ? EXIT_USAGE : env_errors ? EXIT_ENVIRONMENT : EXIT_OK;
	if (code == EXIT_OK)
		code = read_series_sources(s, cli, rq, recipes, n, out);
	free(recipes);
	if (code != EXIT_OK)
		return code;
	plan_rekey(&s->plan, out);
	if (rq->locked && compare_keys(s, cli))
		return EXIT_USAGE;
	return EXIT_OK;
}
