#include "build/cache_gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/envstore.h"
#include "build/outcache.h"
#include "util/fault.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static const char *const part_names[NPARTS] = { "out", "dist", "git", "envs", "ccache", "other" };

const char *cache_part_name(enum cache_part p)
{
	return p < NPARTS ? part_names[p] : "?";
}

/* ---- sizes: du(1)'s count, a file with several links once ---------------------------------- */

struct inode_set {
	struct { dev_t dev; ino_t ino; } *v;
	size_t n, cap; /* cap: a power of two, or 0 */
};

/* Whether (dev, ino) was seen; adds it. */
static bool inode_seen(struct inode_set *s, dev_t dev, ino_t ino)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct inode_set bigger = { xcalloc(cap, sizeof(*bigger.v)), 0, cap };
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i].ino || s->v[i].dev)
				inode_seen(&bigger, s->v[i].dev, s->v[i].ino);
		free(s->v);
		*s = bigger;
	}
	size_t h = ((size_t)ino * 0x9E3779B97F4A7C15ull ^ (size_t)dev) & (s->cap - 1);
	while (s->v[h].ino || s->v[h].dev) {
		if (s->v[h].ino == ino && s->v[h].dev == dev)
			return true;
		h = (h + 1) & (s->cap - 1);
	}
	s->v[h].dev = dev;
	s->v[h].ino = ino;
	s->n++;
	return false;
}

static uint64_t stat_bytes(const struct stat *st, struct inode_set *seen)
{
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && inode_seen(seen, st->st_dev, st->st_ino))
		return 0;
	return (uint64_t)st->st_blocks * 512;
}

/* The bytes of everything inside the directory `fd` (closed here); *files counts regular
 * files when non-NULL. */
static uint64_t tree_bytes_fd(int fd, struct inode_set *seen, size_t *files)
{
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return 0;
	}
	uint64_t total = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed meanwhile */
		total += stat_bytes(&st, seen);
		if (S_ISREG(st.st_mode) && files)
			(*files)++;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
			if (sub >= 0)
				total += tree_bytes_fd(sub, seen, files);
		}
	}
	closedir(dir);
	return total;
}

/* The bytes of `path` (a file or a tree, itself included). */
static uint64_t path_bytes(const char *path, struct inode_set *seen, size_t *files)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	uint64_t total = stat_bytes(&st, seen);
	if (S_ISREG(st.st_mode) && files)
		(*files)++;
	if (S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			total += tree_bytes_fd(fd, seen, files);
	}
	return total;
}

/* Every name in `dir`, dot files too (but "." and ".."), sorted; -1 with errno. */
static int list_all(const char *dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *dd = opendir(dir);
	if (!dd)
		return -1;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(dd))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		GROW(*names, cap, *n + 1);
		(*names)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(dd);
	if (*n)
		qsort(*names, *n, sizeof(**names), strv_cmp);
	return 0;
}

/* The mtime of `path` in milliseconds since the epoch, 0 when it cannot be read. */
static long long mtime_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	return (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* ---- entries ----------------------------------------------------------------------------- */

/* Whether `name` in the directory of `part` is a complete entry (not a temp, lock or dot
 * file), and a directory. */
static bool is_entry(enum cache_part part, const char *dir, const char *name)
{
	if (name[0] == '.' || strstr(name, ".tmp-"))
		return false;
	size_t len = strlen(name);
	if (part == PART_GIT && (len < 5 || strcmp(name + len - 4, ".git")))
		return false;
	if (len > 5 && !strcmp(name + len - 5, ".lock"))
		return false;
	char *path = path_join(dir, name);
	bool ok = is_directory(path);
	free(path);
	return ok;
}

/* When the entry `path` was last used, in milliseconds. */
static long long last_use(enum cache_part part, const char *path)
{
	long long t = mtime_of(path);
	static const char *const git_files[] = { "FETCH_HEAD", "packed-refs", "refs",
						 "objects/pack", NULL };
	const char *const *inside = part == PART_GIT ? git_files : NULL;
	if (part == PART_ENVS) {
		char *used = path_join(path, "used");
		long long u = mtime_of(used);
		free(used);
		return u ? u : t;
	}
	for (size_t i = 0; inside && inside[i]; i++) {
		char *p = path_join(path, inside[i]);
		long long m = mtime_of(p);
		if (m > t)
			t = m;
		free(p);
	}
	if (part == PART_DIST) { /* dist/<sha256>/<file> */
		char **names = NULL;
		size_t n = 0;
		if (list_dir(path, NULL, &names, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				char *p = path_join(path, names[i]);
				long long m = mtime_of(p);
				if (m > t)
					t = m;
				free(p);
			}
			free_names(names, n);
		}
	}
	return t;
}

static const enum cache_part gc_parts[] = { PART_OUT, PART_DIST, PART_GIT, PART_ENVS };
#define NGC_PARTS (sizeof(gc_parts) / sizeof(gc_parts[0]))

int cache_du(const char *cache_dir, struct cache_usage *u, struct diags *d)
{
	memset(u, 0, sizeof(*u));
	struct stat st;
	if (stat(cache_dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return diag_error(d, NULL, "cannot read the cache %s: %s", cache_dir, strerror(errno));
	}
	struct inode_set seen = { 0 };
	u->total = stat_bytes(&st, &seen);
	char **names = NULL;
	size_t n = 0;
	if (list_all(cache_dir, &names, &n) < 0) {
		free(seen.v);
		return diag_error(d, NULL, "cannot list the cache %s: %s", cache_dir, strerror(errno));
	}
	for (size_t i = 0; i < n; i++) {
		enum cache_part part = PART_OTHER;
		for (int p = 0; p < PART_OTHER; p++)
			if (!strcmp(names[i], part_names[p]))
				part = (enum cache_part)p;
		char *path = path_join(cache_dir, names[i]);
		size_t files = 0;
		uint64_t bytes = path_bytes(path, &seen, &files);
		u->bytes[part] += bytes;
		u->total += bytes;
		if (part == PART_CCACHE || part == PART_OTHER) {
			u->entries[part] += files;
		} else {
			char **sub = NULL;
			size_t nsub = 0;
			if (list_dir(path, NULL, &sub, &nsub) == 0) {
				for (size_t k = 0; k < nsub; k++)
					u->entries[part] += is_entry(part, path, sub[k]);
				free_names(sub, nsub);
			}
		}
		free(path);
	}
	free_names(names, n);
	free(seen.v);
	return 0;
}

/* The store entries the venvs under `work_dir`/venv/<variant>/<recipe> were linked from (their
 * .ptbuild-env). Only those: the lower levels they were made from go by their last use. */
static void add_venv_entries(struct cache_refs *r, const char *work_dir)
{
	char *venvs = path_join(work_dir, "venv");
	char **variants = NULL;
	size_t nv = 0;
	if (list_dir(venvs, NULL, &variants, &nv) == 0) {
		for (size_t i = 0; i < nv; i++) {
			char *dir = path_join(venvs, variants[i]);
			char **recipes = NULL;
			size_t nr = 0;
			if (list_dir(dir, NULL, &recipes, &nr) == 0) {
				for (size_t k = 0; k < nr; k++) {
					struct buf path = BUF_INIT;
					buf_addf(&path, "%s/%s/.ptbuild-env", dir, recipes[k]);
					struct env_manifest m = { 0 };
					if (envstore_manifest_load(path.data, &m) == 0 && m.entry)
						strset_add(&r->envs, m.entry);
					envstore_manifest_release(&m);
					buf_release(&path);
				}
				free_names(recipes, nr);
			}
			free(dir);
		}
		free_names(variants, nv);
	}
	free(venvs);
}

/* The entries referenced ones were linked from (<entry>/base), and theirs: making a venv
 * of other build_requires on the same closure needs them. Levels are few; 8 rounds bound a
 * cycle that a hand-edited `base` could make. */
static void add_env_bases(struct cache_refs *r, const char *cache_dir)
{
	for (int round = 0; round < 8; round++) {
		struct strset found = { 0 };
		for (size_t i = 0; i < r->envs.n; i++) {
			struct buf path = BUF_INIT, base = BUF_INIT;
			buf_addf(&path, "%s/envs/%s/base", cache_dir, r->envs.v[i]);
			if (read_file(path.data, &base) == 0 && base.len && !strchr(base.data, '/'))
				strset_add(&found, base.data);
			buf_release(&base);
			buf_release(&path);
		}
		size_t added = 0;
		for (size_t i = 0; i < found.n; i++)
			if (!strset_has(&r->envs, found.v[i]) && ++added)
				strset_add(&r->envs, found.v[i]);
		strset_release(&found);
		if (!added)
			break;
	}
}

void cache_refs_add_state(struct cache_refs *r, const char *work_dir, const struct project *p)
{
	char *state = path_join(work_dir, "state");
	char **recipes = NULL;
	size_t nr = 0;
	if (list_dir(state, NULL, &recipes, &nr) == 0) {
		for (size_t i = 0; i < nr; i++) {
			if (!project_recipe(p, recipes[i]))
				continue; /* a recipe removed since: its records reference nothing */
			char *dir = path_join(state, recipes[i]);
			char **files = NULL;
			size_t nf = 0;
			if (list_dir(dir, ".json", &files, &nf) == 0) {
				for (size_t k = 0; k < nf; k++) {
					char *path = path_join(dir, files[k]);
					struct build_record rec;
					struct diags d;
					diags_init(&d);
					if (build_record_load(path, &rec, &d) == 0) {
						strset_add(&r->keys, rec.key);
						build_record_release(&rec);
					}
					diags_release(&d);
					free(path);
				}
				free_names(files, nf);
			}
			free(dir);
		}
		free_names(recipes, nr);
	}
	free(state);
	add_venv_entries(r, work_dir);
}

/* ---- gc ---------------------------------------------------------------------------------- */

void gc_result_release(struct gc_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->removed[i].name);
		free(r->removed[i].label);
	}
	free(r->removed);
	memset(r, 0, sizeof(*r));
}

struct candidate {
	struct gc_entry e;
	bool live;      /* used by a running build: never removed */
	bool keep;      /* referenced or recent */
	bool removed;
	long long used_ms;
};

static struct strset *refs_of(struct cache_refs *r, enum cache_part part)
{
	switch (part) {
	case PART_OUT:
		return &r->keys;
	case PART_DIST:
		return &r->dist;
	case PART_GIT:
		return &r->mirrors;
	case PART_ENVS:
		return &r->envs;
	default:
		return NULL;
	}
}

static char *out_label(const char *entry)
{
	char *manifest = path_join(entry, "manifest.json");
	struct build_record rec;
	struct diags d;
	diags_init(&d);
	char *label = NULL;
	if (build_record_load(manifest, &rec, &d) == 0) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s/%s", rec.recipe ? rec.recipe : "?", rec.variant ? rec.variant : "?");
		label = buf_detach(&b);
		build_record_release(&rec);
	}
	diags_release(&d);
	free(manifest);
	return label;
}

static int cmp_used(const void *a, const void *b)
{
	const struct candidate *x = *(struct candidate *const *)a, *y = *(struct candidate *const *)b;
	if (x->used_ms != y->used_ms)
		return x->used_ms < y->used_ms ? -1 : 1;
	return strcmp(x->e.name, y->e.name);
}

/* Empties <cache>/trash/ (what a gc left when it was killed, or its own). */
static int empty_trash(const char *trash, struct diags *d)
{
	char **names = NULL;
	size_t n = 0;
	if (list_all(trash, &names, &n) < 0)
		return errno == ENOENT ? 0 : diag_error(d, NULL, "cannot list %s: %s", trash,
							strerror(errno));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(trash, names[i]);
		if (remove_tree(p) < 0 && !rc) {
			rc = diag_error(d, NULL, "cannot remove %s: %s", p, strerror(errno));
			diag_hint(d, "remove it by hand; nothing in the cache needs it");
		}
		free(p);
	}
	free_names(names, n);
	return rc;
}

static int move_to_trash(const char *cache_dir, const char *trash, const struct gc_entry *e,
			 struct diags *d)
{
	char *from = NULL;
	struct buf b = BUF_INIT, to = BUF_INIT;
	buf_addf(&b, "%s/%s/%s", cache_dir, cache_part_name(e->part), e->name);
	from = buf_detach(&b);
	buf_addf(&to, "%s/%s-%s", trash, cache_part_name(e->part), e->name);
	int rc = 0;
	if (rename(from, to.data) < 0) {
		rc = diag_error(d, NULL, "cannot move %s into %s: %s", from, trash, strerror(errno));
		diag_hint(d, "check the permissions of the cache; what gc moved so far is in the "
			     "trash, the rest is in place");
	}
	buf_release(&to);
	free(from);
	return rc;
}

int cache_gc(const char *cache_dir, const struct gc_opts *o, struct gc_result *r, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	size_t since = d->n;
	if (!is_directory(cache_dir))
		return 0; /* nothing to remove */
	long long now = o->now ? o->now : (long long)time(NULL);
	char *gc_lock = path_join(cache_dir, "gc.lock");
	char *trash = path_join(cache_dir, "trash");
	struct cache_refs live = { 0 };
	struct candidate *c = NULL;
	size_t nc = 0, cap = 0;
	int live_fd = -1;
	int rc = -1;
	int gc_fd = lock_file_try(gc_lock);
	if (gc_fd < 0) {
		if (errno == EWOULDBLOCK)
			diag_error(d, NULL, "another `ptbuild cache gc` is running on %s (it holds %s)",
				   cache_dir, gc_lock);
		else
			diag_error(d, NULL, "cannot lock %s: %s", gc_lock, strerror(errno));
		diag_hint(d, "wait for it to finish; a gc is safe to run again after");
		goto out;
	}
	if (!o->dry_run && empty_trash(trash, d) < 0)
		goto out;
	/* From the scan of the live files to the last rename, no build registers. */
	live_fd = cache_live_lock_all(cache_dir);
	if (live_fd < 0) {
		diag_error(d, NULL, "cannot lock %s/live/.lock: %s", cache_dir, strerror(errno));
		diag_hint(d, "check that the cache directory is writable");
		goto out;
	}
	if (o->refs)
		add_env_bases(o->refs, cache_dir);
	long long oldest = 0;
	if (cache_live_scan(cache_dir, o->dry_run, &live, &r->nlive, &oldest, d) < 0)
		goto out;
	struct inode_set seen = { 0 };
	for (size_t p = 0; p < NGC_PARTS; p++) {
		enum cache_part part = gc_parts[p];
		char *dir = path_join(cache_dir, cache_part_name(part));
		char **names = NULL;
		size_t n = 0;
		if (list_dir(dir, NULL, &names, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (!is_entry(part, dir, names[i]))
					continue;
				char *path = path_join(dir, names[i]);
				GROW(c, cap, nc + 1);
				struct candidate *x = &c[nc++];
				memset(x, 0, sizeof(*x));
				x->e.part = part;
				x->e.name = xstrdup(names[i]);
				x->e.bytes = path_bytes(path, &seen, NULL);
				x->used_ms = last_use(part, path);
				x->e.used = x->used_ms / 1000;
				if (part == PART_OUT)
					x->e.label = out_label(path);
				/* a mirror's name is its directory's; keys and digests are too */
				struct strset *lr = refs_of(&live, part);
				x->live = (lr && strset_has(lr, names[i])) ||
					  (r->nlive && x->used_ms >= oldest);
				struct strset *pr = o->refs ? refs_of(o->refs, part) : NULL;
				x->keep = x->live || (pr && strset_has(pr, names[i])) ||
					  x->used_ms > (now - (long long)o->keep_days * 86400) * 1000;
				free(path);
			}
			free_names(names, n);
		}
		free(dir);
	}
	free(seen.v);
	/* unreferenced first, then the least recently used until the rest fits */
	uint64_t kept = 0;
	for (size_t i = 0; i < nc; i++) {
		c[i].removed = !c[i].keep;
		if (c[i].keep)
			kept += c[i].e.bytes;
	}
	if (o->have_max && kept > o->max_size) {
		struct candidate **order = xcalloc(nc + 1, sizeof(*order));
		size_t no = 0;
		for (size_t i = 0; i < nc; i++)
			if (!c[i].removed && !c[i].live)
				order[no++] = &c[i];
		qsort(order, no, sizeof(*order), cmp_used);
		for (size_t i = 0; i < no && kept > o->max_size; i++) {
			order[i]->removed = true;
			order[i]->e.over_size = true;
			kept -= order[i]->e.bytes;
		}
		free(order);
	}
	r->kept = kept;
	/* the order of removal: unreferenced ones, then by last use */
	struct candidate **out = xcalloc(nc + 1, sizeof(*out));
	size_t nout = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nc; i++)
			if (c[i].removed && c[i].e.over_size == (pass == 1))
				out[nout++] = &c[i];
	size_t unref = 0;
	while (unref < nout && !out[unref]->e.over_size)
		unref++;
	qsort(out + unref, nout - unref, sizeof(*out), cmp_used);
	rc = 0;
	if (!o->dry_run && nout && make_dirs(trash, 0755) < 0) {
		rc = diag_error(d, NULL, "cannot create %s: %s", trash, strerror(errno));
		diag_hint(d, "check the permissions of the cache; nothing was removed");
	}
	for (size_t i = 0; i < nout && !rc; i++) {
		if (!o->dry_run && move_to_trash(cache_dir, trash, &out[i]->e, d) < 0) {
			rc = -1;
			break;
		}
		GROW(r->removed, r->cap, r->n + 1);
		r->removed[r->n++] = out[i]->e;
		out[i]->e.name = NULL;
		out[i]->e.label = NULL;
		r->freed += out[i]->e.bytes;
	}
	free(out);
	close(live_fd); /* everything removed is in the trash: builds may register again */
	live_fd = -1;
	if (!o->dry_run && r->n) {
		fault_point("gc"); /* moved into the trash, not yet removed */
		if (empty_trash(trash, d) < 0)
			rc = -1;
	}
out:
	if (rc < 0)
		diags_classify(d, since, DIAG_ENVIRONMENT);
	for (size_t i = 0; i < nc; i++) {
		free(c[i].e.name);
		free(c[i].e.label);
	}
	free(c);
	if (live_fd >= 0)
		close(live_fd);
	if (gc_fd >= 0)
		close(gc_fd);
	cache_refs_release(&live);
	free(trash);
	free(gc_lock);
	return rc;
}
