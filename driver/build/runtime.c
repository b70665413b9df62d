#include "build/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/outcache.h"
#include "plan/fingerprint.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"

/* A wheel the plan provides for one toolchain and Python. */
struct provided {
	char *project;  /* owned: normalized */
	char *version;  /* owned */
	char *path;     /* owned: the file */
	char *file;     /* owned: its name */
};

struct label_wheels {
	struct provided *v; /* owned */
	size_t n;
};

static void label_wheels_release(struct label_wheels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].project);
		free(l->v[i].version);
		free(l->v[i].path);
		free(l->v[i].file);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void provide(struct label_wheels *l, char *path, const char *file)
{
	struct wheel_name wn;
	if (wheel_name_parse(file, &wn) < 0) {
		free(path);
		return;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct provided){ dist_normalize(wn.dist), xstrdup(wn.version), path,
					  xstrdup(file) };
	wheel_name_release(&wn);
}

/* The record of a built variant's output entry; -1 when it has none. */
static int load_record(const struct session *s, const struct variant *v, struct build_record *rec)
{
	if (!out_entry_exists(s->cache_dir, v->key))
		return -1;
	char *dir = out_entry_dir(s->cache_dir, v->key);
	char *manifest = path_join(dir, "manifest.json");
	struct diags d;
	diags_init(&d);
	int rc = build_record_load(manifest, rec, &d);
	diags_release(&d);
	free(manifest);
	free(dir);
	return rc;
}

/* Every wheel of the plan's variants labelled `label`: built ones from their entries,
 * wheel sources from their pinned files. */
static void wheels_of_label(const struct session *s, const struct pins *pins, const char *label,
			    struct label_wheels *out)
{
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		if (strcmp(v->label, label))
			continue;
		if (v->recipe->source.kind == SOURCE_WHEEL) {
			const struct pin *pin = pins_find(pins, v->recipe->name);
			for (size_t f = 0; pin && f < pin->nfiles; f++) {
				const struct pinned_file *pf = &pin->files[f];
				if (pf->python && strcmp(pf->python, v->python))
					continue;
				struct buf p = BUF_INIT;
				buf_addf(&p, "%s/dist/%s/%s", s->cache_dir, pf->sha256, pf->name);
				provide(out, buf_detach(&p), pf->name);
			}
			continue;
		}
		struct build_record rec;
		if (load_record(s, v, &rec) < 0)
			continue;
		char *dir = out_entry_dir(s->cache_dir, v->key);
		for (size_t w = 0; w < rec.nwheels; w++)
			provide(out, path_join(dir, rec.wheels[w].file), rec.wheels[w].file);
		free(dir);
		build_record_release(&rec);
	}
}

static bool provides(const struct label_wheels *l, const char *project)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].project, project))
			return true;
	return false;
}

/* The normalized project a PEP 508 line names; caller frees. */
static char *line_project(const char *line)
{
	size_t len = 0;
	while (isalnum((unsigned char)line[len]) || strchr("._-", line[len]))
		len++;
	char *name = xstrndup(line, len);
	char *norm = dist_normalize(name);
	free(name);
	return norm;
}

/* Whether the line's marker mentions `extra` (a requirement of an extra nobody asked for). */
static bool for_an_extra(const char *line)
{
	const char *semi = strchr(line, ';');
	return semi && strstr(semi, "extra") != NULL;
}

/* Appends the Requires-Dist lines of the METADATA `meta` that `l` does not provide. */
static void add_requires(const char *meta, const struct label_wheels *l, char ***lines, size_t *n)
{
	const char *cursor = meta;
	for (char *one; (one = next_line(&cursor)); free(one)) {
		size_t len = strlen(one);
		while (len && (one[len - 1] == '\r' || one[len - 1] == ' '))
			one[--len] = '\0';
		if (!len) { /* the end of the headers: the description follows */
			free(one);
			break;
		}
		if (strncasecmp(one, "Requires-Dist:", 14))
			continue;
		const char *value = one + 14;
		while (*value == ' ' || *value == '\t')
			value++;
		char *project = line_project(value);
		bool keep = *project && !provides(l, project) && !for_an_extra(value);
		free(project);
		if (!keep)
			continue;
		*lines = xrealloc(*lines, (*n + 1) * sizeof(char *));
		(*lines)[(*n)++] = xstrdup(value);
	}
}

/* The requirement lines of the variant's own wheels that the label does not provide,
 * sorted and "\n"-joined; NULL with an error when a wheel cannot be read. */
static char *requirements_of(const struct session *s, const struct variant *v,
			     const struct build_record *rec, const struct label_wheels *l,
			     struct diags *d)
{
	char **lines = NULL;
	size_t n = 0;
	char *dir = out_entry_dir(s->cache_dir, v->key);
	int rc = 0;
	for (size_t w = 0; w < rec->nwheels && rc == 0; w++) {
		char *path = path_join(dir, rec->wheels[w].file);
		struct buf meta = BUF_INIT;
		rc = wheel_read_metadata(path, &meta, d);
		if (rc == 0)
			add_requires(meta.data, l, &lines, &n);
		buf_release(&meta);
		free(path);
	}
	free(dir);
	struct buf joined = BUF_INIT;
	buf_adds(&joined, "");
	if (n)
		qsort(lines, n, sizeof(char *), strv_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(lines[i - 1], lines[i]))
			buf_addf(&joined, "%s%s", joined.len ? "\n" : "", lines[i]);
		free(lines[i]);
	}
	free(lines);
	if (rc < 0) {
		buf_release(&joined);
		return NULL;
	}
	return buf_detach(&joined);
}

struct resolve_ctx {
	const struct label_wheels *l;
};

/* pypi_requirements' skip: the wheels the label provides (pip copied them from
 * --find-links). */
static bool skip_provided(const char *file, void *ctx)
{
	const struct resolve_ctx *rc = ctx;
	struct wheel_name wn;
	if (wheel_name_parse(file, &wn) < 0)
		return false;
	char *project = dist_normalize(wn.dist);
	bool skip = provides(rc->l, project);
	free(project);
	wheel_name_release(&wn);
	return skip;
}

/* pip download of `requires` for variant `v` into `c`. */
static int resolve_now(const struct session *s, const struct variant *v, const char *id,
		       const struct label_wheels *l, const struct runtime_request *rq,
		       struct runtime_closure *c, struct diags *d)
{
	const struct python_fp *fp = fingerprints_python(&s->plan.fp, v->python);
	if (!fp || !fp->interpreter)
		return diag_error(d, NULL, "%s: no Python %s interpreter to resolve its runtime "
					   "requirements with", id, v->python);
	struct buf dir = BUF_INIT, req = BUF_INIT, con = BUF_INIT, links = BUF_INIT;
	buf_addf(&dir, "%s/tmp/runtime", s->work_dir);
	remove_stale_temps(dir.data);
	buf_addf(&dir, ".tmp-%ld", (long)getpid());
	remove_tree(dir.data);
	buf_addf(&links, "%s/links", dir.data);
	int rc = 0;
	if (make_dirs(links.data, 0755) < 0)
		rc = diag_error(d, NULL, "cannot create %s: %s", links.data, strerror(errno));
	struct buf text = BUF_INIT;
	buf_addf(&text, "%s\n", c->requires);
	buf_addf(&req, "%s/requirements.txt", dir.data);
	if (rc == 0 && write_file_replace(req.data, text.data, text.len) < 0)
		rc = diag_error(d, NULL, "cannot write %s: %s", req.data, strerror(errno));
	buf_reset(&text);
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		buf_addf(&text, "%s==%s\n", l->v[i].project, l->v[i].version);
		char *link = path_join(links.data, l->v[i].file);
		if (symlink(l->v[i].path, link) < 0 && errno != EEXIST)
			rc = diag_error(d, NULL, "cannot link %s: %s", link, strerror(errno));
		free(link);
	}
	buf_addf(&con, "%s/constraints.txt", dir.data);
	if (rc == 0 && write_file_replace(con.data, text.data, text.len) < 0)
		rc = diag_error(d, NULL, "cannot write %s: %s", con.data, strerror(errno));
	buf_release(&text);
	if (rc == 0) {
		struct pypi_opts po = { .cache_dir = s->cache_dir, .offline = rq->offline,
					.offline_flag = rq->offline_flag, .mirrors = &s->mirrors };
		struct buf what = BUF_INIT;
		buf_addf(&what, "the runtime requirements of %s (%s)", id, c->requires);
		struct resolve_ctx ctx = { l };
		rc = pypi_requirements(&po, fp->interpreter, what.data, req.data, con.data,
				       links.data, skip_provided, &ctx, &c->files, &c->nfiles, d);
		buf_release(&what);
	}
	remove_tree(dir.data);
	buf_release(&dir);
	buf_release(&req);
	buf_release(&con);
	buf_release(&links);
	c->resolved_now = true;
	return rc;
}

static int cmp_file_name(const void *a, const void *b)
{
	return strcmp(((const struct pypi_file *)a)->name, ((const struct pypi_file *)b)->name);
}

/* Whether the resolved files are the locked ones (both sorted by name). */
static bool same_files(const struct runtime_closure *c, const struct lock_variant *lv)
{
	if (c->nfiles != lv->nruntime)
		return false;
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].name, lv->runtime[i].name) ||
		    strcmp(c->files[i].sha256, lv->runtime[i].sha256))
			return false;
	return true;
}

/* The locked closure `lv` into `c` when every file is in the cache; false otherwise, with
 * the first missing path in `missing` (caller frees). */
static bool from_lock(const struct session *s, const struct lock_variant *lv,
		      struct runtime_closure *c, char **missing)
{
	*missing = NULL;
	c->files = xcalloc(lv->nruntime + 1, sizeof(*c->files));
	for (size_t i = 0; i < lv->nruntime; i++) {
		struct buf p = BUF_INIT;
		buf_addf(&p, "%s/dist/%s/%s", s->cache_dir, lv->runtime[i].sha256, lv->runtime[i].name);
		struct stat st;
		if (stat(p.data, &st) < 0) {
			*missing = buf_detach(&p);
			return false;
		}
		struct pypi_file *f = &c->files[c->nfiles++];
		f->path = buf_detach(&p);
		f->name = xstrdup(lv->runtime[i].name);
		snprintf(f->sha256, sizeof(f->sha256), "%s", lv->runtime[i].sha256);
	}
	return true;
}

static void closure_files_release(struct runtime_closure *c)
{
	for (size_t i = 0; i < c->nfiles; i++)
		pypi_file_release(&c->files[i]);
	free(c->files);
	c->files = NULL;
	c->nfiles = 0;
}

/* One built variant's closure; -2 for an input error (the lock), -1 for the rest. */
static int close_variant(const struct session *s, const struct variant *v,
			 const struct label_wheels *l, const struct runtime_request *rq,
			 struct runtime_closure *c, struct diags *d)
{
	char *id = variant_lock_id(v);
	const struct lock_variant *lv = rq->lock ? lockfile_variant(rq->lock, id) : NULL;
	bool applies = lv && lv->runtime_requires && !strcmp(lv->key, v->key) &&
		       !strcmp(lv->runtime_requires, c->requires);
	bool locked = rq->mode != RUNTIME_RESOLVE;
	int rc = 0;
	char *missing = NULL;
	if (applies && from_lock(s, lv, c, &missing))
		goto out;
	closure_files_release(c);
	if (!applies && !*c->requires)
		goto out; /* nothing to pin: the plan provides everything */
	if (!applies && locked) {
		char *list = str_replace_all(c->requires, "\n", ", ");
		diag_error(d, NULL, "%s: the runtime requirements of its wheel (%s) are not pinned "
				    "in ptbuild.lock%s", id, list,
			   lv && lv->runtime_requires ? " (the lock pins other ones)" : "");
		diag_hint(d, "run `ptbuild lock` after `ptbuild build` (or `ptbuild build` without "
			     "--locked/--frozen) to pin them");
		free(list);
		rc = -2;
		goto out;
	}
	if (applies && (rq->mode == RUNTIME_FROZEN || rq->offline)) {
		diag_error(d, NULL, "%s: runtime wheel %s pinned by ptbuild.lock is not in the "
				    "cache (%s)", id, strrchr(missing, '/') + 1, missing);
		diag_hint(d, "run the same command without %s to download it again",
			  rq->offline_flag ? rq->offline_flag : "--frozen");
		rc = -1;
		goto out;
	}
	rc = resolve_now(s, v, id, l, rq, c, d);
	if (rc == 0 && c->nfiles)
		qsort(c->files, c->nfiles, sizeof(*c->files), cmp_file_name);
	if (rc == 0 && applies && !same_files(c, lv)) {
		diag_error(d, NULL, "%s: the index now resolves its runtime requirements to other "
				    "wheels than ptbuild.lock pins (%zu locked, %zu now)", id,
			   lv->nruntime, c->nfiles);
		diag_hint(d, "`ptbuild lock --update %s` takes the index's choice", v->recipe->name);
		rc = -2;
	}
	if (rc == 0 && applies)
		c->resolved_now = false;
out:
	free(missing);
	free(id);
	return rc;
}

/* The wheels of `label`, from `cache` (one entry per label, filled on first use: every
 * built variant of a label reads the same records). */
static const struct label_wheels *label_cached(const struct session *s, const struct pins *pins,
					       const char *label, const char **labels,
					       struct label_wheels *cache, size_t *n)
{
	for (size_t k = 0; k < *n; k++)
		if (!strcmp(labels[k], label))
			return &cache[k];
	labels[*n] = label;
	wheels_of_label(s, pins, label, &cache[*n]);
	return &cache[(*n)++];
}

int runtime_resolve(const struct session *s, const struct pins *pins,
		    const struct runtime_request *rq, struct runtime_set *out, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	out->v = xcalloc(s->plan.n + 1, sizeof(*out->v));
	const char **labels = xcalloc(s->plan.n + 1, sizeof(*labels));
	struct label_wheels *cache = xcalloc(s->plan.n + 1, sizeof(*cache));
	size_t nlabels = 0;
	int input_errors = 0, env_errors = 0;
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		struct build_record rec;
		if (v->recipe->source.kind == SOURCE_WHEEL || load_record(s, v, &rec) < 0)
			continue;
		const struct label_wheels *l = label_cached(s, pins, v->label, labels, cache, &nlabels);
		struct runtime_closure *c = &out->v[out->n];
		c->variant = i;
		size_t since = d->n;
		c->requires = requirements_of(s, v, &rec, l, d);
		build_record_release(&rec);
		int rc = c->requires ? close_variant(s, v, l, rq, c, d) : -1;
		if (c->requires)
			out->n++;
		input_errors += rc == -2;
		if (rc == -1)
			env_errors += diags_classify(d, since, DIAG_ENVIRONMENT) < 0;
	}
	for (size_t k = 0; k < nlabels; k++)
		label_wheels_release(&cache[k]);
	free(cache);
	free(labels);
	return input_errors || env_errors ? -1 : 0;
}

size_t runtime_record(const struct session *s, const struct runtime_set *r, struct lockfile *lock)
{
	size_t written = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct runtime_closure *c = &r->v[i];
		const struct variant *v = &s->plan.v[c->variant];
		char *id = variant_lock_id(v);
		const struct lock_variant *lv = lockfile_variant(lock, id);
		/* an empty closure needs no entry: --locked accepts it without one */
		bool stale = lv && (lv->runtime_requires ? strcmp(lv->runtime_requires, c->requires) != 0
							 : *c->requires != '\0');
		if (lv && !strcmp(lv->key, v->key) && (c->resolved_now || stale)) {
			struct pinned_file *files = xcalloc(c->nfiles + 1, sizeof(*files));
			for (size_t k = 0; k < c->nfiles; k++) {
				files[k].name = c->files[k].name;
				memcpy(files[k].sha256, c->files[k].sha256, sizeof(files[k].sha256));
			}
			lockfile_set_runtime(lock, id, c->requires, files, c->nfiles);
			free(files);
			written++;
		}
		free(id);
	}
	return written;
}

void runtime_carry(const struct lockfile *from, struct lockfile *to)
{
	for (size_t i = 0; i < to->n; i++) {
		const struct lock_variant *old = lockfile_variant(from, to->v[i].id);
		if (old && old->runtime_requires && !strcmp(old->key, to->v[i].key))
			lock_variant_copy_runtime(&to->v[i], old);
	}
}

void runtime_set_release(struct runtime_set *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].requires);
		closure_files_release(&r->v[i]);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
