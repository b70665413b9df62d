/* ptbuild fetch: mirror, resolve and check out every source a plan reads. */
#include <stdlib.h>
#include <string.h>

#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "session/session.h"
#include "session/trees.h"
#include "util/os.h"
#include "util/xalloc.h"

static const char fetch_help[] =
	"usage: ptbuild fetch [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                     [--locked | --frozen] [--offline] [--patched-only | --pristine]\n"
	"\n"
	"Prepares the source tree of every recipe the plan reads in build/src/<recipe>-<ref>/:\n"
	"git sources exported from the cache's mirrors with every submodule, archives and\n"
	"sdists downloaded, verified and extracted; wheels downloaded into the cache. Pins in\n"
	"ptbuild.lock are used while their recipe is unchanged; other sources are resolved\n"
	"from upstream (`ptbuild lock` records them). Trees already at their pin are kept.\n"
	"\n"
	"A variant with patches gets build/src/<recipe>-<ref>-patched-<digest>/: a fresh\n"
	"export with its whole series applied, or nothing at all if one hunk does not apply\n"
	"(the message names the patch, the file, the hunk and the lines that differ).\n"
	"`ptbuild plan --patches` lists the series of each variant.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  TARGET...        fetch for these recipes (and what they need) instead of the set's\n"
	"  --locked         the lock only: stop if a tag moved, a digest changed, a recipe or\n"
	"                   any build input changed since the lock, or something is not in it\n"
	"  --frozen         --locked without any network access: everything from the cache\n"
	OFFLINE_HELP
	"  --patched-only   only the patched trees (and the trees their patches come from),\n"
	"                   to inspect what a build will compile\n"
	"  --pristine       the trees as upstream has them: no patches applied\n"
	"  --json           the trees and pins as JSON on stdout\n"
	"\n"
	"exit status: 0 fetched, 2 an input file, the request or the lock is wrong, or a patch\n"
	"does not apply, 3 a source could not be fetched (network, cache miss under --frozen,\n"
	"disk).\n";

enum { OPT_LOCKED = 2200, OPT_FROZEN, OPT_PATCHED_ONLY, OPT_PRISTINE };

static const struct option fetch_long[] = {
	PLAN_LONG_OPTIONS,
	{ "locked", no_argument, NULL, OPT_LOCKED },
	{ "frozen", no_argument, NULL, OPT_FROZEN },
	OFFLINE_LONG_OPTION,
	{ "patched-only", no_argument, NULL, OPT_PATCHED_ONLY },
	{ "pristine", no_argument, NULL, OPT_PRISTINE },
	{ NULL, 0, NULL, 0 },
};

struct fetch_opts {
	struct plan_args plan;
	bool locked, frozen, offline, patched_only, pristine;
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
	else if (opt == OPT_OFFLINE)
		o->offline = true;
	else if (opt == OPT_PATCHED_ONLY)
		o->patched_only = true;
	else if (opt == OPT_PRISTINE)
		o->pristine = true;
	else
		return -1;
	return 0;
}

static const char *state_name(enum checkout_state st)
{
	return st == CHECKOUT_WRITTEN ? "checked out" : st == CHECKOUT_NO_TREE ? "cached" : "up to date";
}

static void print_results(struct cli *cli, const struct tree_work *w, const char *base)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw jw;
		json_result_begin(&jw, &out, true);
		jw_key(&jw, "sources");
		jw_array_begin(&jw);
		for (size_t i = 0; i < w->n; i++) {
			const struct tree_job *f = &w->v[i];
			jw_object_begin(&jw);
			jw_kstring(&jw, "recipe", f->r->name);
			jw_kstring(&jw, "kind", source_kind_name(f->r->source.kind));
			jw_kstring(&jw, "tree", f->tree);
			jw_kstring(&jw, "state", state_name(f->state));
			jw_key(&jw, "pin");
			pin_write_identity(&jw, f->pin, NULL);
			jw_key(&jw, "patches");
			jw_array_begin(&jw);
			for (size_t k = 0; f->patches && k < f->patches->n; k++) {
				jw_object_begin(&jw);
				jw_kstring(&jw, "name", f->patches->v[k].name);
				jw_kstring(&jw, "sha256", f->patches->v[k].sha256);
				jw_object_end(&jw);
			}
			jw_array_end(&jw);
			if (f->state == CHECKOUT_WRITTEN && f->patches) {
				jw_kint(&jw, "hunks", (long long)f->stats.hunks);
				jw_kint(&jw, "hunks_at_offset", (long long)f->stats.offset_hunks);
			}
			jw_key(&jw, "variants");
			jw_array_begin(&jw);
			for (size_t k = 0; k < f->nlabels; k++)
				jw_string(&jw, f->labels[k]);
			jw_array_end(&jw);
			jw_object_end(&jw);
		}
		jw_array_end(&jw);
		json_result_end(cli, &jw, &out);
		return;
	}
	if (cli->quiet)
		return;
	size_t written = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct tree_job *f = &w->v[i];
		const struct pin *pin = f->pin;
		char id[80] = "-";
		if (pin && pin->commit[0])
			snprintf(id, sizeof(id), "%.12s", pin->commit);
		else if (pin && pin->nfiles)
			snprintf(id, sizeof(id), "sha256 %.12s", pin->files[0].sha256);
		const char *tree = f->tree ? f->tree : "(wheel in the cache)";
		size_t blen = strlen(base);
		if (f->tree && !strncmp(tree, base, blen) && tree[blen] == '/')
			tree += blen + 1;
		fprintf(cli->out, "  %-20s %-19s %-12s %s", f->r->name, id, state_name(f->state), tree);
		if (f->patches) {
			fprintf(cli->out, " (%zu patch%s", f->patches->n, f->patches->n == 1 ? "" : "es");
			if (f->state == CHECKOUT_WRITTEN && f->stats.offset_hunks)
				fprintf(cli->out, ", %zu hunk%s at an offset", f->stats.offset_hunks,
					f->stats.offset_hunks == 1 ? "" : "s");
			fputc(')', cli->out);
		}
		if (f->state == CHECKOUT_WRITTEN)
			fprintf(cli->out, " (%.1f s)", f->seconds);
		fputc('\n', cli->out);
		if (f->patches && cli->verbose) {
			fprintf(cli->out, "  %-20s for", "");
			for (size_t k = 0; k < f->nlabels; k++)
				fprintf(cli->out, " %s", f->labels[k]);
			fputc('\n', cli->out);
		}
		written += f->state == CHECKOUT_WRITTEN;
	}
	fprintf(cli->out, "%zu tree%s ready, %zu written\n", w->n, w->n == 1 ? "" : "s", written);
}

int cmd_fetch(struct cli *cli, int argc, char **argv)
{
	struct fetch_opts o = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct tree_work w = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", fetch_long, on_option, &o, fetch_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (o.patched_only && o.pristine) {
		diag_error(&cli->diags, NULL, "--patched-only and --pristine exclude each other");
		code = EXIT_USAGE;
		goto done;
	}
	code = cli_session_open(cli, &s, &o.plan, argv + first, (size_t)(argc - first), false);
	if (code != EXIT_OK)
		goto done;
	struct pin_request rq = {
		.locked = o.locked || o.frozen,
		.offline = o.frozen || o.offline,
		.offline_flag = OFFLINE_FLAG(o.frozen, o.offline),
		.note_unlocked = true,
	};
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	struct tree_select sel = { o.pristine, o.patched_only, NULL };
	if (trees_list(&s.plan, &s.project, &sel, &w, &cli->diags) < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	struct source_opts so = session_source_opts(&s, o.frozen);
	code = trees_prepare(&so, s.project.dir, &w, &pins, &cli->diags) < 0 ? cli_exit_code(cli)
									     : EXIT_OK;
	if (code == EXIT_OK)
		print_results(cli, &w, s.project.dir);
done:
	code = cli_end(cli, code);
	trees_release(&w);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&o.plan);
	return code;
}
