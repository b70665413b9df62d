/* ptbuild explain: why a variant would rebuild, from its last successful build's record. */
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "build/outcache.h"
#include "plan/key.h"
#include "session/session.h"
#include "util/strutil.h"

static const char explain_help[] =
	"usage: ptbuild explain TARGET... [--set F] [--toolchain T] [--python V]\n"
	"\n"
	"For each variant of each TARGET in the plan, compares the inputs of its build key now\n"
	"with those of its last successful build (build/state/<recipe>/<variant>.json) and\n"
	"says what changed:\n"
	"  rebuild: env TORCH_CUDA_ARCH_LIST changed '8.0' -> '8.0;9.0'\n"
	"  rebuild: dependency torch rebuilt\n"
	"  rebuild: source ref v0.24.0 -> v0.24.1\n"
	"  up to date\n"
	"  unknown: built (key ...), but without ptbuild.lock its sources are not identified\n"
	"Sources are identified by ptbuild.lock (nothing is fetched).\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --json           the reasons as JSON on stdout\n"
	"\n"
	"exit status: 0 explained, 2 an input file or the request is wrong.\n";

static const struct option explain_long[] = {
	PLAN_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	return plan_args_option(ctx, opt, arg) ? 0 : -1;
}

/* ---- turning the key's changes into reasons ------------------------------------------------ */

static const char *value_or(const char *s, const char *none)
{
	return s ? s : none;
}

/* One line per changed input. */
static void reason(const struct key_change *c, struct buf *out)
{
	const char *x = c->old_value, *y = c->new_value;
	switch (c->kind) {
	case KEY_CHANGE_ENV:
		if (!x)
			buf_addf(out, "rebuild: env %s set to %s\n", c->name, y);
		else if (!y)
			buf_addf(out, "rebuild: env %s removed (was %s)\n", c->name, x);
		else
			buf_addf(out, "rebuild: env %s changed %s -> %s\n", c->name, x, y);
		break;
	case KEY_CHANGE_DEPENDENCY:
		if (!x)
			buf_addf(out, "rebuild: new dependency %s\n", c->name);
		else if (!y)
			buf_addf(out, "rebuild: dependency %s dropped\n", c->name);
		else
			buf_addf(out, "rebuild: dependency %s rebuilt\n", c->name);
		break;
	case KEY_CHANGE_SOURCE_REF:
		buf_addf(out, "rebuild: source ref %s -> %s\n", value_or(c->old_text, "?"),
			 value_or(c->new_text, "?"));
		break;
	case KEY_CHANGE_SOURCE_PIN:
		buf_addf(out, "rebuild: source %s changed %s -> %s\n", c->name, value_or(x, "(none)"),
			 value_or(y, "(none)"));
		break;
	case KEY_CHANGE_PATCHES:
		buf_addf(out, "rebuild: patches changed (%zu file%s before, %zu now)\n", c->old_count,
			 c->old_count == 1 ? "" : "s", c->new_count);
		break;
	case KEY_CHANGE_FINGERPRINT:
		buf_addf(out, "rebuild: %s changed %s -> %s\n", c->name, value_or(x, "(none)"),
			 value_or(y, "(none)"));
		break;
	case KEY_CHANGE_PYTHON:
		buf_addf(out, "rebuild: Python changed %s -> %s\n", value_or(x, "(none)"),
			 value_or(y, "(none)"));
		break;
	case KEY_CHANGE_OTHER:
		buf_addf(out, "rebuild: %s changed %s -> %s\n", c->path, value_or(x, "(absent)"),
			 value_or(y, "(absent)"));
		break;
	}
}

static int explain_variant(struct session *s, struct cli *cli, const struct pins *pins,
			   size_t index, struct jw *w)
{
	const struct variant *v = &s->plan.v[index];
	/* a source the pins lack: its key now is not known (explain never resolves) */
	const char *unpinned = session_unpinned_source(s, pins, index);
	char *path = state_record_path(s->work_dir, v->recipe->name, v->label);
	struct build_record rec;
	struct diags d;
	diags_init(&d);
	struct buf text = BUF_INIT;
	const char *status;
	if (v->recipe->source.kind == SOURCE_WHEEL) {
		status = "prebuilt";
		buf_addf(&text, "prebuilt: a wheel source, nothing is built\n");
	} else if (build_record_load(path, &rec, &d) < 0) {
		status = "never built";
		if (d.n) {
			diags_take(&cli->diags, &d);
			buf_addf(&text, "build: the record %s cannot be read\n", path);
		} else {
			buf_addf(&text, "build: no successful build recorded (%s)\n", path);
		}
	} else {
		bool cached = out_entry_exists(s->cache_dir, v->key);
		if (!strcmp(rec.key, v->key)) {
			status = cached ? "up to date" : "rebuild";
			if (cached)
				buf_addf(&text, "up to date\n");
			else
				buf_addf(&text, "rebuild: the output cache has no entry for key %.16s "
						"(removed by hand or by `ptbuild cache gc`)\n", v->key);
		} else if (unpinned && !s->have_lock) {
			status = "unknown";
			buf_addf(&text, "unknown: built (key %.16s), but without %s its sources are "
					"not identified now: run `ptbuild build` or `ptbuild lock`\n",
				 rec.key, LOCKFILE_NAME);
		} else if (unpinned) {
			status = "rebuild";
			buf_addf(&text, "rebuild: the source of %s changed since %s (`ptbuild build` "
					"resolves it again)\n", unpinned, LOCKFILE_NAME);
		} else {
			status = "rebuild";
			struct key_changes changes = { 0 };
			if (key_diff(rec.inputs, v->key_input, &changes, &d) == 0)
				for (size_t i = 0; i < changes.n; i++)
					reason(&changes.v[i], &text);
			key_changes_release(&changes);
			if (cached)
				buf_addf(&text, "(an output for the new key is cached already: "
						"`ptbuild build` reuses it)\n");
		}
		build_record_release(&rec);
	}
	if (w) {
		jw_object_begin(w);
		jw_kstring(w, "recipe", v->recipe->name);
		jw_kstring(w, "variant", v->label);
		jw_kstring(w, "key", v->key);
		jw_kstring(w, "status", status);
		jw_key(w, "reasons");
		jw_array_begin(w);
		const char *cur = text.data ? text.data : "";
		char *line;
		while ((line = next_line(&cur))) {
			jw_string(w, line);
			free(line);
		}
		jw_array_end(w);
		jw_object_end(w);
	} else {
		fprintf(cli->out, "%s (%s):\n", v->recipe->name, v->label);
		const char *cur = text.data ? text.data : "";
		char *line;
		while ((line = next_line(&cur))) {
			fprintf(cli->out, "  %s\n", line);
			free(line);
		}
	}
	buf_release(&text);
	diags_release(&d);
	free(path);
	return 0;
}

int cmd_explain(struct cli *cli, int argc, char **argv)
{
	struct plan_args a = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", explain_long, on_option, &a, explain_help);
	if (first == -2)
		goto done;
	if (first < 0 || first == argc) {
		if (first == argc)
			diag_error(&cli->diags, NULL, "explain needs a TARGET: the recipe whose "
				   "variants to explain");
		code = EXIT_USAGE;
		goto done;
	}
	/* The whole set is planned (dependencies' keys are inputs); targets filter after. */
	code = cli_session_open(cli, &s, &a, NULL, 0, false);
	if (code != EXIT_OK)
		goto done;
	struct pin_request rq = { .no_resolve = true };
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	for (int i = first; i < argc; i++) {
		bool found = false;
		for (size_t k = 0; k < s.plan.n && !found; k++)
			found = !strcmp(s.plan.v[k].recipe->name, argv[i]);
		if (!found) {
			diag_error(&cli->diags, NULL, "\"%s\" has no variant in this plan%s%s%s", argv[i],
				   s.have_set ? " (set \"" : "", s.have_set ? s.set.name : "",
				   s.have_set ? "\")" : "");
			diag_hint(&cli->diags, "`ptbuild plan` lists the variants");
			code = EXIT_USAGE;
		}
	}
	if (code != EXIT_OK)
		goto done;
	struct buf out = BUF_INIT;
	struct jw w;
	if (cli->json) {
		json_result_begin(&w, &out, true);
		jw_key(&w, "variants");
		jw_array_begin(&w);
	}
	for (int i = first; i < argc; i++)
		for (size_t k = 0; k < s.plan.n; k++)
			if (!strcmp(s.plan.v[k].recipe->name, argv[i]))
				explain_variant(&s, cli, &pins, k, cli->json ? &w : NULL);
	if (cli->json) {
		jw_array_end(&w);
		json_result_end(cli, &w, &out);
	}
done:
	code = cli_end(cli, code);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a);
	return code;
}
