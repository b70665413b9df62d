#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"

static const char main_help[] =
	"usage: ptbuild [-C DIR] [--cache-dir DIR] [--json] [-v|-q] [--color=WHEN] COMMAND [ARGS]\n"
	"\n"
	"Builds PyTorch and its extensions from declarative recipes.\n"
	"\n"
	"commands:\n"
	"  plan     [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"           the build order, each variant and its build key\n"
	"  fetch    [TARGET...] [--locked|--frozen] [--offline]\n"
	"           mirror, resolve and check out every source into build/src/\n"
	"  lock     [--update [TARGET...]] [--offline]\n"
	"           resolve every source and write ptbuild.lock\n"
	"  build    [TARGET...] [-j N] [--keep-going] [--locked|--frozen] [--offline]\n"
	"           build every variant whose key is not in the output cache\n"
	"  explain  TARGET...\n"
	"           which inputs changed since the last good build of each variant\n"
	"  collect  --out DIR [TARGET...] [--slim]\n"
	"           the wheelhouse: wheels, PEP 503 index, SHA256SUMS, manifest, Dockerfiles\n"
	"  image    base|dev|release --wheelhouse DIR [--variant L] [--dry-run]\n"
	"           build an image of the wheelhouse with Docker, offline; report shows it\n"
	"  verify   WHEEL... [--python X.Y] [--arch-list L] [--system-nccl]\n"
	"           RECORD hashes, tags, CUDA arches, NCCL linkage, C++ ABI\n"
	"  report   [TARGET...] [--format md|json|html] [--out FILE]\n"
	"           the build matrix: status, last build, duration, wheel size, ccache hits\n"
	"  cache    du | gc [--max-size SIZE] [--dry-run]\n"
	"           what the cache holds; remove what nothing references\n"
	"  doctor   what this machine has: compilers, Python, torch, nvcc, NCCL, ccache,\n"
	"           disk and memory\n"
	"\n"
	"options (every command takes them):\n"
	"  -C DIR            use the project in DIR (default: the current directory)\n"
	"  --cache-dir DIR   the cache (default: $PTBUILD_CACHE, else $XDG_CACHE_HOME/ptbuild)\n"
	"  --json            machine-readable output on stdout\n"
	"  -v, --verbose     more detail (notes, full keys)\n"
	"  -q, --quiet       errors only\n"
	"  --color=WHEN      auto, always or never\n"
	"  -h, --help        this help; `ptbuild COMMAND --help` for a command\n"
	"  --version         print the version\n"
	"\n"
	"exit status: 0 ok, 1 build failed, 2 usage or input error, 3 environment (missing\n"
	"tool, disk), 130 interrupted.\n";

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct command commands[] = {
	{ "build", cmd_build },
	{ "cache", cmd_cache },
	{ "collect", cmd_collect },
	{ "doctor", cmd_doctor },
	{ "explain", cmd_explain },
	{ "fetch", cmd_fetch },
	{ "image", cmd_image },
	{ "lock", cmd_lock },
	{ "plan", cmd_plan },
	{ "report", cmd_report },
	{ "verify", cmd_verify },
	{ "__finish", cmd_finish }, /* hidden: the finishing step of a build (cmd_finish.c) */
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

enum { OPT_CACHE_DIR = 1000, OPT_JSON, OPT_COLOR, OPT_VERSION };

static const struct option global_opts[] = {
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char global_short[] = "C:vqh";

static int set_color(struct cli *cli, const char *when)
{
	if (!strcmp(when, "always"))
		cli->color = true;
	else if (!strcmp(when, "never"))
		cli->color = false;
	else if (!strcmp(when, "auto"))
		cli->color = isatty(fileno(cli->err)) && !setting_no_color();
	else {
		diag_error(&cli->diags, NULL, "--color takes auto, always or never, not \"%s\"", when);
		return -1;
	}
	return 0;
}

/* Handles a shared option; 1 if it was one, 0 if not, -1 on error, -2 after --help/--version. */
static int global_option(struct cli *cli, int c, const char *arg, const char *help)
{
	switch (c) {
	case 'C':
		cli->dir = arg;
		return 1;
	case OPT_CACHE_DIR:
		cli->cache_dir = arg;
		return 1;
	case OPT_JSON:
		cli->json = true;
		return 1;
	case 'v':
		cli->verbose++;
		return 1;
	case 'q':
		cli->quiet = true;
		return 1;
	case OPT_COLOR:
		return set_color(cli, arg) < 0 ? -1 : 1;
	case 'h':
		fputs(help, cli->out);
		return -2;
	case OPT_VERSION:
		fprintf(cli->out, "ptbuild %s\n", PTBUILD_VERSION);
		return -2;
	}
	return 0;
}

static void option_names(const struct option *opts, const char ***names, size_t *n, size_t *cap)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		GROW(*names, *cap, *n + 1);
		(*names)[(*n)++] = opts[i].name;
	}
}

static void report_bad_option(struct cli *cli, const char *cmd, const char *word,
			      const struct option *own, int optopt_c, bool missing_arg)
{
	if (missing_arg) {
		diag_error(&cli->diags, NULL, "option \"%s\" needs a value", word);
	} else if (word && word[0] == '-' && word[1] == '-') {
		char *name = xstrndup(word + 2, strcspn(word + 2, "="));
		diag_error(&cli->diags, NULL, "unknown option \"--%s\"", name);
		const char **names = NULL;
		size_t n = 0, cap = 0;
		option_names(global_opts, &names, &n, &cap);
		option_names(own, &names, &n, &cap);
		const char *near = closest_match(name, names, n);
		if (near)
			diag_hint(&cli->diags, "did you mean \"--%s\"?", near);
		free(names);
		free(name);
	} else {
		diag_error(&cli->diags, NULL, "unknown option \"-%c\"", optopt_c ? optopt_c : '?');
	}
	diag_hint(&cli->diags, "try 'ptbuild %s%s--help'", cmd ? cmd : "", cmd ? " " : "");
}

int cli_parse(struct cli *cli, int argc, char **argv, const char *short_opts,
	      const struct option *long_opts, cli_option_fn on_option, void *ctx,
	      const char *help)
{
	/* ':' first: a missing value is reported as ':' rather than '?'. GNU getopt permutes,
	 * so options may follow operands ("ptbuild plan torch --json"). */
	struct buf shorts = BUF_INIT;
	buf_adds(&shorts, ":");
	buf_adds(&shorts, global_short);
	if (short_opts)
		buf_adds(&shorts, short_opts);
	size_t n_own = 0;
	while (long_opts && long_opts[n_own].name)
		n_own++;
	size_t n_global = sizeof(global_opts) / sizeof(global_opts[0]) - 1;
	struct option *all = xcalloc(n_own + n_global + 1, sizeof(*all));
	memcpy(all, global_opts, n_global * sizeof(*all));
	if (n_own)
		memcpy(all + n_global, long_opts, n_own * sizeof(*all));
	const char *opts = shorts.data;
	int rc = 0;
	optind = 0; /* full reset of GNU getopt, so the CLI can run several times in a process */
	opterr = 0;
	for (;;) {
		int longindex = -1;
		int c = getopt_long(argc, argv, opts, all, &longindex);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *word = argv[optind - 1];
			report_bad_option(cli, argv[0], word, long_opts, optopt, c == ':');
			rc = -1;
			break;
		}
		int g = global_option(cli, c, optarg, help);
		if (g < 0) {
			rc = g;
			break;
		}
		if (g == 1)
			continue;
		if (!on_option || on_option(cli, c, optarg, ctx) < 0) {
			rc = -1;
			break;
		}
	}
	free(all);
	buf_release(&shorts);
	return rc < 0 ? rc : optind;
}

int cli_finish(struct cli *cli, int code)
{
	if (cli->quiet) {
		struct diags errors;
		diags_init(&errors);
		for (size_t i = 0; i < cli->diags.n; i++)
			if (cli->diags.v[i].level == DIAG_ERROR) {
				const struct diag *g = &cli->diags.v[i];
				diag_error(&errors, g->pos.file ? &g->pos : NULL, "%s", g->msg);
				if (g->hint)
					diag_hint(&errors, "%s", g->hint);
			}
		diags_print(&errors, cli->err, false);
		diags_release(&errors);
	} else {
		diags_print(&cli->diags, cli->err, cli->verbose > 0);
	}
	fflush(cli->out);
	fflush(cli->err);
	return code;
}

char *cli_cache_dir(const struct cli *cli)
{
	if (cli->cache_dir)
		return xstrdup(cli->cache_dir);
	const char *env = setting_ptbuild_cache();
	if (env)
		return xstrdup(env);
	const char *xdg = setting_xdg_cache_home();
	if (xdg)
		return path_join(xdg, "ptbuild");
	const char *home = setting_home();
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/.cache/ptbuild", home ? home : "/tmp");
	return buf_detach(&b);
}

/*
 * The shared options before the command ("ptbuild -C DIR --json plan"). Returns the index
 * of the command word, or -1 after an error and -2 after --help/--version (both reported).
 */
static int parse_globals(struct cli *cli, int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		const char *value = NULL;
		int c = 0;
		if (!strcmp(a, "-C") || !strcmp(a, "--cache-dir") || !strcmp(a, "--color")) {
			if (i + 1 >= argc) {
				diag_error(&cli->diags, NULL, "option \"%s\" needs a value", a);
				return -1;
			}
			value = argv[++i];
			c = a[1] == 'C' ? 'C' : (a[2] == 'c' && a[3] == 'a' ? OPT_CACHE_DIR : OPT_COLOR);
		} else if (starts_with(a, "--cache-dir=")) {
			value = a + 12;
			c = OPT_CACHE_DIR;
		} else if (starts_with(a, "--color=")) {
			value = a + 8;
			c = OPT_COLOR;
		} else if (starts_with(a, "-C") && a[2]) {
			value = a + 2;
			c = 'C';
		} else if (!strcmp(a, "--json")) {
			c = OPT_JSON;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			c = 'v';
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			c = 'q';
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			c = 'h';
		} else if (!strcmp(a, "--version")) {
			c = OPT_VERSION;
		} else {
			report_bad_option(cli, NULL, a, NULL, 0, false);
			return -1;
		}
		int g = global_option(cli, c, value, main_help);
		if (g < 0)
			return g;
	}
	return i;
}

static const struct command *find_command(const char *name)
{
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (!strcmp(commands[k].name, name))
			return &commands[k];
	return NULL;
}

static int unknown_command(struct cli *cli, const char *name)
{
	diag_error(&cli->diags, NULL, "unknown command \"%s\"", name);
	const char *names[NCOMMANDS];
	size_t nnames = 0;
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (strncmp(commands[k].name, "__", 2)) /* hidden ones are never suggested */
			names[nnames++] = commands[k].name;
	const char *near = closest_match(name, names, nnames);
	if (near)
		diag_hint(&cli->diags, "did you mean \"%s\"?", near);
	else
		diag_hint(&cli->diags, "commands: plan, doctor; try 'ptbuild --help'");
	return cli_finish(cli, EXIT_USAGE);
}

/* `ptbuild help [COMMAND]`. */
static int help_command(struct cli *cli, int argc, char **argv, int i)
{
	const struct command *cmd = i + 1 < argc ? find_command(argv[i + 1]) : NULL;
	if (cmd) {
		char *help_argv[] = { argv[i + 1], "--help", NULL };
		return cmd->run(cli, 2, help_argv);
	}
	fputs(main_help, cli->out);
	return EXIT_OK;
}

static int run_command_line(struct cli *cli, int argc, char **argv)
{
	int i = parse_globals(cli, argc, argv);
	if (i == -2)
		return cli_finish(cli, EXIT_OK);
	if (i < 0)
		return cli_finish(cli, EXIT_USAGE);
	if (i >= argc) {
		fputs(main_help, cli->err);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		return help_command(cli, argc, argv, i);
	const struct command *cmd = find_command(argv[i]);
	if (!cmd)
		return unknown_command(cli, argv[i]);
	return cmd->run(cli, argc - i, argv + i);
}

int ptbuild_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli cli = { .out = out, .err = err, .dir = "." };
	diags_init(&cli.diags);
	cli.color = isatty(fileno(err)) && !setting_no_color();
	int code = run_command_line(&cli, argc, argv);
	diags_release(&cli.diags);
	fflush(out);
	fflush(err);
	return code;
}
