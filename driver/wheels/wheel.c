#include "wheels/wheel.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>

#include "util/fault.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/zip_times.h"
#include "wheels/zip_write.h"

/* ---- names ---------------------------------------------------------------------------------- */

void wheel_name_release(struct wheel_name *n)
{
	free(n->dist);
	free(n->version);
	free(n->build);
	free(n->python);
	free(n->abi);
	free(n->platform);
	memset(n, 0, sizeof(*n));
}

int wheel_name_parse(const char *file, struct wheel_name *n)
{
	memset(n, 0, sizeof(*n));
	if (!ends_with(file, ".whl") || strchr(file, '/'))
		return -1;
	char *stem = xstrndup(file, strlen(file) - 4);
	char *parts[6];
	size_t k = 0;
	for (char *p = stem, *dash; p && k < 6; p = dash ? dash + 1 : NULL) {
		dash = strchr(p, '-');
		if (dash)
			*dash = '\0';
		parts[k++] = p;
		if (!dash)
			break;
	}
	bool ok = (k == 5 || k == 6) && !strchr(parts[k - 1], '-');
	for (size_t i = 0; ok && i < k; i++)
		ok = parts[i][0] != '\0';
	if (ok) {
		n->dist = xstrdup(parts[0]);
		n->version = xstrdup(parts[1]);
		n->build = k == 6 ? xstrdup(parts[2]) : NULL;
		n->python = xstrdup(parts[k - 3]);
		n->abi = xstrdup(parts[k - 2]);
		n->platform = xstrdup(parts[k - 1]);
	}
	free(stem);
	return ok ? 0 : -1;
}

char *wheel_name_format(const struct wheel_name *n)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s-%s", n->dist, n->version);
	if (n->build)
		buf_addf(&b, "-%s", n->build);
	buf_addf(&b, "-%s-%s-%s.whl", n->python, n->abi, n->platform);
	return buf_detach(&b);
}

static char *replace_runs(const char *name, char with, bool lower)
{
	struct buf b = BUF_INIT;
	for (const char *p = name; *p;) {
		if (*p == '-' || *p == '_' || *p == '.') {
			while (*p == '-' || *p == '_' || *p == '.')
				p++;
			buf_addch(&b, with);
		} else {
			buf_addch(&b, lower ? (char)tolower((unsigned char)*p) : *p);
			p++;
		}
	}
	return buf_detach(&b);
}

char *dist_normalize(const char *name)
{
	return replace_runs(name, '-', true);
}

char *dist_escape(const char *name)
{
	return replace_runs(name, '_', false);
}

char *requirement_project(const char *req)
{
	char *name = xstrndup(req, strcspn(req, " \t=<>!~;[("));
	char *norm = dist_normalize(name);
	free(name);
	return norm;
}

char *version_public(const char *version)
{
	const char *plus = strchr(version, '+');
	return plus ? xstrndup(version, (size_t)(plus - version)) : xstrdup(version);
}

/* ---- unpacking ------------------------------------------------------------------------------ */

void wheel_members_release(struct wheel_members *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* A member path that stays inside the wheel: relative, no "." or ".." or empty parts. */
static bool member_path_ok(const char *name)
{
	if (!*name || name[0] == '/' || strchr(name, '\\'))
		return false;
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (len == 0 && slash) /* "a//b" */
			return false;
		if (!slash)
			break;
		p = slash + 1;
	}
	return true;
}

static int extract_member(struct archive *a, const char *wheel, const char *dir,
			  struct wheel_member *m, struct diags *d)
{
	char *dest = path_join(dir, m->name);
	int fd = -1, rc = -1;
	if (make_parents(dest) < 0 ||
	    (fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       m->executable ? 0755 : 0644)) < 0) {
		if (errno == EEXIST)
			diag_error(d, NULL, "%s: the member \"%s\" appears twice", wheel, m->name);
		else
			diag_error(d, NULL, "cannot write %s: %s", dest, strerror(errno));
		goto out;
	}
	struct sha256 h;
	sha256_init(&h);
	char chunk[1 << 16];
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0) {
			diag_error(d, NULL, "%s: the member \"%s\" is corrupt: %s", wheel, m->name,
				   archive_error_string(a));
			sha256_final_b64(&h, m->sha256);
			goto out;
		}
		if (n == 0)
			break;
		if (write_all(fd, chunk, (size_t)n) < 0) {
			diag_error(d, NULL, "cannot write %s: %s", dest, strerror(errno));
			sha256_final_b64(&h, m->sha256);
			goto out;
		}
		sha256_update(&h, chunk, (size_t)n);
		m->size += (uint64_t)n;
	}
	sha256_final_b64(&h, m->sha256);
	rc = 0;
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = diag_error(d, NULL, "cannot write %s: %s", dest, strerror(errno));
	free(dest);
	return rc;
}

/* The wheel's zip, read through its central directory (members are skipped by seeking);
 * NULL with an error when it cannot be opened. */
static struct archive *open_wheel(const char *path, struct diags *d)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip_seekable(a);
	if (archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK)
		return a;
	diag_error(d, NULL, "%s is not a readable zip archive: %s", path, archive_error_string(a));
	archive_read_free(a);
	return NULL;
}

/* The next member's header: ARCHIVE_OK, ARCHIVE_EOF, or -1 with an error. */
static int next_member(struct archive *a, const char *path, struct archive_entry **e,
		       struct diags *d)
{
	int r = archive_read_next_header(a, e);
	if (r == ARCHIVE_EOF || r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return r == ARCHIVE_EOF ? ARCHIVE_EOF : ARCHIVE_OK;
	diag_error(d, NULL, "%s is not a well-formed zip archive: %s", path,
		   archive_error_string(a));
	return -1;
}

/* "<name>-<version>.dist-info/METADATA" at the top of the wheel (not a vendored copy). */
static bool is_core_metadata(const char *name)
{
	const char *slash = strchr(name, '/');
	return slash && !strcmp(slash, "/METADATA") && slash - name > 10 &&
	       !strncmp(slash - 10, ".dist-info", 10);
}

int wheel_read_metadata(const char *path, struct buf *out, struct diags *d)
{
	buf_reset(out);
	struct archive *a = open_wheel(path, d);
	int rc = -1;
	if (!a)
		goto out;
	for (;;) {
		struct archive_entry *e;
		int r = next_member(a, path, &e, d);
		if (r == ARCHIVE_EOF)
			break;
		if (r < 0)
			goto out;
		const char *name = archive_entry_pathname(e);
		if (!name || !is_core_metadata(name))
			continue; /* the seekable reader skips a member without reading it */
		char chunk[1 << 14];
		la_ssize_t n;
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(out, chunk, (size_t)n);
		if (n < 0) {
			diag_error(d, NULL, "%s: cannot read %s: %s", path, name,
				   archive_error_string(a));
			goto out;
		}
		rc = 0;
		goto out;
	}
	diag_error(d, NULL, "%s has no .dist-info/METADATA", path);
	diag_hint(d, "a wheel without core metadata cannot be installed; rebuild it");
out:
	archive_read_free(a);
	return rc;
}

/* A member's header as an unpack checks it: a path inside the wheel's directory, and a
 * directory (made under `dir`: 0) or a regular file (1); anything else -1 with an error. */
static int member_header(struct archive_entry *e, const char *path, const char *dir,
			 struct diags *d)
{
	const char *name = archive_entry_pathname(e);
	if (!name || !member_path_ok(name)) {
		bool is_dir = name && ends_with(name, "/") && name[1];
		char *trimmed = is_dir ? xstrndup(name, strlen(name) - 1) : NULL;
		bool fine = trimmed && member_path_ok(trimmed);
		free(trimmed);
		if (!fine)
			return diag_error(d, NULL, "%s: the member \"%s\" would be written outside "
						   "the wheel's directory", path, name ? name : "");
	}
	mode_t type = archive_entry_filetype(e);
	if (type == AE_IFDIR) {
		char *sub = path_join(dir, name);
		int mk = make_dirs(sub, 0755);
		free(sub);
		if (mk < 0)
			return diag_error(d, NULL, "cannot create a directory in %s: %s", dir,
					  strerror(errno));
		return 0;
	}
	if (type != AE_IFREG)
		return diag_error(d, NULL, "%s: the member \"%s\" is not a regular file (%s)", path,
				  name, type == AE_IFLNK ? "a symbolic link" : "a special file");
	return 1;
}

int wheel_unpack(const char *path, const char *dir, struct wheel_members *out, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	if (mkdir(dir, 0755) < 0)
		return diag_error(d, NULL, "cannot create %s: %s", dir, strerror(errno));
	struct archive *a = open_wheel(path, d);
	int rc = -1;
	if (!a)
		goto out;
	for (;;) {
		struct archive_entry *e;
		int r = next_member(a, path, &e, d);
		if (r == ARCHIVE_EOF)
			break;
		if (r < 0)
			goto out;
		const char *name = archive_entry_pathname(e);
		int kind = member_header(e, path, dir, d);
		if (kind < 0)
			goto out;
		if (kind == 0)
			continue; /* a directory, made */
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 64;
			out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
		}
		struct wheel_member *m = &out->v[out->n++];
		memset(m, 0, sizeof(*m));
		m->name = xstrdup(name);
		m->executable = (archive_entry_perm(e) & 0111) != 0;
		if (extract_member(a, path, dir, m, d) < 0)
			goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	if (rc < 0)
		wheel_members_release(out);
	return rc;
}

/* ---- unpacking in parallel ----------------------------------------------------------------- */

struct unpack_share {
	const char *path, *dir;
	struct wheel_members *m;
	const unsigned *owner;        /* per regular member: the thread that extracts it */
	unsigned me;
	size_t failed_at;             /* out: the member whose extraction failed, or SIZE_MAX */
	struct diags d;               /* out */
};

/* One thread: its own reader over the zip, extracting the members it owns, skipping the
 * rest (the seekable reader does not read a member's data unless asked). */
static void *unpack_worker(void *arg)
{
	struct unpack_share *u = arg;
	u->failed_at = SIZE_MAX;
	struct archive *a = open_wheel(u->path, &u->d);
	if (!a) {
		u->failed_at = 0;
		return NULL;
	}
	size_t k = 0;
	for (;;) {
		struct archive_entry *e;
		int r = next_member(a, u->path, &e, &u->d);
		if (r == ARCHIVE_EOF)
			break;
		if (r < 0) {
			u->failed_at = k;
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (k >= u->m->n)
			break;
		if (u->owner[k] == u->me && extract_member(a, u->path, u->dir, &u->m->v[k], &u->d) < 0) {
			u->failed_at = k;
			break;
		}
		k++;
	}
	archive_read_free(a);
	return NULL;
}

static int cmp_name_ptr(const void *pa, const void *pb)
{
	return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

int wheel_unpack_threads(const char *path, const char *dir, unsigned threads,
			 struct wheel_members *out, struct diags *d)
{
	if (threads <= 1)
		return wheel_unpack(path, dir, out, d);
	memset(out, 0, sizeof(*out));
	if (mkdir(dir, 0755) < 0)
		return diag_error(d, NULL, "cannot create %s: %s", dir, strerror(errno));
	/* the headers first, checked as wheel_unpack checks them; directories made */
	struct archive *a = open_wheel(path, d);
	uint64_t *sizes = NULL;
	unsigned *owner = NULL;
	int rc = -1;
	if (!a)
		goto out;
	for (;;) {
		struct archive_entry *e;
		int r = next_member(a, path, &e, d);
		if (r == ARCHIVE_EOF)
			break;
		if (r < 0)
			goto out;
		const char *name = archive_entry_pathname(e);
		int kind = member_header(e, path, dir, d);
		if (kind < 0)
			goto out;
		if (kind == 0)
			continue; /* a directory, made */
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 64;
			out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
			sizes = xrealloc(sizes, out->cap * sizeof(*sizes));
		}
		struct wheel_member *m = &out->v[out->n];
		memset(m, 0, sizeof(*m));
		m->name = xstrdup(name);
		m->executable = (archive_entry_perm(e) & 0111) != 0;
		sizes[out->n++] = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
	}
	archive_read_free(a);
	a = NULL;
	/* a name twice: wheel_unpack finds it when the second cannot be created */
	const char **names = xcalloc(out->n ? out->n : 1, sizeof(*names));
	for (size_t i = 0; i < out->n; i++)
		names[i] = out->v[i].name;
	qsort(names, out->n, sizeof(*names), cmp_name_ptr);
	for (size_t i = 1; i < out->n; i++) {
		if (!strcmp(names[i - 1], names[i])) {
			diag_error(d, NULL, "%s: the member \"%s\" appears twice", path, names[i]);
			free(names);
			goto out;
		}
	}
	free(names);
	/* the biggest members first, each to the thread with the fewest bytes so far */
	if (threads > out->n)
		threads = out->n ? (unsigned)out->n : 1;
	size_t *order = xcalloc(out->n ? out->n : 1, sizeof(*order));
	for (size_t i = 0; i < out->n; i++)
		order[i] = i;
	for (size_t i = 1; i < out->n; i++) { /* insertion sort by size, descending */
		size_t v = order[i], j = i;
		for (; j > 0 && sizes[order[j - 1]] < sizes[v]; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
	uint64_t *load = xcalloc(threads, sizeof(*load));
	owner = xcalloc(out->n ? out->n : 1, sizeof(*owner));
	for (size_t i = 0; i < out->n; i++) {
		unsigned best = 0;
		for (unsigned t = 1; t < threads; t++)
			if (load[t] < load[best])
				best = t;
		owner[order[i]] = best;
		load[best] += sizes[order[i]] + 4096;
	}
	free(order);
	free(load);
	struct unpack_share *u = xcalloc(threads, sizeof(*u));
	pthread_t *tids = xcalloc(threads, sizeof(*tids));
	bool *started = xcalloc(threads, sizeof(*started));
	for (unsigned t = 0; t < threads; t++) {
		u[t] = (struct unpack_share){ .path = path, .dir = dir, .m = out, .owner = owner,
					      .me = t };
		diags_init(&u[t].d);
		started[t] = t > 0 && pthread_create(&tids[t], NULL, unpack_worker, &u[t]) == 0;
	}
	unpack_worker(&u[0]);
	for (unsigned t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tids[t], NULL);
		else
			unpack_worker(&u[t]);
	}
	/* the error of the earliest member, as a sequential unpack would have stopped there */
	unsigned worst = threads;
	for (unsigned t = 0; t < threads; t++)
		if (u[t].failed_at != SIZE_MAX && (worst == threads || u[t].failed_at < u[worst].failed_at))
			worst = t;
	if (worst < threads) {
		for (size_t k = 0; k < u[worst].d.n; k++)
			if (u[worst].d.v[k].level == DIAG_ERROR)
				diag_error(d, NULL, "%s", u[worst].d.v[k].msg);
	} else {
		rc = 0;
	}
	for (unsigned t = 0; t < threads; t++)
		diags_release(&u[t].d);
	free(u);
	free(tids);
	free(started);
out:
	if (a)
		archive_read_free(a);
	free(sizes);
	free(owner);
	if (rc < 0)
		wheel_members_release(out);
	return rc;
}

/* ---- packing -------------------------------------------------------------------------------- */

struct pack_file {
	char *name;   /* relative to the directory */
	int group;    /* 0 package files, 1 .dist-info, 2 RECORD */
	bool executable;
};

struct pack_list {
	struct pack_file *v;
	size_t n, cap;
};

static int walk(const char *root, const char *rel, struct pack_list *l, struct diags *d)
{
	char *path = rel ? path_join(root, rel) : xstrdup(root);
	DIR *dh = opendir(path);
	if (!dh) {
		int rc = diag_error(d, NULL, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		char *full = path_join(root, child);
		struct stat st;
		if (lstat(full, &st) < 0) {
			rc = diag_error(d, NULL, "cannot read %s: %s", full, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(root, child, l, d);
		} else if (S_ISREG(st.st_mode)) {
			if (l->n == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 64;
				l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
			}
			l->v[l->n++] = (struct pack_file){ .name = child,
							   .executable = (st.st_mode & 0111) != 0 };
			child = NULL;
		} else {
			rc = diag_error(d, NULL, "%s is %s: a wheel holds only regular files", full,
					S_ISLNK(st.st_mode) ? "a symbolic link" : "a special file");
		}
		free(full);
		free(child);
	}
	closedir(dh);
	free(path);
	return rc;
}

static int cmp_pack(const void *pa, const void *pb)
{
	const struct pack_file *a = pa, *b = pb;
	if (a->group != b->group)
		return a->group - b->group;
	return strcmp(a->name, b->name);
}

char *wheel_dist_info(const char *dir, struct diags *d)
{
	char **names = NULL;
	size_t n = 0;
	if (list_dir(dir, ".dist-info", &names, &n) < 0) {
		diag_error(d, NULL, "cannot read %s: %s", dir, strerror(errno));
		return NULL;
	}
	char *found = NULL;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(dir, names[i]);
		if (is_directory(p) && count++ == 0)
			found = xstrdup(names[i]);
		free(p);
	}
	free_names(names, n);
	if (count != 1) {
		diag_error(d, NULL, "%s has %s .dist-info directory", dir,
			   count ? "more than one" : "no");
		free(found);
		return NULL;
	}
	return found;
}

static bool csv_needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

static void record_line(struct buf *b, const char *name, const char *hash, uint64_t size)
{
	if (csv_needs_quotes(name)) {
		buf_addf(b, "\"");
		for (const char *p = name; *p; p++)
			buf_adds(b, *p == '"' ? "\"\"" : (char[2]){ *p, 0 });
		buf_addf(b, "\"");
	} else {
		buf_addf(b, "%s", name);
	}
	if (hash)
		buf_addf(b, ",sha256=%s,%llu\n", hash, (unsigned long long)size);
	else
		buf_addf(b, ",,\n");
}

static int write_entry_header(struct archive *a, const char *name, uint64_t size,
			      bool executable, long long epoch)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, executable ? 0755 : 0644);
	archive_entry_set_mtime(e, (time_t)epoch, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int rc = archive_write_header(a, e);
	archive_entry_free(e);
	return rc == ARCHIVE_OK ? 0 : -1;
}

/* Writing the wheel failed: what and why, with what to do when the disk is full. */
static void write_failed(struct diags *d, struct archive *a, const char *what)
{
	int err = archive_errno(a);
	diag_error(d, NULL, "cannot add %s to the wheel: %s", what,
		   err > 0 ? strerror(err) : archive_error_string(a));
	if (err == ENOSPC || err == EDQUOT)
		diag_hint(d, "the disk is full: free space on the filesystem of the cache and run "
			     "again; nothing was kept");
}

/* Streams one file into the archive, hashing it for RECORD. */
static int pack_one(struct archive *a, const char *root, const struct pack_file *f,
		    long long epoch, struct buf *record, struct diags *d)
{
	char *full = path_join(root, f->name);
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int rc = diag_error(d, NULL, "cannot read %s: %s", full, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(full);
		return rc;
	}
	int rc = -1;
	if (write_entry_header(a, f->name, (uint64_t)st.st_size, f->executable, epoch) < 0) {
		diag_error(d, NULL, "cannot add %s to the wheel: %s", f->name,
			   archive_error_string(a));
		goto out;
	}
	struct sha256 h;
	sha256_init(&h);
	uint64_t size = 0;
	char chunk[1 << 16];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error(d, NULL, "cannot read %s: %s", full, strerror(errno));
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		sha256_update(&h, chunk, (size_t)n);
		size += (uint64_t)n;
		if (archive_write_data(a, chunk, (size_t)n) != n) {
			write_failed(d, a, f->name);
			break;
		}
	}
	char hash[SHA256_B64_SIZE];
	sha256_final_b64(&h, hash);
	if (rc == 0 && size != (uint64_t)st.st_size)
		rc = diag_error(d, NULL, "%s changed while it was packed", full);
	if (rc == 0)
		record_line(record, f->name, hash, size);
out:
	close(fd);
	free(full);
	return rc;
}

/* The files of `dir` in the order a wheel holds them, RECORD left out (regenerated), and
 * the name RECORD has; -1 with an error. */
static int pack_list(const char *dir, struct pack_list *l, struct buf *record_name,
		     struct diags *d)
{
	char *dist_info = wheel_dist_info(dir, d);
	if (!dist_info)
		return -1;
	int rc = walk(dir, NULL, l, d);
	buf_addf(record_name, "%s/RECORD", dist_info);
	size_t keep = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct pack_file *f = &l->v[i];
		if (!strcmp(f->name, record_name->data)) { /* regenerated below */
			free(f->name);
			continue;
		}
		f->group = starts_with(f->name, dist_info) && f->name[strlen(dist_info)] == '/';
		l->v[keep++] = *f;
	}
	l->n = keep;
	qsort(l->v, l->n, sizeof(*l->v), cmp_pack);
	free(dist_info);
	return rc;
}

static void pack_list_release(struct pack_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int wheel_pack_libarchive(const char *dir, const char *path, long long epoch, struct diags *d)
{
	if (epoch < WHEEL_EPOCH_MIN)
		epoch = WHEEL_EPOCH_MIN;
	struct pack_list l = { 0 };
	struct buf record_name = BUF_INIT;
	int rc = pack_list(dir, &l, &record_name, d);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	struct buf record = BUF_INIT;
	struct archive *a = NULL;
	if (rc < 0)
		goto out;
	rc = -1;
	a = archive_write_new();
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=deflate") != ARCHIVE_OK ||
	    archive_write_open_filename(a, tmp.data) != ARCHIVE_OK) {
		diag_error(d, NULL, "cannot write %s: %s", tmp.data, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (pack_one(a, dir, &l.v[i], epoch, &record, d) < 0)
			goto out;
		if (i == 0)
			fault_point("repack");
	}
	record_line(&record, record_name.data, NULL, 0);
	if (write_entry_header(a, record_name.data, record.len, false, epoch) < 0 ||
	    archive_write_data(a, record.data, record.len) != (la_ssize_t)record.len) {
		diag_error(d, NULL, "cannot add RECORD to %s: %s", tmp.data,
			   archive_error_string(a));
		goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		write_failed(d, a, tmp.data);
		goto out;
	}
	/* libarchive wrote the DOS times in local time; the wheel has them in UTC */
	if (zip_set_dos_time(tmp.data, epoch, d) < 0)
		goto out;
	if (rename(tmp.data, path) < 0) {
		diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	if (rc < 0)
		unlink(tmp.data);
	pack_list_release(&l);
	buf_release(&tmp);
	buf_release(&record);
	buf_release(&record_name);
	return rc;
}

int wheel_pack_threads(const char *dir, const char *path, long long epoch, unsigned threads,
		       struct diags *d)
{
	if (epoch < WHEEL_EPOCH_MIN)
		epoch = WHEEL_EPOCH_MIN;
	struct pack_list l = { 0 };
	struct buf record_name = BUF_INIT;
	int rc = pack_list(dir, &l, &record_name, d);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	struct buf record = BUF_INIT;
	struct zip_file *files = xcalloc(l.n ? l.n : 1, sizeof(*files));
	char **paths = xcalloc(l.n ? l.n : 1, sizeof(*paths));
	struct zip_writer *w = NULL;
	if (rc < 0)
		goto out;
	rc = -1;
	for (size_t i = 0; i < l.n; i++) {
		paths[i] = path_join(dir, l.v[i].name);
		files[i] = (struct zip_file){ .path = paths[i], .name = l.v[i].name,
					      .executable = l.v[i].executable };
	}
	unlink(tmp.data); /* a temp name a killed run left */
	if (!(w = zip_writer_open(tmp.data, epoch, d)))
		goto out;
	/* the first member alone, then the rest: a fault hook between them, as before */
	size_t first = l.n ? 1 : 0;
	if (zip_writer_add_files(w, files, first, 1, d) < 0)
		goto out;
	if (first)
		fault_point("repack");
	if (zip_writer_add_files(w, files + first, l.n - first, threads, d) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		record_line(&record, files[i].name, files[i].sha256, files[i].size);
	record_line(&record, record_name.data, NULL, 0);
	if (zip_writer_add_data(w, record_name.data, record.data, record.len, false, d) < 0)
		goto out;
	struct zip_writer *closing = w;
	w = NULL;
	if (zip_writer_close(closing, d) < 0)
		goto out;
	if (rename(tmp.data, path) < 0) {
		diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	zip_writer_abort(w);
	if (rc < 0)
		unlink(tmp.data);
	for (size_t i = 0; i < l.n; i++)
		free(paths[i]);
	free(paths);
	free(files);
	pack_list_release(&l);
	buf_release(&tmp);
	buf_release(&record);
	buf_release(&record_name);
	return rc;
}

int wheel_pack(const char *dir, const char *path, long long epoch, struct diags *d)
{
	return wheel_pack_threads(dir, path, epoch, 1, d);
}

/* ---- METADATA ------------------------------------------------------------------------------- */

/* One header of email-style metadata, with its continuation lines; next_header() walks
 * them and stops at the first empty line. */
struct header {
	const char *start;  /* the line */
	size_t len;         /* up to and including its last newline (continuations too) */
	size_t name_len;
	const char *value;  /* after ": " */
};

static const char *next_header(const char *p, struct header *h)
{
	if (!*p || *p == '\n' || (*p == '\r' && p[1] == '\n'))
		return NULL;
	h->start = p;
	const char *colon = strchr(p, ':');
	const char *eol = strchr(p, '\n');
	h->name_len = colon && (!eol || colon < eol) ? (size_t)(colon - p) : 0;
	h->value = colon && (!eol || colon < eol) ? colon + 1 : p;
	while (*h->value == ' ' || *h->value == '\t')
		h->value++;
	const char *end = eol ? eol + 1 : p + strlen(p);
	while (*end == ' ' || *end == '\t') { /* continuation lines */
		eol = strchr(end, '\n');
		end = eol ? eol + 1 : end + strlen(end);
	}
	h->len = (size_t)(end - p);
	return end;
}

static bool header_is(const struct header *h, const char *field)
{
	return h->name_len == strlen(field) && !strncasecmp(h->start, field, h->name_len);
}

static char *header_value(const struct header *h)
{
	const char *end = h->start + h->len;
	struct buf b = BUF_INIT;
	for (const char *p = h->value; p < end; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			while (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
				p++;
			if (p + 1 < end)
				buf_addch(&b, ' ');
			continue;
		}
		buf_addch(&b, *p);
	}
	return buf_detach(&b);
}

char *metadata_get(const char *text, const char *field)
{
	struct header h;
	for (const char *p = text; (p = next_header(p, &h));)
		if (header_is(&h, field))
			return header_value(&h);
	return NULL;
}

size_t metadata_get_all(const char *text, const char *field, struct buf *out)
{
	struct header h;
	size_t n = 0;
	for (const char *p = text; (p = next_header(p, &h));) {
		if (!header_is(&h, field))
			continue;
		char *v = header_value(&h);
		buf_addf(out, "%s\n", v);
		free(v);
		n++;
	}
	return n;
}

/* The offset where the headers end (the empty line or the end of the text). */
static size_t headers_end(const char *text)
{
	struct header h;
	const char *p = text, *next;
	while ((next = next_header(p, &h)))
		p = next;
	return (size_t)(p - text);
}

char *metadata_set(const char *text, const char *field, const char *value)
{
	struct header h;
	struct buf b = BUF_INIT;
	bool done = false;
	const char *p = text, *next;
	while ((next = next_header(p, &h))) {
		if (!done && header_is(&h, field)) {
			buf_addf(&b, "%.*s: %s\n", (int)h.name_len, h.start, value);
			done = true;
		} else {
			buf_addf(&b, "%.*s", (int)h.len, h.start);
		}
		p = next;
	}
	if (!done)
		buf_addf(&b, "%s: %s\n", field, value);
	buf_addf(&b, "%s", p);
	return buf_detach(&b);
}

char *metadata_remove(const char *text, const char *field,
		      bool (*drop)(const char *value, void *ctx), void *ctx)
{
	struct header h;
	struct buf b = BUF_INIT;
	const char *p = text, *next;
	while ((next = next_header(p, &h))) {
		bool skip = false;
		if (header_is(&h, field)) {
			char *v = header_value(&h);
			skip = drop(v, ctx);
			free(v);
		}
		if (!skip)
			buf_addf(&b, "%.*s", (int)h.len, h.start);
		p = next;
	}
	buf_addf(&b, "%s", p);
	return buf_detach(&b);
}

char *metadata_add(const char *text, const char *field, const char *value)
{
	size_t end = headers_end(text);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%.*s", (int)end, text);
	if (end && text[end - 1] != '\n')
		buf_addch(&b, '\n');
	buf_addf(&b, "%s: %s\n%s", field, value, text + end);
	return buf_detach(&b);
}
