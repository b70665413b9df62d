/* ptbuild cache du | gc: what the cache holds, and removing what nothing references. */
#include <stdlib.h>
#include <string.h>

#include "build/cache_gc.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "session/session.h"
#include "util/strutil.h"

static const char cache_help[] =
	"usage: ptbuild cache du [--json]\n"
	"       ptbuild cache gc [--max-size SIZE] [--keep DAYS] [--dry-run] [--set F] [--json]\n"
	"\n"
	"The cache (--cache-dir, $PTBUILD_CACHE, else $XDG_CACHE_HOME/ptbuild) holds output\n"
	"entries (out/), downloaded files (dist/), git mirrors (git/), the environment store\n"
	"(envs/) and ccache's files (ccache/).\n"
	"\n"
	"  du    bytes and entries of each part, and the total\n"
	"  gc    remove what this project's plan, lock and build records do not reference\n"
	"        and nothing used within --keep days; never what a running build uses\n"
	"\n"
	"`ptbuild cache du --help` and `ptbuild cache gc --help` say more; docs/building.md,\n"
	"\"The cache\", has the rules.\n";

static const char du_help[] =
	"usage: ptbuild cache du [--json]\n"
	"\n"
	"What each part of the cache holds: bytes on disk (as du(1) counts them: allocated\n"
	"blocks, a file with several hard links once) and entries, per part: out (output\n"
	"entries), dist (downloaded files, one entry per digest), git (mirrors), envs (the\n"
	"environment store), ccache (files) and other (live files of running builds, gc's\n"
	"lock and trash), then the total and the cache's path. Reads nothing but metadata.\n"
	"\n"
	"  --json   {\"cache\", \"parts\": {NAME: {\"bytes\", \"entries\"}}, \"total\"}\n";

static const char gc_help[] =
	"usage: ptbuild cache gc [--max-size SIZE] [--keep DAYS] [--dry-run] [--set F]\n"
	"                        [--toolchain T] [--python V] [--json]\n"
	"\n"
	"Removes from the cache what nothing references: output entries whose key is neither\n"
	"in this project's plan (the set's, as `build` plans it), in ptbuild.lock nor in a\n"
	"build record (build/state/); dist files no pin of the plan or the lock names; mirrors\n"
	"no recipe (nor a pinned submodule) names; env entries. Anything used within --keep\n"
	"days is kept. With --max-size, then the least recently used of what is left until\n"
	"out, dist, git and envs fit in SIZE. ccache is bounded by its own max_size (`ccache\n"
	"-M`), not here. What a running `ptbuild build` uses (its <cache>/live/ file) is never\n"
	"removed. Each entry is moved into <cache>/trash/ first, then deleted: a gc that is\n"
	"killed leaves the cache usable, and the next gc empties the trash.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --max-size SIZE  then remove the least recently used until the rest fits\n"
	"                   (4GiB, 512M, 0)\n"
	"  --keep DAYS      keep what was used within DAYS days (default 7; 0: only what is\n"
	"                   referenced)\n"
	"  --dry-run        print what gc would remove; remove nothing\n"
	"  --json           {\"removed\": [{\"part\", \"name\", \"label\", \"bytes\", \"reason\"}],\n"
	"                   \"freed\", \"kept\", \"running_builds\", \"dry_run\", \"cache\"}\n"
	"\n"
	"exit status: 0 done, 2 a wrong option or project file, 3 the cache cannot be changed\n"
	"(another gc runs, permissions).\n";

enum { OPT_MAX_SIZE = 3100, OPT_KEEP, OPT_DRY_RUN };

static const struct option du_long[] = { { NULL, 0, NULL, 0 } };

static const struct option gc_long[] = {
	PLAN_LONG_OPTIONS,
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

struct gc_args {
	struct plan_args plan;
	struct gc_opts gc;
};

static int on_gc_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct gc_args *a = ctx;
	if (plan_args_option(&a->plan, opt, arg))
		return 0;
	if (opt == OPT_DRY_RUN) {
		a->gc.dry_run = true;
	} else if (opt == OPT_MAX_SIZE) {
		uint64_t bytes = 0;
		bool zero = arg[0] && strspn(arg, "0") == strlen(arg);
		if (!zero && size_parse(arg, &bytes) < 0) {
			diag_error(&cli->diags, NULL, "--max-size wants a size such as 10GiB, 512M or "
				   "0, not \"%s\"", arg);
			diag_hint(&cli->diags, "K, M, G and T are powers of 1024; see 'ptbuild cache "
				  "gc --help'");
			return -1;
		}
		a->gc.have_max = true;
		a->gc.max_size = bytes;
	} else if (opt == OPT_KEEP) {
		char *end = NULL;
		long days = strtol(arg, &end, 10);
		if (!arg[0] || *end || days < 0 || days > 36500) {
			diag_error(&cli->diags, NULL, "--keep wants a number of days (0 to 36500), not "
				   "\"%s\"", arg);
			diag_hint(&cli->diags, "--keep 0 keeps only what is referenced");
			return -1;
		}
		a->gc.keep_days = (int)days;
	} else {
		return -1;
	}
	return 0;
}

static int no_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli, (void)opt, (void)arg, (void)ctx;
	return -1;
}

static int unexpected_operand(struct cli *cli, const char *sub, const char *word)
{
	diag_error(&cli->diags, NULL, "`ptbuild cache %s` takes no operand, not \"%s\"", sub, word);
	diag_hint(&cli->diags, "try 'ptbuild cache %s --help'", sub);
	return cli_end(cli, EXIT_USAGE);
}

static int cache_du_cmd(struct cli *cli, int argc, char **argv)
{
	int first = cli_parse(cli, argc, argv, "", du_long, no_option, NULL, du_help);
	if (first == -2)
		return cli_end(cli, EXIT_OK);
	if (first < 0)
		return cli_end(cli, EXIT_USAGE);
	if (first < argc)
		return unexpected_operand(cli, "du", argv[first]);
	char *cache = cli_cache_dir(cli);
	struct cache_usage u;
	if (cache_du(cache, &u, &cli->diags) < 0) {
		diags_classify(&cli->diags, 0, DIAG_ENVIRONMENT);
		free(cache);
		return cli_end(cli, EXIT_ENVIRONMENT);
	}
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		json_result_begin(&w, &out, true);
		jw_kstring(&w, "cache", cache);
		jw_key(&w, "parts");
		jw_object_begin(&w);
		for (int p = 0; p < NPARTS; p++) {
			jw_key(&w, cache_part_name((enum cache_part)p));
			jw_object_begin(&w);
			jw_kint(&w, "bytes", (long long)u.bytes[p]);
			jw_kint(&w, "entries", (long long)u.entries[p]);
			jw_object_end(&w);
		}
		jw_object_end(&w);
		jw_kint(&w, "total", (long long)u.total);
		json_result_end(cli, &w, &out);
	} else {
		fprintf(cli->out, "cache %s\n", cache);
		for (int p = 0; p < NPARTS; p++) {
			char size[32];
			bool files = p == PART_CCACHE || p == PART_OTHER;
			fprintf(cli->out, "  %-7s %10s  %zu %s\n", cache_part_name((enum cache_part)p),
				size_format(u.bytes[p], size, sizeof(size)), u.entries[p],
				files ? (u.entries[p] == 1 ? "file" : "files")
				      : (u.entries[p] == 1 ? "entry" : "entries"));
		}
		char size[32];
		fprintf(cli->out, "  %-7s %10s\n", "total", size_format(u.total, size, sizeof(size)));
	}
	free(cache);
	return cli_end(cli, EXIT_OK);
}

static const char *reason_of(const struct gc_entry *e)
{
	return e->over_size ? "over --max-size" : "unreferenced";
}

static void print_gc(struct cli *cli, const char *cache, const struct gc_opts *o,
		     const struct gc_result *r)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		json_result_begin(&w, &out, true);
		jw_kstring(&w, "cache", cache);
		jw_kbool(&w, "dry_run", o->dry_run);
		jw_key(&w, "removed");
		jw_array_begin(&w);
		for (size_t i = 0; i < r->n; i++) {
			const struct gc_entry *e = &r->removed[i];
			jw_object_begin(&w);
			jw_kstring(&w, "part", cache_part_name(e->part));
			jw_kstring(&w, "name", e->name);
			jw_kstring(&w, "label", e->label);
			jw_kint(&w, "bytes", (long long)e->bytes);
			jw_kint(&w, "used", e->used);
			jw_kstring(&w, "reason", reason_of(e));
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_kint(&w, "freed", (long long)r->freed);
		jw_kint(&w, "kept", (long long)r->kept);
		jw_kint(&w, "running_builds", (long long)r->nlive);
		json_result_end(cli, &w, &out);
		return;
	}
	const char *verb = o->dry_run ? "would remove" : "removed";
	for (size_t i = 0; i < r->n && !cli->quiet; i++) {
		const struct gc_entry *e = &r->removed[i];
		char size[32];
		fprintf(cli->out, "%s %-6s %s%s%s%s  %s  (%s)\n", verb, cache_part_name(e->part),
			e->name, e->label ? " (" : "", e->label ? e->label : "", e->label ? ")" : "",
			size_format(e->bytes, size, sizeof(size)), reason_of(e));
	}
	if (cli->quiet)
		return;
	char freed[32], kept[32];
	fprintf(cli->out, "gc: %s %zu %s, %s%s; out, dist, git and envs %s %s", verb, r->n,
		r->n == 1 ? "entry" : "entries", size_format(r->freed, freed, sizeof(freed)),
		o->dry_run ? " would be freed" : " freed", o->dry_run ? "would hold" : "hold",
		size_format(r->kept, kept, sizeof(kept)));
	if (r->nlive)
		fprintf(cli->out, "; %zu running %s kept what %s", r->nlive,
			r->nlive == 1 ? "build" : "builds", r->nlive == 1 ? "it uses" : "they use");
	fprintf(cli->out, "\n");
}

static int cache_gc_cmd(struct cli *cli, int argc, char **argv)
{
	struct gc_args a = { .gc = { .keep_days = 7 } };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct cache_refs refs = { 0 };
	struct gc_result r = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", gc_long, on_gc_option, &a, gc_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (first < argc) {
		code = unexpected_operand(cli, "gc", argv[first]);
		plan_args_release(&a.plan);
		return code;
	}
	code = cli_session_open(cli, &s, &a.plan, NULL, 0, false);
	if (code != EXIT_OK)
		goto done;
	/* keys as a build computes them, from the lock's pins: never the network */
	struct pin_request rq = { .no_resolve = true };
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	cache_refs_of_session(&refs, &s, &pins, true);
	cache_refs_add_state(&refs, s.work_dir, &s.project);
	a.gc.refs = &refs;
	if (cache_gc(s.cache_dir, &a.gc, &r, &cli->diags) < 0) {
		print_gc(cli, s.cache_dir, &a.gc, &r); /* what was removed before the failure */
		code = cli_exit_code(cli);
		cli->answered = false;
		goto done;
	}
	print_gc(cli, s.cache_dir, &a.gc, &r);
done:
	code = cli_end(cli, code);
	gc_result_release(&r);
	cache_refs_release(&refs);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}

int cmd_cache(struct cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (sub && !strcmp(sub, "du"))
		return cache_du_cmd(cli, argc - 1, argv + 1);
	if (sub && !strcmp(sub, "gc"))
		return cache_gc_cmd(cli, argc - 1, argv + 1);
	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(cache_help, sub ? cli->out : cli->err);
		return cli_end(cli, sub ? EXIT_OK : EXIT_USAGE);
	}
	const char *subs[] = { "du", "gc" };
	diag_error(&cli->diags, NULL, "unknown cache command \"%s\"", sub);
	const char *near = closest_match(sub, subs, 2);
	if (near)
		diag_hint(&cli->diags, "did you mean \"ptbuild cache %s\"?", near);
	else
		diag_hint(&cli->diags, "`ptbuild cache` takes du or gc; try 'ptbuild cache --help'");
	return cli_end(cli, EXIT_USAGE);
}
