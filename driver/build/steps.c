/*
 * The steps of one build job, each phase a child process or a little work in between:
 * venv, deps, requires, copy (and swap), build, collect. The scheduler calls build_step()
 * whenever the job's last child finished.
 */
#include "build/steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build/buildenv.h"
#include "build/envstore.h"
#include "plan/key.h"
#include "util/fault.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/finish.h"
#include "wheels/verify.h"
#include "wheels/wheel.h"

#define BUILD_DIR "build" /* what setuptools and PyTorch build into, inside the tree */

/* ---- small helpers ------------------------------------------------------------------------ */

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

static char *item_path(const char *work_dir, const char *kind, const struct variant *v,
		       const char *suffix)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s/%s/%s%s", work_dir, kind, v->label, v->recipe->name, suffix);
	return buf_detach(&p);
}

static bool marker_is(const char *path, const char *want)
{
	struct buf text = BUF_INIT;
	bool same = read_file(path, &text) == 0 && !strcmp(text.data, want);
	buf_release(&text);
	return same;
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
		if (b->ev && b->ev->phase)
			b->ev->phase(b->ev->ctx, b, (size_t)(it - b->items));
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

static void finish_files_drop(struct build_item *it);

void build_item_cleanup(struct build_item *it)
{
	finish_files_drop(it);
	staged_dir_abort(&it->out);
	staged_dir_abort(&it->env_stage); /* a store entry half made: never seen by anyone */
	if (it->env_locked) {
		close(it->env_lock);
		it->env_locked = false;
	}
	if (it->env_tmp) {
		remove_tree(it->env_tmp);
		free(it->env_tmp);
		it->env_tmp = NULL;
	}
	free(it->env_made_at);
	free(it->env_entry);
	it->env_made_at = it->env_entry = NULL;
	if (it->log_fd >= 0) {
		close(it->log_fd);
		it->log_fd = -1;
	}
}

/* A work tree is a copy of the source tree; its marker says which source and flags. */
static char *work_marker(const struct build_item *it)
{
	struct buf m = BUF_INIT;
	buf_addf(&m, "source %s\nflags %s\ntree %s\n", it->source_key, it->flags_key, it->tree);
	return buf_detach(&m);
}

static bool has_line(const char *text, const char *prefix, const char *value)
{
	bool found = false;
	char *line;
	while (!found && (line = next_line(&text))) {
		found = starts_with(line, prefix) && !strcmp(line + strlen(prefix), value);
		free(line);
	}
	return found;
}

/* What the work tree holds, from its marker: this source (in this tree) and these flags?
 * With the flags changed, an existing build directory must go (`fresh`). */
static void read_work_marker(struct build_item *it)
{
	char *path = path_join(it->work, ".ptbuild-work");
	struct buf text = BUF_INIT;
	bool readable = read_file(path, &text) == 0;
	/* A path source's content is not in its key: copy it every time. */
	it->same_source = readable && it->v->recipe->source.kind != SOURCE_PATH &&
			  has_line(text.data, "source ", it->source_key) &&
			  has_line(text.data, "tree ", it->tree);
	it->same_flags = readable && has_line(text.data, "flags ", it->flags_key);
	char *bd = path_join(it->work, BUILD_DIR);
	it->fresh = !it->same_flags && is_directory(bd);
	free(bd);
	buf_release(&text);
	free(path);
}

/* Every wheel of the staged entry on disk: the manifest, written after them, vouches for them. */
static int flush_wheels(const struct build_item *it)
{
	for (size_t i = 0; i < it->rec.nwheels; i++) {
		char *path = path_join(it->out.tmp, it->rec.wheels[i].file);
		int rc = fsync_file(path);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * Another build (another project on this cache, or another runner) entered the same key
 * while this one ran: its entry is complete (its manifest was written last), so this build
 * takes it instead of failing. 0 when it did, with the record now the entry's.
 */
static int take_entry_of_same_key(struct build *b, struct build_item *it)
{
	char *dir = out_entry_dir(b->s->cache_dir, it->v->key);
	char *manifest = path_join(dir, "manifest.json");
	struct build_record theirs;
	struct diags d;
	diags_init(&d);
	int rc = build_record_load(manifest, &theirs, &d);
	diags_release(&d);
	if (rc == 0 && strcmp(theirs.key, it->v->key)) {
		build_record_release(&theirs);
		rc = -1;
	}
	if (rc == 0) {
		log_line(it, "# ptbuild: another build entered key %s first; its entry %s is used",
			 it->v->key, dir);
		theirs.seconds = it->rec.seconds; /* this build's time, for the summary */
		build_record_release(&it->rec);
		it->rec = theirs;
	}
	free(manifest);
	free(dir);
	return rc;
}

/* The record `text` of the entry into build/state/, where report and explain read it. */
static int write_state_record(struct build *b, const struct build_item *it,
			      const struct buf *text, struct diags *d)
{
	char *state = state_record_path(b->work_dir, it->v->recipe->name, it->v->label);
	make_parents(state);
	int rc = write_file_atomic(state, text->data, text->len);
	if (rc < 0)
		diag_error(d, NULL, "cannot write %s: %s", state, strerror(errno));
	free(state);
	return rc;
}

/* The first message of `d`, without "error:": it goes after "cannot enter the output cache". */
static const char *first_message(const struct diags *d)
{
	return d->n ? d->v[0].msg : strerror(errno);
}

/* At the start of a job: the entry of its key, when another build has entered it since the
 * plan was made, is taken as this job's outcome (with its state record); true if it was. */
static bool take_finished_entry(struct build *b, struct build_item *it)
{
	if (take_entry_of_same_key(b, it) < 0)
		return false;
	struct buf text = BUF_INIT;
	build_record_write(&it->rec, &text);
	struct diags d;
	diags_init(&d);
	int rc = write_state_record(b, it, &text, &d);
	diags_release(&d);
	buf_release(&text);
	return rc == 0;
}

/* ---- the venv from the environment store (envstore.h) --------------------------------------- */

static char *venv_manifest_path(const struct build_item *it)
{
	return path_join(it->venv, ".ptbuild-env");
}

/* A kept venv is reused only while it still holds its entry's very files, unchanged. */
static bool venv_intact(struct build *b, struct build_item *it)
{
	char *path = venv_manifest_path(it);
	struct env_manifest m;
	int rc = envstore_manifest_load(path, &m);
	free(path);
	if (rc < 0 || !m.entry) {
		if (rc == 0)
			envstore_manifest_release(&m);
		log_line(it, "# ptbuild: venv %s was not linked from the environment store: "
			     "linking it again", it->venv);
		return false;
	}
	char *bad;
	const char *why;
	bool ok = envstore_check(it->venv, &m, ENV_CHECK_REUSE, &bad, &why) == 0;
	if (!ok) {
		log_line(it, "# ptbuild: venv %s: %s %s: linking it again from the store", it->venv,
			 bad, why);
		free(bad);
	} else {
		it->env_linked = m.linked;
		free(it->env_entry);
		it->env_entry = envstore_entry(b->s->cache_dir, m.entry, NULL);
		char *used = path_join(it->env_entry, "used");
		if (is_directory(it->env_entry))
			touch_file(used);
		free(used);
	}
	envstore_manifest_release(&m);
	return ok;
}

/* The store entry of `digest` is complete and as it was made; a damaged one is dropped
 * (renamed away, removed), so nothing links it again. */
static bool env_entry_ready(struct build *b, struct build_item *it, const char *digest)
{
	char *entry = envstore_entry(b->s->cache_dir, digest, NULL);
	bool ready = false;
	if (is_directory(entry)) {
		char *manifest = path_join(entry, "manifest");
		char *venv = path_join(entry, "venv");
		struct env_manifest m;
		char *bad = NULL;
		const char *why = "has no readable manifest";
		if (envstore_manifest_load(manifest, &m) == 0) {
			ready = envstore_check(venv, &m, ENV_CHECK_ENTRY, &bad, &why) == 0;
			envstore_manifest_release(&m);
		}
		if (!ready) {
			log_line(it, "ptbuild: store entry %s is damaged: %s %s; dropping it (venvs "
				     "linked from it are linked again on their next use)", entry,
				 bad ? bad : manifest, why);
			if (envstore_drop(entry) < 0)
				log_line(it, "ptbuild: cannot remove %s: %s", entry, strerror(errno));
		}
		free(bad);
		free(venv);
		free(manifest);
	}
	free(entry);
	return ready;
}

/* After a build phase: no file the venv shares with the store was written (as root, the
 * read-only modes do not stop that). False, with the build failed and the entry dropped,
 * when one was. */
static bool env_check_own(struct build *b, struct build_item *it)
{
	if (!it->env_linked || !it->env_entry)
		return true;
	char *path = venv_manifest_path(it);
	struct env_manifest m;
	int rc = envstore_manifest_load(path, &m);
	free(path);
	if (rc < 0)
		return true; /* the build removed it: nothing shared is known to be changed */
	char *bad;
	const char *why;
	bool ok = envstore_check(it->venv, &m, ENV_CHECK_SHARED, &bad, &why) == 0;
	envstore_manifest_release(&m);
	if (ok)
		return true;
	it->env_linked = false;
	envstore_drop(it->env_entry);
	/* the entries it was linked from share files too: each is dropped when it shares this one */
	env_entry_ready(b, it, it->env_closure);
	env_entry_ready(b, it, it->env_bare);
	fail(it, "the build wrote into %s, a file its venv shares with the environment store "
		 "(hardlinked from %s): that store entry is dropped and venvs linked from it are "
		 "linked again on their next use; a build must not change its dependencies' files "
		 "(copy such a file into the work tree first)", bad, it->env_entry);
	free(bad);
	return false;
}

/* staged_dir_begin for `final`; its error, if any, is the job's failure. */
static int stage_begin(struct build_item *it, struct staged_dir *sd, const char *final,
		       const char *what)
{
	struct diags d;
	diags_init(&d);
	int rc = staged_dir_begin(sd, final, what, &d);
	if (rc < 0) {
		struct buf msg = BUF_INIT;
		diags_render(&d, &msg, false);
		fail(it, "%s", msg.data);
		buf_release(&msg);
	}
	diags_release(&d);
	return rc;
}

/* Paths, log, output staging dir, environment and venv inputs; then the venv or the copy. */
static bool step_start(struct build *b, struct build_item *it, int share)
{
	const struct variant *v = it->v;
	const char *work_dir = b->work_dir;
	it->log_path = item_path(work_dir, "logs", v, ".log");
	it->stats_path = item_path(work_dir, "logs", v, ".ccache-stats");
	it->venv = item_path(work_dir, "venv", v, "");
	it->work = item_path(work_dir, "work", v, "");
	it->tree = trees_for_variant(&b->trees, v);
	make_parents(it->log_path);
	it->log_fd = open(it->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (it->log_fd < 0)
		return fail(it, "cannot write the log \"%s\": %s", it->log_path, strerror(errno)), false;
	unlink(it->stats_path);
	log_line(it, "# ptbuild: %s (%s), key %s, %d job%s", v->recipe->name, v->label, v->key,
		 share, share == 1 ? "" : "s");
	if (!it->tree)
		return fail(it, "the source tree of \"%s\" is not ready", v->recipe->name), false;
	char *out_dir = out_entry_dir(b->s->cache_dir, v->key);
	bool rebuild = v->recipe->source.kind == SOURCE_PATH || b->opts.force;
	if (rebuild)
		remove_tree(out_dir); /* rebuilt on purpose: the new entry replaces the old */
	else if (path_exists(out_dir) && take_finished_entry(b, it)) {
		free(out_dir); /* another build entered it since the plan was made */
		log_mark(it, "finished");
		build_item_cleanup(it);
		it->phase = PHASE_END;
		return true;
	}
	make_parents(out_dir);
	int rc = stage_begin(it, &it->out, out_dir, "build outputs");
	free(out_dir);
	if (rc < 0)
		return false;
	key_split(v->key_input, it->flags_key, it->source_key);
	read_work_marker(it);
	it->epoch = buildenv_source_epoch(b->s->cache_dir, b->pins, v);
	it->envp = buildenv_compose(b, it, share);
	buildenv_dependency_wheels(b, it);
	buildenv_venv_key(b, it);
	buildenv_closure_key(b, it);
	char *marker = path_join(it->venv, ".ptbuild-venv");
	bool reuse = marker_is(marker, it->venv_key) && venv_intact(b, it);
	free(marker);
	if (reuse)
		log_line(it, "# ptbuild: venv %s is up to date", it->venv);
	it->env_since = monotonic_seconds();
	it->phase = reuse ? PHASE_COPY : PHASE_VENV;
	return true;
}

/* The venv's python, `head`, then `nt` more arguments from `tail`. */
static char **pip_argv(const char *venv, const char *const *head, const char *const *tail,
		       size_t nt)
{
	size_t nh = 0;
	while (head[nh])
		nh++;
	char **argv = strv_new(nh + nt + 1);
	struct buf py = BUF_INIT;
	buf_addf(&py, "%s/bin/python", venv);
	argv[0] = buf_detach(&py);
	for (size_t i = 0; i < nh; i++)
		argv[1 + i] = xstrdup(head[i]);
	for (size_t i = 0; i < nt; i++)
		argv[1 + nh + i] = xstrdup(tail[i]);
	return argv;
}

/* What a phase returns besides the scheduler's answers: it moved on without a child, and the
 * next phase runs at once. */
enum { STEP_NEXT = STEP_FAILED + 1 };

/* The finisher's files: removed, forgotten. */
static void finish_files_drop(struct build_item *it)
{
	if (it->finish_args)
		unlink(it->finish_args);
	if (it->finish_result)
		unlink(it->finish_result);
	free(it->finish_args);
	free(it->finish_result);
	it->finish_args = it->finish_result = NULL;
}

static void log_finish_line(void *ctx, const char *line)
{
	log_line(ctx, "%s", line);
}

/* The finisher failed (exit `status`): what it said (its result file), or how it died, as
 * the item's failure; false when no finisher ran. */
static bool finish_take_failure(struct build_item *it, int status)
{
	if (!it->finish_result)
		return false;
	struct buf text = BUF_INIT;
	if (read_file(it->finish_result, &text) == 0 && text.len) {
		buf_rtrim(&text);
		fail(it, "%s", text.data);
	} else if (status > 128) {
		fail(it, "finishing the wheels (ptbuild __finish) was killed by signal %d; nothing "
			 "entered the cache", status - 128);
	} else {
		fail(it, "finishing the wheels (ptbuild __finish) exited with status %d; its "
			 "output is in the log", status);
	}
	buf_release(&text);
	return true;
}

/*
 * The wheels the build wrote into the staged entry, stamped (version, Requires-Dist torch),
 * repacked deterministically (deflating with the job's share of threads) and verified, in
 * place (wheels/finish.h finish_dir). A finding fails the build: nothing that would fail at
 * run time enters the cache. This runs in a child, `ptbuild __finish ARGS.json` (the running
 * binary, /proc/self/exe), so the scheduler keeps starting jobs and drawing status lines
 * while a big wheel is deflated; the child's output goes to the job's log and its failure,
 * if any, to a result file build_step reads. A process that is not ptbuild (a test calling
 * ptbuild_run() in-process) finishes in-process instead: STEP_NEXT then.
 */
static int phase_finish(struct build *b, struct build_item *it, int share,
			struct sched_spawn *sp)
{
	const struct variant *v = it->v;
	char *tmp = path_join(b->work_dir, "tmp");
	char *torch = buildenv_torch_version(it);
	char *asked = buildenv_asked_version(v);
	char *tool = NULL;
	struct finish_job j = { .dir = it->out.tmp, .tmp_dir = tmp, .asked = asked,
				.local_version = v->local_version, .torch = torch,
				.epoch = it->epoch, .threads = share > 0 ? (unsigned)share : 1 };
	buildenv_verify_expect(it, &j.verify, &tool);
	char *self = self_exe();
	const char *base = self ? path_base(self) : "";
	int r = STEP_NEXT;
	if (!strcmp(base, "ptbuild")) {
		finish_files_drop(it);
		it->finish_args = item_path(b->work_dir, "tmp", v, ".finish.json");
		it->finish_result = item_path(b->work_dir, "tmp", v, ".finish.result");
		struct buf args = BUF_INIT;
		finish_job_write(&j, it->finish_result, &args);
		unlink(it->finish_result);
		if (make_parents(it->finish_args) < 0 ||
		    write_file_atomic(it->finish_args, args.data, args.len) < 0) {
			r = fail(it, "cannot write \"%s\": %s", it->finish_args, strerror(errno));
		} else {
			char **argv = xcalloc(4, sizeof(char *));
			argv[0] = xstrdup(self);
			argv[1] = xstrdup("__finish");
			argv[2] = xstrdup(it->finish_args);
			r = spawn_argv(it, argv, NULL, sp);
			sp->envp = NULL; /* the driver's own environment, as in-process */
		}
		buf_release(&args);
	} else {
		char *failure = NULL;
		if (finish_dir(&j, log_finish_line, it, &failure) < 0)
			r = fail(it, "%s", failure);
		free(failure);
	}
	free(self);
	free(tool);
	free(torch);
	free(asked);
	free(tmp);
	return r;
}

/* The PATH of the job's environment, for finding a tool as its children would. */
static const char *job_path(const struct build_item *it)
{
	for (size_t i = 0; it->envp && it->envp[i]; i++)
		if (starts_with(it->envp[i], "PATH="))
			return it->envp[i] + 5;
	return "/usr/bin:/bin";
}

static void env_unlock(struct build_item *it)
{
	if (it->env_locked)
		close(it->env_lock);
	it->env_locked = false;
}

/* The venv: a link of its store entry, made first when missing (the closure's entry, then
 * the one with build_requires). Another build making the same entry is waited for by a
 * child holding then leaving its lock: the driver never blocks. */
static int env_link(struct build *b, struct build_item *it, const char *digest,
		    struct sched_spawn *sp)
{
	free(it->env_entry);
	it->env_entry = envstore_entry(b->s->cache_dir, digest, NULL);
	char *src = path_join(it->env_entry, "venv");
	it->env_making = monotonic_seconds() - it->env_since;
	make_parents(it->venv);
	remove_stale_temps(it->venv);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", it->venv, (long)getpid());
	remove_tree(tmp.data);
	char *parent = xstrdup(it->venv);
	*strrchr(parent, '/') = '\0';
	it->env_linked = same_filesystem(src, parent);
	if (!it->env_linked)
		log_line(it, "# ptbuild: the environment store (%s) is on another filesystem than %s: "
			     "copying the environment instead of linking it", it->env_entry, parent);
	free(parent);
	free(it->env_tmp);
	it->env_tmp = xstrdup(tmp.data);
	it->env_started = monotonic_seconds();
	char **argv = strv_new(4);
	argv[0] = xstrdup("cp");
	argv[1] = xstrdup(it->env_linked ? "-al" : "-a");
	argv[2] = src;
	argv[3] = buf_detach(&tmp);
	set_phase(b, it, PHASE_ENV_LINKED, "venv");
	return spawn_argv(it, argv, NULL, sp);
}

static int phase_venv(struct build *b, struct build_item *it, struct sched_spawn *sp)
{
	const struct python_fp *py = fingerprints_python(&b->s->plan.fp, it->v->python);
	if (!py || !py->interpreter)
		return fail(it, "no interpreter for Python %s", it->v->python);
	/* the chain: the interpreter's entry, + the closure, + build_requires; each made by
	 * linking the one before and pip installing into it */
	const char *chain[3] = { it->env_bare, NULL, NULL };
	size_t top = 0;
	if (it->nwheels)
		chain[++top] = it->env_closure;
	if (it->v->recipe->build_requires.n)
		chain[++top] = it->venv_key;
	if (env_entry_ready(b, it, chain[top]))
		return env_link(b, it, chain[top], sp);
	size_t lv = top;
	while (lv > 0 && !env_entry_ready(b, it, chain[lv - 1]))
		lv--;
	const char *make = chain[lv];
	const char *cache = b->s->cache_dir;
	char *lock = envstore_entry(cache, make, ".lock");
	make_parents(lock);
	int fd = lock_file_try(lock);
	if (fd < 0) {
		if (errno != EWOULDBLOCK) {
			fail(it, "cannot lock \"%s\": %s (is the cache directory writable?)", lock,
			     strerror(errno));
			free(lock);
			return STEP_FAILED;
		}
		log_line(it, "# ptbuild: another build is making store entry %s: waiting for it", make);
		char *tool = find_in_path("flock", job_path(it));
		char **argv = strv_new(tool ? 3 : 2);
		argv[0] = tool ? tool : xstrdup("sleep");
		argv[1] = tool ? lock : xstrdup("0.2");
		if (tool)
			argv[2] = xstrdup("true");
		else
			free(lock);
		set_phase(b, it, PHASE_VENV, "venv");
		return spawn_argv(it, argv, NULL, sp); /* then this phase again */
	}
	free(lock);
	it->env_lock = fd;
	it->env_locked = true;
	if (env_entry_ready(b, it, make)) { /* made while this job waited */
		env_unlock(it);
		return STEP_NEXT;
	}
	char *entry = envstore_entry(cache, make, NULL);
	int rc = stage_begin(it, &it->env_stage, entry, "environment");
	free(entry);
	if (rc < 0)
		return STEP_FAILED;
	free(it->env_made_at);
	it->env_made_at = path_join(it->env_stage.tmp, "venv");
	it->env_started = monotonic_seconds();
	char **argv = strv_new(4);
	it->env_base = lv ? chain[lv - 1] : NULL;
	it->env_level = !lv ? "interpreter" : chain[lv] == it->env_closure ?
			"closure" : "closure + build_requires";
	if (!lv) {
		argv[0] = xstrdup(py->interpreter);
		argv[1] = xstrdup("-m");
		argv[2] = xstrdup("venv");
		argv[3] = xstrdup(it->env_made_at);
		set_phase(b, it, PHASE_ENV_SEAL, "venv");
	} else {
		char *base = envstore_entry(cache, it->env_base, NULL);
		argv[0] = xstrdup("cp");
		argv[1] = xstrdup("-al");
		argv[2] = path_join(base, "venv");
		argv[3] = xstrdup(it->env_made_at);
		free(base);
		set_phase(b, it, chain[lv] == it->env_closure ? PHASE_DEPS : PHASE_REQUIRES, "venv");
	}
	log_line(it, "# ptbuild: making store entry %s (%s%s%s)", make, it->env_level,
		 lv ? ", linked from " : "", lv ? it->env_base : "");
	return spawn_argv(it, argv, NULL, sp);
}

/* The entry being made, a link of the one before: its files that name that entry's path
 * rewritten to name its own. */
static bool env_rewrite_from_base(struct build *b, struct build_item *it)
{
	char *base = envstore_entry(b->s->cache_dir, it->env_base, NULL);
	char *manifest = path_join(base, "manifest");
	free(base);
	struct env_manifest m;
	int rc = envstore_manifest_load(manifest, &m);
	if (rc == 0) {
		rc = envstore_rewrite(it->env_made_at, &m, it->env_made_at);
		envstore_manifest_release(&m);
	}
	if (rc < 0)
		fail(it, "cannot rewrite the venv \"%s\" linked from %s: %s", it->env_made_at,
		     manifest, strerror(errno));
	free(manifest);
	return rc == 0;
}

/* The dependency wheels, without their dependencies and without an index, into the
 * closure's entry being made. */
static int phase_deps(struct build *b, struct build_item *it, struct sched_spawn *sp)
{
	if (!env_rewrite_from_base(b, it))
		return STEP_FAILED;
	set_phase(b, it, PHASE_ENV_SEAL, "deps");
	static const char *const head[] = { "-m", "pip", "install", "--no-index", "--no-deps",
					     "--no-input", NULL };
	const char **paths = xcalloc(it->nwheels, sizeof(char *));
	for (size_t i = 0; i < it->nwheels; i++)
		paths[i] = it->wheels[i].path;
	char **argv = pip_argv(it->env_made_at, head, paths, it->nwheels);
	free(paths);
	return spawn_argv(it, argv, NULL, sp);
}

/* build_requires, constrained to the dependencies' versions, into a link of the closure's
 * entry (its files naming the closure's path rewritten first). */
static int phase_requires(struct build *b, struct build_item *it, struct sched_spawn *sp)
{
	const struct strpos_list *req = &it->v->recipe->build_requires;
	if (!env_rewrite_from_base(b, it))
		return STEP_FAILED;
	set_phase(b, it, PHASE_ENV_SEAL, "requires");
	char *constraints = buildenv_constraints(it, it->env_made_at);
	if (!constraints)
		return fail(it, "cannot write the constraints file in \"%s\"", it->env_made_at);
	const char **tail = xcalloc(req->n + 2, sizeof(char *));
	tail[0] = "--constraint";
	tail[1] = constraints;
	for (size_t i = 0; i < req->n; i++)
		tail[2 + i] = req->v[i].s;
	static const char *const head[] = { "-m", "pip", "install", "--no-input", NULL };
	char **argv = pip_argv(it->env_made_at, head, tail, req->n + 2);
	free(tail);
	free(constraints);
	return spawn_argv(it, argv, NULL, sp);
}

/* The entry made: its files read-only, its manifest written, renamed into place. */
static int phase_env_seal(struct build_item *it)
{
	struct env_manifest m;
	if (envstore_seal(it->env_made_at, &m) < 0)
		return fail(it, "cannot seal the store entry \"%s\": %s", it->env_stage.tmp,
			    strerror(errno));
	struct buf text = BUF_INIT;
	envstore_manifest_write(&m, &text);
	char *manifest = path_join(it->env_stage.tmp, "manifest");
	char *used = path_join(it->env_stage.tmp, "used");
	int rc = write_file_replace(manifest, text.data, text.len);
	if (rc == 0)
		rc = touch_file(used);
	if (rc == 0 && it->env_base) { /* the entry it links: `cache gc` keeps it with this one */
		char *base = path_join(it->env_stage.tmp, "base");
		rc = write_file_replace(base, it->env_base, strlen(it->env_base));
		free(base);
	}
	free(used);
	free(manifest);
	buf_release(&text);
	char *final = xstrdup(it->env_stage.final);
	struct diags d;
	diags_init(&d);
	if (rc < 0)
		fail(it, "cannot write the manifest of \"%s\": %s", it->env_stage.tmp,
		     strerror(errno));
	else if ((rc = staged_dir_commit(&it->env_stage, "environment", &d)) < 0 &&
		 (errno == ENOTEMPTY || errno == EEXIST))
		rc = 0; /* made by a build that did not take the lock: it is as good */
	else if (rc < 0)
		fail(it, "cannot enter the environment store: %s", first_message(&d));
	diags_release(&d);
	staged_dir_abort(&it->env_stage);
	env_unlock(it);
	if (rc == 0)
		log_line(it, "# ptbuild: made store entry %s (%s, %zu files in %.1f s)", final,
			 it->env_level, m.n, monotonic_seconds() - it->env_started);
	free(final);
	envstore_manifest_release(&m);
	if (rc < 0)
		return STEP_FAILED;
	it->phase = PHASE_VENV;
	return STEP_NEXT;
}

/* The linked tree becomes the venv: the files naming the entry's path rewritten to name
 * the venv's, the manifest kept for the checks, the entry's `used` touched. */
static int phase_env_linked(struct build_item *it)
{
	char *manifest = path_join(it->env_entry, "manifest");
	struct env_manifest m;
	int rc = envstore_manifest_load(manifest, &m);
	free(manifest);
	if (rc == 0)
		rc = envstore_rewrite(it->env_tmp, &m, it->venv);
	if (rc < 0)
		return fail(it, "cannot make the venv \"%s\" from the store entry %s: %s", it->venv,
			    it->env_entry, strerror(errno));
	m.entry = xstrdup(path_base(it->env_entry));
	m.linked = it->env_linked;
	struct buf text = BUF_INIT;
	envstore_manifest_write(&m, &text);
	char *own = path_join(it->env_tmp, ".ptbuild-env");
	rc = write_file_replace(own, text.data, text.len);
	free(own);
	buf_release(&text);
	if (rc == 0 && (rc = remove_tree(it->venv)) == 0)
		rc = rename(it->env_tmp, it->venv);
	if (rc < 0) {
		envstore_manifest_release(&m);
		return fail(it, "cannot replace the venv \"%s\": %s", it->venv, strerror(errno));
	}
	free(it->env_tmp);
	it->env_tmp = NULL;
	char *used = path_join(it->env_entry, "used");
	touch_file(used);
	free(used);
	log_line(it, "# ptbuild: env %s from the store (%s %zu files in %.2f s)", m.entry,
		 it->env_linked ? "linked" : "copied", m.n, monotonic_seconds() - it->env_started);
	envstore_manifest_release(&m);
	it->phase = PHASE_VENV_DONE;
	return STEP_NEXT;
}

static int phase_venv_done(struct build_item *it)
{
	char *marker = path_join(it->venv, ".ptbuild-venv");
	int rc = write_file_atomic(marker, it->venv_key, strlen(it->venv_key));
	free(marker);
	if (rc < 0)
		return fail(it, "cannot write the venv marker: %s", strerror(errno));
	it->phase = PHASE_COPY;
	return STEP_NEXT;
}

/* A work tree holding this source already is kept (its build directory too, unless the
 * flags changed); else a fresh copy of the source tree is made beside it. */
static int phase_copy(struct build *b, struct build_item *it, struct sched_spawn *sp)
{
	if (it->same_source) {
		if (it->fresh) {
			char *bd = path_join(it->work, BUILD_DIR);
			log_line(it, "# ptbuild: flags changed: removing %s", bd);
			remove_tree(bd);
			free(bd);
		}
		it->phase = PHASE_BUILD;
		return STEP_NEXT;
	}
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.new.tmp-%ld", it->work, (long)getpid());
	remove_tree(tmp.data);
	make_parents(it->work);
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

/* The new copy replaces the work tree; with the same flags it inherits the old build
 * directory (incremental builds recompile what changed). */
static int phase_swap(struct build_item *it)
{
	const char *tmp = it->argv[4];
	char *old_bd = path_join(it->work, BUILD_DIR);
	char *new_bd = path_join(tmp, BUILD_DIR);
	if (it->same_flags && is_directory(old_bd) && !path_exists(new_bd)) {
		log_line(it, "# ptbuild: new sources, same flags: keeping %s", old_bd);
		rename(old_bd, new_bd);
	}
	free(old_bd);
	free(new_bd);
	if (remove_tree(it->work) < 0 || rename(tmp, it->work) < 0)
		return fail(it, "cannot replace the work tree \"%s\": %s", it->work,
			    strerror(errno));
	it->phase = PHASE_BUILD;
	return STEP_NEXT;
}

static int phase_build(struct build *b, struct build_item *it, int share,
		       struct sched_spawn *sp)
{
	char *marker = path_join(it->work, ".ptbuild-work");
	char *text = work_marker(it);
	int rc = write_file_atomic(marker, text, strlen(text));
	free(text);
	free(marker);
	if (rc < 0)
		return fail(it, "cannot write in the work tree \"%s\": %s", it->work,
			    strerror(errno));
	set_phase(b, it, PHASE_COLLECT, "build");
	return spawn_argv(it, buildenv_argv(b, it, share), it->work, sp);
}

/* The build record of the finished wheels, with its timings and ccache counts. */
static void fill_record(struct build_item *it, const struct sched_job *jb)
{
	struct build_record *r = &it->rec;
	ccache_stats_read(it->stats_path, &it->cc);
	r->key = xstrdup(it->v->key);
	r->recipe = xstrdup(it->v->recipe->name);
	r->variant = xstrdup(it->v->label);
	r->inputs = xstrdup(it->v->key_input);
	/* without the store entries it made or waited for: those are the cache's, once; what
	 * the scheduler and the shards weigh is the variant's cost with its environment there */
	r->seconds = monotonic_seconds() - jb->started - it->env_making;
	r->ccache_hits = it->cc.hits;
	r->ccache_misses = it->cc.misses;
	r->cc = it->cc;
	r->finished = (long long)time(NULL);
}

/* The record into the staged entry, the entry into the cache, the record into build/state/.
 * The manifest is the entry's marker: written (and fsync'd) after the wheels are on disk, so
 * an entry with a manifest is whole; an entry a kill or a full disk cut short never appears. */
static int commit_outputs(struct build *b, struct build_item *it)
{
	struct buf text = BUF_INIT;
	build_record_write(&it->rec, &text);
	char *manifest = path_join(it->out.tmp, "manifest.json");
	struct diags d;
	diags_init(&d);
	int rc = flush_wheels(it);
	if (rc < 0)
		diag_error(&d, NULL, "cannot flush the wheels of %s to disk: %s", it->out.tmp,
			   strerror(errno));
	if (rc == 0 && (rc = write_file_atomic(manifest, text.data, text.len)) < 0)
		diag_error(&d, NULL, "cannot write %s: %s", manifest, strerror(errno));
	free(manifest);
	if (rc == 0) {
		fault_point("outcache");
		rc = staged_dir_commit(&it->out, "build outputs", &d);
		if (rc < 0 && (errno == ENOTEMPTY || errno == EEXIST) &&
		    take_entry_of_same_key(b, it) == 0) {
			diags_release(&d);
			diags_init(&d);
			buf_reset(&text);
			build_record_write(&it->rec, &text);
			rc = 0;
		}
	}
	if (rc == 0)
		rc = write_state_record(b, it, &text, &d);
	if (rc < 0)
		fail(it, "cannot enter the output cache: %s", first_message(&d));
	diags_release(&d);
	buf_release(&text);
	return rc;
}

static int phase_collect(struct build *b, struct build_item *it, const struct sched_job *jb,
			 struct sched_spawn *sp)
{
	set_phase(b, it, PHASE_FINISHED, "collect");
	return phase_finish(b, it, jb->share, sp);
}

/* The finisher exited 0: the rest of collect runs in the driver. */
static int phase_finished(struct build *b, struct build_item *it, const struct sched_job *jb)
{
	it->phase = PHASE_END;
	finish_files_drop(it);
	struct diags d;
	diags_init(&d);
	build_record_release(&it->rec);
	int rc = out_list_wheels(it->out.tmp, &it->rec, &d);
	diags_release(&d);
	if (rc < 0)
		return fail(it, "cannot read the build outputs in \"%s\"", it->out.tmp);
	if (!it->rec.nwheels)
		return fail(it, "the build succeeded but wrote no wheel into %s", it->out.tmp);
	fill_record(it, jb);
	if (commit_outputs(b, it) < 0)
		return STEP_FAILED;
	log_mark(it, "finished");
	it->outcome = OUTCOME_BUILT;
	build_item_cleanup(it);
	return STEP_DONE;
}

static int run_phase(struct build *b, struct build_item *it, struct sched_job *jb,
		     struct sched_spawn *sp)
{
	switch (it->phase) {
	case PHASE_START:
		/* to PHASE_VENV, or PHASE_COPY when the venv is up to date */
		return step_start(b, it, jb->share) ? STEP_NEXT : STEP_FAILED;
	case PHASE_VENV: return phase_venv(b, it, sp);
	case PHASE_DEPS: return phase_deps(b, it, sp);
	case PHASE_REQUIRES: return phase_requires(b, it, sp);
	case PHASE_ENV_SEAL: return phase_env_seal(it);
	case PHASE_ENV_LINKED: return phase_env_linked(it);
	case PHASE_VENV_DONE: return phase_venv_done(it);
	case PHASE_COPY: return phase_copy(b, it, sp);
	case PHASE_SWAP: return phase_swap(it);
	case PHASE_BUILD: return phase_build(b, it, jb->share, sp);
	case PHASE_COLLECT:
		if (!env_check_own(b, it))
			return STEP_FAILED;
		return phase_collect(b, it, jb, sp);
	case PHASE_FINISHED: return phase_finished(b, it, jb);
	case PHASE_END: return STEP_DONE;
	}
	return STEP_FAILED;
}

enum sched_step build_step(void *ctx, size_t job, struct sched_spawn *sp)
{
	struct build *b = ctx;
	struct sched_job *jb = &b->jobs[job];
	struct build_item *it = &b->items[b->job_item[job]];
	if (jb->state != JOB_RUNNING) {
		/* failed or interrupted: nothing half-written stays */
		if (!it->failure && jb->state == JOB_FAILED && !finish_take_failure(it, jb->status))
			fail(it, "%s exited with status %d", it->phase_name, jb->status);
		if (jb->state == JOB_CANCELLED)
			log_line(it, "ptbuild: interrupted");
		env_check_own(b, it); /* a failed build may have written into the store too */
		build_item_cleanup(it);
		return STEP_FAILED;
	}
	int r;
	while ((r = run_phase(b, it, jb, sp)) == STEP_NEXT)
		;
	return (enum sched_step)r;
}
