/*
 * A command's JSON answer on stdout: {"ok": OK, ...members..., "diagnostics": [...]}.
 */
#ifndef PTBUILD_ANSWER_H
#define PTBUILD_ANSWER_H

#include <stdbool.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/json.h"

/* "diagnostics": [...] of `d`, as a member of the object `w` is writing. */
void write_diags_json(struct jw *w, const struct diags *d);
/* `begin` opens the answer (`out` starts empty); `end` adds the diagnostics, prints and
 * releases. */
void json_result_begin(struct jw *w, struct buf *out, bool ok);
void json_result_end(struct cli *cli, struct jw *w, struct buf *out);
/* Ends a command with `code`: with --json a failure that has not answered yet answers
 * {"ok": false, "diagnostics": [...]}; then the diagnostics (cli_finish). Returns `code`. */
int cli_end(struct cli *cli, int code);

#endif
