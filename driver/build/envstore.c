#define _GNU_SOURCE /* memmem */
#include "build/envstore.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

char *envstore_entry(const char *cache_dir, const char *digest, const char *suffix)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/envs/%s%s", cache_dir, digest, suffix ? suffix : "");
	return buf_detach(&p);
}

static void add_file(struct env_manifest *m, const char *rel, long long size, long long mtime,
		     unsigned long long ino)
{
	GROW(m->files, m->cap, m->n + 1);
	m->files[m->n++] = (struct env_file){ xstrdup(rel), size, mtime, ino };
}

static void add_rewrite(struct env_manifest *m, const char *rel)
{
	GROW(m->rewrite, m->caprw, m->nrewrite + 1);
	m->rewrite[m->nrewrite++] = xstrdup(rel);
}

void envstore_manifest_release(struct env_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->files[i].rel);
	for (size_t i = 0; i < m->nrewrite; i++)
		free(m->rewrite[i]);
	free(m->files);
	free(m->rewrite);
	free(m->made_at);
	free(m->entry);
	memset(m, 0, sizeof(*m));
}

int envstore_manifest_load(const char *path, struct env_manifest *m)
{
	memset(m, 0, sizeof(*m));
	struct buf text = BUF_INIT;
	if (read_file(path, &text) < 0)
		return -1;
	const char *cur = text.data;
	char *line;
	bool ok = starts_with(text.data, "ptbuild-env 1\n");
	while (ok && (line = next_line(&cur))) {
		long long size, mtime;
		unsigned long long ino;
		int used = 0;
		if (starts_with(line, "made-at "))
			m->made_at = xstrdup(line + 8);
		else if (starts_with(line, "entry "))
			m->entry = xstrdup(line + 6);
		else if (starts_with(line, "linked "))
			m->linked = line[7] == '1';
		else if (starts_with(line, "rewrite "))
			add_rewrite(m, line + 8);
		else if (sscanf(line, "file %lld %lld %llu %n", &size, &mtime, &ino, &used) == 3 &&
			 used && line[used])
			add_file(m, line + used, size, mtime, ino);
		else if (strcmp(line, "ptbuild-env 1"))
			ok = false;
		free(line);
	}
	buf_release(&text);
	if (!ok || !m->made_at) {
		envstore_manifest_release(m);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void envstore_manifest_write(const struct env_manifest *m, struct buf *out)
{
	buf_addf(out, "ptbuild-env 1\nmade-at %s\n", m->made_at);
	if (m->entry)
		buf_addf(out, "entry %s\nlinked %d\n", m->entry, m->linked ? 1 : 0);
	for (size_t i = 0; i < m->nrewrite; i++)
		buf_addf(out, "rewrite %s\n", m->rewrite[i]);
	for (size_t i = 0; i < m->n; i++)
		buf_addf(out, "file %lld %lld %llu %s\n", m->files[i].size, m->files[i].mtime_ns,
			 m->files[i].ino, m->files[i].rel);
}

static bool is_rewritten(const struct env_manifest *m, const char *rel)
{
	for (size_t i = 0; i < m->nrewrite; i++)
		if (!strcmp(m->rewrite[i], rel))
			return true;
	return false;
}

static long long mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

int envstore_check(const char *venv, const struct env_manifest *m, enum env_check how,
		   char **bad, const char **why)
{
	*bad = NULL;
	*why = NULL;
	for (size_t i = 0; i < m->n && !*why; i++) {
		const struct env_file *f = &m->files[i];
		if (how != ENV_CHECK_ENTRY && is_rewritten(m, f->rel))
			continue; /* the venv's own copy */
		char *path = path_join(venv, f->rel);
		struct stat st;
		bool same_ino = false;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (how != ENV_CHECK_SHARED)
				*why = "is missing";
		} else if ((same_ino = (unsigned long long)st.st_ino == f->ino),
			   how == ENV_CHECK_SHARED && !same_ino) {
			/* replaced in the venv itself: nothing shared changed */
		} else if (!same_ino && (how == ENV_CHECK_ENTRY || m->linked)) {
			*why = "was replaced";
		} else if ((long long)st.st_size != f->size || mtime_ns(&st) != f->mtime_ns) {
			*why = "was written after the entry was made";
		}
		if (*why)
			*bad = path;
		else
			free(path);
	}
	return *why ? -1 : 0;
}

static bool names_path(const char *path, const char *what)
{
	struct buf text = BUF_INIT;
	bool found = read_file(path, &text) == 0 && text.len &&
		     memmem(text.data, text.len, what, strlen(what));
	buf_release(&text);
	return found;
}

/* Seals the tree under `root`/`rel`: every regular file a-w and into `m`. */
static int seal_dir(const char *root, const char *rel, struct env_manifest *m)
{
	char *dir = *rel ? path_join(root, rel) : xstrdup(root);
	char **names;
	size_t n;
	int rc = list_dir(dir, NULL, &names, &n);
	free(dir);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct buf r = BUF_INIT;
		buf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
		char *path = path_join(root, r.data);
		struct stat st;
		if (lstat(path, &st) < 0) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = seal_dir(root, r.data, m);
		} else if (S_ISREG(st.st_mode)) {
			if ((st.st_mode & 0222) && chmod(path, st.st_mode & 07555) < 0)
				rc = -1;
			else if (lstat(path, &st) < 0)
				rc = -1;
			else
				add_file(m, r.data, (long long)st.st_size, mtime_ns(&st),
					 (unsigned long long)st.st_ino);
			bool top = !strcmp(r.data, "pyvenv.cfg") ||
				   (starts_with(r.data, "bin/") && !strchr(r.data + 4, '/'));
			if (rc == 0 && top && names_path(path, m->made_at))
				add_rewrite(m, r.data);
		}
		free(path);
		buf_release(&r);
	}
	free_names(names, n);
	return rc;
}

int envstore_seal(const char *venv, struct env_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->made_at = xstrdup(venv);
	/* list_dir leaves out dot files: a venv has none that matter at its top */
	int rc = seal_dir(venv, "", m);
	if (rc < 0) {
		int saved = errno;
		envstore_manifest_release(m);
		errno = saved;
	}
	return rc;
}

int envstore_rewrite(const char *venv, const struct env_manifest *m, const char *to)
{
	size_t from_len = strlen(m->made_at);
	for (size_t i = 0; i < m->nrewrite; i++) {
		char *path = path_join(venv, m->rewrite[i]);
		struct buf text = BUF_INIT, out = BUF_INIT;
		struct stat st;
		int rc = lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? read_file(path, &text) : -1;
		if (rc == 0) {
			const char *p = text.data, *end = text.data + text.len, *hit;
			while ((hit = memmem(p, (size_t)(end - p), m->made_at, from_len))) {
				buf_add(&out, p, (size_t)(hit - p));
				buf_adds(&out, to);
				p = hit + from_len;
			}
			buf_add(&out, p, (size_t)(end - p));
			/* a new file renamed over the link: the store's file stays as it is */
			rc = write_file_replace(path, out.data ? out.data : "", out.len);
			if (rc == 0)
				rc = chmod(path, (st.st_mode & 07777) | 0200);
		}
		buf_release(&text);
		buf_release(&out);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int envstore_drop(const char *entry)
{
	struct buf away = BUF_INIT;
	buf_addf(&away, "%s.drop-%ld", entry, (long)getpid());
	remove_tree(away.data);
	int rc = rename(entry, away.data);
	if (rc == 0)
		rc = remove_tree(away.data);
	else if (errno == ENOENT)
		rc = 0; /* dropped by another build already */
	buf_release(&away);
	return rc;
}
