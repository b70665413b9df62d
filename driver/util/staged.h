/*
 * A directory written beside its final name and renamed into place only when complete, so
 * a failure or a killed run never leaves a half tree where the next run would look.
 */
#ifndef PTBUILD_STAGED_H
#define PTBUILD_STAGED_H

#include "util/diag.h"

struct staged_dir {
	char *final; /* owned: absolute destination */
	char *tmp;   /* owned: "<final>.tmp-<pid>", where the content is written */
};

/* Refuses an existing destination, clears leftovers of dead runs, creates the temporary
 * directory. `what` names the content in messages ("checkout", "extracted tree"). */
int staged_dir_begin(struct staged_dir *s, const char *dest, const char *what, struct diags *d);
/* Renames the temporary directory into place (and fsyncs its parent) and releases `s`; on
 * failure errno says why (ENOTEMPTY: another process put its own there first). */
int staged_dir_commit(struct staged_dir *s, const char *what, struct diags *d);
/* Removes the temporary directory and releases `s`. Safe after a commit or a failed begin. */
void staged_dir_abort(struct staged_dir *s);

#endif
