#include "build/cache_live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/url.h"
#include "util/xalloc.h"

/* ---- string sets ------------------------------------------------------------------------- */

void strset_add(struct strset *s, const char *str)
{
	if (!str || !*str)
		return;
	GROW(s->v, s->cap, s->n + 1);
	s->v[s->n++] = xstrdup(str);
	s->sorted = false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool strset_has(struct strset *s, const char *str)
{
	if (!s->n)
		return false;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
		s->sorted = true;
	}
	return bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

void strset_release(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void cache_refs_release(struct cache_refs *r)
{
	strset_release(&r->keys);
	strset_release(&r->mirrors);
	strset_release(&r->dist);
	strset_release(&r->envs);
}

static void add_mirror(struct cache_refs *r, const char *url)
{
	if (!url || !*url)
		return;
	char *name = url_mirror_name(url);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s.git", name);
	strset_add(&r->mirrors, b.data);
	buf_release(&b);
	free(name);
}

static void add_pins(struct cache_refs *r, const struct pins *p)
{
	for (size_t i = 0; p && i < p->n; i++) {
		const struct pin *pin = &p->v[i];
		for (size_t k = 0; k < pin->nsubs; k++)
			add_mirror(r, pin->subs[k].url);
		for (size_t k = 0; k < pin->nfiles; k++)
			strset_add(&r->dist, pin->files[k].sha256);
	}
}

void cache_refs_of_session(struct cache_refs *r, const struct session *s, const struct pins *pins,
			   bool whole_lock)
{
	for (size_t i = 0; i < s->plan.n; i++)
		strset_add(&r->keys, s->plan.v[i].key);
	for (size_t i = 0; i < s->project.nrecipes; i++) {
		const struct recipe *rc = &s->project.recipes[i];
		if (rc->source.kind == SOURCE_GIT)
			add_mirror(r, rc->source.location);
		for (size_t k = 0; k < rc->noverrides; k++)
			add_mirror(r, rc->overrides[k].git);
	}
	add_pins(r, pins);
	add_pins(r, &s->lock.pins);
	struct strset planned = { 0 };
	for (size_t i = 0; i < s->plan.n && !whole_lock; i++) {
		char *id = variant_lock_id(&s->plan.v[i]);
		strset_add(&planned, id);
		free(id);
	}
	for (size_t i = 0; i < s->lock.n; i++) {
		const struct lock_variant *lv = &s->lock.v[i];
		if (!whole_lock && !strset_has(&planned, lv->id))
			continue;
		strset_add(&r->keys, lv->key);
		for (size_t k = 0; k < lv->nruntime; k++)
			strset_add(&r->dist, lv->runtime[k].sha256);
	}
	strset_release(&planned);
}

/* ---- live files --------------------------------------------------------------------------- */

static char *live_dir(const char *cache_dir)
{
	return path_join(cache_dir, "live");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flock(2) on <cache>/live/.lock, waiting; the fd or -1. */
static int lock_live_dir(const char *cache_dir, int how)
{
	char *dir = live_dir(cache_dir);
	char *path = path_join(dir, ".lock");
	int fd = -1;
	if (make_dirs(dir, 0755) == 0)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int saved = errno;
	while (fd >= 0 && flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		saved = errno;
		close(fd);
		fd = -1;
	}
	free(path);
	free(dir);
	errno = saved;
	return fd;
}

int cache_live_lock_all(const char *cache_dir)
{
	return lock_live_dir(cache_dir, LOCK_EX);
}

static void write_set(struct jw *w, const char *key, struct strset *s)
{
	jw_key(w, key);
	jw_array_begin(w);
	if (s->n)
		strset_has(s, ""); /* sorts */
	for (size_t i = 0; i < s->n; i++)
		jw_string(w, s->v[i]);
	jw_array_end(w);
}

/* Writes the live file; the caller holds <cache>/live/.lock shared. */
static int live_write(struct cache_live *l, const struct cache_refs *r)
{
	struct cache_refs empty = { 0 };
	struct cache_refs *refs = (struct cache_refs *)(r ? r : &empty);
	struct buf text = BUF_INIT;
	struct jw w;
	jw_init(&w, &text, true);
	jw_object_begin(&w);
	jw_kint(&w, "format", 1);
	jw_kint(&w, "pid", (long long)getpid());
	jw_kstring(&w, "project", l->project);
	jw_kint(&w, "started_ms", l->started_ms);
	write_set(&w, "dist", &refs->dist);
	write_set(&w, "keys", &refs->keys);
	write_set(&w, "mirrors", &refs->mirrors);
	jw_object_end(&w);
	buf_addch(&text, '\n');
	int rc = write_file_replace(l->json, text.data, text.len);
	buf_release(&text);
	return rc;
}

static void live_warn(struct diags *d, const char *what, int err)
{
	diag_warn(d, NULL, "cannot register this build in %s: %s; a `ptbuild cache gc` beside "
		  "it may remove what it uses", what, strerror(err));
	diag_hint(d, "check that the cache directory is writable");
}

int cache_live_begin(struct cache_live *l, const char *cache_dir, const char *project_dir,
		     struct diags *d)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	char *dir = live_dir(cache_dir);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/%ld.lock", dir, (long)getpid());
	l->lock = buf_detach(&b);
	buf_addf(&b, "%s/%ld.json", dir, (long)getpid());
	l->json = buf_detach(&b);
	l->project = absolute_path(project_dir);
	l->started_ms = now_ms();
	/* shared while registering: a gc scanning (exclusive) sees all of it or none */
	int lfd = lock_live_dir(cache_dir, LOCK_SH);
	int rc = -1;
	if (lfd < 0)
		live_warn(d, dir, errno);
	else if ((l->fd = lock_file_try(l->lock)) < 0)
		live_warn(d, l->lock, errno);
	else if (live_write(l, NULL) < 0)
		live_warn(d, l->json, errno);
	else
		rc = 0;
	if (lfd >= 0)
		close(lfd);
	free(dir);
	if (rc < 0)
		cache_live_end(l);
	return rc;
}

/* The cache directory of a live file: its directory's parent. */
static char *cache_of(const struct cache_live *l)
{
	char *dir = xstrdup(l->json);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

int cache_live_update(struct cache_live *l, const struct cache_refs *r, struct diags *d)
{
	if (!l->json || l->fd < 0)
		return -1;
	char *cache = cache_of(l);
	int lfd = lock_live_dir(cache, LOCK_SH);
	int rc = lfd < 0 ? -1 : live_write(l, r);
	if (rc < 0)
		live_warn(d, l->json, errno);
	if (lfd >= 0)
		close(lfd);
	free(cache);
	return rc;
}

void cache_live_end(struct cache_live *l)
{
	if (l->json && l->fd >= 0) {
		unlink(l->json);
		unlink(l->lock);
	}
	if (l->fd >= 0)
		close(l->fd);
	free(l->json);
	free(l->lock);
	free(l->project);
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

/* ---- the gc's scan ------------------------------------------------------------------------ */

static void read_set(const struct jnode *root, const char *key, struct strset *into)
{
	const struct jnode *a = jnode_get(root, key);
	for (size_t i = 0; a && a->type == JSON_ARRAY && i < a->n; i++)
		if (a->child[i].type == JSON_STRING)
			strset_add(into, a->child[i].str);
}

int cache_live_scan(const char *cache_dir, bool dry_run, struct cache_refs *into, size_t *nlive,
		    long long *oldest, struct diags *d)
{
	*nlive = 0;
	*oldest = 0; /* milliseconds */
	char *dir = live_dir(cache_dir);
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	if (list_dir(dir, NULL, &names, &n) < 0) {
		if (errno != ENOENT)
			rc = diag_error(d, NULL, "cannot list %s: %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		size_t len = strlen(name);
		if (len < 6 || strcmp(name + len - 5, ".lock"))
			continue;
		char *stem = xstrndup(name, len - 5);
		char *lock = path_join(dir, name);
		struct buf json = BUF_INIT;
		buf_addf(&json, "%s/%s.json", dir, stem);
		int fd = lock_file_try(lock);
		if (fd >= 0) { /* nobody holds it: the build that wrote it is gone */
			if (!dry_run) {
				unlink(json.data);
				unlink(lock);
			}
			close(fd);
		} else if (errno != EWOULDBLOCK) {
			rc = diag_error(d, NULL, "cannot lock %s: %s", lock, strerror(errno));
		} else if (path_exists(json.data)) {
			struct jdoc doc;
			struct diags pd;
			diags_init(&pd);
			const struct jnode *started = NULL;
			if (jdoc_load(&doc, json.data, &pd) == 0 && doc.root.type == JSON_OBJECT &&
			    (started = jnode_get(&doc.root, "started_ms")) && started->type == JSON_NUMBER) {
				read_set(&doc.root, "keys", &into->keys);
				read_set(&doc.root, "mirrors", &into->mirrors);
				read_set(&doc.root, "dist", &into->dist);
				long long t = (long long)started->num;
				if (!*oldest || t < *oldest)
					*oldest = t;
				(*nlive)++;
			} else {
				rc = diag_error(d, NULL, "%s, the live file of a running build, cannot be "
						"read", json.data);
				diag_hint(d, "wait for that build (pid %s) to finish; gc removed nothing",
					  stem);
			}
			jdoc_release(&doc);
			diags_release(&pd);
		} else {
			/* held, its file not written yet: a build registering; it started now */
			long long t = now_ms();
			if (!*oldest || t < *oldest)
				*oldest = t;
			(*nlive)++;
		}
		buf_release(&json);
		free(lock);
		free(stem);
	}
	/* a live file whose lock file is gone is stale too */
	for (size_t i = 0; i < n && !dry_run; i++) {
		size_t len = strlen(names[i]);
		if (len < 6 || strcmp(names[i] + len - 5, ".json"))
			continue;
		struct buf lock = BUF_INIT;
		buf_addf(&lock, "%s/%.*s.lock", dir, (int)(len - 5), names[i]);
		if (!path_exists(lock.data)) {
			char *p = path_join(dir, names[i]);
			unlink(p);
			free(p);
		}
		buf_release(&lock);
	}
	free_names(names, n);
	free(dir);
	return rc;
}
