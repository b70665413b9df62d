#define _GNU_SOURCE /* environ */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"
#include "json.h"
#include "pypi_source.h"
#include "ui.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

extern char **environ;

const char *const build_outcome_names[] = {
	"pending", "cached", "prebuilt", "built", "failed", "skipped", "cancelled",
};

#define DEFAULT_WEIGHT 60.0 /* expected seconds of a build never seen */
#define BUILD_DIR "build"   /* what setuptools and PyTorch build into, inside the tree */

/* ---- small helpers ------------------------------------------------------------------------ */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **strv_new(size_t n)
{
	return xcalloc(n + 1, sizeof(char *));
}

static void log_line(struct build_item *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void log_line(struct build_item *it, const char *fmt, ...)
{
	if (it->log_fd < 0)
		return;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_addch(&b, '\n');
	ssize_t w = write(it->log_fd, b.data, b.len);
	(void)w;
	buf_release(&b);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "# ptbuild: <what> at <unix time>": tests and people read when each phase ran. */
static void log_mark(struct build_item *it, const char *what)
{
	log_line(it, "# ptbuild: %s at %.3f", what, wall_now());
}

static void log_argv(struct build_item *it, char *const *argv, const char *cwd)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; argv[i]; i++) {
		bool quote = !argv[i][0] || strpbrk(argv[i], " \t\"'$;&|<>*?()");
		buf_addf(&b, "%s%s%s%s", i ? " " : "", quote ? "'" : "", argv[i], quote ? "'" : "");
	}
	log_line(it, "$ %s%s%s", b.data, cwd ? "    # in " : "", cwd ? cwd : "");
	buf_release(&b);
}

void log_tail(const char *path, size_t lines, struct buf *out)
{
	struct buf text = BUF_INIT;
	if (read_file(path, &text) < 0) {
		buf_release(&text);
		return;
	}
	size_t end = text.len, start = end, seen = 0;
	if (end && text.data[end - 1] == '\n')
		start = --end;
	while (start > 0 && seen < lines) {
		start--;
		if (text.data[start] == '\n' && ++seen == lines) {
			start++;
			break;
		}
	}
	buf_add(out, text.data + start, end - start);
	buf_release(&text);
}

/* ---- keys of the venv and of the work tree ---------------------------------------------- */

/* The key input split in two: what invalidates a build directory (flags, toolchain,
 * Python, dependencies) and what a build directory survives (the source and patches). */
static void split_inputs(const char *inputs, char flags[SHA256_HEX_SIZE],
			 char source[SHA256_HEX_SIZE])
{
	struct jdoc doc;
	struct diags d;
	diags_init(&d);
	struct buf f = BUF_INIT, s = BUF_INIT;
	if (jdoc_parse(&doc, "(inputs)", inputs, strlen(inputs), &d) == 0) {
		struct jw wf, ws;
		jw_init(&wf, &f, false);
		jw_init(&ws, &s, false);
		jw_object_begin(&wf);
		jw_object_begin(&ws);
		for (size_t i = 0; i < doc.root.n; i++) {
			const struct jnode *m = &doc.root.child[i];
			bool is_source = !strcmp(m->key, "patch_files") || !strcmp(m->key, "patches") ||
					 !strcmp(m->key, "source_deps");
			if (!strcmp(m->key, "recipe") && m->type == JSON_OBJECT) {
				jw_key(&wf, "recipe");
				jw_object_begin(&wf);
				for (size_t k = 0; k < m->n; k++) {
					const struct jnode *r = &m->child[k];
					bool src = !strcmp(r->key, "source") ||
						   !strcmp(r->key, "submodule_overrides");
					jw_key(src ? &ws : &wf, r->key);
					jw_node(src ? &ws : &wf, r);
				}
				jw_object_end(&wf);
				continue;
			}
			jw_key(is_source ? &ws : &wf, m->key);
			jw_node(is_source ? &ws : &wf, m);
		}
		jw_object_end(&wf);
		jw_object_end(&ws);
		jdoc_release(&doc);
	}
	sha256_hex(f.data ? f.data : "", f.len, flags);
	sha256_hex(s.data ? s.data : "", s.len, source);
	buf_release(&f);
	buf_release(&s);
	diags_release(&d);
}

/* ---- preparing ----------------------------------------------------------------------------- */

static struct build_item *item_of_variant(struct build *b, const struct variant *v)
{
	return &b->items[v - b->s->plan.v];
}

static char *item_path(const char *work_dir, const char *kind, const struct variant *v,
		       const char *suffix)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s/%s/%s%s", work_dir, kind, v->label, v->recipe->name, suffix);
	return buf_detach(&p);
}

static double expected_seconds(const char *work_dir, const struct variant *v)
{
	char *path = state_record_path(work_dir, v->recipe->name, v->label);
	struct build_record rec;
	struct diags d;
	diags_init(&d);
	double s = DEFAULT_WEIGHT;
	if (build_record_load(path, &rec, &d) == 0) {
		if (rec.seconds > 0)
			s = rec.seconds;
		build_record_release(&rec);
	}
	diags_release(&d);
	free(path);
	return s;
}

static uint64_t mem_per_job_of(const struct build *b, const struct variant *v)
{
	return v->recipe->mem_per_job ? v->recipe->mem_per_job : b->opts.mem_per_job;
}

static void make_jobs(struct build *b)
{
	b->jobs = xcalloc(b->n + 1, sizeof(*b->jobs));
	b->job_item = xcalloc(b->n + 1, sizeof(size_t));
	b->job_deps = xcalloc(b->n + 1, sizeof(size_t *));
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		if (it->outcome != OUTCOME_PENDING)
			continue;
		it->job = b->njobs++;
		b->job_item[it->job] = i;
	}
	for (size_t j = 0; j < b->njobs; j++) {
		struct build_item *it = &b->items[b->job_item[j]];
		const struct variant *v = it->v;
		struct sched_job *job = &b->jobs[j];
		b->job_deps[j] = xcalloc(v->ndeps + 1, sizeof(size_t));
		for (size_t k = 0; k < v->ndeps; k++) {
			const struct build_item *dep = &b->items[v->deps[k]];
			if (dep->job != SIZE_MAX)
				b->job_deps[j][job->ndeps++] = dep->job;
		}
		job->deps = b->job_deps[j];
		job->weight = it->expected;
		job->mem_per_slot = mem_per_job_of(b, v);
	}
}

int build_prepare(struct build *b, struct session *s, const struct pins *pins,
		  const struct build_opts *o, struct diags *d)
{
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->pins = pins;
	b->opts = *o;
	b->d = d;
	b->n = s->plan.n;
	make_dirs(s->work_dir, 0755);
	b->work_dir = realpath(s->work_dir, NULL);
	if (!b->work_dir)
		b->work_dir = absolute_path(s->work_dir);
	b->items = xcalloc(b->n + 1, sizeof(*b->items));
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		const struct variant *v = &s->plan.v[i];
		it->v = v;
		it->job = SIZE_MAX;
		it->log_fd = -1;
		it->phase_name = "queued";
		if (v->recipe->source.kind == SOURCE_WHEEL) {
			it->outcome = OUTCOME_PREBUILT;
			continue;
		}
		if (!o->force && v->recipe->source.kind != SOURCE_PATH &&
		    out_entry_exists(s->cache_dir, v->key)) {
			char *dir = out_entry_dir(s->cache_dir, v->key);
			char *manifest = path_join(dir, "manifest.json");
			if (build_record_load(manifest, &it->rec, d) == 0) {
				it->outcome = OUTCOME_CACHED;
			}
			free(manifest);
			free(dir);
			if (it->outcome == OUTCOME_CACHED)
				continue;
		}
		it->expected = expected_seconds(s->work_dir, v);
	}
	bool *need = xcalloc(b->n + 1, sizeof(bool));
	size_t nbuild = 0;
	for (size_t i = 0; i < b->n; i++) {
		need[i] = b->items[i].outcome == OUTCOME_PENDING;
		nbuild += need[i];
	}
	int code = EXIT_OK;
	struct tree_select sel = { false, false, need };
	if (nbuild && trees_list(s, &sel, &b->trees, d) < 0)
		code = EXIT_USAGE;
	free(need);
	if (code == EXIT_OK)
		make_jobs(b);
	return code;
}

/* ---- the build's environment and command ------------------------------------------------ */

struct build_lookup {
	struct build *b;
	struct build_item *it;
	const struct env *env; /* for ${env.X}: the variables set so far */
	char jobs[16];
	struct buf scratch;
};

/* ${src:NAME}: the work tree of a dependency variant named NAME when this variant builds
 * against it (torch_musa reads the torch it was built with), else NAME's pristine tree. */
static const char *source_tree_of(struct build_lookup *lc, const char *name)
{
	const struct variant *v = lc->it->v;
	for (size_t k = 0; k < v->ndeps; k++) {
		const struct variant *dv = &lc->b->s->plan.v[v->deps[k]];
		if (strcmp(dv->recipe->name, name))
			continue;
		struct build_item *dep = item_of_variant(lc->b, dv);
		if (dep->work && is_directory(dep->work))
			return dep->work;
	}
	const struct recipe *r = project_recipe(&lc->b->s->project, name);
	return r ? trees_pristine(&lc->b->trees, r) : NULL;
}

static const char *build_lookup(const char *name, void *ctx)
{
	struct build_lookup *lc = ctx;
	struct build_item *it = lc->it;
	if (!strcmp(name, "python")) {
		buf_reset(&lc->scratch);
		buf_addf(&lc->scratch, "%s/bin/python", it->venv);
		return lc->scratch.data;
	}
	if (!strcmp(name, "out"))
		return it->out.tmp;
	if (!strcmp(name, "jobs"))
		return lc->jobs;
	if (!strcmp(name, "src"))
		return it->work;
	if (starts_with(name, "src:"))
		return source_tree_of(lc, name + 4);
	if (starts_with(name, "env.")) {
		const char *v = env_get(lc->env, name + 4);
		return v ? v : "";
	}
	return NULL;
}

static char *expand_build(struct build_lookup *lc, const char *s)
{
	struct buf out = BUF_INIT;
	interp_expand(&out, s, build_lookup, lc);
	return buf_detach(&out);
}

static void env_prepend_path(struct env *e, const char *dir)
{
	const char *path = env_get(e, "PATH");
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s%s%s", dir, path && *path ? ":" : "", path ? path : "");
	env_set(e, "PATH", p.data, NULL, ENV_PTBUILD);
	buf_release(&p);
}

/* From scratch: the allow-listed parent variables, the variant's toolchain and recipe
 * variables (build-time names expanded now), then what ptbuild sets. */
static char **compose_env(struct build *b, struct build_item *it, int share)
{
	const struct variant *v = it->v;
	struct env e;
	env_init(&e);
	env_inherit(&e, environ);
	struct build_lookup lc = { b, it, &e, "", BUF_INIT };
	snprintf(lc.jobs, sizeof(lc.jobs), "%d", share);
	for (size_t i = 0; i < v->env.n; i++) {
		char *value = expand_build(&lc, v->env.v[i].value);
		env_set(&e, v->env.v[i].name, value, &v->env.v[i].pos, v->env.v[i].origin);
		free(value);
	}
	buf_release(&lc.scratch);
	ccache_env(&b->cc, &e, it->work, it->stats_path,
		   v->tc->cuda.enabled ? v->tc->cuda.home : NULL);
	if (b->cuda_home && v->tc->cuda.enabled && v->recipe->builder == BUILDER_CPP_EXTENSION)
		env_set(&e, "CUDA_HOME", b->cuda_home, NULL, ENV_PTBUILD);
	char *venv_bin = path_join(it->venv, "bin");
	env_prepend_path(&e, venv_bin);
	free(venv_bin);
	env_set(&e, "VIRTUAL_ENV", it->venv, NULL, ENV_PTBUILD);
	env_set(&e, "MAX_JOBS", lc.jobs, NULL, ENV_PTBUILD);
	env_set(&e, "CMAKE_BUILD_PARALLEL_LEVEL", lc.jobs, NULL, ENV_PTBUILD);
	env_set(&e, "PYTHONNOUSERSITE", "1", NULL, ENV_PTBUILD);
	env_set(&e, "PIP_NO_INPUT", "1", NULL, ENV_PTBUILD);
	env_set(&e, "PIP_DISABLE_PIP_VERSION_CHECK", "1", NULL, ENV_PTBUILD);
	if (it->fresh)
		env_set(&e, "CMAKE_FRESH", "1", NULL, ENV_PTBUILD);
	char **envp = strv_new(e.n);
	for (size_t i = 0; i < e.n; i++) {
		struct buf kv = BUF_INIT;
		buf_addf(&kv, "%s=%s", e.v[i].name, e.v[i].value);
		envp[i] = buf_detach(&kv);
	}
	env_release(&e);
	return envp;
}

static char **build_argv(struct build *b, struct build_item *it, int share)
{
	static const char *const dflt[] = {
		"${python}", "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps",
		"--no-index", "--wheel-dir", "${out}", ".", NULL,
	};
	const struct variant *v = it->v;
	struct env none;
	env_init(&none);
	struct build_lookup lc = { b, it, &none, "", BUF_INIT };
	snprintf(lc.jobs, sizeof(lc.jobs), "%d", share);
	size_t n = v->build_argc ? v->build_argc : sizeof(dflt) / sizeof(dflt[0]) - 1;
	char **argv = strv_new(n);
	for (size_t i = 0; i < n; i++)
		argv[i] = expand_build(&lc, v->build_argc ? v->build_argv[i] : dflt[i]);
	env_release(&none);
	buf_release(&lc.scratch);
	return argv;
}

/* ---- the venv ------------------------------------------------------------------------------- */

/* The wheels a variant's venv gets: its dependencies' outputs, or their pinned wheels. */
static char **dependency_wheels(struct build *b, struct build_item *it)
{
	const struct variant *v = it->v;
	char **list = strv_new(0);
	size_t n = 0, cap = 1;
	for (size_t k = 0; k < v->ndeps; k++) {
		const struct variant *dv = &b->s->plan.v[v->deps[k]];
		struct build_item *dep = item_of_variant(b, dv);
		if (dep->outcome == OUTCOME_PREBUILT) {
			const struct pin *pin = pins_find(b->pins, dv->recipe->name);
			for (size_t f = 0; pin && f < pin->nfiles; f++) {
				const struct pinned_file *pf = &pin->files[f];
				if (pf->python && strcmp(pf->python, v->python))
					continue;
				struct buf p = BUF_INIT;
				buf_addf(&p, "%s/dist/%s/%s", b->s->cache_dir, pf->sha256, pf->name);
				GROW(list, cap, n + 2);
				list[n++] = buf_detach(&p);
				list[n] = NULL;
			}
			continue;
		}
		char *dir = out_entry_dir(b->s->cache_dir, dv->key);
		for (size_t w = 0; w < dep->rec.nwheels; w++) {
			GROW(list, cap, n + 2);
			list[n++] = path_join(dir, dep->rec.wheels[w].file);
			list[n] = NULL;
		}
		free(dir);
	}
	return list;
}

static void compute_venv_key(struct build *b, struct build_item *it, char **wheels)
{
	const struct variant *v = it->v;
	const struct python_fp *py = fingerprints_python(&b->s->plan.fp, v->python);
	struct buf k = BUF_INIT;
	buf_addf(&k, "venv 1\n%s\n%s\n", py && py->interpreter ? py->interpreter : "",
		 py ? py->full : "");
	for (size_t i = 0; wheels[i]; i++) {
		char sha[SHA256_HEX_SIZE] = "";
		if (sha256_file_hex(wheels[i], sha) < 0)
			snprintf(sha, sizeof(sha), "missing");
		const char *slash = strrchr(wheels[i], '/');
		buf_addf(&k, "wheel %s %s\n", slash ? slash + 1 : wheels[i], sha);
	}
	for (size_t i = 0; i < v->recipe->build_requires.n; i++)
		buf_addf(&k, "requires %s\n", v->recipe->build_requires.v[i].s);
	sha256_hex(k.data, k.len, it->venv_key);
	buf_release(&k);
}

static bool marker_is(const char *path, const char *want)
{
	struct buf text = BUF_INIT;
	bool same = read_file(path, &text) == 0 && !strcmp(text.data, want);
	buf_release(&text);
	return same;
}

/* "torch==2.1.2" for each wheel, from its file name: build_requires cannot replace them. */
static char *write_constraints(struct build_item *it, char **wheels)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; wheels[i]; i++) {
		const char *name = strrchr(wheels[i], '/');
		name = name ? name + 1 : wheels[i];
		const char *dash = strchr(name, '-');
		const char *dash2 = dash ? strchr(dash + 1, '-') : NULL;
		if (!dash2)
			continue;
		buf_addf(&text, "%.*s==%.*s\n", (int)(dash - name), name, (int)(dash2 - dash - 1),
			 dash + 1);
	}
	char *path = path_join(it->venv, "ptbuild-constraints.txt");
	if (write_file_atomic(path, text.data ? text.data : "", text.len) < 0) {
		free(path);
		path = NULL;
	}
	buf_release(&text);
	return path;
}

/* ---- the steps of a job -------------------------------------------------------------------- */

static void set_phase(struct build *b, struct build_item *it, enum build_phase next,
		      const char *name)
{
	it->phase = next;
	if (name && (!it->phase_name || strcmp(it->phase_name, name))) {
		it->phase_name = name;
		it->phase_started = monotonic_seconds();
		log_mark(it, name);
		ui_phase(b->ui, b, (size_t)(it - b->items));
	}
}

static enum sched_step spawn_argv(struct build_item *it, char **argv, const char *cwd,
				  struct sched_spawn *sp)
{
	strv_free(it->argv);
	it->argv = argv;
	log_argv(it, argv, cwd);
	sp->argv = it->argv;
	sp->envp = it->envp;
	sp->cwd = cwd;
	sp->log_fd = it->log_fd;
	return STEP_SPAWN;
}

static enum sched_step fail(struct build_item *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum sched_step fail(struct build_item *it, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log_line(it, "ptbuild: %s", b.data);
	free(it->failure);
	it->failure = buf_detach(&b);
	return STEP_FAILED;
}

static void cleanup(struct build_item *it)
{
	staged_dir_abort(&it->out);
	if (it->log_fd >= 0) {
		close(it->log_fd);
		it->log_fd = -1;
	}
}

static enum sched_step step_start(struct build *b, struct build_item *it, int share,
				  struct sched_spawn *sp)
{
	const struct variant *v = it->v;
	const char *work_dir = b->work_dir;
	it->log_path = item_path(work_dir, "logs", v, ".log");
	it->stats_path = item_path(work_dir, "logs", v, ".ccache-stats");
	it->venv = item_path(work_dir, "venv", v, "");
	it->work = item_path(work_dir, "work", v, "");
	it->tree = trees_for_variant(&b->trees, v);
	char *log_dir = item_path(work_dir, "logs", v, "");
	*strrchr(log_dir, '/') = '\0';
	make_dirs(log_dir, 0755);
	free(log_dir);
	it->log_fd = open(it->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (it->log_fd < 0)
		return fail(it, "cannot write the log \"%s\": %s", it->log_path, strerror(errno));
	unlink(it->stats_path);
	log_line(it, "# ptbuild: %s (%s), key %s, %d job%s", v->recipe->name, v->label, v->key,
		 share, share == 1 ? "" : "s");
	if (!it->tree)
		return fail(it, "the source tree of \"%s\" is not ready", v->recipe->name);
	char *out_dir = out_entry_dir(b->s->cache_dir, v->key);
	if (v->recipe->source.kind == SOURCE_PATH || b->opts.force)
		remove_tree(out_dir); /* rebuilt on purpose: the new entry replaces the old */
	char *parent = xstrdup(out_dir);
	*strrchr(parent, '/') = '\0';
	make_dirs(parent, 0755);
	free(parent);
	struct diags d;
	diags_init(&d);
	int rc = staged_dir_begin(&it->out, out_dir, "build outputs", &d);
	free(out_dir);
	if (rc < 0) {
		struct buf msg = BUF_INIT;
		diags_render(&d, &msg, false);
		diags_release(&d);
		enum sched_step st = fail(it, "%s", msg.data);
		buf_release(&msg);
		return st;
	}
	diags_release(&d);
	split_inputs(v->key_input, it->flags_key, it->source_key);
	it->envp = compose_env(b, it, share);

	char **wheels = dependency_wheels(b, it);
	compute_venv_key(b, it, wheels);
	char *marker = path_join(it->venv, ".ptbuild-venv");
	bool reuse = marker_is(marker, it->venv_key);
	free(marker);
	if (reuse) {
		strv_free(wheels);
		log_line(it, "# ptbuild: venv %s is up to date", it->venv);
		it->phase = PHASE_COPY;
		return STEP_DONE; /* not a result: the caller goes on with the next phase */
	}
	const struct python_fp *py = fingerprints_python(&b->s->plan.fp, v->python);
	if (!py || !py->interpreter) {
		strv_free(wheels);
		return fail(it, "no interpreter for Python %s", v->python);
	}
	remove_tree(it->venv);
	char *venv_parent = xstrdup(it->venv);
	*strrchr(venv_parent, '/') = '\0';
	make_dirs(venv_parent, 0755);
	free(venv_parent);
	char **argv = strv_new(4);
	argv[0] = xstrdup(py->interpreter);
	argv[1] = xstrdup("-m");
	argv[2] = xstrdup("venv");
	argv[3] = xstrdup(it->venv);
	set_phase(b, it, PHASE_DEPS, "venv");
	/* Keep the wheel list for the next phase in argv's place after the child. */
	strv_free(it->argv);
	it->argv = NULL;
	enum sched_step st = spawn_argv(it, argv, NULL, sp);
	/* the dependency wheels are recomputed in PHASE_DEPS (cheap, same answer) */
	strv_free(wheels);
	return st;
}

static char **pip_argv(struct build_item *it, const char *const *head, char **tail)
{
	size_t nh = 0, nt = 0;
	while (head[nh])
		nh++;
	while (tail && tail[nt])
		nt++;
	char **argv = strv_new(nh + nt + 1);
	struct buf py = BUF_INIT;
	buf_addf(&py, "%s/bin/python", it->venv);
	argv[0] = buf_detach(&py);
	for (size_t i = 0; i < nh; i++)
		argv[1 + i] = xstrdup(head[i]);
	for (size_t i = 0; i < nt; i++)
		argv[1 + nh + i] = xstrdup(tail[i]);
	return argv;
}

/* A work tree is a copy of the source tree; its marker says which source and flags. */
static char *work_marker(const struct build_item *it)
{
	struct buf m = BUF_INIT;
	buf_addf(&m, "source %s\nflags %s\ntree %s\n", it->source_key, it->flags_key, it->tree);
	return buf_detach(&m);
}

static bool marker_line_is(const char *path, const char *prefix, const char *value)
{
	struct buf text = BUF_INIT;
	bool same = false;
	if (read_file(path, &text) == 0) {
		const char *cur = text.data;
		char *line;
		while ((line = next_line(&cur))) {
			if (starts_with(line, prefix) && !strcmp(line + strlen(prefix), value))
				same = true;
			free(line);
		}
	}
	buf_release(&text);
	return same;
}

static enum sched_step step(void *ctx, size_t job, struct sched_spawn *sp)
{
	struct build *b = ctx;
	struct sched_job *jb = &b->jobs[job];
	struct build_item *it = &b->items[b->job_item[job]];
	if (jb->state != JOB_RUNNING) {
		/* failed or interrupted: nothing half-written stays */
		if (!it->failure && jb->state == JOB_FAILED)
			fail(it, "%s exited with status %d", it->phase_name, jb->status);
		if (jb->state == JOB_CANCELLED)
			log_line(it, "ptbuild: interrupted");
		cleanup(it);
		return STEP_FAILED;
	}
	for (;;) {
		switch (it->phase) {
		case PHASE_START: {
			enum sched_step st = step_start(b, it, jb->share, sp);
			if (st == STEP_DONE)
				continue; /* the venv is reused: phase set to PHASE_COPY */
			return st;
		}
		case PHASE_DEPS: {
			char **wheels = dependency_wheels(b, it);
			set_phase(b, it, PHASE_REQUIRES, wheels[0] ? "deps" : NULL);
			if (!wheels[0]) {
				strv_free(wheels);
				continue;
			}
			static const char *const head[] = { "-m", "pip", "install", "--no-index",
							     "--no-deps", "--no-input", NULL };
			char **argv = pip_argv(it, head, wheels);
			strv_free(wheels);
			return spawn_argv(it, argv, NULL, sp);
		}
		case PHASE_REQUIRES: {
			const struct strpos_list *req = &it->v->recipe->build_requires;
			set_phase(b, it, PHASE_VENV_DONE, req->n ? "requires" : NULL);
			if (!req->n)
				continue;
			char **wheels = dependency_wheels(b, it);
			char *constraints = write_constraints(it, wheels);
			strv_free(wheels);
			if (!constraints)
				return fail(it, "cannot write the constraints file in \"%s\"", it->venv);
			char **tail = strv_new(req->n + 2);
			tail[0] = xstrdup("--constraint");
			tail[1] = constraints;
			for (size_t i = 0; i < req->n; i++)
				tail[2 + i] = xstrdup(req->v[i].s);
			static const char *const head[] = { "-m", "pip", "install", "--no-input", NULL };
			char **argv = pip_argv(it, head, tail);
			strv_free(tail);
			return spawn_argv(it, argv, NULL, sp);
		}
		case PHASE_VENV_DONE: {
			char *marker = path_join(it->venv, ".ptbuild-venv");
			int rc = write_file_atomic(marker, it->venv_key, strlen(it->venv_key));
			free(marker);
			if (rc < 0)
				return fail(it, "cannot write the venv marker: %s", strerror(errno));
			it->phase = PHASE_COPY;
			continue;
		}
		case PHASE_COPY: {
			char *marker = path_join(it->work, ".ptbuild-work");
			/* A path source's content is not in its key: copy it every time. */
			bool same_source = it->v->recipe->source.kind != SOURCE_PATH &&
					   marker_line_is(marker, "source ", it->source_key) &&
					   marker_line_is(marker, "tree ", it->tree);
			bool same_flags = marker_line_is(marker, "flags ", it->flags_key);
			free(marker);
			if (same_source) {
				if (!same_flags) {
					char *bd = path_join(it->work, BUILD_DIR);
					log_line(it, "# ptbuild: flags changed: removing %s", bd);
					remove_tree(bd);
					free(bd);
					it->fresh = true;
				}
				it->phase = PHASE_BUILD;
				continue;
			}
			struct buf tmp = BUF_INIT;
			buf_addf(&tmp, "%s.new.tmp-%ld", it->work, (long)getpid());
			remove_tree(tmp.data);
			char *parent = xstrdup(it->work);
			*strrchr(parent, '/') = '\0';
			make_dirs(parent, 0755);
			free(parent);
			remove_stale_temps(it->work);
			char **argv = strv_new(5);
			argv[0] = xstrdup("cp");
			argv[1] = xstrdup("-a");
			argv[2] = xstrdup("--reflink=auto");
			argv[3] = xstrdup(it->tree);
			argv[4] = buf_detach(&tmp);
			set_phase(b, it, PHASE_SWAP, "copy");
			return spawn_argv(it, argv, NULL, sp);
		}
		case PHASE_SWAP: {
			const char *tmp = it->argv[4];
			char *marker = path_join(it->work, ".ptbuild-work");
			bool same_flags = marker_line_is(marker, "flags ", it->flags_key);
			free(marker);
			char *old_bd = path_join(it->work, BUILD_DIR);
			char *new_bd = path_join(tmp, BUILD_DIR);
			if (same_flags && is_directory(old_bd) && !path_exists(new_bd)) {
				log_line(it, "# ptbuild: new sources, same flags: keeping %s", old_bd);
				rename(old_bd, new_bd);
			} else if (path_exists(old_bd)) {
				it->fresh = !same_flags;
			}
			free(old_bd);
			free(new_bd);
			if (remove_tree(it->work) < 0 || rename(tmp, it->work) < 0)
				return fail(it, "cannot replace the work tree \"%s\": %s", it->work,
					    strerror(errno));
			it->phase = PHASE_BUILD;
			continue;
		}
		case PHASE_BUILD: {
			char *marker = path_join(it->work, ".ptbuild-work");
			char *text = work_marker(it);
			int rc = write_file_atomic(marker, text, strlen(text));
			free(text);
			free(marker);
			if (rc < 0)
				return fail(it, "cannot write in the work tree \"%s\": %s", it->work,
					    strerror(errno));
			if (it->fresh) {
				/* The environment was composed before we knew. */
				strv_free(it->envp);
				it->envp = compose_env(b, it, jb->share);
			}
			set_phase(b, it, PHASE_COLLECT, "build");
			return spawn_argv(it, build_argv(b, it, jb->share), it->work, sp);
		}
		case PHASE_COLLECT: {
			set_phase(b, it, PHASE_END, "collect");
			struct diags d;
			diags_init(&d);
			struct build_record *r = &it->rec;
			build_record_release(r);
			int rc = out_list_wheels(it->out.tmp, r, &d);
			diags_release(&d);
			if (rc < 0)
				return fail(it, "cannot read the build outputs in \"%s\"", it->out.tmp);
			if (!r->nwheels)
				return fail(it, "the build succeeded but wrote no wheel into %s", it->out.tmp);
			ccache_stats_read(it->stats_path, &it->cc);
			r->key = xstrdup(it->v->key);
			r->recipe = xstrdup(it->v->recipe->name);
			r->variant = xstrdup(it->v->label);
			r->inputs = xstrdup(it->v->key_input);
			r->seconds = monotonic_seconds() - jb->started;
			r->ccache_hits = it->cc.hits;
			r->ccache_misses = it->cc.misses;
			r->finished = (long long)time(NULL);
			struct buf text = BUF_INIT;
			build_record_write(r, &text);
			char *manifest = path_join(it->out.tmp, "manifest.json");
			rc = write_file_atomic(manifest, text.data, text.len);
			free(manifest);
			char *state = state_record_path(b->work_dir, r->recipe, r->variant);
			char *state_dir = xstrdup(state);
			*strrchr(state_dir, '/') = '\0';
			make_dirs(state_dir, 0755);
			free(state_dir);
			diags_init(&d);
			if (rc == 0)
				rc = staged_dir_commit(&it->out, "build outputs", &d);
			if (rc == 0)
				rc = write_file_atomic(state, text.data, text.len);
			struct buf msg = BUF_INIT;
			diags_render(&d, &msg, false);
			diags_release(&d);
			free(state);
			buf_release(&text);
			if (rc < 0) {
				enum sched_step st = fail(it, "cannot enter the output cache: %s",
							  msg.len ? msg.data : strerror(errno));
				buf_release(&msg);
				return st;
			}
			buf_release(&msg);
			log_mark(it, "finished");
			it->outcome = OUTCOME_BUILT;
			cleanup(it);
			return STEP_DONE;
		}
		case PHASE_END:
			return STEP_DONE;
		}
	}
}

static void on_event(void *ctx, size_t job, enum sched_event ev)
{
	struct build *b = ctx;
	if (ev == EV_TICK) {
		ui_tick(b->ui, b);
		return;
	}
	size_t item = b->job_item[job];
	struct build_item *it = &b->items[item];
	if (ev == EV_STARTED) {
		ui_started(b->ui, b, item);
		return;
	}
	switch (b->jobs[job].state) {
	case JOB_OK: it->outcome = OUTCOME_BUILT; break;
	case JOB_FAILED: it->outcome = OUTCOME_FAILED; break;
	case JOB_CANCELLED: it->outcome = OUTCOME_CANCELLED; break;
	default: it->outcome = OUTCOME_SKIPPED; break;
	}
	ui_finished(b->ui, b, item);
}

/* ---- running ------------------------------------------------------------------------------- */

static const char **toolchain_compilers(const struct build *b)
{
	const struct plan *plan = &b->s->plan;
	const char **names = xcalloc(2 * plan->n + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		names[n++] = plan->v[i].tc->cc;
		names[n++] = plan->v[i].tc->cxx;
	}
	return names;
}

int build_run(struct build *b, struct build_ui *ui)
{
	b->ui = ui;
	if (!b->njobs)
		return EXIT_OK;
	int code = trees_prepare(b->s, &b->trees, b->pins, false, b->d);
	if (code)
		return code;
	const char **compilers = toolchain_compilers(b);
	int rc = ccache_prepare(&b->cc, b->s->cache_dir, compilers, b->d);
	free(compilers);
	if (rc < 0)
		return EXIT_ENVIRONMENT;
	for (size_t j = 0; j < b->njobs && b->cc.program && !b->cuda_home; j++) {
		const struct variant *v = b->items[b->job_item[j]].v;
		if (v->tc->cuda.enabled && v->recipe->builder == BUILDER_CPP_EXTENSION) {
			b->cuda_home = ccache_cuda_home(&b->cc, v->tc->cuda.home, b->d);
			if (!b->cuda_home)
				return EXIT_ENVIRONMENT;
		}
	}
	for (size_t j = 0; j < b->njobs; j++) {
		b->items[b->job_item[j]].phase = PHASE_START;
		b->jobs[j].mem_per_slot = mem_per_job_of(b, b->items[b->job_item[j]].v);
	}
	struct sched_ops ops = { b, step, on_event };
	struct sched_opts so = {
		.jobs = b->opts.jobs,
		.mem_available = b->opts.mem_available,
		.keep_going = b->opts.keep_going,
		.tick_seconds = ui->mode == UI_TTY ? 0.5 : 5,
		.grace_seconds = 5,
	};
	enum sched_result r = sched_run(b->jobs, b->njobs, &ops, &so);
	for (size_t j = 0; j < b->njobs; j++) {
		struct build_item *it = &b->items[b->job_item[j]];
		if (it->outcome == OUTCOME_PENDING)
			it->outcome = r == SCHED_INTERRUPTED ? OUTCOME_CANCELLED : OUTCOME_SKIPPED;
	}
	return r == SCHED_INTERRUPTED ? EXIT_INTERRUPTED : r == SCHED_FAILED ? EXIT_BUILD_FAILED
									     : EXIT_OK;
}

int *build_expected_shares(struct session *s, const struct build_opts *o)
{
	struct diags d;
	diags_init(&d);
	struct build b;
	int *shares = xcalloc(s->plan.n + 1, sizeof(int));
	struct build_opts quiet = *o;
	if (build_prepare(&b, s, NULL, &quiet, &d) == EXIT_OK) {
		struct sched_opts so = { .jobs = o->jobs, .mem_available = o->mem_available };
		sched_simulate(b.jobs, b.njobs, &so);
		for (size_t j = 0; j < b.njobs; j++)
			shares[b.job_item[j]] = b.jobs[j].share;
	}
	build_release(&b);
	diags_release(&d);
	return shares;
}

void build_release(struct build *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct build_item *it = &b->items[i];
		cleanup(it);
		free(it->log_path);
		free(it->stats_path);
		free(it->venv);
		free(it->work);
		build_record_release(&it->rec);
		strv_free(it->envp);
		strv_free(it->argv);
		free(it->failure);
	}
	free(b->items);
	for (size_t j = 0; j < b->njobs; j++)
		free(b->job_deps[j]);
	free(b->job_deps);
	free(b->jobs);
	free(b->job_item);
	trees_release(&b->trees);
	ccache_release(&b->cc);
	free(b->cuda_home);
	free(b->work_dir);
	memset(b, 0, sizeof(*b));
}
