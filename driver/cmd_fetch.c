/* ptbuild fetch: mirror, resolve and check out every source a plan reads. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "session.h"
#include "util/os.h"
#include "util/xalloc.h"

static const char fetch_help[] =
	"usage: ptbuild fetch [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                     [--locked | --frozen]\n"
	"\n"
	"Prepares the source tree of every recipe the plan reads in build/src/<recipe>-<ref>/:\n"
	"git sources exported from the cache's mirrors with every submodule, archives and\n"
	"sdists downloaded, verified and extracted; wheels downloaded into the cache. Pins in\n"
	"ptbuild.lock are used while their recipe is unchanged; other sources are resolved\n"
	"from upstream (`ptbuild lock` records them). Trees already at their pin are kept.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  TARGET...        fetch for these recipes (and what they need) instead of the set's\n"
	"  --locked         the lock only: stop if a tag moved, a digest changed, a recipe or\n"
	"                   any build input changed since the lock, or something is not in it\n"
	"  --frozen         --locked without any network access: everything from the cache\n"
	"  --json           the trees and pins as JSON on stdout\n"
	"\n"
	"exit status: 0 fetched, 2 an input file, the request or the lock is wrong, 3 a\n"
	"source could not be fetched (network, cache miss under --frozen, disk).\n";

enum { OPT_LOCKED = 2200, OPT_FROZEN };

static const struct option fetch_long[] = {
	PLAN_LONG_OPTIONS,
	{ "locked", no_argument, NULL, OPT_LOCKED },
	{ "frozen", no_argument, NULL, OPT_FROZEN },
	{ NULL, 0, NULL, 0 },
};

struct fetch_opts {
	struct plan_args plan;
	bool locked, frozen;
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	struct fetch_opts *o = ctx;
	if (plan_args_option(&o->plan, opt, arg))
		return 0;
	if (opt == OPT_LOCKED)
		o->locked = true;
	else if (opt == OPT_FROZEN)
		o->frozen = true;
	else
		return -1;
	return 0;
}

struct fetched {
	const struct recipe *r;
	const struct pin *pin;   /* NULL for path sources */
	char *tree;              /* owned, NULL for wheels */
	enum checkout_state state;
	double seconds;
};

static const char *state_name(enum checkout_state st)
{
	return st == CHECKOUT_WRITTEN ? "checked out" : st == CHECKOUT_NO_TREE ? "cached" : "up to date";
}

static void print_results(struct cli *cli, const struct fetched *f, size_t n, const char *base)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		json_result_begin(&w, &out, true);
		jw_key(&w, "sources");
		jw_array_begin(&w);
		for (size_t i = 0; i < n; i++) {
			jw_object_begin(&w);
			jw_kstring(&w, "recipe", f[i].r->name);
			jw_kstring(&w, "kind", source_kind_name(f[i].r->source.kind));
			jw_kstring(&w, "tree", f[i].tree);
			jw_kstring(&w, "state", state_name(f[i].state));
			jw_key(&w, "pin");
			pin_write_identity(&w, f[i].pin, NULL);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		json_result_end(cli, &w, &out);
		return;
	}
	if (cli->quiet)
		return;
	size_t written = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pin *pin = f[i].pin;
		char id[80] = "-";
		if (pin && pin->commit[0])
			snprintf(id, sizeof(id), "%.12s", pin->commit);
		else if (pin && pin->nfiles)
			snprintf(id, sizeof(id), "sha256 %.12s", pin->files[0].sha256);
		const char *tree = f[i].tree ? f[i].tree : "(wheel in the cache)";
		size_t blen = strlen(base);
		if (f[i].tree && !strncmp(tree, base, blen) && tree[blen] == '/')
			tree += blen + 1;
		fprintf(cli->out, "  %-20s %-19s %-12s %s", f[i].r->name, id, state_name(f[i].state),
			tree);
		if (f[i].state == CHECKOUT_WRITTEN)
			fprintf(cli->out, " (%.1f s)", f[i].seconds);
		fputc('\n', cli->out);
		written += f[i].state == CHECKOUT_WRITTEN;
	}
	fprintf(cli->out, "%zu source%s ready, %zu written\n", n, n == 1 ? "" : "s", written);
}

int cmd_fetch(struct cli *cli, int argc, char **argv)
{
	struct fetch_opts o = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct fetched *f = NULL;
	size_t nf = 0;
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", fetch_long, on_option, &o, fetch_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	code = session_plan(&s, cli, &o.plan, argv + first, (size_t)(argc - first));
	if (code == EXIT_OK)
		code = session_load_sources(&s, cli);
	if (code != EXIT_OK)
		goto done;
	struct pin_request rq = {
		.locked = o.locked || o.frozen,
		.offline = o.frozen,
		.note_unlocked = s.have_lock,
	};
	code = session_pin_sources(&s, cli, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	size_t n = 0;
	const struct recipe **recipes = session_source_recipes(&s, &n);
	f = xcalloc(n + 1, sizeof(*f));
	struct source_opts so = session_source_opts(&s, o.frozen);
	for (size_t i = 0; i < n; i++) {
		const struct recipe *r = recipes[i];
		const struct pin *pin = pins_find(&pins, r->name);
		struct fetched *x = &f[nf++];
		x->r = r;
		x->pin = pin;
		double t0 = monotonic_seconds();
		if (source_checkout(&so, r, pin, pin && pin->resolved_now, &x->tree, &x->state,
				    &cli->diags) < 0)
			code = EXIT_ENVIRONMENT;
		x->seconds = monotonic_seconds() - t0;
	}
	free(recipes);
	if (code == EXIT_OK)
		print_results(cli, f, nf, s.project.dir);
done:
	if (cli->json && code != EXIT_OK && first != -2)
		print_failure_json(cli);
	code = cli_finish(cli, code);
	for (size_t i = 0; i < nf; i++)
		free(f[i].tree);
	free(f);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&o.plan);
	return code;
}
