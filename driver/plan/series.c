#include "plan/series.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

void patch_list_release(struct patch_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].path);
		free(l->v[i].source);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void append(struct patch_list *to, const char *name, const char *path, const char *source,
		   size_t series, const char *sha256)
{
	GROW(to->v, to->cap, to->n + 1);
	struct patch_file *f = &to->v[to->n++];
	f->name = xstrdup(name);
	f->path = xstrdup(path);
	f->source = source ? xstrdup(source) : NULL;
	f->series = series;
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
}

void patch_list_append_copy(struct patch_list *to, const struct patch_file *f)
{
	append(to, f->name, f->path, f->source, f->series, f->sha256);
}

bool series_applies(const struct patch_series *ps, const char *toolchain, const char *python,
		    const struct env *env)
{
	for (size_t i = 0; i < ps->when.n; i++) {
		const struct kv *c = &ps->when.v[i];
		const char *have = NULL;
		if (!strcmp(c->key, "toolchain"))
			have = toolchain;
		else if (!strcmp(c->key, "python"))
			have = python;
		else if (starts_with(c->key, "env."))
			have = env_get(env, c->key + 4);
		if (!have || strcmp(have, c->value))
			return false;
	}
	return true;
}

char *series_source(const char *s, const char **rest)
{
	if (!starts_with(s, "${src:"))
		return NULL;
	const char *close = strchr(s, '}');
	if (!close || close[1] != '/')
		return NULL;
	*rest = close + 2;
	return xstrndup(s + 6, (size_t)(close - s - 6));
}

/* The directory part of a glob before its first wildcard component ("patches/x/"). */
static size_t glob_base_len(const char *pattern)
{
	size_t wild = strcspn(pattern, "*?[");
	while (wild > 0 && pattern[wild - 1] != '/')
		wild--;
	return wild;
}

static bool is_excluded(const struct patch_series *ps, const char *glob, const char *path)
{
	const char *rel = path + glob_base_len(glob);
	for (size_t x = 0; x < ps->exclude.n; x++)
		if (fnmatch(ps->exclude.v[x].s, rel, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static int add_local(const char *rel, const char *project_dir, const char *recipe, size_t index,
		     const struct pos *pos, struct patch_list *out, struct diags *d)
{
	char *abs = path_join(project_dir, rel);
	char sha[SHA256_HEX_SIZE];
	int rc = sha256_file_hex(abs, sha);
	free(abs);
	if (rc < 0) {
		diag_error(d, pos, "patch file \"%s\" of recipe \"%s\" cannot be read: %s", rel,
			   recipe, strerror(errno));
		diag_hint(d, "paths in \"patches\" are relative to the project directory");
		return -1;
	}
	append(out, rel, rel, NULL, index, sha);
	return 0;
}

/* At most this many of a directory's entries are named in an error. */
#define SHOWN_ENTRIES 8

/* What a glob that matched nothing was matched against, into `why`: the directory searched
 * (`dir`, the part of the glob before its first wildcard `wild`) and what it holds;
 * `matched` files matched but "exclude" removed them. */
static void describe_no_match(const char *dir, const char *wild, size_t matched,
			      struct buf *why)
{
	char **names = NULL;
	size_t n = 0;
	if (matched) {
		buf_addf(why, "\"exclude\" removes %s %zu file%s it matches in %s",
			 matched == 1 ? "the" : "all", matched, matched == 1 ? "" : "s", dir);
	} else if (!path_exists(dir)) {
		buf_addf(why, "the directory %s does not exist", dir);
	} else if (!is_directory(dir)) {
		buf_addf(why, "%s is not a directory", dir);
	} else if (list_dir(dir, NULL, &names, &n) < 0) {
		buf_addf(why, "the directory %s cannot be read: %s", dir, strerror(errno));
	} else if (!n) {
		buf_addf(why, "the directory %s is empty", dir);
	} else {
		buf_addf(why, "%s holds %zu entr%s, none matching \"%s\": ", dir, n,
			 n == 1 ? "y" : "ies", wild);
		for (size_t i = 0; i < n && i < SHOWN_ENTRIES; i++)
			buf_addf(why, "%s%s", i ? ", " : "", names[i]);
		if (n > SHOWN_ENTRIES)
			buf_addf(why, " and %zu more", n - SHOWN_ENTRIES);
	}
	free_names(names, n);
}

/* A series of this project's files that matched nothing: an error naming what was searched. */
static void report_no_match(const struct patch_series *ps, const char *project_dir,
			    const char *recipe, size_t matched, struct diags *d)
{
	size_t base = glob_base_len(ps->series);
	/* "patches/x" without its slash; "." for a glob in the project directory itself */
	char *rel_dir = base ? xstrndup(ps->series, base - 1) : xstrdup(".");
	char *dir = base ? path_join(project_dir, rel_dir) : xstrdup(project_dir);
	struct buf why = BUF_INIT;
	describe_no_match(dir, ps->series + base, matched, &why);
	diag_error(d, &ps->pos, "patch series \"%s\" of recipe \"%s\" matches no file: %s",
		   ps->series, recipe, why.data);
	if (matched)
		diag_hint(d, "narrow the \"exclude\" globs (relative to %s), or remove the entry "
			     "from \"patches\" if no patch applies any more", rel_dir);
	else
		diag_hint(d, "put the patch files in %s/ (the glob is relative to the project "
			     "directory %s), correct the glob, or remove the entry from \"patches\" "
			     "if no patch applies any more", rel_dir, project_dir);
	buf_release(&why);
	free(dir);
	free(rel_dir);
}

int series_expand_local(const struct patch_series *ps, size_t index, const char *project_dir,
			const char *recipe, struct patch_list *out, struct diags *d)
{
	const char *rest;
	int errors = 0;
	if (!ps->series) {
		for (size_t k = 0; k < ps->files.n; k++) {
			char *src = series_source(ps->files.v[k].s, &rest);
			if (!src && add_local(ps->files.v[k].s, project_dir, recipe, index,
					      &ps->files.v[k].pos, out, d) < 0)
				errors++;
			free(src);
		}
		return errors ? -1 : 0;
	}
	char *src = series_source(ps->series, &rest);
	if (src) {
		free(src);
		return 0;
	}
	char *pattern = path_join(project_dir, ps->series);
	size_t prefix = strlen(pattern) - strlen(ps->series);
	glob_t g;
	int rc = glob(pattern, 0, NULL, &g);
	size_t found = 0;
	for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++) {
		const char *rel = g.gl_pathv[k] + prefix;
		if (is_excluded(ps, ps->series, rel))
			continue;
		if (add_local(rel, project_dir, recipe, index, &ps->pos, out, d) < 0)
			errors++;
		found++;
	}
	size_t matched = rc == 0 ? g.gl_pathc : 0;
	if (rc == 0)
		globfree(&g);
	if (!found) {
		report_no_match(ps, project_dir, recipe, matched, d);
		errors++;
	}
	free(pattern);
	return errors ? -1 : 0;
}

static const struct pinned_read *find_read(const struct pin *pin, const char *path)
{
	for (size_t i = 0; i < pin->nreads; i++)
		if (!strcmp(pin->reads[i].path, path))
			return &pin->reads[i];
	return NULL;
}

static void add_remote(struct patch_list *out, const char *source, const char *path,
		       size_t index, const char *sha)
{
	struct buf name = BUF_INIT;
	buf_addf(&name, "${src:%s}/%s", source, path);
	append(out, name.data, path, source, index, sha);
	buf_release(&name);
}

/* The files of one glob in another recipe's tree, from that recipe's pin. */
static bool expand_remote_glob(const struct patch_series *ps, size_t index, const char *src,
			       const char *rest, const struct project *p, const struct pins *pins,
			       struct patch_list *out)
{
	const struct pin *pin = pins_find(pins, src);
	char *want = series_globs_reading(p, src);
	bool ok = pin && pin->read_globs && want && !strcmp(pin->read_globs, want);
	free(want);
	for (size_t i = 0; ok && i < pin->nreads; i++) {
		const char *path = pin->reads[i].path;
		if (fnmatch(rest, path, FNM_PATHNAME | FNM_PERIOD) == 0 && !is_excluded(ps, rest, path))
			add_remote(out, src, path, index, pin->reads[i].sha256);
	}
	return ok;
}

bool series_expand(const struct patch_series *ps, size_t index, const struct patch_list *local,
		   const struct project *p, const struct pins *pins, struct patch_list *out)
{
	const char *rest;
	if (ps->series) {
		char *src = series_source(ps->series, &rest);
		bool ok = true;
		if (src)
			ok = expand_remote_glob(ps, index, src, rest, p, pins, out);
		for (size_t k = 0; !src && k < local->n; k++)
			if (local->v[k].series == index)
				patch_list_append_copy(out, &local->v[k]);
		free(src);
		return ok;
	}
	/* An explicit list keeps its order, whichever tree each file is in. */
	bool ok = true;
	for (size_t k = 0; k < ps->files.n; k++) {
		const char *s = ps->files.v[k].s;
		char *src = series_source(s, &rest);
		if (src) {
			const struct pin *pin = pins_find(pins, src);
			const struct pinned_read *r = pin && pin->read_globs ? find_read(pin, rest) : NULL;
			if (r)
				add_remote(out, src, rest, index, r->sha256);
			else
				ok = false;
			free(src);
			continue;
		}
		for (size_t i = 0; i < local->n; i++)
			if (local->v[i].series == index && !strcmp(local->v[i].path, s)) {
				patch_list_append_copy(out, &local->v[i]);
				break;
			}
	}
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *series_globs_reading(const struct project *p, const char *name)
{
	const char **globs = NULL;
	size_t n = 0, cap = 0;
	for (size_t r = 0; r < p->nrecipes; r++) {
		const struct recipe *rec = &p->recipes[r];
		for (size_t i = 0; i < rec->npatches; i++) {
			const struct patch_series *ps = &rec->patches[i];
			size_t count = ps->series ? 1 : ps->files.n;
			for (size_t k = 0; k < count; k++) {
				const char *s = ps->series ? ps->series : ps->files.v[k].s, *rest;
				char *src = series_source(s, &rest);
				if (src && !strcmp(src, name)) {
					GROW(globs, cap, n + 1);
					globs[n++] = rest;
				}
				free(src);
			}
		}
	}
	if (!n)
		return NULL;
	qsort(globs, n, sizeof(*globs), cmp_str);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(globs[i], globs[i - 1]))
			buf_addf(&b, "%s\n", globs[i]);
	free(globs);
	return buf_detach(&b);
}

/* Every series of `p` that reads `glob` in the tree of `source` and matched nothing there:
 * an error at each, naming the tree, its pin and what the glob was matched against. */
static void report_no_match_in_tree(const struct project *p, const char *source,
				    const char *glob, const char *tree, const struct pin *pin,
				    struct diags *d)
{
	size_t base = glob_base_len(glob);
	char *rel_dir = base ? xstrndup(glob, base - 1) : xstrdup(".");
	char *dir = base ? path_join(tree, rel_dir) : xstrdup(tree);
	struct buf why = BUF_INIT;
	describe_no_match(dir, glob + base, 0, &why);
	bool reported = false;
	for (size_t r = 0; p && r < p->nrecipes; r++) {
		const struct recipe *rec = &p->recipes[r];
		for (size_t i = 0; i < rec->npatches; i++) {
			const struct patch_series *ps = &rec->patches[i];
			const char *rest;
			char *src = ps->series ? series_source(ps->series, &rest) : NULL;
			if (src && !strcmp(src, source) && !strcmp(rest, glob)) {
				diag_error(d, &ps->pos, "patch series \"%s\" of recipe \"%s\" matches "
					   "no file in the tree of \"%s\" at %.12s: %s", ps->series,
					   rec->name, source, pin->commit[0] ? pin->commit : "its pin",
					   why.data);
				diag_hint(d, "look in %s for the patches of this version of \"%s\" and "
					     "correct the glob (relative to the top of its tree), or "
					     "remove the entry from \"patches\"", tree, source);
				reported = true;
			}
			free(src);
		}
	}
	if (!reported) /* an explicit file of a list: series_expand says it is missing */
		diag_error(d, NULL, "no file of recipe \"%s\" at %.12s matches \"%s\", which a "
			   "patch series reads: %s", source, pin->commit[0] ? pin->commit : "its pin",
			   glob, why.data);
	buf_release(&why);
	free(dir);
	free(rel_dir);
}

int series_read_tree(const char *tree, const char *globs, const struct project *p,
		     struct pin *pin, struct diags *d)
{
	pin_clear_reads(pin);
	int rc = 0, unmatched = 0;
	const char *g = globs;
	for (char *one; rc == 0 && (one = next_line(&g));) {
		char *pattern = path_join(tree, one);
		size_t prefix = strlen(pattern) - strlen(one);
		glob_t gl;
		int grc = glob(pattern, 0, NULL, &gl);
		for (size_t k = 0; grc == 0 && k < gl.gl_pathc && rc == 0; k++) {
			const char *rel = gl.gl_pathv[k] + prefix;
			if (!is_directory(gl.gl_pathv[k]) && !find_read(pin, rel)) {
				char sha[SHA256_HEX_SIZE];
				if (sha256_file_hex(gl.gl_pathv[k], sha) < 0)
					rc = diag_error(d, NULL, "cannot read %s: %s", gl.gl_pathv[k],
							strerror(errno));
				else
					pin_add_read(pin, rel, sha);
			}
		}
		if (grc == 0) {
			globfree(&gl);
		} else if (grc == GLOB_NOMATCH) {
			report_no_match_in_tree(p, pin->recipe, one, tree, pin, d);
			unmatched++;
		}
		free(pattern);
		free(one);
	}
	if (rc < 0)
		return -1;
	if (unmatched) {
		pin_clear_reads(pin);
		return -2;
	}
	pin->read_globs = xstrdup(globs);
	return 0;
}

void patch_list_digest(const struct patch_list *l, char out[SHA256_HEX_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	for (size_t i = 0; i < l->n; i++) {
		sha256_update(&h, l->v[i].name, strlen(l->v[i].name) + 1);
		sha256_update(&h, l->v[i].sha256, strlen(l->v[i].sha256) + 1);
	}
	sha256_final_hex(&h, out);
}
