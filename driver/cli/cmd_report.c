/*
 * ptbuild report: the build matrix (target x toolchain x Python) with each variant's status,
 * last build, duration, wheel size and ccache hit rate, from the records of its last
 * successful and last failed builds, as Markdown, JSON or a self-contained HTML page.
 * The rows come from build/report, the text from cli/report_render; here: options, calls,
 * exit codes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build/report.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "cli/report_render.h"
#include "session/session.h"
#include "util/json.h"
#include "util/os.h"

static const char report_help[] =
	"usage: ptbuild report [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                      [--format md|json|html] [--out FILE]\n"
	"\n"
	"The build matrix of the plan (every variant, or those of each TARGET): per target,\n"
	"toolchain and Python its status, when it was last built, how long it took, the size of\n"
	"its wheels and ccache's hit rate, from build/state/<recipe>/<variant>.json (the last\n"
	"successful build) and <variant>.failed.json (the last failed one). Statuses:\n"
	"  up to date   built with the inputs of today's key, and the output cache has it\n"
	"  stale        built, but an input changed (`ptbuild explain` says which) or the\n"
	"               output cache lost the entry: the next build rebuilds it\n"
	"  failed       the last build failed\n"
	"  not built    no build recorded\n"
	"  prebuilt     a wheel source: nothing is built\n"
	"Sources are identified by ptbuild.lock (nothing is fetched). Images that `ptbuild\n"
	"image` built (build/images/) follow: per variant and kind (base, dev, release) their\n"
	"tag, size, id, when and how long.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --format F       md (default: a matrix and a detail table, GitHub Markdown), json or\n"
	"                   html (one self-contained page)\n"
	"  --out FILE       write the report to FILE (atomically) instead of stdout\n"
	"  --json           the same as --format json\n"
	"\n"
	"exit status: 0 the report was written (whatever the builds' statuses), 2 an input\n"
	"file or the request is wrong, 3 FILE cannot be written.\n";

enum { OPT_FORMAT = 3000, OPT_OUT };

static const struct option report_long[] = {
	PLAN_LONG_OPTIONS,
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ NULL, 0, NULL, 0 },
};

enum format { FORMAT_MD, FORMAT_JSON, FORMAT_HTML };

struct report_args {
	struct plan_args plan;
	enum format format;
	bool format_given;
	const char *out;     /* borrowed from argv; NULL: stdout */
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct report_args *a = ctx;
	if (plan_args_option(&a->plan, opt, arg))
		return 0;
	if (opt == OPT_OUT) {
		a->out = arg;
		return 0;
	}
	if (opt != OPT_FORMAT)
		return -1;
	static const char *const names[] = { "md", "json", "html" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i])) {
			a->format = (enum format)i;
			a->format_given = true;
			return 0;
		}
	diag_error(&cli->diags, NULL, "--format takes md, json or html, not \"%s\"", arg);
	diag_hint(&cli->diags, "try 'ptbuild report --help'");
	return -1;
}

/* ---- the command -------------------------------------------------------------------------- */

/* Writes `text` to `path` atomically; EXIT_ENVIRONMENT with the error recorded. */
static int write_out(struct cli *cli, const char *path, const struct buf *text)
{
	if (write_file_atomic(path, text->data, text->len) == 0) {
		diag_note(&cli->diags, NULL, "wrote the report to \"%s\"", path);
		return EXIT_OK;
	}
	diag_error(&cli->diags, NULL, "cannot write the report to \"%s\": %s", path,
		   strerror(errno));
	diag_hint(&cli->diags, "--out needs a file in a directory that exists and is writable");
	return EXIT_ENVIRONMENT;
}

static int emit(struct cli *cli, const struct report *r, const struct report_args *a)
{
	struct buf out = BUF_INIT;
	if (a->format == FORMAT_JSON) {
		struct jw w;
		json_result_begin(&w, &out, true);
		report_render_json(r, &w);
		if (!a->out) {
			json_result_end(cli, &w, &out);
			return EXIT_OK;
		}
		write_diags_json(&w, &cli->diags);
		jw_object_end(&w);
		buf_addch(&out, '\n');
	} else if (a->format == FORMAT_HTML) {
		report_render_html(r, &out);
	} else {
		report_render_md(r, &out);
	}
	int code = EXIT_OK;
	if (a->out)
		code = write_out(cli, a->out, &out);
	else
		fputs(out.data, cli->out);
	buf_release(&out);
	return code;
}

static int check_targets(struct cli *cli, const struct session *s, char **targets, size_t n)
{
	int code = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < s->plan.n && !found; k++)
			found = !strcmp(s->plan.v[k].recipe->name, targets[i]);
		if (!found) {
			diag_error(&cli->diags, NULL, "\"%s\" has no variant in this plan%s%s%s",
				   targets[i], s->have_set ? " (set \"" : "",
				   s->have_set ? s->set.name : "", s->have_set ? "\")" : "");
			diag_hint(&cli->diags, "`ptbuild plan` lists the variants");
			code = EXIT_USAGE;
		}
	}
	return code;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	struct report_args a = { .format = FORMAT_MD };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct report r = { 0 };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", report_long, on_option, &a, report_help);
	if (first == -2)
		goto done;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	if (cli->json && a.format_given && a.format != FORMAT_JSON) {
		diag_error(&cli->diags, NULL, "--json asks for JSON, --format for %s: give one",
			   a.format == FORMAT_MD ? "md" : "html");
		code = EXIT_USAGE;
		goto done;
	}
	if (cli->json)
		a.format = FORMAT_JSON;
	if (a.format == FORMAT_JSON)
		cli->json = true; /* failures answer in JSON too */
	/* The whole set is planned (dependencies' keys are inputs); targets filter after. */
	code = cli_session_open(cli, &s, &a.plan, NULL, 0, false);
	if (code != EXIT_OK)
		goto done;
	code = cli_session_pin(cli, &s, &(struct pin_request){ .no_resolve = true }, &pins);
	if (code != EXIT_OK)
		goto done;
	char **targets = argv + first;
	size_t ntargets = (size_t)(argc - first);
	code = check_targets(cli, &s, targets, ntargets);
	if (code != EXIT_OK)
		goto done;
	report_load(&r, &s, &pins, targets, ntargets, &cli->diags);
	code = emit(cli, &r, &a);
	if (cli->json && !a.out)
		cli->answered = true; /* the result carried the diagnostics */
done:
	code = cli_end(cli, code);
	report_release(&r);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}
