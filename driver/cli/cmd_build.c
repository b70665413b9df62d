/* ptbuild build: every variant of the plan whose key has no output yet, in parallel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build.h"
#include "build/cache_live.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "plan/shard.h"
#include "session/session.h"
#include "cli/ui.h"
#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"

static const char build_help[] =
	"usage: ptbuild build [TARGET...] [--set F] [--toolchain T] [--python V] [-j N]\n"
	"                     [--mem-per-job SIZE] [--keep-going] [--locked | --frozen] [--offline]\n"
	"                     [--force] [--remote-cache URL] [--remote-read-only]\n"
	"                     [--shard K/N [--split ID]] [--no-write-lock]\n"
	"\n"
	"Builds the plan's variants into wheels. A variant whose build key already has an\n"
	"entry in the output cache (<cache>/out/<key>/) is not built again; `ptbuild explain\n"
	"TARGET` says why one is. The others build in dependency order, in parallel, each in\n"
	"its own venv (build/venv/), in a copy of its source tree (build/work/), through\n"
	"ccache, with its log in build/logs/<variant>/<recipe>.log.\n"
	"\n"
	"Without a ptbuild.lock, the sources it resolves are written there (what `ptbuild\n"
	"lock` writes), so later runs resolve nothing; a recipe whose source changed since is\n"
	"resolved again and the lock rewritten, saying so (docs/building.md, \"The lock\").\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  TARGET...          build these recipes (and what they need) instead of the set's\n"
	"  -j, --jobs N       compiler processes in all, shared by the running builds (each\n"
	"                     gets its share as MAX_JOBS and CMAKE_BUILD_PARALLEL_LEVEL;\n"
	"                     default: the number of cores)\n"
	"  --mem-per-job SIZE memory one compiler process may take (default 2GiB; a recipe's\n"
	"                     mem_per_job wins): shares never exceed available memory / SIZE\n"
	"  --keep-going       after a failure, go on with the builds that do not need it\n"
	"  --locked           the lock only: stop if any input differs from ptbuild.lock\n"
	"  --frozen           --locked without any network access\n"
	"  --offline          no network access: sources resolve from the cache\n"
	"  --force            build even the variants the output cache has\n"
	"  --no-write-lock    leave ptbuild.lock as it is (or absent): every run resolves the\n"
	"                     sources the lock lacks again\n"
	REMOTE_HELP
	"  --shard K/N        build only shard K of N (`plan --shard K/N` lists it): the\n"
	"                     others' variants are not built (\"elsewhere\"); see\n"
	"                     docs/building.md, \"Sharding\"\n"
	"  --split ID         the split id `plan --matrix` printed: stop (exit 2) if this\n"
	"                     runner splits the plan differently (another lock, or other\n"
	"                     recorded durations in build/state/)\n"
	"  --json             one JSON object per line on stdout: events, then the result\n"
	"\n"
	"exit status: 0 built (or nothing to build), 1 a build failed, 2 an input file or the\n"
	"lock is wrong, 3 a source, tool or disk problem, 130 interrupted (SIGINT/SIGTERM:\n"
	"every build is stopped and nothing half-written enters the cache; run again to\n"
	"resume).\n";

enum { OPT_LOCKED = 2300, OPT_FROZEN, OPT_KEEP_GOING, OPT_FORCE, OPT_SHARD, OPT_SPLIT,
       OPT_NO_WRITE_LOCK };

static const struct option build_long[] = {
	PLAN_LONG_OPTIONS,
	BUDGET_LONG_OPTIONS,
	{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
	{ "locked", no_argument, NULL, OPT_LOCKED },
	{ "frozen", no_argument, NULL, OPT_FROZEN },
	OFFLINE_LONG_OPTION,
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "no-write-lock", no_argument, NULL, OPT_NO_WRITE_LOCK },
	REMOTE_LONG_OPTIONS,
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ NULL, 0, NULL, 0 },
};

struct build_args {
	struct plan_args plan;
	struct build_opts build;
	struct remote_args remote;
	bool locked, frozen, offline, no_write_lock;
	struct shard_spec shard; /* k 0: the whole plan */
	const char *split;       /* --split: the id the shards were planned with, or NULL */
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct build_args *a = ctx;
	if (plan_args_option(&a->plan, opt, arg) || remote_args_option(&a->remote, opt, arg))
		return 0;
	int rc = budget_option(cli, &a->build, opt, arg);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (opt == OPT_LOCKED)
		a->locked = true;
	else if (opt == OPT_FROZEN)
		a->frozen = true;
	else if (opt == OPT_OFFLINE)
		a->offline = true;
	else if (opt == OPT_KEEP_GOING)
		a->build.keep_going = true;
	else if (opt == OPT_FORCE)
		a->build.force = true;
	else if (opt == OPT_NO_WRITE_LOCK)
		a->no_write_lock = true;
	else if (opt == OPT_SHARD)
		return shard_parse(arg, "--shard", &a->shard, &cli->diags);
	else if (opt == OPT_SPLIT)
		a->split = arg;
	else
		return -1;
	return 0;
}

/* The lock this run leaves (session_write_lock), said on stderr and as a JSON event. A lock
 * that cannot be written is a warning: the build goes on. */
static void write_lock(struct cli *cli, struct session *s, const struct pins *pins,
		       bool whole_plan)
{
	struct lock_update u;
	session_write_lock(s, pins, whole_plan, &u, &cli->diags);
	if (!u.written) {
		lock_update_release(&u);
		return;
	}
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		jw_init(&w, &out, false);
		jw_object_begin(&w);
		jw_kstring(&w, "event", "lock");
		jw_kstring(&w, "path", s->lock_path);
		jw_kbool(&w, "created", u.created);
		jw_kint(&w, "sources", (long long)u.nsources);
		jw_key(&w, "changes");
		jw_array_begin(&w);
		for (size_t i = 0; i < u.nchanges; i++)
			jw_string(&w, u.changes[i]);
		jw_array_end(&w);
		jw_object_end(&w);
		fprintf(cli->out, "%s\n", out.data);
		fflush(cli->out);
		buf_release(&out);
	} else if (!cli->quiet) {
		for (size_t i = 0; i < u.nchanges; i++)
			fprintf(cli->err, "%s: %s\n", LOCKFILE_NAME, u.changes[i]);
		fprintf(cli->err, "wrote %s (%zu source%s)\n", LOCKFILE_NAME, u.nsources,
			u.nsources == 1 ? "" : "s");
	}
	lock_update_release(&u);
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	struct build_args a = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct build b = { 0 };
	struct remote_cache remote = { 0 };
	struct shard_split split = { 0 };
	bool have_build = false;
	struct cache_live live = { .fd = -1 }; /* <cache>/live/<pid>.json: what gc must keep */
	int lock_fd = -1;
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "j:", build_long, on_option, &a, build_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (a.split && !a.shard.k) {
		diag_error(&cli->diags, NULL, "--split names the split of --shard K/N, which is missing");
		diag_hint(&cli->diags, "give both: --shard K/N --split ID, as `plan --matrix` printed");
		code = EXIT_USAGE;
		goto done;
	}
	code = cli_session_open(cli, &s, &a.plan, argv + first, (size_t)(argc - first), false);
	if (code != EXIT_OK)
		goto done;
	struct pin_request rq = {
		.locked = a.locked || a.frozen,
		.offline = a.frozen || a.offline,
		.offline_flag = OFFLINE_FLAG(a.frozen, a.offline),
		.note_unlocked = true,
		.defer_files = true,
		.write_lock = !a.no_write_lock && !a.locked && !a.frozen,
	};
	/* One build per work tree at a time: venvs and work trees are not shared safely. */
	make_dirs(s.work_dir, 0755);
	char *lock_path = path_join(s.work_dir, ".ptbuild-build.lock");
	lock_fd = lock_file_try(lock_path);
	if (lock_fd < 0) {
		if (errno == EWOULDBLOCK)
			diag_error(&cli->diags, NULL, "another `ptbuild build` is running in this "
				   "project (it holds %s)", lock_path);
		else
			diag_error(&cli->diags, NULL, "cannot lock %s: %s", lock_path, strerror(errno));
		diag_hint(&cli->diags, "wait for it to finish, or stop it (SIGINT leaves nothing "
			     "half-written)");
		free(lock_path);
		code = EXIT_ENVIRONMENT;
		goto done;
	}
	free(lock_path);
	cache_live_begin(&live, s.cache_dir, s.project.dir, &cli->diags);
	code = cli_remote_open(cli, &s, &a.remote, &remote);
	if (code != EXIT_OK)
		goto done;
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	struct cache_refs refs = { 0 };
	cache_refs_of_session(&refs, &s, &pins, false);
	cache_live_update(&live, &refs, &cli->diags);
	cache_refs_release(&refs);
	build_opts_defaults(&a.build);
	if (remote.url)
		a.build.remote = &remote;
	if (a.shard.k) {
		build_shard_split(&split, &s, a.shard.n);
		if (a.split && strcmp(a.split, split.id)) {
			diag_error(&cli->diags, NULL, "this runner splits the plan into shards %s, "
				   "not %s as the matrix was planned: shard %d/%d would build other "
				   "variants", split.id, a.split, a.shard.k, a.shard.n);
			diag_hint(&cli->diags, "every runner must plan alike: the same ptbuild.lock and "
				  "the same recorded durations (%s/state/) or none; remove that "
				  "directory on the runners or restore the same one on all",
				  s.work_dir);
			code = EXIT_USAGE;
			goto done;
		}
		a.build.shard_of = split.shard_of;
		a.build.shard = a.shard.k;
		a.build.nshards = a.shard.n;
	}
	build_prepare(&b, &s, &pins, &a.build, &cli->diags);
	have_build = true;
	struct build_ui ui;
	ui_init(&ui, cli, s.project.dir);
	struct build_events ev = ui_build_events(&ui);
	code = build_run(&b, &ev) < 0 ? cli_exit_code(cli) : EXIT_OK;
	/* Once the build ran, its pins hold whatever it did: a failed build is fixed and run
	 * again with the same sources. A run stopped before any job (a compiler missing, an
	 * interrupt, a source or disk problem) writes nothing, as it changes nothing else. The
	 * default set's whole plan holds exactly its own entries; a named set or a narrowed
	 * plan keeps the other entries of the lock. */
	if (rq.write_lock && (code == EXIT_OK || code == EXIT_BUILD_FAILED))
		write_lock(cli, &s, &pins, !a.plan.set && first == argc && !a.plan.ntoolchains &&
						   !a.plan.npythons);
	/* With a lock, the runtime closure of what was built is pinned there (--locked:
	 * checked against it); without one, collect resolves it. */
	if (code == EXIT_OK && (s.have_lock || rq.locked)) {
		struct runtime_request rr = {
			.mode = a.frozen ? RUNTIME_FROZEN : a.locked ? RUNTIME_LOCKED : RUNTIME_RESOLVE,
			.offline = rq.offline,
			.offline_flag = rq.offline_flag,
			.lock = s.have_lock ? &s.lock : NULL,
		};
		struct runtime_set rt;
		code = cli_runtime(cli, &s, &pins, &rr, !rq.locked, &rt);
		runtime_set_release(&rt);
	}
	ui_summary(&ui, &b, code, &cli->diags);
	cli->answered = cli->json; /* the result line carried the diagnostics */
done:
	code = cli_end(cli, code);
	if (have_build)
		build_release(&b);
	cache_live_end(&live);
	if (lock_fd >= 0)
		close(lock_fd);
	remote_cache_release(&remote);
	shard_split_release(&split);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}
