/*
 * The command line, callable in-process: main() only hands argv to ptbuild_run(), and the
 * tests call ptbuild_run() with their own streams.
 */
#ifndef PTBUILD_CLI_H
#define PTBUILD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "util/diag.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_BUILD_FAILED = 1,
	EXIT_USAGE = 2,       /* usage or input error */
	EXIT_ENVIRONMENT = 3, /* missing tool, disk, ... */
	EXIT_INTERRUPTED = 130,
};

struct cli {
	FILE *out;             /* results */
	FILE *err;             /* diagnostics and progress */
	const char *dir;       /* -C: project directory */
	const char *cache_dir; /* --cache-dir, else PTBUILD_CACHE, else XDG */
	bool json;
	int verbose;
	bool quiet;
	bool color;
	bool answered;         /* --json: the command's answer is out (json_result_end) */
	struct diags diags;
};

/* Runs one ptbuild command line and returns its exit code. */
int ptbuild_run(int argc, char **argv, FILE *out, FILE *err);

/* Commands, in cmd_*.c. `argv[0]` is the command name. */
int cmd_plan(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);
int cmd_fetch(struct cli *cli, int argc, char **argv);
int cmd_lock(struct cli *cli, int argc, char **argv);
int cmd_build(struct cli *cli, int argc, char **argv);
int cmd_explain(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_collect(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_image(struct cli *cli, int argc, char **argv);
int cmd_cache(struct cli *cli, int argc, char **argv);
/* Hidden: ptbuild re-executing itself ("__NAME"; not in --help). */
int cmd_finish(struct cli *cli, int argc, char **argv);

/*
 * Parses the options every command shares (-C, --cache-dir, --json, -v, -q, --color,
 * --help) plus the command's own `long_opts` (getopt_long syntax, `short_opts`).
 * Calls `on_option(c, optarg, ctx)` for the command's own. Returns the index of the first
 * operand, -1 on a usage error (reported), or -2 when --help was printed.
 */
struct option;
typedef int (*cli_option_fn)(struct cli *cli, int opt, const char *arg, void *ctx);
int cli_parse(struct cli *cli, int argc, char **argv, const char *short_opts,
	      const struct option *long_opts, cli_option_fn on_option, void *ctx,
	      const char *help);

/* Prints the collected diagnostics to cli->err and returns `code`. */
int cli_finish(struct cli *cli, int code);
/* The cache directory in effect (caller frees). */
char *cli_cache_dir(const struct cli *cli);

#endif
