/* ptbuild lock: resolve every source of the plan and write ptbuild.lock. */
#include <stdlib.h>
#include <string.h>

#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "session/session.h"
#include "util/xalloc.h"

static const char lock_help[] =
	"usage: ptbuild lock [--set F] [--toolchain T] [--python V] [--offline]\n"
	"                    [--update [TARGET...]]\n"
	"\n"
	"Resolves the source of every recipe the build set reads (git refs to commits with\n"
	"every submodule commit, archive, sdist and wheel digests) and writes ptbuild.lock\n"
	"with them and each variant's build key and inputs. Sources already in the lock are\n"
	"kept as they are unless their recipe changed; --update resolves them again (a\n"
	"nightly wheel source moves to the newest version its index serves).\n"
	"\n"
	PLAN_OPTIONS_HELP
	OFFLINE_HELP
	"  --update         resolve every source again (moved tags, new uploads)\n"
	"  TARGET...        with --update: resolve only these recipes' sources again (a name\n"
	"                   a recipe provides, \"torch\", means that recipe)\n"
	"  --json           the lock's summary as JSON on stdout\n"
	"\n"
	"exit status: 0 written, 2 an input file or the request is wrong, 3 a source could\n"
	"not be resolved (network, missing ref); the old lock is then left as it was.\n";

enum { OPT_UPDATE = 2100 };

static const struct option lock_long[] = {
	PLAN_LONG_OPTIONS,
	{ "update", no_argument, NULL, OPT_UPDATE },
	OFFLINE_LONG_OPTION,
	{ NULL, 0, NULL, 0 },
};

struct lock_opts {
	struct plan_args plan;
	bool update, offline;
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	struct lock_opts *o = ctx;
	if (plan_args_option(&o->plan, opt, arg))
		return 0;
	if (opt == OPT_UPDATE) {
		o->update = true;
		return 0;
	}
	if (opt == OPT_OFFLINE) {
		o->offline = true;
		return 0;
	}
	return -1;
}

static const char *describe(const struct pin *pin, const struct recipe *r, char *buf, size_t size)
{
	if (pin->kind == SOURCE_GIT)
		snprintf(buf, size, "%s -> %.12s (%zu submodule%s)", r->source.ref, pin->commit,
			 pin->nsubs, pin->nsubs == 1 ? "" : "s");
	else if (pin->version)
		snprintf(buf, size, "%s %s (%zu file%s)", r->source.location, pin->version,
			 pin->nfiles, pin->nfiles == 1 ? "" : "s");
	else if (pin->nfiles == 1)
		snprintf(buf, size, "%s sha256 %.12s", pin->files[0].name, pin->files[0].sha256);
	else
		snprintf(buf, size, "%zu files (one per Python)", pin->nfiles);
	return buf;
}

static void print_summary(struct cli *cli, struct session *s, const struct pins *pins)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		json_result_begin(&w, &out, true);
		jw_kstring(&w, "lock", s->lock_path);
		jw_key(&w, "sources");
		jw_object_begin(&w);
		for (size_t i = 0; i < pins->n; i++) {
			jw_key(&w, pins->v[i].recipe);
			jw_object_begin(&w);
			jw_kstring(&w, "commit", pins->v[i].commit[0] ? pins->v[i].commit : NULL);
			jw_kbool(&w, "resolved", pins->v[i].resolved_now);
			if (pins->v[i].version)
				jw_kstring(&w, "version", pins->v[i].version);
			jw_object_end(&w);
		}
		jw_object_end(&w);
		jw_kint(&w, "variants", (long long)s->plan.n);
		json_result_end(cli, &w, &out);
		return;
	}
	if (cli->quiet)
		return;
	for (size_t i = 0; i < pins->n; i++) {
		const struct pin *pin = &pins->v[i];
		const struct recipe *r = project_recipe(&s->project, pin->recipe);
		char text[512];
		fprintf(cli->out, "  %-20s %-8s %s%s\n", pin->recipe, source_kind_name(pin->kind),
			describe(pin, r, text, sizeof(text)), pin->resolved_now ? "  (resolved)" : "");
	}
	fprintf(cli->out, "wrote %s: %zu source%s, %zu variant%s\n", s->lock_path, pins->n,
		pins->n == 1 ? "" : "s", s->plan.n, s->plan.n == 1 ? "" : "s");
}

int cmd_lock(struct cli *cli, int argc, char **argv)
{
	struct lock_opts o = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct lockfile next = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", lock_long, on_option, &o, lock_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (first < argc && !o.update) {
		diag_error(&cli->diags, NULL, "\"%s\": targets are named after --update", argv[first]);
		diag_hint(&cli->diags, "`ptbuild lock` locks the whole set; `ptbuild lock --update "
			     "%s` resolves that recipe again", argv[first]);
		code = EXIT_USAGE;
		goto done;
	}
	/* lock --update writes the whole lock anew: one that cannot be read is replaced */
	code = cli_session_open(cli, &s, &o.plan, NULL, 0, o.update && first == argc);
	if (code != EXIT_OK)
		goto done;
	struct pin_request rq = {
		.update_all = o.update && first == argc,
		.update = argv + first,
		.nupdate = (size_t)(argc - first),
		.offline = o.offline,
		.offline_flag = OFFLINE_FLAG(false, o.offline),
	};
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	for (size_t i = 0; i < pins.n; i++)
		pins_add_copy(&next.pins, &pins.v[i]);
	for (size_t i = 0; i < s.plan.n; i++) {
		char *id = variant_lock_id(&s.plan.v[i]);
		lockfile_set_variant(&next, id, s.plan.v[i].key, s.plan.v[i].key_input);
		free(id);
	}
	/* The runtime closures of built variants: kept where the key is unchanged (resolved
	 * again by --update), resolved for what was built since. */
	if (!o.update)
		runtime_carry(&s.lock, &next);
	struct runtime_request rr = {
		.mode = RUNTIME_RESOLVE,
		.offline = o.offline,
		.offline_flag = rq.offline_flag,
		.lock = &next,
	};
	struct runtime_set rt;
	code = cli_runtime(cli, &s, &pins, &rr, false, &rt);
	runtime_record(&s, &rt, &next);
	runtime_set_release(&rt);
	if (code != EXIT_OK)
		goto done;
	if (lockfile_write(&next, s.lock_path, &cli->diags) < 0) {
		code = EXIT_ENVIRONMENT;
		goto done;
	}
	print_summary(cli, &s, &pins);
done:
	code = cli_end(cli, code);
	lockfile_release(&next);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&o.plan);
	return code;
}
