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
	"                     [--locked | --frozen] [--patched-only | --pristine]\n"
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
	{ "patched-only", no_argument, NULL, OPT_PATCHED_ONLY },
	{ "pristine", no_argument, NULL, OPT_PRISTINE },
	{ NULL, 0, NULL, 0 },
};

struct fetch_opts {
	struct plan_args plan;
	bool locked, frozen, patched_only, pristine;
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
	else if (opt == OPT_PATCHED_ONLY)
		o->patched_only = true;
	else if (opt == OPT_PRISTINE)
		o->pristine = true;
	else
		return -1;
	return 0;
}

/* One tree to prepare: a recipe's pristine tree, or one per distinct patch set. */
struct fetched {
	const struct recipe *r;
	const struct pin *pin;           /* NULL for path sources */
	const struct patch_list *patches; /* borrowed from a variant; NULL: pristine */
	char digest[SHA256_HEX_SIZE];
	const char **labels;             /* borrowed labels of the variants built from it */
	size_t nlabels, cap_labels;
	char *tree;                      /* owned, NULL for wheels */
	enum checkout_state state;
	struct patch_stats stats;
	double seconds;
};

struct work {
	struct fetched *v; /* owned */
	size_t n, cap;
};

static struct fetched *find_or_add(struct work *w, const struct recipe *r, const char *digest)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].r == r && !strcmp(w->v[i].digest, digest ? digest : ""))
			return &w->v[i];
	GROW(w->v, w->cap, w->n + 1);
	struct fetched *f = &w->v[w->n++];
	memset(f, 0, sizeof(*f));
	f->r = r;
	snprintf(f->digest, sizeof(f->digest), "%s", digest ? digest : "");
	return f;
}

static void add_variant_label(struct fetched *f, const struct variant *v)
{
	GROW(f->labels, f->cap_labels, f->nlabels + 1);
	f->labels[f->nlabels++] = v->label;
}

/*
 * The trees to prepare, pristine ones first (patches may be read from them): one per
 * recipe without patches, one per distinct patch set of a recipe's variants.
 */
static int list_work(struct session *s, struct cli *cli, const struct fetch_opts *o,
		     struct work *w)
{
	const struct plan *plan = &s->plan;
	size_t n = 0;
	const struct recipe **recipes = session_source_recipes(s, &n);
	int errors = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct variant *v = &plan->v[i];
		if (v->patches_unresolved && !o->pristine) {
			diag_error(&cli->diags, &v->recipe->pos, "the patch series of \"%s\" (%s) read "
				   "a tree whose files are not listed", v->recipe->name, v->label);
			diag_hint(&cli->diags, "run `ptbuild lock`");
			errors++;
		}
	}
	/* Pristine trees: recipes built without patches, sources only read, patch sources. */
	for (size_t k = 0; k < n && !errors; k++) {
		const struct recipe *r = recipes[k];
		bool needed = !o->patched_only;
		bool has_variant = false, unpatched = false, read_by_patches = false;
		for (size_t i = 0; i < plan->n; i++) {
			const struct variant *v = &plan->v[i];
			if (v->recipe == r) {
				has_variant = true;
				unpatched |= o->pristine || !v->patches.n;
			}
			for (size_t p = 0; !o->pristine && p < v->patches.n; p++)
				read_by_patches |= v->patches.v[p].source &&
						   !strcmp(v->patches.v[p].source, r->name);
		}
		if (read_by_patches || (needed && (unpatched || !has_variant))) {
			struct fetched *f = find_or_add(w, r, NULL);
			for (size_t i = 0; i < plan->n; i++)
				if (plan->v[i].recipe == r && (o->pristine || !plan->v[i].patches.n))
					add_variant_label(f, &plan->v[i]);
		}
	}
	for (size_t i = 0; i < plan->n && !errors && !o->pristine; i++) {
		const struct variant *v = &plan->v[i];
		if (!v->patches.n)
			continue;
		char digest[SHA256_HEX_SIZE];
		patch_list_digest(&v->patches, digest);
		struct fetched *f = find_or_add(w, v->recipe, digest);
		f->patches = &v->patches;
		add_variant_label(f, v);
	}
	free(recipes);
	return errors ? -1 : 0;
}

/* The patch files of `f` as patch_apply reads them: this project's or in a pristine tree
 * prepared earlier in `w`. NULL (error recorded) if such a tree is missing. */
static struct patch_ref *patch_refs(const struct work *w, const struct fetched *f,
				    const char *project_dir, char ***paths, struct diags *d)
{
	const struct patch_list *l = f->patches;
	struct patch_ref *refs = xcalloc(l->n + 1, sizeof(*refs));
	*paths = xcalloc(l->n + 1, sizeof(char *));
	for (size_t i = 0; i < l->n; i++) {
		const struct patch_file *pf = &l->v[i];
		const char *base = project_dir;
		if (pf->source) {
			base = NULL;
			for (size_t k = 0; k < w->n && !base; k++)
				if (!w->v[k].patches && !strcmp(w->v[k].r->name, pf->source))
					base = w->v[k].tree;
			if (!base) {
				diag_error(d, NULL, "the tree of \"%s\", which holds the patch \"%s\", is "
					   "not ready", pf->source, pf->name);
				for (size_t k = 0; k < i; k++)
					free((*paths)[k]);
				free(*paths);
				free(refs);
				return NULL;
			}
		}
		(*paths)[i] = path_join(base, pf->path);
		refs[i] = (struct patch_ref){ pf->name, (*paths)[i], pf->sha256 };
	}
	return refs;
}

static const char *state_name(enum checkout_state st)
{
	return st == CHECKOUT_WRITTEN ? "checked out" : st == CHECKOUT_NO_TREE ? "cached" : "up to date";
}

static void print_results(struct cli *cli, const struct work *w, const char *base)
{
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw jw;
		json_result_begin(&jw, &out, true);
		jw_key(&jw, "sources");
		jw_array_begin(&jw);
		for (size_t i = 0; i < w->n; i++) {
			const struct fetched *f = &w->v[i];
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
		const struct fetched *f = &w->v[i];
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
	struct work w = { 0 };
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
	if (list_work(&s, cli, &o, &w) < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	struct source_opts so = session_source_opts(&s, o.frozen);
	for (size_t i = 0; i < w.n && code == EXIT_OK; i++) {
		struct fetched *x = &w.v[i];
		x->pin = pins_find(&pins, x->r->name);
		double t0 = monotonic_seconds();
		char **paths = NULL;
		struct tree_patches tp = { 0 };
		if (x->patches) {
			tp.refs = patch_refs(&w, x, s.project.dir, &paths, &cli->diags);
			if (!tp.refs) {
				code = EXIT_ENVIRONMENT;
				break;
			}
			tp.n = x->patches->n;
			tp.digest = x->digest;
		}
		int rc = source_checkout(&so, x->r, x->pin, x->pin && x->pin->resolved_now,
					 x->patches ? &tp : NULL, &x->tree, &x->state, &cli->diags);
		if (rc == -2)
			code = EXIT_USAGE;
		else if (rc < 0)
			code = EXIT_ENVIRONMENT;
		x->stats = tp.stats;
		x->seconds = monotonic_seconds() - t0;
		for (size_t k = 0; paths && k < tp.n; k++)
			free(paths[k]);
		free(paths);
		free((void *)tp.refs);
	}
	if (code == EXIT_OK)
		print_results(cli, &w, s.project.dir);
done:
	if (cli->json && code != EXIT_OK && first != -2)
		print_failure_json(cli);
	code = cli_finish(cli, code);
	for (size_t i = 0; i < w.n; i++) {
		free(w.v[i].tree);
		free(w.v[i].labels);
	}
	free(w.v);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&o.plan);
	return code;
}
