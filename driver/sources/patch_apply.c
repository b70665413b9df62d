#include "sources/patch_apply.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/patch_parse.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/fault.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MODE_FILE 0100644u
#define MODE_EXEC 0100755u

/* ---- the files as the series has left them so far ----------------------------------------- */

struct fstate {
	char *path;     /* owned, relative to the tree */
	bool on_disk;   /* it existed before the series */
	bool exists;    /* it exists after the patches so far */
	bool touched;   /* a patch changed it: write or remove it */
	unsigned mode;
	struct buf data;
};

struct overlay {
	const char *tree;
	struct fstate *v; /* owned */
	size_t n, cap;
};

struct applier {
	struct overlay ov;
	const struct patch_ref *ref; /* the patch being applied */
	struct patch_stats *st;
	struct diags *d;
	int io_error;
};

/* A path from a patch that stays inside the tree. */
static bool path_is_safe(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (!n || (n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)) ||
		    (n == 4 && !strncmp(c, ".git", 4)))
			return false;
		c += n + (c[n] == '/');
	}
	return true;
}

static int fail(struct applier *a, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct applier *a, unsigned line, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	diag_error(a->d, &(struct pos){ a->ref->name, line, line ? 1 : 0 }, "%s", msg.data);
	buf_release(&msg);
	return -1;
}

/* The state of `path`, read from the tree on first use. NULL (error recorded) if the path
 * leaves the tree, crosses a symbolic link or is not a regular file. */
static struct fstate *file_state(struct applier *a, const char *path, unsigned line)
{
	for (size_t i = 0; i < a->ov.n; i++)
		if (!strcmp(a->ov.v[i].path, path))
			return &a->ov.v[i];
	if (!path_is_safe(path)) {
		fail(a, line, "patch \"%s\" touches \"%s\", which is outside the source tree",
		     a->ref->name, path);
		return NULL;
	}
	struct buf full = BUF_INIT;
	buf_adds(&full, a->ov.tree);
	struct stat st;
	bool exists = false;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		buf_addch(&full, '/');
		buf_add(&full, c, n);
		c += n + (c[n] == '/');
		if (lstat(full.data, &st) < 0)
			break; /* ENOENT: a new file or directory */
		if (S_ISLNK(st.st_mode)) {
			fail(a, line, "patch \"%s\" touches \"%s\" through the symbolic link \"%.*s\"",
			     a->ref->name, path, (int)(full.len - strlen(a->ov.tree) - 1),
			     full.data + strlen(a->ov.tree) + 1);
			buf_release(&full);
			return NULL;
		}
		if (!*c) {
			exists = true;
			if (!S_ISREG(st.st_mode)) {
				fail(a, line, "patch \"%s\" changes \"%s\", which is not a regular file",
				     a->ref->name, path);
				buf_release(&full);
				return NULL;
			}
		}
	}
	GROW(a->ov.v, a->ov.cap, a->ov.n + 1);
	struct fstate *f = &a->ov.v[a->ov.n];
	memset(f, 0, sizeof(*f));
	buf_init(&f->data);
	if (exists && read_file(full.data, &f->data) < 0) {
		diag_error(a->d, NULL, "cannot read %s: %s", full.data, strerror(errno));
		a->io_error = 1;
		buf_release(&full);
		return NULL;
	}
	buf_release(&full);
	f->path = xstrdup(path);
	f->on_disk = f->exists = exists;
	f->mode = exists && (st.st_mode & 0111) ? MODE_EXEC : MODE_FILE;
	a->ov.n++;
	return f;
}

/* ---- hunks -------------------------------------------------------------------------------- */

struct img_line {
	const char *s;
	size_t len;
	bool newline;
	bool patched; /* put there by an earlier hunk: later hunks must not match it */
};

struct image {
	struct img_line *v; /* owned; the text is borrowed */
	size_t n, cap;
};

static void image_load(struct image *img, const struct buf *b)
{
	img->n = 0;
	for (size_t i = 0; i < b->len;) {
		const char *nl = memchr(b->data + i, '\n', b->len - i);
		size_t len = nl ? (size_t)(nl - (b->data + i)) : b->len - i;
		GROW(img->v, img->cap, img->n + 1);
		img->v[img->n++] = (struct img_line){ b->data + i, len, nl != NULL, false };
		i += len + (nl != NULL);
	}
}

static bool same_line(const struct img_line *a, const struct patch_line *b)
{
	return a->len == b->len && a->newline == b->newline && !memcmp(a->s, b->text, a->len);
}

/* The hunk's old side (context and removed lines) or new side (context and added). */
static size_t side(const struct patch_hunk *h, char drop, const struct patch_line **out)
{
	size_t n = 0;
	for (size_t i = 0; i < h->nlines; i++)
		if (h->lines[i].origin != drop)
			out[n++] = &h->lines[i];
	return n;
}

static bool matches_at(const struct image *img, const struct patch_line **pre, size_t npre,
		       size_t at, bool match_beginning, bool match_end)
{
	if (match_beginning && at)
		return false;
	if (at + npre > img->n || (match_end && at + npre != img->n))
		return false;
	for (size_t i = 0; i < npre; i++)
		if (img->v[at + i].patched || !same_line(&img->v[at + i], pre[i]))
			return false;
	return true;
}

/* git apply's find_pos(): try the expected line, then one after, one before, and so on. */
static bool find_pos(const struct image *img, const struct patch_line **pre, size_t npre,
		     size_t line, bool match_beginning, bool match_end, size_t *out)
{
	if (line > img->n)
		line = img->n;
	if (match_beginning)
		line = 0;
	else if (match_end)
		line = img->n >= npre ? img->n - npre : 0;
	size_t at = line, back = line, fwd = line;
	for (size_t i = 0;; i++) {
		if (matches_at(img, pre, npre, at, match_beginning, match_end)) {
			*out = at;
			return true;
		}
		for (;;) {
			if (back == 0 && fwd == img->n)
				return false;
			if (i & 1) {
				if (back == 0) {
					i++;
					continue;
				}
				at = --back;
			} else {
				if (fwd == img->n) {
					i++;
					continue;
				}
				at = ++fwd;
			}
			break;
		}
	}
}

static void quote_line(struct buf *b, const char *s, size_t len)
{
	buf_addch(b, '"');
	size_t show = len > 100 ? 100 : len;
	for (size_t i = 0; i < show; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addch(b, '\\');
		if (s[i] == '\t')
			buf_adds(b, "\\t");
		else
			buf_addch(b, s[i]);
	}
	buf_addch(b, '"');
	if (show < len)
		buf_adds(b, "...");
}

/* Where the hunk came closest to matching, and the lines that differ there. */
static void explain_mismatch(struct buf *msg, const struct image *img,
			     const struct patch_line **pre, size_t npre, size_t expected,
			     bool match_beginning)
{
	size_t best = expected < img->n ? expected : img->n, best_same = 0;
	size_t last = img->n > npre ? img->n - npre : 0;
	for (size_t at = 0; at <= last; at++) {
		size_t same = 0;
		for (size_t i = 0; i < npre && at + i < img->n; i++)
			same += same_line(&img->v[at + i], pre[i]);
		size_t da = at > expected ? at - expected : expected - at;
		size_t db = best > expected ? best - expected : expected - best;
		if (same > best_same || (same == best_same && same && da < db)) {
			best = at;
			best_same = same;
		}
	}
	if (!best_same)
		best = expected < img->n ? expected : img->n;
	buf_addf(msg, "\n  closest match at line %zu (%zu of %zu lines agree)", best + 1, best_same,
		 npre);
	if (best_same == npre && npre) {
		buf_adds(msg, match_beginning && best ? ": its lines are there, but a hunk for the "
						       "first line must start the file"
			      : ": its lines are there, but a hunk without trailing context must end "
				"the file");
		return;
	}
	buf_addch(msg, ':');
	size_t shown = 0, differing = 0;
	for (size_t i = 0; i < npre; i++) {
		bool past_end = best + i >= img->n;
		if (!past_end && same_line(&img->v[best + i], pre[i]) && !img->v[best + i].patched)
			continue;
		differing++;
		if (shown == 6)
			continue;
		shown++;
		buf_addf(msg, "\n    line %zu: patch expects ", best + i + 1);
		quote_line(msg, pre[i]->text, pre[i]->len);
		if (!pre[i]->newline)
			buf_adds(msg, " (no newline)");
		if (past_end) {
			buf_adds(msg, "\n             but the file has ended");
		} else if (img->v[best + i].patched && same_line(&img->v[best + i], pre[i])) {
			buf_adds(msg, "\n             but an earlier hunk wrote that line");
		} else {
			buf_adds(msg, "\n             the file has  ");
			quote_line(msg, img->v[best + i].s, img->v[best + i].len);
			if (!img->v[best + i].newline)
				buf_adds(msg, " (no newline)");
		}
	}
	if (differing > shown)
		buf_addf(msg, "\n    ... and %zu more", differing - shown);
}

static int apply_hunk(struct applier *a, struct image *img, const struct patch_hunk *h,
		      const char *path)
{
	const struct patch_line **pre = xcalloc(h->nlines + 1, sizeof(*pre));
	const struct patch_line **post = xcalloc(h->nlines + 1, sizeof(*post));
	size_t npre = side(h, '+', pre), npost = side(h, '-', post);
	size_t leading = 0, trailing = 0;
	while (leading < h->nlines && h->lines[leading].origin == ' ')
		leading++;
	while (trailing < h->nlines && h->lines[h->nlines - 1 - trailing].origin == ' ')
		trailing++;
	/* As git apply without --unidiff-zero: a hunk for line 1 (or an empty file) must match
	 * at the start, one without trailing context at the end. */
	bool match_beginning = h->old_start <= 1;
	bool match_end = trailing == 0;
	size_t expected = h->new_start ? h->new_start - 1 : 0;
	size_t at;
	int rc = 0;
	if (!find_pos(img, pre, npre, expected, match_beginning, match_end, &at)) {
		struct buf msg = BUF_INIT;
		buf_addf(&msg, "patch \"%s\" does not apply: hunk %s of \"%s\" matches nowhere in the "
			 "file", a->ref->name, h->header, path);
		if (match_beginning || match_end)
			buf_addf(&msg, " (it must match at the %s of the file)",
				 match_beginning && match_end ? "start and the end"
				 : match_beginning ? "start" : "end");
		explain_mismatch(&msg, img, pre, npre, expected, match_beginning);
		rc = fail(a, h->line, "%s", msg.data);
		buf_release(&msg);
		goto out;
	}
	a->st->hunks++;
	if (at != expected)
		a->st->offset_hunks++;
	size_t n = img->n - npre + npost;
	if (npost > npre)
		GROW(img->v, img->cap, n);
	memmove(&img->v[at + npost], &img->v[at + npre], (img->n - at - npre) * sizeof(*img->v));
	for (size_t i = 0; i < npost; i++)
		img->v[at + i] = (struct img_line){ post[i]->text, post[i]->len, post[i]->newline,
						    true };
	img->n = n;
out:
	free(pre);
	free(post);
	return rc;
}

/* Applies the text hunks of `pd` to `pre`, writing the new contents to `out`. */
static int apply_hunks(struct applier *a, const struct patch_delta *pd, const struct buf *pre,
		       const char *path, struct buf *out)
{
	struct image img = { 0 };
	image_load(&img, pre);
	int rc = 0;
	for (size_t h = 0; h < pd->nhunks && rc == 0; h++)
		rc = apply_hunk(a, &img, &pd->hunks[h], path);
	buf_reset(out);
	for (size_t i = 0; rc == 0 && i < img.n; i++) {
		buf_add(out, img.v[i].s, img.v[i].len);
		if (img.v[i].newline)
			buf_addch(out, '\n');
	}
	free(img.v);
	return rc;
}

/* ---- binary patches ------------------------------------------------------------------------ */

static bool read_size(const unsigned char **p, const unsigned char *end, size_t *out)
{
	size_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (*p >= end || shift > 56)
			return false;
		unsigned char c = *(*p)++;
		v |= (size_t)(c & 0x7f) << shift;
		shift += 7;
		if (!(c & 0x80))
			break;
	}
	*out = v;
	return true;
}

/* A git delta (pack format: copy and insert instructions) applied to `base`. */
static bool delta_apply(const struct buf *base, const struct buf *delta, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)delta->data, *end = p + delta->len;
	size_t base_size, size;
	if (!read_size(&p, end, &base_size) || !read_size(&p, end, &size) || base_size != base->len)
		return false;
	buf_reset(out);
	while (p < end) {
		unsigned char op = *p++;
		if (op & 0x80) {
			size_t off = 0, len = 0;
			for (unsigned b = 0; b < 4; b++)
				if (op & (1u << b)) {
					if (p >= end)
						return false;
					off |= (size_t)*p++ << (8 * b);
				}
			for (unsigned b = 0; b < 3; b++)
				if (op & (0x10u << b)) {
					if (p >= end)
						return false;
					len |= (size_t)*p++ << (8 * b);
				}
			if (!len)
				len = 0x10000;
			if (off > base->len || len > base->len - off)
				return false;
			buf_add(out, base->data + off, len);
		} else if (op) {
			if ((size_t)(end - p) < op)
				return false;
			buf_add(out, p, op);
			p += op;
		} else {
			return false;
		}
	}
	return out->len == size;
}

static int apply_binary(struct applier *a, const struct patch_delta *pd, const struct buf *pre,
			const char *path, struct buf *out)
{
	if (!pd->binary_has_data)
		return fail(a, pd->line, "patch \"%s\" changes the binary file \"%s\" without its "
			    "contents (\"Binary files differ\")", a->ref->name, path);
	char id[BLOB_ID_HEX_SIZE];
	if (pd->change != PATCH_ADD && pd->old_id[0]) {
		blob_id_hex(pre->data, pre->len, id);
		if (strcmp(id, pd->old_id))
			return fail(a, pd->line, "patch \"%s\" does not apply: the binary file \"%s\" "
				    "is blob %s, the patch was made against %s", a->ref->name, path, id,
				    pd->old_id);
	}
	if (!pd->binary_delta) {
		buf_reset(out);
		buf_add(out, pd->binary_data.data, pd->binary_data.len);
	} else if (!delta_apply(pre, &pd->binary_data, out)) {
		return fail(a, pd->line, "patch \"%s\" does not apply: its binary delta for \"%s\" "
			    "does not fit the file", a->ref->name, path);
	}
	if (pd->new_id[0]) {
		blob_id_hex(out->data, out->len, id);
		if (strcmp(id, pd->new_id))
			return fail(a, pd->line, "patch \"%s\" gives \"%s\" the contents %s, not %s as "
				    "it says", a->ref->name, path, id, pd->new_id);
	}
	return 0;
}

/* ---- one file of one patch ----------------------------------------------------------------- */

static bool mode_supported(unsigned mode)
{
	return !mode || mode == MODE_FILE || mode == MODE_EXEC;
}

static int apply_delta(struct applier *a, const struct patch_delta *pd)
{
	const char *name = a->ref->name;
	if (!mode_supported(pd->old_mode) || !mode_supported(pd->new_mode)) {
		bool gitlink = pd->old_mode == 0160000 || pd->new_mode == 0160000;
		fail(a, pd->line, "patch \"%s\" changes \"%s\" as a %s, which ptbuild cannot apply to "
		     "an exported tree", name, pd->new_path,
		     gitlink ? "submodule commit" : "symbolic link");
		diag_hint(a->d, "move a submodule with \"submodule_overrides\" in the recipe; ship "
			     "a symbolic link as a regular file or create it in the build");
		return -1;
	}
	struct fstate *src = file_state(a, pd->change == PATCH_ADD ? pd->new_path : pd->old_path,
					pd->line);
	if (!src)
		return -1;
	if (pd->change == PATCH_ADD && src->exists)
		return fail(a, pd->line, "patch \"%s\" creates \"%s\", which already exists",
			    name, pd->new_path);
	if (pd->change != PATCH_ADD && !src->exists)
		return fail(a, pd->line, "patch \"%s\" changes \"%s\", which does not exist%s", name,
			    pd->old_path, src->on_disk ? " any more (an earlier patch removed it)" : "");
	struct fstate *dst = src;
	if (pd->change == PATCH_RENAME || pd->change == PATCH_COPY) {
		dst = file_state(a, pd->new_path, pd->line);
		if (!dst)
			return -1;
		src = file_state(a, pd->old_path, pd->line); /* the array may have moved */
		if (dst->exists)
			return fail(a, pd->line, "patch \"%s\" %s \"%s\" to \"%s\", which already "
				    "exists", name, pd->change == PATCH_RENAME ? "renames" : "copies",
				    pd->old_path, pd->new_path);
	}
	struct buf post = BUF_INIT;
	const struct buf *pre = pd->change == PATCH_ADD ? &(struct buf)BUF_INIT : &src->data;
	int rc = pd->binary ? apply_binary(a, pd, pre, pd->new_path, &post)
			    : apply_hunks(a, pd, pre, pd->old_path, &post);
	if (rc < 0)
		goto out;
	if (pd->change == PATCH_DELETE) {
		if (post.len) {
			rc = fail(a, pd->line, "patch \"%s\" deletes \"%s\", but the file has more "
				  "than the patch removes", name, pd->old_path);
			goto out;
		}
		src->exists = false;
		src->touched = true;
		buf_reset(&src->data);
		goto out;
	}
	unsigned mode = src->mode;
	if (pd->change == PATCH_ADD)
		mode = pd->new_mode ? pd->new_mode : MODE_FILE;
	else if (pd->old_mode && pd->new_mode && pd->old_mode != pd->new_mode)
		mode = pd->new_mode;
	if (pd->change == PATCH_RENAME) {
		src->exists = false;
		src->touched = true;
		buf_reset(&src->data);
	}
	buf_release(&dst->data);
	dst->data = post;
	buf_init(&post);
	dst->exists = true;
	dst->touched = true;
	dst->mode = mode;
out:
	buf_release(&post);
	return rc;
}

/* ---- the series ---------------------------------------------------------------------------- */

static int apply_one(struct applier *a)
{
	struct buf text = BUF_INIT;
	if (read_file(a->ref->path, &text) < 0) {
		diag_error(a->d, NULL, "cannot read the patch \"%s\" (%s): %s", a->ref->name,
			   a->ref->path, strerror(errno));
		a->io_error = 1;
		return -1;
	}
	if (a->ref->sha256) {
		char got[SHA256_HEX_SIZE];
		sha256_hex(text.data, text.len, got);
		if (strcmp(got, a->ref->sha256)) {
			diag_error(a->d, &(struct pos){ a->ref->name, 0, 0 },
				   "the patch \"%s\" changed since the plan was made: sha256 %s, "
				   "expected %s", a->ref->name, got, a->ref->sha256);
			diag_hint(a->d, "run the command again (or `ptbuild lock` if the patch lives "
				     "in another recipe's source tree that was edited)");
			buf_release(&text);
			return -1;
		}
	}
	struct patch p;
	int rc = patch_parse(&p, a->ref->name, text.data, text.len, a->d);
	buf_release(&text);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < p.ndeltas && rc == 0; i++)
		rc = apply_delta(a, &p.deltas[i]);
	patch_release(&p);
	return rc;
}

static void prune_empty_dirs(const char *tree, const char *path)
{
	char *dir = path_join(tree, path);
	for (char *slash = strrchr(dir, '/'); slash && slash > dir + strlen(tree);
	     slash = strrchr(dir, '/')) {
		*slash = '\0';
		if (rmdir(dir) < 0)
			break;
	}
	free(dir);
}

static int write_tree(struct applier *a)
{
	for (size_t i = 0; i < a->ov.n; i++) {
		struct fstate *f = &a->ov.v[i];
		if (!f->touched || f->exists || !f->on_disk)
			continue;
		char *full = path_join(a->ov.tree, f->path);
		int rc = unlink(full);
		if (rc < 0)
			diag_error(a->d, NULL, "cannot remove %s: %s", full, strerror(errno));
		free(full);
		if (rc < 0)
			return -1;
		prune_empty_dirs(a->ov.tree, f->path);
		a->st->files++;
	}
	for (size_t i = 0; i < a->ov.n; i++) {
		struct fstate *f = &a->ov.v[i];
		if (!f->touched || !f->exists)
			continue;
		char *full = path_join(a->ov.tree, f->path);
		char *slash = strrchr(full, '/');
		*slash = '\0';
		int rc = make_dirs(full, 0755);
		*slash = '/';
		if (rc == 0)
			rc = write_file_replace(full, f->data.data, f->data.len);
		if (rc == 0)
			fault_point("patch"); /* the tree half patched */
		if (rc == 0)
			rc = chmod(full, f->mode == MODE_EXEC ? 0755 : 0644);
		if (rc < 0)
			diag_error(a->d, NULL, "cannot write %s: %s", full, strerror(errno));
		free(full);
		if (rc < 0)
			return -1;
		a->st->files++;
	}
	return 0;
}

int patches_apply(const char *tree, const struct patch_ref *refs, size_t n,
		  struct patch_stats *st, struct diags *d)
{
	struct patch_stats none;
	if (!st)
		st = &none;
	memset(st, 0, sizeof(*st));
	struct applier a = { { tree, NULL, 0, 0 }, NULL, st, d, 0 };
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		a.ref = &refs[i];
		rc = apply_one(&a);
	}
	if (rc < 0 && !a.io_error)
		diag_hint(d, "nothing was changed: the series applies whole or not at all. Refresh "
			     "the patch for this source, or leave it out of the series");
	if (rc == 0 && write_tree(&a) < 0)
		a.io_error = 1;
	for (size_t i = 0; i < a.ov.n; i++) {
		free(a.ov.v[i].path);
		buf_release(&a.ov.v[i].data);
	}
	free(a.ov.v);
	return a.io_error ? -2 : rc;
}
