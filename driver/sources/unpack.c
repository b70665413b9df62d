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
#include "util/fault.h"
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

/* What is being extracted, for messages: `recipe "x": archive URL (cached as PATH)`. */
struct extraction {
	const char *what;      /* the text above */
	const struct pos *pos; /* the recipe's source, or NULL */
	struct diags *d;
};

static int refuse(const struct extraction *x, const char *entry, const char *why)
{
	diag_error(x->d, x->pos, "%s: entry \"%s\" %s", x->what, entry, why);
	diag_hint(x->d, "the archive is unsafe or damaged; nothing was extracted. Check the "
			"URL and the sha256 in the recipe, or use another release");
	return -1;
}

/* A write into the tree failed: says which file and why (libarchive's errno, when it has
 * one), with what to do when the disk is full. */
static int write_failed(const struct extraction *x, struct archive *out, const char *file)
{
	int err = archive_errno(out);
	diag_error(x->d, x->pos, "%s: cannot write \"%s\": %s", x->what, file,
		   err > 0 ? strerror(err) : archive_error_string(out));
	if (err == ENOSPC || err == EDQUOT)
		diag_hint(x->d, "the disk is full: free space on the filesystem of the work "
				"directory and run again; nothing was kept");
	else
		diag_hint(x->d, "nothing was kept; fix the cause and run again");
	return -1;
}

/* Rewrites one entry to its place under `root`, or refuses it. */
static int place_checked(struct archive_entry *e, const char *name, const struct extraction *x,
			 const char *root, int strip, bool *skip)
{
	*skip = false;
	if (name[0] == '/')
		return refuse(x, name, "has an absolute path");
	/* Any ".." component is refused, even one that stays inside: tar does the same. */
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return refuse(x, name, "contains \"..\"");
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
			return refuse(x, name, "is a symlink to an absolute path");
		/* resolve the target against the link's own directory, inside the tree */
		struct buf joined = BUF_INIT;
		const char *slash = strrchr(rel, '/');
		if (slash)
			buf_add(&joined, rel, (size_t)(slash - rel + 1));
		buf_adds(&joined, link);
		char *resolved = normalize_inside(joined.data);
		buf_release(&joined);
		if (!resolved)
			return refuse(x, name, "is a symlink that points outside the tree");
		free(resolved);
	}
	const char *hard = archive_entry_hardlink(e);
	if (hard) {
		const char *hrel = hard[0] == '/' ? NULL : strip_components(hard, strip);
		char *hin = hrel ? normalize_inside(hrel) : NULL;
		if (!hin)
			return refuse(x, name, "is a hard link to outside the tree");
		char *htarget = path_join(root, hin);
		archive_entry_set_hardlink(e, htarget);
		free(htarget);
		free(hin);
	}
	return 0;
}

static int place_entry(struct archive_entry *e, const struct extraction *x, const char *root,
		       int strip, bool *skip)
{
	if (!archive_entry_pathname(e))
		return refuse(x, "(unnamed)", "has no name");
	/* a copy: the entry's own name is replaced below */
	char *name = xstrdup(archive_entry_pathname(e));
	int rc = place_checked(e, name, x, root, strip, skip);
	free(name);
	return rc;
}

/* The entry's name in the archive, for messages: `e`'s own was rewritten to the disk path. */
static const char *shown_name(struct archive_entry *e, const char *root)
{
	const char *p = archive_entry_pathname(e);
	size_t n = strlen(root);
	return !strncmp(p, root, n) && p[n] == '/' ? p + n + 1 : p;
}

/*
 * Writes the placed entry `e` and its data from `in` to the disk writer `out`. A data
 * block the writer takes only in part is a failure, not the warning libarchive calls it: a
 * full disk shows up that way, and the file would be left short, or padded with zeros.
 */
static int copy_entry(struct archive *in, struct archive *out, struct archive_entry *e,
		      const char *root, const struct extraction *x)
{
	if (archive_write_header(out, e) < ARCHIVE_WARN)
		return write_failed(x, out, shown_name(e, root));
	const void *block;
	size_t size;
	la_int64_t offset;
	int r;
	while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
		if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK)
			return write_failed(x, out, shown_name(e, root));
	}
	if (r != ARCHIVE_EOF) {
		diag_error(x->d, x->pos, "%s is damaged or truncated: %s", x->what,
			   archive_error_string(in));
		diag_hint(x->d, "nothing was extracted; delete the cached file to download it "
				"again, and check its sha256 in the recipe");
		return -1;
	}
	if (archive_write_finish_entry(out) < ARCHIVE_WARN ||
	    (archive_errno(out) == ENOSPC || archive_errno(out) == EDQUOT))
		return write_failed(x, out, shown_name(e, root));
	return 0;
}

int archive_extract(const char *archive_path, const struct archive_origin *from,
		    const char *dest, int strip, struct diags *d)
{
	struct buf what = BUF_INIT;
	if (from && from->recipe)
		buf_addf(&what, "recipe \"%s\": archive %s (cached as %s)", from->recipe,
			 from->url ? from->url : "", archive_path);
	else
		buf_addf(&what, "archive \"%s\"", archive_path);
	struct extraction x = { what.data, from ? from->pos : NULL, d };
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
		diag_error(d, x.pos, "%s cannot be read: %s", x.what, archive_error_string(in));
		diag_hint(d, "delete the cached file to download it again");
		goto out;
	}
	size_t entries = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			diag_error(d, x.pos, "%s is damaged or truncated: %s", x.what,
				   archive_error_string(in));
			diag_hint(d, "nothing was extracted; delete the cached file to download it "
				     "again, and check its sha256 in the recipe");
			goto out;
		}
		bool skip;
		if (place_entry(e, &x, tree.tmp, strip, &skip) < 0)
			goto out;
		if (skip)
			continue;
		if (copy_entry(in, out, e, tree.tmp, &x) < 0)
			goto out;
		if (++entries == 1)
			fault_point("extract");
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		write_failed(&x, out, "(the last entry)");
		goto out;
	}
	if (!entries) {
		diag_error(d, x.pos, "%s has no files%s", x.what,
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
	buf_release(&what);
	return rc;
}
