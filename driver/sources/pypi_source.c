#include "sources/pypi_source.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/download.h"
#include "util/url.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"

void pypi_file_release(struct pypi_file *f)
{
	free(f->path);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

int pypi_requirement_split(const char *req, char **name, char **version)
{
	*name = *version = NULL;
	const char *eq = strstr(req, "==");
	if (!eq || strchr(eq + 2, ',') || strchr(eq + 2, '*') || eq[2] == '=')
		return -1;
	size_t n = strcspn(req, "[ =<>!~;");
	while (n && isspace((unsigned char)req[n - 1]))
		n--;
	const char *v = eq + 2;
	while (isspace((unsigned char)*v))
		v++;
	size_t vlen = strcspn(v, " ;");
	if (!n || !vlen)
		return -1;
	*name = xstrndup(req, n);
	*version = xstrndup(v, vlen);
	return 0;
}

char *pypi_normalize(const char *name)
{
	struct buf b = BUF_INIT;
	for (const char *c = name; *c; c++) {
		if (*c == '-' || *c == '_' || *c == '.') {
			if (b.len && b.data[b.len - 1] != '-')
				buf_addch(&b, '-');
			continue;
		}
		buf_addch(&b, (char)tolower((unsigned char)*c));
	}
	return buf_detach(&b);
}

static char *cached_path(const char *cache_dir, const struct pinned_file *want)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/dist/%s/%s", cache_dir, want->sha256, want->name);
	if (path_exists(b.data))
		return buf_detach(&b);
	buf_release(&b);
	return NULL;
}

static bool from_cache(const struct pypi_opts *o, const struct pinned_file *want,
		       struct pypi_file *out)
{
	if (!want)
		return false;
	char *path = cached_path(o->cache_dir, want);
	if (!path)
		return false;
	out->path = path;
	out->name = xstrdup(want->name);
	snprintf(out->sha256, sizeof(out->sha256), "%s", want->sha256);
	return true;
}

static int offline_miss(const struct pypi_opts *o, const char *what, const char *requirement,
			const struct pinned_file *want, struct diags *d)
{
	const char *flag = o->offline_flag ? o->offline_flag : "--frozen";
	if (want)
		diag_error(d, NULL, "%s %s (%s, sha256 %s) is not in the cache (%s/dist/%s/), and "
			   "%s forbids the network", what, requirement, want->name,
			   want->sha256, o->cache_dir, want->sha256, flag);
	else
		diag_error(d, NULL, "%s %s is not pinned by the lock, and %s forbids the "
			   "network", what, requirement, flag);
	diag_hint(d, "run `ptbuild fetch` once with the network to fill the cache");
	return -1;
}

static int changed_upstream(const char *requirement, const struct pinned_file *want,
			    const char *name, const char *sha256, struct diags *d)
{
	diag_error(d, NULL, "%s changed since the lock: the lock has %s (sha256 %s), the index "
		   "now serves %s (sha256 %s)", requirement, want->name, want->sha256, name, sha256);
	return -2;
}

/* ---- sdists from the simple index ------------------------------------------------------- */

static char *index_url(const struct pypi_opts *o)
{
	const char *base = o->index_url;
	if (!base || !*base)
		base = setting_pip_index_url();
	if (!base || !*base)
		base = "https://pypi.org/simple/";
	struct buf b = BUF_INIT;
	buf_adds(&b, base);
	if (b.data[b.len - 1] != '/')
		buf_addch(&b, '/');
	return buf_detach(&b);
}

static const char *const sdist_suffixes[] = { ".tar.gz", ".zip", ".tar.bz2", ".tgz" };

/* "name-version.tar.gz" is an sdist of (name, version)? */
static bool is_sdist_of(const char *file, const char *norm_name, const char *version)
{
	size_t len = strlen(file), stem = 0;
	for (size_t i = 0; i < sizeof(sdist_suffixes) / sizeof(*sdist_suffixes) && !stem; i++)
		if (ends_with(file, sdist_suffixes[i]))
			stem = len - strlen(sdist_suffixes[i]);
	if (!stem)
		return false;
	char *base = xstrndup(file, stem);
	char *dash = strrchr(base, '-');
	bool ok = false;
	if (dash) {
		*dash = '\0';
		char *n = pypi_normalize(base);
		ok = !strcmp(n, norm_name) && !strcmp(dash + 1, version);
		free(n);
	}
	free(base);
	return ok;
}

/* The value of attribute `attr` in the tag text [tag, end), or NULL. Caller frees. */
static char *attribute(const char *tag, const char *end, const char *attr)
{
	size_t alen = strlen(attr);
	for (const char *p = tag; p + alen < end; p++) {
		if (strncasecmp(p, attr, alen) || !isspace((unsigned char)p[-1]))
			continue;
		const char *q = p + alen;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q >= end || *q != '=')
			continue;
		q++;
		while (q < end && isspace((unsigned char)*q))
			q++;
		char quote = (*q == '"' || *q == '\'') ? *q++ : 0;
		const char *v = q;
		while (q < end && (quote ? *q != quote : !isspace((unsigned char)*q)))
			q++;
		return xstrndup(v, (size_t)(q - v));
	}
	return NULL;
}

bool pypi_find_sdist(const char *page, const char *page_url, const char *norm_name,
		     const char *version, struct pypi_link *best, struct buf *seen)
{
	bool found = false;
	for (const char *p = page; (p = strchr(p, '<'));) {
		if ((p[1] != 'a' && p[1] != 'A') || !isspace((unsigned char)p[2])) {
			p++;
			continue;
		}
		const char *end = strchr(p, '>');
		if (!end)
			break;
		char *href = attribute(p + 2, end, "href");
		p = end + 1;
		if (!href)
			continue;
		char *frag = strchr(href, '#');
		char sha[SHA256_HEX_SIZE] = "";
		if (frag) {
			/* Only 64 hex digits are a digest: the cache keeps the file under
			 * dist/<sha256>/, so anything else ("../..") would name a path outside
			 * it. Lowercased, as sha256_hex writes them. */
			const char *v = frag + 8;
			if (!strncmp(frag, "#sha256=", 8) && strlen(v) == 64 &&
			    strspn(v, "0123456789abcdefABCDEF") == 64)
				for (int k = 0; k <= 64; k++)
					sha[k] = (char)tolower((unsigned char)v[k]);
			*frag = '\0';
		}
		char *q = strchr(href, '?');
		const char *file = href + strlen(href);
		while (file > href && file[-1] != '/')
			file--;
		char *fname = xstrndup(file, q && q > file ? (size_t)(q - file) : strlen(file));
		if (is_sdist_of(fname, norm_name, version) &&
		    (!found || (ends_with(fname, ".tar.gz") && !ends_with(best->file, ".tar.gz")))) {
			free(best->url);
			free(best->file);
			best->url = url_join(page_url, href);
			best->file = fname;
			fname = NULL;
			memcpy(best->sha256, sha, SHA256_HEX_SIZE);
			found = true;
		} else if (fname && seen->len < 400 && strstr(fname, ".tar.gz")) {
			buf_addf(seen, "%s%s", seen->len ? ", " : "", fname);
		}
		free(fname);
		free(href);
	}
	return found;
}

int pypi_sdist(const struct pypi_opts *o, const char *requirement, const struct pinned_file *want,
	       struct pypi_file *out, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	if (from_cache(o, want, out))
		return 0;
	if (o->offline)
		return offline_miss(o, "sdist", requirement, want, d);
	char *name, *version;
	if (pypi_requirement_split(requirement, &name, &version) < 0)
		return diag_error(d, NULL, "\"%s\" does not pin one version (name==version)",
				  requirement);
	char *norm = pypi_normalize(name);
	char *base = index_url(o);
	struct buf page_url = BUF_INIT, page = BUF_INIT, seen = BUF_INIT;
	buf_addf(&page_url, "%s%s/", base, norm);
	struct download_opts dopts = { .cache_dir = o->cache_dir, .mirrors = o->mirrors };
	struct pypi_link link = { 0 };
	int rc = -1;
	if (download_page(&dopts, page_url.data, &page, d) < 0) {
		diag_hint(d, "the index is $PIP_INDEX_URL, else https://pypi.org/simple/");
		goto out;
	}
	if (!pypi_find_sdist(page.data, page_url.data, norm, version, &link, &seen)) {
		char *shown = url_redact(page_url.data);
		diag_error(d, NULL, "the index has no sdist of %s %s (%s)", name, version, shown);
		if (seen.len)
			diag_hint(d, "sdists there: %s", seen.data);
		free(shown);
		goto out;
	}
	if (!link.sha256[0]) {
		if (!want) {
			char *shown = url_redact(link.url);
			diag_error(d, NULL, "the index gives no sha256 for %s; ptbuild verifies every "
				   "download", shown);
			free(shown);
			goto out;
		}
		memcpy(link.sha256, want->sha256, SHA256_HEX_SIZE);
	}
	if (want && (strcmp(want->name, link.file) || strcmp(want->sha256, link.sha256))) {
		rc = changed_upstream(requirement, want, link.file, link.sha256, d);
		goto out;
	}
	if (download_verified(&dopts, link.url, link.sha256, &out->path, d) < 0)
		goto out;
	out->name = xstrdup(link.file);
	memcpy(out->sha256, link.sha256, SHA256_HEX_SIZE);
	rc = 0;
out:
	free(link.url);
	free(link.file);
	buf_release(&page_url);
	buf_release(&page);
	buf_release(&seen);
	free(base);
	free(norm);
	free(name);
	free(version);
	return rc;
}

/* ---- wheels through pip ------------------------------------------------------------------ */

/* The last `lines` lines of `text`, credentials redacted. Caller frees. */
static char *tail_lines(const char *text, int lines)
{
	const char *p = text + strlen(text);
	while (p > text && isspace((unsigned char)p[-1]))
		p--;
	const char *end = p;
	for (int n = 0; p > text; p--)
		if (p[-1] == '\n' && ++n == lines)
			break;
	char *t = xstrndup(p, (size_t)(end - p));
	char *r = text_redact(t);
	free(t);
	return r;
}

/* Moves `dir/name` into the cache by its digest; fills `f`. */
static int keep_in_cache(const struct pypi_opts *o, const char *dir, const char *name,
			 struct pypi_file *f, struct diags *d)
{
	char *got = path_join(dir, name);
	struct buf dest = BUF_INIT;
	int rc = -1;
	if (sha256_file_hex(got, f->sha256) < 0) {
		diag_error(d, NULL, "cannot read %s: %s", got, strerror(errno));
		goto out;
	}
	buf_addf(&dest, "%s/dist/%s", o->cache_dir, f->sha256);
	if (make_dirs(dest.data, 0755) < 0) {
		diag_error(d, NULL, "cannot create %s: %s", dest.data, strerror(errno));
		goto out;
	}
	buf_addf(&dest, "/%s", name);
	if (rename(got, dest.data) < 0) {
		diag_error(d, NULL, "cannot keep %s in %s: %s", name, dest.data, strerror(errno));
		goto out;
	}
	f->path = buf_detach(&dest);
	f->name = xstrdup(name);
	rc = 0;
out:
	free(got);
	buf_release(&dest);
	return rc;
}

/* Whether wheel file `name` is of project `project` (normalized names compared). */
static bool wheel_of(const char *name, const char *project)
{
	const char *dash = strchr(name, '-');
	char *dist = xstrndup(name, dash ? (size_t)(dash - name) : strlen(name));
	char *a = pypi_normalize(dist), *b = pypi_normalize(project);
	bool same = !strcmp(a, b);
	free(dist);
	free(a);
	free(b);
	return same;
}

/* The recipe's index as pip is given it (mirrors.json applied), or NULL. Caller frees. */
static char *wheel_index_url(const struct pypi_opts *o)
{
	return o->wheel_index ? mirrors_rewrite(o->mirrors, o->wheel_index) : NULL;
}

/* Appends --index-url URL and --pre as the opts ask to argv[*n]. */
static void index_args(const struct pypi_opts *o, const char *index, const char **argv,
		       size_t *n)
{
	if (index) {
		argv[(*n)++] = "--index-url";
		argv[(*n)++] = index;
	}
	if (o->pre)
		argv[(*n)++] = "--pre";
}

bool pypi_wheel_of(const char *file, const char *project)
{
	return wheel_of(file, project);
}

/* `pip download --only-binary :all: --dest dir` with `args` (NULL-terminated, at most 8)
 * and the opts' index; `what` names the request in the error. */
static int pip_download_args(const struct pypi_opts *o, const char *python,
			     const char *const *args, const char *what, const char *dir,
			     struct diags *d)
{
	const char *argv[24] = { python, "-m", "pip", "download", "--only-binary", ":all:",
				 "--disable-pip-version-check", "--no-input", "--progress-bar",
				 "off", "--dest", dir };
	size_t n = 12;
	char *index = wheel_index_url(o);
	index_args(o, index, argv, &n);
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct buf log = BUF_INIT;
	int status = run_capture(argv, &log, 60 * 60 * 1000);
	if (status != 0) {
		char *tail = tail_lines(log.data, 6);
		if (status < 0)
			diag_error(d, NULL, "cannot run %s -m pip: %s", python, strerror(errno));
		else
			diag_error(d, NULL, "pip download of %s with %s failed (exit %d):\n%s", what,
				   python, status, tail);
		free(tail);
		if (index) {
			char *shown = url_redact(o->wheel_index);
			diag_hint(d, "pip read the recipe's index %s%s", shown,
				  o->pre ? " (with --pre)" : "");
			free(shown);
		}
	}
	free(index);
	buf_release(&log);
	return status != 0 ? -1 : 0;
}

/* `pip download` of `requirement` (with its dependencies when `with_deps`) into `dir`. */
static int pip_download(const struct pypi_opts *o, const char *python, const char *requirement,
			bool with_deps, const char *dir, struct diags *d)
{
	const char *args[] = { requirement, with_deps ? NULL : "--no-deps", NULL };
	struct buf what = BUF_INIT;
	buf_addf(&what, "wheel %s", requirement);
	int rc = pip_download_args(o, python, args, what.data, dir, d);
	buf_release(&what);
	return rc;
}

/* A fresh cache/dist/.pip.tmp-PID for one pip download; caller frees. NULL on error. */
static char *pip_scratch(const struct pypi_opts *o, struct diags *d)
{
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s/dist/.pip", o->cache_dir);
	remove_stale_temps(tmp.data);
	buf_addf(&tmp, ".tmp-%ld", (long)getpid());
	remove_tree(tmp.data);
	if (make_dirs(tmp.data, 0755) < 0) {
		diag_error(d, NULL, "cannot create %s: %s", tmp.data, strerror(errno));
		buf_release(&tmp);
		return NULL;
	}
	return buf_detach(&tmp);
}

int pypi_requirements(const struct pypi_opts *o, const char *python, const char *what,
		      const char *requirements, const char *constraints, const char *find_links,
		      bool (*skip)(const char *file, void *ctx), void *ctx,
		      struct pypi_file **out, size_t *nout, struct diags *d)
{
	*out = NULL;
	*nout = 0;
	if (o->offline) {
		diag_error(d, NULL, "%s: not pinned, and %s allows no network to resolve them",
			   what, o->offline_flag ? o->offline_flag : "--frozen");
		diag_hint(d, "run `ptbuild lock` with the network first; it pins them");
		return -1;
	}
	char *tmp = pip_scratch(o, d);
	if (!tmp)
		return -1;
	const char *args[] = { "-r", requirements, "-c", constraints, "--find-links", find_links,
			       NULL };
	char **names = NULL;
	size_t nnames = 0;
	struct pypi_opts plain = *o; /* the project's index: not one wheel source's */
	plain.wheel_index = NULL;
	plain.pre = false;
	int rc = pip_download_args(&plain, python, args, what, tmp, d);
	if (rc == 0)
		list_dir(tmp, NULL, &names, &nnames);
	*out = xcalloc(nnames + 1, sizeof(**out));
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		if (skip && skip(names[i], ctx))
			continue;
		if (!ends_with(names[i], ".whl")) {
			diag_error(d, NULL, "pip download of %s brought %s, which is not a wheel", what,
				   names[i]);
			diag_hint(d, "every runtime requirement must have a wheel for this platform");
			rc = -1;
		} else if (keep_in_cache(o, tmp, names[i], &(*out)[*nout], d) < 0) {
			rc = -1;
		} else {
			(*nout)++;
		}
	}
	remove_tree(tmp);
	free(tmp);
	free_names(names, nnames);
	return rc;
}

/*
 * Which of the `names` pip left in `dir` is the wheel of `project` (*main), checking that
 * every file is a wheel and that without `with_deps` there is only that one.
 */
static int find_main_wheel(const char *requirement, const char *project, const char *dir,
			   char **names, size_t nnames, bool with_deps, size_t *main,
			   struct diags *d)
{
	*main = SIZE_MAX;
	for (size_t i = 0; i < nnames; i++)
		if (ends_with(names[i], ".whl") && wheel_of(names[i], project))
			*main = i;
	if (*main == SIZE_MAX || (!with_deps && nnames != 1))
		return diag_error(d, NULL, "pip download of %s left %zu files in %s and no wheel of "
				  "%s", requirement, nnames, dir, project);
	for (size_t i = 0; i < nnames; i++) {
		if (!ends_with(names[i], ".whl")) {
			diag_error(d, NULL, "pip download of %s brought %s, which is not a wheel",
				   requirement, names[i]);
			diag_hint(d, "every requirement of a prebuilt wheel must have a wheel for "
				     "this platform");
			return -1;
		}
	}
	return 0;
}

/* Moves every wheel but names[main] from `dir` into the cache, into *deps. */
static int keep_deps(const struct pypi_opts *o, const char *dir, char **names, size_t nnames,
		     size_t main, struct pypi_file **deps, size_t *ndeps, struct diags *d)
{
	*deps = xcalloc(nnames, sizeof(**deps));
	for (size_t i = 0; i < nnames; i++) {
		if (i == main)
			continue;
		if (keep_in_cache(o, dir, names[i], &(*deps)[*ndeps], d) < 0)
			return -1;
		(*ndeps)++;
	}
	return 0;
}

int pypi_wheel(const struct pypi_opts *o, const char *python, const char *requirement,
	       const struct pinned_file *want, struct pypi_file *out, struct pypi_file **deps,
	       size_t *ndeps, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	if (deps) {
		*deps = NULL;
		*ndeps = 0;
	}
	/* With `deps` what it requires is wanted too: pip must run, even for a cached wheel. */
	if (!deps && from_cache(o, want, out))
		return 0;
	if (o->offline)
		return offline_miss(o, "wheel", requirement, want, d);
	char *tmp = pip_scratch(o, d);
	if (!tmp)
		return -1;
	char **names = NULL;
	size_t nnames = 0;
	char *project = NULL, *version = NULL, *exact = NULL;
	int rc = -1;
	if (pypi_requirement_split(requirement, &project, &version) < 0) {
		project = xstrdup(requirement);
		/* a floating source's locked file: that version, not the index's newest */
		char *locked = want ? pypi_wheel_version(want->name) : NULL;
		if (locked) {
			struct buf b = BUF_INIT;
			buf_addf(&b, "%s==%s", project, locked);
			exact = buf_detach(&b);
			requirement = exact;
		}
		free(locked);
	}
	if (pip_download(o, python, requirement, deps != NULL, tmp, d) < 0)
		goto out;
	size_t main_index = SIZE_MAX;
	list_dir(tmp, NULL, &names, &nnames); /* unreadable: no names, no wheel found */
	if (find_main_wheel(requirement, project, tmp, names, nnames, deps != NULL,
			    &main_index, d) < 0)
		goto out;
	char *main_path = path_join(tmp, names[main_index]);
	char sha[SHA256_HEX_SIZE];
	if (sha256_file_hex(main_path, sha) < 0) {
		diag_error(d, NULL, "cannot read %s: %s", main_path, strerror(errno));
		free(main_path);
		goto out;
	}
	free(main_path);
	if (want && (strcmp(want->name, names[main_index]) || strcmp(want->sha256, sha))) {
		rc = changed_upstream(requirement, want, names[main_index], sha, d);
		goto out;
	}
	if (keep_in_cache(o, tmp, names[main_index], out, d) < 0)
		goto out;
	if (deps && keep_deps(o, tmp, names, nnames, main_index, deps, ndeps, d) < 0)
		goto out;
	rc = 0;
out:
	free(project);
	free(version);
	free(exact);
	remove_tree(tmp);
	free_names(names, nnames);
	free(tmp);
	return rc;
}

char *pypi_wheel_version(const char *file)
{
	if (!ends_with(file, ".whl"))
		return NULL;
	const char *dash = strchr(file, '-');
	if (!dash || dash == file)
		return NULL;
	const char *v = dash + 1;
	size_t len = strcspn(v, "-");
	if (!len || !v[len])
		return NULL;
	return xstrndup(v, len);
}

int pypi_index_versions(const struct pypi_opts *o, const char *python, const char *project,
			char **newest, struct buf *all, struct diags *d)
{
	*newest = NULL;
	/* `pip index versions` says "no matching distribution" also when it could not reach
	 * the index: read the project's page first, so an index that is down is an error
	 * naming it, not "no versions" */
	struct pypi_opts page_opts = *o;
	if (o->wheel_index)
		page_opts.index_url = o->wheel_index;
	char *base = index_url(&page_opts), *norm = pypi_normalize(project);
	struct buf page_url = BUF_INIT, page = BUF_INIT;
	buf_addf(&page_url, "%s%s/", base, norm);
	free(base);
	free(norm);
	struct download_opts dopts = { .cache_dir = o->cache_dir, .mirrors = o->mirrors };
	int reached = download_page(&dopts, page_url.data, &page, d);
	buf_release(&page_url);
	buf_release(&page);
	if (reached < 0)
		return -1;
	const char *argv[16] = { python, "-m", "pip", "index", "versions", project,
				 "--only-binary", ":all:", "--disable-pip-version-check",
				 "--no-input" };
	size_t n = 10;
	char *index = wheel_index_url(o);
	index_args(o, index, argv, &n);
	argv[n] = NULL;
	struct buf log = BUF_INIT;
	int status = run_capture(argv, &log, 10 * 60 * 1000);
	int rc = 0;
	/* "Available versions: 2.10.0.dev20261201, 2.10.0.dev20261130": newest first */
	const char *line = strstr(log.data ? log.data : "", "Available versions:");
	if (status == 0 && line) {
		line += strlen("Available versions:");
		line += strspn(line, " ");
		size_t len = strcspn(line, "\r\n");
		buf_addf(all, "%.*s", (int)len, line);
		*newest = xstrndup(line, strcspn(line, ", \r\n"));
	} else if (status > 0 && log.data && strstr(log.data, "No matching distribution")) {
		/* the index has no wheel of it for this Python: no versions */
	} else {
		char *tail = tail_lines(log.data, 6);
		char *shown = url_redact(o->wheel_index ? o->wheel_index : "(pip's index)");
		if (status < 0)
			rc = diag_error(d, NULL, "cannot run %s -m pip: %s", python, strerror(errno));
		else
			rc = diag_error(d, NULL, "pip index versions %s with %s (index %s) failed "
					"(exit %d):\n%s", project, python, shown, status, tail);
		free(shown);
		free(tail);
	}
	free(index);
	buf_release(&log);
	return rc;
}
