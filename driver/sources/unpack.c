#include "sources/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/staged.h"
#include "util/xalloc.h"

/*
 * Normalizes a relative path ("a/./b//c" -> "a/b/c"), resolving ".." against what came
 * before; returns NULL when it is absolute or climbs above its start. Caller frees.
 */
static char *normalize_inside(const char *path)
{
	if (path[0] == '/')
		return NULL;
	char *copy = xstrdup(path);
	char **parts = xcalloc(strlen(path) + 1, sizeof(char *));
	size_t n = 0;
	for (char *p = copy, *next; p; p = next) {
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		if (!*p || !strcmp(p, "."))
			continue;
		if (!strcmp(p, "..")) {
			if (!n) {
				free(parts);
				free(copy);
				return NULL;
			}
			n--;
			continue;
		}
		parts[n++] = p;
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? "/" : "", parts[i]);
	free(parts);
	free(copy);
	return buf_detach(&b);
}

/* `path` without its first `strip` components, or NULL when nothing is left. */
static const char *strip_components(const char *path, int strip)
{
	const char *p = path;
	while (*p == '/')
		p++;
	for (int i = 0; i < strip; i++) {
		const char *slash = strchr(p, '/');
		if (!slash)
			return NULL;
		p = slash + 1;
		while (*p == '/')
			p++;
	}
	return *p ? p : NULL;
}

static int refuse(struct diags *d, const char *archive_path, const char *entry, const char *why)
{
	diag_error(d, NULL, "archive \"%s\": entry \"%s\" %s", archive_path, entry, why);
	diag_hint(d, "the archive is unsafe or damaged; nothing was extracted");
	return -1;
}

/* Rewrites one entry to its place under `root`, or refuses it. */
static int place_checked(struct archive_entry *e, const char *name, const char *archive_path,
			 const char *root, int strip, bool *skip, struct diags *d)
{
	*skip = false;
	if (name[0] == '/')
		return refuse(d, archive_path, name, "has an absolute path");
	/* Any ".." component is refused, even one that stays inside: tar does the same. */
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return refuse(d, archive_path, name, "contains \"..\"");
		p += len + (p[len] == '/');
	}
	const char *rel = strip_components(name, strip);
	if (!rel) {
		*skip = true; /* the stripped leading directory itself */
		return 0;
	}
	char *target = path_join(root, rel);
	archive_entry_set_pathname(e, target);
	free(target);

	const char *link = archive_entry_symlink(e);
	if (link) {
		if (link[0] == '/')
			return refuse(d, archive_path, name, "is a symlink to an absolute path");
		/* resolve the target against the link's own directory, inside the tree */
		struct buf joined = BUF_INIT;
		const char *slash = strrchr(rel, '/');
		if (slash)
			buf_add(&joined, rel, (size_t)(slash - rel + 1));
		buf_adds(&joined, link);
		char *resolved = normalize_inside(joined.data);
		buf_release(&joined);
		if (!resolved)
			return refuse(d, archive_path, name, "is a symlink that points outside the tree");
		free(resolved);
	}
	const char *hard = archive_entry_hardlink(e);
	if (hard) {
		const char *hrel = hard[0] == '/' ? NULL : strip_components(hard, strip);
		char *hin = hrel ? normalize_inside(hrel) : NULL;
		if (!hin)
			return refuse(d, archive_path, name, "is a hard link to outside the tree");
		char *htarget = path_join(root, hin);
		archive_entry_set_hardlink(e, htarget);
		free(htarget);
		free(hin);
	}
	return 0;
}

static int place_entry(struct archive_entry *e, const char *archive_path, const char *root,
		       int strip, bool *skip, struct diags *d)
{
	if (!archive_entry_pathname(e))
		return refuse(d, archive_path, "(unnamed)", "has no name");
	/* a copy: the entry's own name is replaced below */
	char *name = xstrdup(archive_entry_pathname(e));
	int rc = place_checked(e, name, archive_path, root, strip, skip, d);
	free(name);
	return rc;
}

/* Writes the placed entry `e` and its data from `in` to the disk writer `out`. */
static int copy_entry(struct archive *in, struct archive *out, struct archive_entry *e,
		      const char *archive_path, struct diags *d)
{
	if (archive_write_header(out, e) < ARCHIVE_WARN)
		return diag_error(d, NULL, "archive \"%s\": cannot write \"%s\": %s", archive_path,
				  archive_entry_pathname(e), archive_error_string(out));
	const void *block;
	size_t size;
	la_int64_t offset;
	int r;
	while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
		if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN)
			return diag_error(d, NULL, "archive \"%s\": cannot write data: %s",
					  archive_path, archive_error_string(out));
	}
	if (r != ARCHIVE_EOF)
		return diag_error(d, NULL, "archive \"%s\" is damaged or truncated: %s", archive_path,
				  archive_error_string(in));
	if (archive_write_finish_entry(out) < ARCHIVE_WARN)
		return diag_error(d, NULL, "archive \"%s\": %s", archive_path,
				  archive_error_string(out));
	return 0;
}

int archive_extract(const char *archive_path, const char *dest, int strip, struct diags *d)
{
	struct staged_dir tree = { 0 };
	int rc = -1;
	struct archive *in = archive_read_new();
	struct archive *out = archive_write_disk_new();
	archive_read_support_filter_all(in);
	archive_read_support_format_all(in);
	/* Paths are checked above; these are a second line of defence. */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	if (staged_dir_begin(&tree, dest, "extracted tree", d) < 0)
		goto out;
	if (archive_read_open_filename(in, archive_path, 65536) != ARCHIVE_OK) {
		diag_error(d, NULL, "cannot read archive \"%s\": %s", archive_path,
			   archive_error_string(in));
		goto out;
	}
	size_t entries = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			diag_error(d, NULL, "archive \"%s\" is damaged or truncated: %s", archive_path,
				   archive_error_string(in));
			goto out;
		}
		bool skip;
		if (place_entry(e, archive_path, tree.tmp, strip, &skip, d) < 0)
			goto out;
		if (skip)
			continue;
		if (copy_entry(in, out, e, archive_path, d) < 0)
			goto out;
		entries++;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		diag_error(d, NULL, "archive \"%s\": %s", archive_path, archive_error_string(out));
		goto out;
	}
	if (!entries) {
		diag_error(d, NULL, "archive \"%s\" has no files%s", archive_path,
			   strip ? " below the stripped components" : "");
		if (strip)
			diag_hint(d, "lower \"strip\" in the recipe's source");
		goto out;
	}
	rc = staged_dir_commit(&tree, "extracted tree", d);
out:
	archive_read_free(in);
	archive_write_free(out);
	staged_dir_abort(&tree);
	return rc;
}
