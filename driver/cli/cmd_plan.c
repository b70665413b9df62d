/* ptbuild plan: the build order, each variant, its build key and what it depends on. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "plan/plan.h"
#include "plan/shard.h"
#include "model/project.h"
#include "session/session.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/url.h"
#include "util/xalloc.h"

static const char plan_help[] =
	"usage: ptbuild plan [TARGET...] [--set F] [--toolchain T] [--python V] [-j N]\n"
	"                    [--mem-per-job SIZE] [--patches] [--shard K/N | --matrix N] [--json]\n"
	"\n"
	"Expands a build set (targets x toolchains x Python versions, minus excludes), pulls\n"
	"in dependencies for the same toolchain and Python, and prints the build order with\n"
	"each variant's build key and dependencies. Keys use the source pins of ptbuild.lock\n"
	"where the recipe is unchanged. Nothing is fetched or built.\n"
	"\n"
	"The \"build\" column says what `ptbuild build` would do: \"cached\" (the output\n"
	"cache has the key), \"wheel\" (a prebuilt wheel source), or the share of the job\n"
	"budget the build would get (MAX_JOBS), from a simulated schedule with -j and\n"
	"--mem-per-job as `build` takes them.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  TARGET...        plan these recipes instead of the set's targets\n"
	"  --json           one JSON document on stdout\n"
	"  --patches        every patch file that applies, in order, with its sha256\n"
	"  -j N, --mem-per-job SIZE\n"
	"                   the job budget the shares are computed for (see `build --help`)\n"
	"  --shard K/N      only what shard K of N builds (`build --shard K/N`): the plan's\n"
	"                   built variants split into N shards balanced by expected seconds,\n"
	"                   dependency chains kept whole (docs/building.md, \"Sharding\")\n"
	"  --matrix N       the N shards: variants and expected seconds of each; with --json,\n"
	"                   an \"include\" list a CI matrix takes (GitHub Actions fromJSON),\n"
	"                   each with the split's id for `build --split`\n"
	"  -v               full keys, environments and toolchain fingerprints (and --patches)\n"
	"\n"
	"exit status: 0 planned, 2 an input file or the request is wrong, 3 environment.\n";

enum { OPT_PATCHES = 2300, OPT_SHARD, OPT_MATRIX };

static const struct option plan_long[] = {
	PLAN_LONG_OPTIONS,
	{ "patches", no_argument, NULL, OPT_PATCHES },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "matrix", required_argument, NULL, OPT_MATRIX },
	BUDGET_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct plan_opts {
	struct plan_args plan;
	struct build_opts budget;
	bool patches;
	struct shard_spec shard; /* k 0: not sharded */
	int matrix;              /* 0: no --matrix */
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct plan_opts *o = ctx;
	int rc = budget_option(cli, &o->budget, opt, arg);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (opt == OPT_PATCHES) {
		o->patches = true;
		return 0;
	}
	if (opt == OPT_SHARD)
		return shard_parse(arg, "--shard", &o->shard, &cli->diags);
	if (opt == OPT_MATRIX)
		return shard_count_parse(arg, "--matrix", &o->matrix, &cli->diags);
	return plan_args_option(&o->plan, opt, arg) ? 0 : -1;
}

/* How many files of series `index` apply, and whether they are known yet. */
static void series_count(const struct variant *v, size_t index, struct buf *out)
{
	const struct patch_series *ps = &v->recipe->patches[index];
	const char *rest;
	char *src = series_source(ps->series ? ps->series : ps->files.v[0].s, &rest);
	size_t n = 0;
	for (size_t k = 0; k < v->patches.n; k++)
		n += v->patches.v[k].series == index;
	if (src && !n && v->patches_unresolved)
		buf_addf(out, " (files listed once %s is locked)", src);
	else
		buf_addf(out, " (%zu file%s)", n, n == 1 ? "" : "s");
	free(src);
}

static void series_text(const struct patch_series *ps, struct buf *out)
{
	if (ps->series) {
		buf_adds(out, ps->series);
	} else {
		for (size_t k = 0; k < ps->files.n; k++)
			buf_addf(out, "%s%s", k ? " " : "", ps->files.v[k].s);
	}
	for (size_t k = 0; k < ps->exclude.n; k++)
		buf_addf(out, "%s%s", k ? ", " : " (excluding ", ps->exclude.v[k].s);
	if (ps->exclude.n)
		buf_addch(out, ')');
	for (size_t k = 0; k < ps->when.n; k++)
		buf_addf(out, "%s%s=%s", k ? ", " : " when ", ps->when.v[k].key, ps->when.v[k].value);
}

/* What `build` would do with variant i: "cached", "wheel" or "N jobs". */
static const char *build_column(const struct variant *v, int share, char *buf, size_t len)
{
	if (v->recipe->source.kind == SOURCE_WHEEL)
		return "wheel";
	if (!share)
		return "cached";
	snprintf(buf, len, "%d job%s", share, share == 1 ? "" : "s");
	return buf;
}

/* Whether variant i appears under --shard: it is built there, or a variant built there
 * needs it (a wheel source, or one of another shard taken from the output cache). */
static bool shown(const struct plan *plan, const struct shard_split *split, int k, size_t i)
{
	if (!split || split->shard_of[i] == k)
		return true;
	for (size_t j = 0; j < plan->n; j++)
		if (split->shard_of[j] == k)
			for (size_t d = 0; d < plan->v[j].ndeps; d++)
				if (plan->v[j].deps[d] == i)
					return true;
	return false;
}

/* Expected seconds of a shard, rounded up. */
static long long shard_seconds(const struct shard_split *split, int k)
{
	return (split->ms[k] + 999) / 1000;
}

static void print_json(struct cli *cli, const struct plan *plan, const struct buildset *set,
		       const int *shares, const struct shard_split *split, int shard)
{
	struct buf out = BUF_INIT;
	struct jw w;
	json_result_begin(&w, &out, true);
	jw_key(&w, "set");
	if (set) {
		jw_object_begin(&w);
		jw_kstring(&w, "name", set->name);
		jw_kstring(&w, "file", set->file);
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "toolchains");
	jw_array_begin(&w);
	for (size_t i = 0; i < plan->ntoolchains; i++)
		jw_string(&w, plan->toolchains[i]);
	jw_array_end(&w);
	jw_key(&w, "python");
	jw_array_begin(&w);
	for (size_t i = 0; i < plan->npythons; i++)
		jw_string(&w, plan->pythons[i]);
	jw_array_end(&w);
	if (split) {
		jw_key(&w, "shard");
		jw_object_begin(&w);
		jw_kint(&w, "index", shard);
		jw_kint(&w, "count", split->nshards);
		jw_kint(&w, "variants", (long long)split->count[shard]);
		jw_kint(&w, "expected_seconds", shard_seconds(split, shard));
		jw_kstring(&w, "split", split->id);
		jw_object_end(&w);
	}
	jw_key(&w, "variants");
	jw_array_begin(&w);
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *v = &plan->v[i];
		if (!shown(plan, split, shard, i))
			continue;
		jw_object_begin(&w);
		jw_kint(&w, "index", (long long)i + 1);
		if (split) {
			/* a wheel source: every shard fetches it */
			jw_kbool(&w, "in_shard", !split->shard_of[i] || split->shard_of[i] == shard);
			jw_kint(&w, "shard", split->shard_of[i]);
		}
		jw_kstring(&w, "recipe", v->recipe->name);
		jw_kstring(&w, "version", v->recipe->version);
		jw_kstring(&w, "toolchain", v->tc->name);
		jw_kstring(&w, "python", v->python);
		jw_kstring(&w, "variant", v->label);
		jw_kbool(&w, "target", v->target);
		jw_kstring(&w, "key", v->key);
		jw_kstring(&w, "build", v->recipe->source.kind == SOURCE_WHEEL ? "wheel"
					: shares[i] ? "build"
					: split && split->shard_of[i] != shard ? "elsewhere" : "cached");
		jw_kint(&w, "jobs", shares[i]);
		jw_kstring(&w, "source", source_kind_name(v->recipe->source.kind));
		char *location = url_redact(v->recipe->source.location);
		jw_kstring(&w, "location", location); /* never a password */
		free(location);
		if (v->recipe->source.ref)
			jw_kstring(&w, "ref", v->recipe->source.ref);
		jw_key(&w, "pinned");
		pin_write_identity(&w, pins_find(plan->pins, v->recipe->name), v->python);
		jw_key(&w, "depends");
		jw_array_begin(&w);
		for (size_t k = 0; k < v->ndeps; k++) {
			const struct variant *dv = &plan->v[v->deps[k]];
			jw_object_begin(&w);
			jw_kstring(&w, "recipe", dv->recipe->name);
			jw_kstring(&w, "key", dv->key);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_key(&w, "patches");
		jw_array_begin(&w);
		for (size_t k = 0; k < v->nseries; k++) {
			struct buf text = BUF_INIT;
			series_text(&v->recipe->patches[v->series[k]], &text);
			jw_string(&w, text.data);
			buf_release(&text);
		}
		jw_array_end(&w);
		jw_key(&w, "patch_files");
		jw_array_begin(&w);
		for (size_t k = 0; k < v->patches.n; k++) {
			jw_object_begin(&w);
			jw_kstring(&w, "path", v->patches.v[k].name);
			jw_kstring(&w, "sha256", v->patches.v[k].sha256);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_kbool(&w, "patches_resolved", !v->patches_unresolved);
		jw_kstring(&w, "local_version", v->local_version);
		jw_key(&w, "submodule_overrides");
		jw_object_begin(&w);
		for (size_t k = 0; k < v->recipe->noverrides; k++) {
			const struct submodule_override *o = &v->recipe->overrides[k];
			jw_key(&w, o->path);
			jw_object_begin(&w);
			jw_kstring(&w, "git", o->git);
			jw_kstring(&w, "ref", o->ref);
			jw_object_end(&w);
		}
		jw_object_end(&w);
		jw_key(&w, "env");
		jw_object_begin(&w);
		for (size_t k = 0; k < v->env.n; k++)
			jw_kstring(&w, v->env.v[k].name, v->env.v[k].value);
		jw_object_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	json_result_end(cli, &w, &out);
}

static int width_of(const struct plan *plan, int which)
{
	int w = which == 0 ? 6 : which == 1 ? 7 : 7;
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *v = &plan->v[i];
		const char *s = which == 0 ? v->recipe->name : which == 1 ? v->recipe->version : v->label;
		if ((int)strlen(s) > w)
			w = (int)strlen(s);
	}
	return w;
}

static void print_table(struct cli *cli, const struct plan *plan, const struct buildset *set,
			const int *shares, bool list_patches, const struct shard_split *split,
			int shard)
{
	FILE *f = cli->out;
	if (set)
		fprintf(f, "build set \"%s\" (%s): ", set->name, set->file);
	fprintf(f, "%zu variant%s; toolchains ", plan->n, plan->n == 1 ? "" : "s");
	for (size_t i = 0; i < plan->ntoolchains; i++)
		fprintf(f, "%s%s", i ? ", " : "", plan->toolchains[i]);
	fprintf(f, "; Python ");
	for (size_t i = 0; i < plan->npythons; i++)
		fprintf(f, "%s%s", i ? ", " : "", plan->pythons[i]);
	fprintf(f, "\n");
	if (split)
		fprintf(f, "shard %d/%d: %zu variant%s to build, expected %llds\n", shard,
			split->nshards, split->count[shard], split->count[shard] == 1 ? "" : "s",
			shard_seconds(split, shard));
	fprintf(f, "\n");
	int wr = width_of(plan, 0), wv = width_of(plan, 1), wl = width_of(plan, 2);
	int wk = cli->verbose ? 64 : 12;
	int wi = plan->n >= 100 ? 4 : 3;
	fprintf(f, "%*s  %-*s  %-*s  %-*s  %-*s  %-8s  %s\n", wi, "#", wr, "recipe", wv, "version",
		wl, "variant", wk, "key", "build", "depends on");
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *v = &plan->v[i];
		if (!shown(plan, split, shard, i))
			continue;
		struct buf deps = BUF_INIT;
		for (size_t k = 0; k < v->ndeps; k++)
			buf_addf(&deps, "%s%s", k ? ", " : "", plan->v[v->deps[k]].recipe->name);
		char col[32];
		fprintf(f, "%*zu  %-*s  %-*s  %-*s  %-*.*s  %-8s  %s\n", wi, i + 1, wr, v->recipe->name,
			wv, v->recipe->version, wl, v->label, wk, wk, v->key,
			split && split->shard_of[i] && split->shard_of[i] != shard ? "elsewhere"
				: build_column(v, shares[i], col, sizeof(col)),
			deps.len ? deps.data : "-");
		buf_release(&deps);
		for (size_t k = 0; k < v->nseries; k++) {
			struct buf text = BUF_INIT;
			series_text(&v->recipe->patches[v->series[k]], &text);
			series_count(v, v->series[k], &text);
			fprintf(f, "%*s  patches: %s\n", wi, "", text.data);
			buf_release(&text);
			for (size_t p = 0; list_patches && p < v->patches.n; p++)
				if (v->patches.v[p].series == v->series[k])
					fprintf(f, "%*s    %.12s  %s\n", wi, "", v->patches.v[p].sha256,
						v->patches.v[p].name);
		}
		if (cli->verbose && v->local_version)
			fprintf(f, "%*s  local version +%s\n", wi, "", v->local_version);
		for (size_t k = 0; cli->verbose && k < v->recipe->noverrides; k++) {
			const struct submodule_override *o = &v->recipe->overrides[k];
			fprintf(f, "%*s  submodule %s -> %s @ %s\n", wi, "", o->path, o->git, o->ref);
		}
		if (cli->verbose)
			for (size_t k = 0; k < v->env.n; k++)
				fprintf(f, "%*s  env %s=%s\n", wi, "", v->env.v[k].name, v->env.v[k].value);
	}
	if (cli->verbose) {
		fprintf(f, "\nfingerprints (%s):\n", plan->fp.platform);
		for (size_t i = 0; i < plan->fp.ntc; i++) {
			const struct toolchain_fp *t = &plan->fp.tc[i];
			fprintf(f, "  %s: cc %s | c++ %s", t->tc->name, t->cc, t->cxx);
			if (t->nvcc)
				fprintf(f, " | nvcc %s", t->nvcc);
			if (t->mcc)
				fprintf(f, " | mcc %s", t->mcc);
			if (t->nccl)
				fprintf(f, " | NCCL %s", t->nccl);
			fputc('\n', f);
		}
		for (size_t i = 0; i < plan->fp.npy; i++)
			fprintf(f, "  python%s: %s (%s)\n", plan->fp.py[i].version, plan->fp.py[i].full,
				plan->fp.py[i].interpreter ? plan->fp.py[i].interpreter : "-");
	}
}

/* --matrix N: one row per shard; with --json the "include" list of a CI matrix. */
static void print_matrix(struct cli *cli, const struct shard_split *split)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		json_result_begin(&w, &out, true);
		jw_kint(&w, "shards", split->nshards);
		jw_key(&w, "include");
		jw_array_begin(&w);
		for (int k = 1; k <= split->nshards; k++) {
			char name[32];
			snprintf(name, sizeof(name), "%d/%d", k, split->nshards);
			jw_object_begin(&w);
			jw_kstring(&w, "shard", name);
			jw_kint(&w, "variants", (long long)split->count[k]);
			jw_kint(&w, "expected_seconds", shard_seconds(split, k));
			jw_kstring(&w, "split", split->id);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		json_result_end(cli, &w, &out);
		return;
	}
	if (cli->quiet)
		return;
	fprintf(cli->out, "split %s\n%-8s  %8s  %8s\n", split->id, "shard", "variants", "expected");
	for (int k = 1; k <= split->nshards; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%d/%d", k, split->nshards);
		fprintf(cli->out, "%-8s  %8zu  %7llds\n", name, split->count[k], shard_seconds(split, k));
	}
}

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	struct plan_opts o = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct shard_split split = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "j:", plan_long, on_option, &o, plan_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (o.shard.k && o.matrix) {
		diag_error(&cli->diags, NULL, "--shard and --matrix do not go together");
		diag_hint(&cli->diags, "--matrix N lists every shard; --shard K/N shows one of them");
		code = EXIT_USAGE;
		goto done;
	}
	code = cli_session_open(cli, &s, &o.plan, argv + first, (size_t)(argc - first), false);
	if (code != EXIT_OK)
		goto done;
	/* Keys as a build would compute them: with the lock's pins where they still apply. */
	struct pin_request rq = { .no_resolve = true };
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	build_opts_defaults(&o.budget);
	int nshards = o.matrix ? o.matrix : o.shard.n;
	if (nshards)
		build_shard_split(&split, &s, nshards);
	if (o.matrix) {
		print_matrix(cli, &split);
		goto done;
	}
	if (nshards) { /* the shares of a schedule of this shard only */
		o.budget.shard_of = split.shard_of;
		o.budget.shard = o.shard.k;
		o.budget.nshards = nshards;
	}
	int *shares = build_expected_shares(&s, &o.budget);
	const struct shard_split *sp = nshards ? &split : NULL;
	if (cli->json)
		print_json(cli, &s.plan, s.have_set ? &s.set : NULL, shares, sp, o.shard.k);
	else if (!cli->quiet)
		print_table(cli, &s.plan, s.have_set ? &s.set : NULL, shares,
			    o.patches || cli->verbose, sp, o.shard.k);
	free(shares);
done:
	code = cli_end(cli, code);
	shard_split_release(&split);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&o.plan);
	return code;
}
