/*
 * Patch files read into plain data: which files a patch touches, how (modify, add, delete,
 * rename, copy, mode change), its hunks line by line, and binary contents inflated.
 *
 * libgit2's parser does the reading (git_diff_from_buffer), so `git diff`/`format-patch`
 * output is read the way git reads it: renames, copies, modes, "\ No newline at end of
 * file", binary literals and deltas. libgit2 1.5 rejects traditional unified diffs (`diff
 * -u`, quilt) that `git apply` takes, so those are given git headers first. Applying is
 * patch_apply's job: libgit2's own apply works only on repositories and does not search
 * for hunks that moved (offsets), which `git apply` does.
 */
#ifndef PTBUILD_PATCH_PARSE_H
#define PTBUILD_PATCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

#define BLOB_ID_HEX_SIZE 41

struct patch_line {
	char origin;      /* ' ' context, '-' removed, '+' added */
	const char *text; /* borrowed from the hunk, without the newline */
	size_t len;
	bool newline;     /* false: "\ No newline at end of file" followed it */
};

struct patch_hunk {
	char *header;        /* owned: "@@ -10,7 +10,8 @@ int f(void)" */
	unsigned line;       /* of the header in the patch file (1-based) */
	size_t old_start, old_lines, new_start, new_lines;
	struct patch_line *lines; /* owned */
	size_t nlines;
	char *text;          /* owned: what the lines point into */
};

enum patch_change { PATCH_MODIFY, PATCH_ADD, PATCH_DELETE, PATCH_RENAME, PATCH_COPY };

struct patch_delta {
	enum patch_change change;
	char *old_path;          /* owned, relative to the tree (a/ b/ prefixes removed) */
	char *new_path;          /* owned; equal to old_path unless renamed or copied */
	unsigned old_mode;       /* 0100644, 0100755, 0120000...; 0 when the patch does not say */
	unsigned new_mode;
	char old_id[BLOB_ID_HEX_SIZE]; /* full blob ids from the index line, or "" */
	char new_id[BLOB_ID_HEX_SIZE];
	bool binary;             /* a binary change: `binary_data` instead of hunks */
	bool binary_has_data;    /* false: "Binary files differ", nothing to apply */
	bool binary_delta;       /* binary_data is a git delta against the old contents */
	struct buf binary_data;  /* inflated literal contents or delta */
	struct patch_hunk *hunks; /* owned */
	size_t nhunks;
	unsigned line;           /* of the first hunk header, 0 if none */
};

struct patch {
	struct patch_delta *deltas; /* owned, in file order */
	size_t ndeltas;
};

/* Reads the patch text `data` (named `name` in messages, with the line libgit2 stopped
 * at). A patch with no change in it is an error, as in `git apply`. */
int patch_parse(struct patch *p, const char *name, const char *data, size_t len,
		struct diags *d);
/* Frees the deltas and zeroes `p`: safe on a zeroed struct; idempotent. */
void patch_release(struct patch *p);

/* The git blob id of `data` (as in a patch's index line). */
void blob_id_hex(const void *data, size_t len, char out[BLOB_ID_HEX_SIZE]);

#endif
