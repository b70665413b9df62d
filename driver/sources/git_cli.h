/*
 * git's own CLI as a fetch transport for mirrors (cargo's `net.git-fetch-with-cli`): libgit2's
 * local transport builds every pack itself without reusing deltas, 5-7x slower than git over
 * a local path or file:// (docs/recipes.md, "Mirrors"). Which one fetches is chosen by URL
 * and $PTBUILD_GIT_CLI; git runs as a child with an environment made from scratch, so no
 * GIT_* variable, ~/.gitconfig or /etc/gitconfig of the user changes what is fetched.
 */
#ifndef PTBUILD_GIT_CLI_H
#define PTBUILD_GIT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

/* An error (input) unless $PTBUILD_GIT_CLI is unset, 0 or 1: checked when a run starts
 * (mirrors_load), before anything is fetched. */
int git_cli_check(struct diags *d);

/*
 * The git program that fetches `url` into mirrors, or NULL for libgit2: $PTBUILD_GIT_CLI=0
 * never, =1 always (an error when git is not on PATH), unset for local paths and file://
 * URLs when git is on PATH. Returns 0 with *git (caller frees; NULL: libgit2), -1 with an
 * error (a wrong value, or git missing under =1).
 */
int git_cli_choose(const char *url, char **git, struct diags *d);

/*
 * Runs `git fetch` of `specs` from `url` into the bare repository `repo` (quiet, no
 * FETCH_HEAD, no auto gc, no tags beyond the specs; `prune`: --prune). Returns git's exit
 * status (-1 when it could not start, errno set) with its output, credentials redacted and
 * trimmed, in `out`.
 */
int git_cli_fetch(const char *git, const char *repo, const char *url, const char *const *specs,
		  size_t nspecs, bool prune, struct buf *out);

#endif
