/*
 * ptbuild __finish ARGS.json: a hidden command, ptbuild re-executing itself. `build` runs it
 * as the first step of a job's collect phase (build/steps.c phase_finish), so stamping,
 * repacking and verifying a wheel (wheels/finish.h finish_dir) take place off the
 * scheduler's loop. Its stdout is the job's log; what failed goes, one line, into the file
 * the arguments name as "result".
 * Exit status: 0 finished, 1 a wheel could not be finished or failed verification, 2 the
 * arguments are wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json_read.h"
#include "util/os.h"
#include "wheels/finish.h"

static void print_line(void *ctx, const char *line)
{
	FILE *out = ctx;
	fprintf(out, "%s\n", line);
	fflush(out);
}

int cmd_finish(struct cli *cli, int argc, char **argv)
{
	if (argc != 2) {
		diag_error(&cli->diags, NULL, "usage: ptbuild __finish ARGS.json");
		diag_hint(&cli->diags, "this internal command is run by `ptbuild build`; it is not "
				       "meant to be run by hand");
		return cli_finish(cli, EXIT_USAGE);
	}
	struct jdoc doc;
	struct finish_job j;
	const char *result = NULL;
	if (finish_job_read(argv[1], &doc, &j, &result, &cli->diags) < 0) {
		int code = cli_finish(cli, EXIT_USAGE); /* the positions point into `doc` */
		jdoc_release(&doc);
		return code;
	}
	char *failure = NULL;
	int code = EXIT_OK;
	if (finish_dir(&j, print_line, cli->out, &failure) < 0) {
		code = EXIT_BUILD_FAILED;
		if (write_file_atomic(result, failure, strlen(failure)) < 0) {
			/* the parent falls back to "exited with status 1": say it here */
			fprintf(cli->out, "ptbuild: %s\n", failure);
		}
	}
	free(failure);
	jdoc_release(&doc);
	fflush(cli->out);
	return code;
}
