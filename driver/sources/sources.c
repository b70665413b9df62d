#include "sources/sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/download.h"
#include "sources/git_source.h"
#include "sources/patch_apply.h"
#include "sources/pypi_source.h"
#include "sources/unpack.h"
#include "util/url.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

static struct git_opts git_opts_of(const struct source_opts *o, const struct recipe *r,
				   bool offline)
{
	return (struct git_opts){ .cache_dir = o->cache_dir, .offline = offline || o->offline,
				  .mirrors = o->mirrors,
				  .offline_flag = o->offline ? o->offline_flag : NULL,
				  .recipe = r->name, .select = &r->source.select };
}

static struct pypi_opts pypi_opts_of(const struct source_opts *o, const struct recipe *r)
{
	return (struct pypi_opts){ .cache_dir = o->cache_dir, .offline = o->offline,
				   .offline_flag = o->offline ? o->offline_flag : NULL,
				   .mirrors = o->mirrors, .wheel_index = r->source.index,
				   .pre = r->source.pre };
}

static struct download_opts download_opts_of(const struct source_opts *o)
{
	return (struct download_opts){ .cache_dir = o->cache_dir, .offline = o->offline,
				       .offline_flag = o->offline ? o->offline_flag : NULL,
				       .mirrors = o->mirrors };
}

static bool wheel_by_url(const struct recipe *r)
{
	return r->source.kind == SOURCE_WHEEL && r->source.sha256;
}

/* ---- resolving ---------------------------------------------------------------------------- */

static int resolve_git(const struct source_opts *o, const struct recipe *r, struct pin *pin,
		       struct diags *d)
{
	struct git_opts go = git_opts_of(o, r, false);
	struct git_tree_result res;
	int rc;
	if (r->source.submodules) {
		rc = git_resolve_tree(&go, r->source.location, r->source.ref, r->overrides,
				      r->noverrides, &res, d);
	} else {
		memset(&res, 0, sizeof(res));
		rc = git_mirror_resolve(&go, r->source.location, r->source.ref, res.commit, res.tag, d);
	}
	if (rc < 0)
		return rc;
	memcpy(pin->commit, res.commit, PIN_OID_SIZE);
	memcpy(pin->tag, res.tag, PIN_OID_SIZE);
	for (size_t i = 0; i < res.nsubs; i++)
		pin_add_sub(pin, res.subs[i].path, res.subs[i].url, res.subs[i].commit,
			    res.subs[i].overridden);
	git_tree_result_release(&res);
	return 0;
}

/* `requirement`: what pip is asked for a wheel by requirement; NULL: the recipe's. */
static int fetch_file(const struct source_opts *o, const struct recipe *r, const char *python,
		      const char *interpreter, const char *requirement,
		      const struct pinned_file *want, struct pypi_file *out,
		      struct pypi_file **deps, size_t *ndeps, struct diags *d)
{
	const struct source *s = &r->source;
	struct pypi_opts po = pypi_opts_of(o, r);
	memset(out, 0, sizeof(*out));
	if (s->kind == SOURCE_PYPI)
		return pypi_sdist(&po, s->location, want, out, d);
	if (s->kind == SOURCE_WHEEL && !s->sha256) {
		if (!interpreter)
			return diag_error(d, &s->pos, "recipe \"%s\": no Python %s interpreter to "
					  "choose the wheel of %s for", r->name, python, s->location);
		return pypi_wheel(&po, interpreter, requirement ? requirement : s->location, want,
				  out, deps, ndeps, d);
	}
	/* an archive, or a wheel by URL: the recipe pins the digest */
	struct download_opts dop = download_opts_of(o);
	if (download_verified(&dop, s->location, s->sha256, &out->path, d) < 0)
		return -1;
	out->name = download_file_name(s->location);
	snprintf(out->sha256, sizeof(out->sha256), "%s", s->sha256);
	return 0;
}

int source_resolve(const struct source_opts *o, const struct recipe *r,
		   const struct source_python *pys, size_t npys, struct pins *into,
		   struct diags *d)
{
	const struct source *s = &r->source;
	if (s->kind == SOURCE_PATH) {
		diag_error(d, &s->pos, "recipe \"%s\" builds from a local path (%s), which a lock "
			   "cannot pin", r->name, s->location);
		diag_hint(d, "local paths are for development; use a git, archive or PyPI source "
			     "for builds that must be reproducible");
		return -1;
	}
	struct pin tmp = { 0 };
	tmp.kind = s->kind;
	int rc = 0;
	if (s->kind == SOURCE_GIT) {
		rc = resolve_git(o, r, &tmp, d);
	} else if (s->kind == SOURCE_WHEEL && !wheel_by_url(r)) {
		/* A floating source: the first Python takes the index's newest, and every other
		 * Python that same version, so that one lock holds one version of it. */
		char *exact = NULL;
		for (size_t i = 0; i < npys && rc == 0; i++) {
			/* The wheel first, then what it requires: a build venv installs them all. */
			struct pypi_file f, *deps = NULL;
			size_t ndeps = 0;
			rc = fetch_file(o, r, pys[i].version, pys[i].interpreter, exact, NULL, &f,
					&deps, &ndeps, d);
			if (rc == 0 && source_floating(s) && !tmp.version) {
				tmp.version = pypi_wheel_version(f.name);
				if (tmp.version) {
					struct buf b = BUF_INIT;
					buf_addf(&b, "%s==%s", s->location, tmp.version);
					exact = buf_detach(&b);
				}
			}
			if (rc == 0)
				pin_add_file(&tmp, pys[i].version, f.name, f.sha256);
			for (size_t k = 0; k < ndeps; k++) {
				if (rc == 0)
					pin_add_file(&tmp, pys[i].version, deps[k].name, deps[k].sha256);
				pypi_file_release(&deps[k]);
			}
			free(deps);
			pypi_file_release(&f);
		}
		free(exact);
	} else {
		struct pypi_file f;
		rc = fetch_file(o, r, NULL, NULL, NULL, NULL, &f, NULL, NULL, d);
		if (rc == 0)
			pin_add_file(&tmp, NULL, f.name, f.sha256);
		pypi_file_release(&f);
	}
	if (rc < 0) {
		pin_release(&tmp);
		return rc;
	}
	struct pin *pin = pins_add(into, r->name);
	char *name = pin->recipe;
	*pin = tmp;
	pin->recipe = name;
	pin->spec = source_spec(r);
	return 0;
}

/* ---- checking a locked pin ---------------------------------------------------------------- */

static int check_git(const struct source_opts *o, const struct recipe *r, const struct pin *pin,
		     struct diags *d)
{
	if (o->offline)
		return 0; /* --frozen: the lock is the truth; the checkout needs its commits */
	struct pins now = { 0 };
	int resolved = source_resolve(o, r, NULL, 0, &now, d);
	if (resolved < 0) {
		pins_release(&now);
		return resolved;
	}
	const struct pin *cur = &now.v[0];
	int rc = 0;
	if (strcmp(cur->commit, pin->commit)) {
		char *u = url_redact(r->source.location);
		rc = -2;
		diag_error(d, &r->source.pos, "recipe \"%s\": %s of %s now points to commit %s; "
				"ptbuild.lock has %s", r->name, r->source.ref, u, cur->commit,
				pin->commit);
		diag_hint(d, "if the new commit is right, run `ptbuild lock --update %s`; to build "
			     "what was locked, drop --locked (the lock's commit is still used) or "
			     "point the recipe's ref at %s", r->name, pin->commit);
		free(u);
	}
	for (size_t i = 0; i < cur->nsubs; i++) {
		const struct pinned_sub *s = &cur->subs[i];
		if (!s->overridden)
			continue; /* the others follow from the superproject's commit */
		for (size_t k = 0; k < pin->nsubs; k++)
			if (!strcmp(pin->subs[k].path, s->path) && strcmp(pin->subs[k].commit, s->commit)) {
				rc = -2;
				diag_error(d, &r->source.pos, "recipe \"%s\": the override of "
						"submodule \"%s\" (%s) now points to commit %s; "
						"ptbuild.lock has %s", r->name, s->path, s->url,
						s->commit, pin->subs[k].commit);
				diag_hint(d, "if the new commit is right, run `ptbuild lock --update %s`",
					  r->name);
			}
	}
	pins_release(&now);
	return rc;
}

/* The locked file of the wheel `r` names for `python`, not one of the wheels it requires
 * (the lock lists them sorted by name, so the first may be a dependency). */
static const struct pinned_file *main_file(const struct recipe *r, const struct pin *pin,
					   const char *python)
{
	if (r->source.kind != SOURCE_WHEEL || wheel_by_url(r))
		return pin_file(pin, python);
	char *project = NULL, *version = NULL;
	if (pypi_requirement_split(r->source.location, &project, &version) < 0)
		project = xstrdup(r->source.location);
	const struct pinned_file *best = NULL;
	for (size_t i = 0; i < pin->nfiles && !best; i++) {
		const struct pinned_file *f = &pin->files[i];
		if ((!python || (f->python && !strcmp(f->python, python))) &&
		    pypi_wheel_of(f->name, project))
			best = f;
	}
	free(project);
	free(version);
	return best ? best : pin_file(pin, python);
}

/* The first file `pin` holds for `python` that the cache lacks (the wheel itself or one it
 * requires), or NULL. */
static const struct pinned_file *first_uncached(const struct source_opts *o,
						const struct pin *pin, const char *python)
{
	const struct pinned_file *missing = NULL;
	for (size_t k = 0; k < pin->nfiles && !missing; k++) {
		const struct pinned_file *f = &pin->files[k];
		if (python && (!f->python || strcmp(f->python, python)))
			continue;
		struct buf cached = BUF_INIT;
		buf_addf(&cached, "%s/dist/%s/%s", o->cache_dir, f->sha256, f->name);
		if (!path_exists(cached.data))
			missing = f;
		buf_release(&cached);
	}
	return missing;
}

int source_fetch_pinned(const struct source_opts *o, const struct recipe *r,
			const struct pin *pin, const struct source_python *pys, size_t npys,
			struct diags *d)
{
	if (r->source.kind != SOURCE_WHEEL || wheel_by_url(r))
		return 0;
	int rc = 0;
	for (size_t i = 0; i < npys && rc == 0; i++) {
		const struct pinned_file *want = main_file(r, pin, pys[i].version);
		const struct pinned_file *missing = want ? first_uncached(o, pin, pys[i].version)
							 : NULL;
		if (!missing || !pys[i].interpreter)
			continue; /* nothing pinned for it (the plan says so), all cached, or no
				     interpreter to choose with (the build says so) */
		struct pypi_file f, *deps = NULL;
		size_t ndeps = 0;
		rc = fetch_file(o, r, pys[i].version, pys[i].interpreter, NULL, want, &f, &deps,
				&ndeps, d);
		if (rc == -2)
			diag_hint(d, "recipe \"%s\": ptbuild.lock pins %s; if the new file is right, "
				     "run `ptbuild lock --update %s`", r->name, want->name, r->name);
		else if (rc < 0)
			diag_hint(d, "recipe \"%s\": cannot download %s, which ptbuild.lock pins and "
				     "the cache lacks (%s/dist/%s/)", r->name, want->name, o->cache_dir,
				  want->sha256);
		for (size_t k = 0; k < ndeps; k++)
			pypi_file_release(&deps[k]);
		free(deps);
		pypi_file_release(&f);
		/* The wheel's own requirements came from the index: the locked ones must be
		 * among them (a venv installs exactly the lock's files). */
		if (rc == 0 && (missing = first_uncached(o, pin, pys[i].version))) {
			rc = diag_error(d, &r->source.pos, "recipe \"%s\": the index no longer "
					"serves %s (sha256 %.12s...), which ptbuild.lock pins for "
					"Python %s", r->name, missing->name, missing->sha256,
					pys[i].version);
			diag_hint(d, "run `ptbuild lock --update %s` to pin what the index serves now",
				  r->name);
		}
	}
	return rc;
}

/* Whether `version` is one of the comma-separated `list`. */
static bool listed(const char *list, const char *version)
{
	size_t len = strlen(version);
	for (const char *p = list; *p;) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ", ");
		if (n == len && !strncmp(p, version, len))
			return true;
		p += n;
	}
	return false;
}

/*
 * A floating wheel source (nightlies) under --locked: the index's newest version for this
 * Python must still be the locked one, and the locked version must still be served
 * (nightlies get deleted). 0, -2 (moved or gone: an input error), -1 (not asked).
 * `*moved_reported`: the move was already said for another Python.
 */
static int check_floating(const struct source_opts *o, const struct recipe *r,
			  const struct pin *pin, const struct pinned_file *want,
			  const struct source_python *py, bool *moved_reported, struct diags *d)
{
	char *locked = pin->version ? xstrdup(pin->version) : pypi_wheel_version(want->name);
	if (!locked)
		return 0; /* not a wheel file name: the file check below says what it can */
	struct pypi_opts po = pypi_opts_of(o, r);
	char *newest = NULL;
	struct buf all = BUF_INIT;
	const struct source *s = &r->source;
	char *shown = url_redact(s->index ? s->index : "(pip's configured index)");
	int rc = pypi_index_versions(&po, py->interpreter, s->location, &newest, &all, d);
	if (rc < 0)
		diag_hint(d, "recipe \"%s\": --locked asks the index %s whether %s %s is still its "
			     "newest; --frozen builds from the cached files without asking", r->name,
			  shown, s->location, locked);
	if (rc == 0 && !listed(all.data, locked)) {
		rc = -2;
		diag_error(d, &s->pos, "%s: the index %s no longer serves %s %s for Python %s, "
			   "which ptbuild.lock pins (%s)%s%s", r->name, shown, s->location, locked,
			   py->version, want->name, newest ? "; its newest is " : "",
			   newest ? newest : "");
		diag_hint(d, "nightlies are deleted after a while: run `ptbuild lock --update %s` "
			     "to pin what the index serves now, or use --frozen to build from the "
			     "cached file", r->name);
	} else if (rc == 0 && strcmp(newest, locked)) {
		rc = -2;
		if (!*moved_reported)
			diag_error(d, &s->pos, "%s: the index now serves %s %s where the lock has %s "
				   "(index %s)", r->name, s->location, newest, locked, shown);
		if (!*moved_reported)
			diag_hint(d, "run `ptbuild lock --update %s` to move the pin; without "
				     "--locked the build keeps the locked %s", r->name, locked);
		*moved_reported = true;
	}
	free(shown);
	free(newest);
	free(locked);
	buf_release(&all);
	return rc;
}

int source_check_locked(const struct source_opts *o, const struct recipe *r,
			const struct pin *pin, const struct source_python *pys, size_t npys,
			struct diags *d)
{
	if (r->source.kind == SOURCE_GIT)
		return check_git(o, r, pin, d);
	int rc = 0;
	bool moved_reported = false;
	bool per_python = r->source.kind == SOURCE_WHEEL && !wheel_by_url(r);
	for (size_t i = 0; i < (per_python ? npys : 1); i++) {
		const char *python = per_python ? pys[i].version : NULL;
		const struct pinned_file *want = main_file(r, pin, python);
		if (!want) {
			rc = -2;
			diag_error(d, &r->source.pos, "recipe \"%s\": ptbuild.lock has no file for "
					"Python %s", r->name, python ? python : "(any)");
			diag_hint(d, "run `ptbuild lock` to pin it");
			continue;
		}
		if (source_floating(&r->source) && !o->offline && pys[i].interpreter) {
			int cr = check_floating(o, r, pin, want, &pys[i], &moved_reported, d);
			if (cr < 0) {
				rc = cr == -2 || rc == -2 ? -2 : -1;
				continue;
			}
		}
		struct pypi_file f;
		int fr = fetch_file(o, r, python, per_python ? pys[i].interpreter : NULL, NULL,
				    want, &f, NULL, NULL, d);
		if (fr < 0)
			rc = fr == -2 || rc == -2 ? -2 : -1;
		/* Only a file that changed since the lock (-2) is fixed by updating the lock; a
		 * file that could not be had (--frozen and not cached, no network, a digest the
		 * recipe pins) has its own hint already. */
		if (fr == -2)
			diag_hint(d, "recipe \"%s\": if the new file is right, run `ptbuild lock "
				     "--update %s`", r->name, r->name);
		pypi_file_release(&f);
	}
	return rc;
}

/* ---- source trees ------------------------------------------------------------------------- */

int source_commit_time(const char *cache_dir, const struct recipe *r, const struct pin *pin,
		       long long *when)
{
	if (r->source.kind != SOURCE_GIT || !pin || !pin->commit[0])
		return -1;
	return git_source_commit_time(cache_dir, r->source.location, pin->commit, when);
}

char *source_tree_name(const struct recipe *r, const char *patch_digest)
{
	struct buf b = BUF_INIT;
	const char *ref = r->source.kind == SOURCE_GIT ? r->source.ref : r->version;
	buf_addf(&b, "%s-%s", r->name, ref ? ref : "src");
	if (patch_digest)
		buf_addf(&b, "-patched-%.8s", patch_digest);
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '/' || b.data[i] == ' ')
			b.data[i] = '_';
	return buf_detach(&b);
}

/* What a tree holds: its pin's identity, the declaration it was resolved from and the
 * patches applied to it. */
static char *tree_identity(const struct pin *pin, const struct tree_patches *patches)
{
	struct buf b = BUF_INIT;
	struct jw w;
	jw_init(&w, &b, false);
	jw_object_begin(&w);
	jw_key(&w, "identity");
	pin_write_identity(&w, pin, NULL);
	if (patches) {
		jw_key(&w, "patches");
		jw_array_begin(&w);
		for (size_t i = 0; i < patches->n; i++) {
			jw_object_begin(&w);
			jw_kstring(&w, "name", patches->refs[i].name);
			jw_kstring(&w, "sha256", patches->refs[i].sha256);
			jw_object_end(&w);
		}
		jw_array_end(&w);
	}
	jw_kstring(&w, "spec", pin->spec);
	jw_object_end(&w);
	buf_addch(&b, '\n');
	return buf_detach(&b);
}

static int export_tree(const struct source_opts *o, const struct recipe *r, const struct pin *pin,
		       bool mirrors_fresh, const char *dest, struct diags *d)
{
	if (r->source.kind == SOURCE_GIT) {
		/* The pinned commits, not the refs: the tree is what the lock says. */
		struct submodule_override *ov = xcalloc(r->noverrides + 1, sizeof(*ov));
		for (size_t i = 0; i < r->noverrides; i++) {
			ov[i] = r->overrides[i];
			for (size_t k = 0; k < pin->nsubs; k++)
				if (pin->subs[k].overridden && !strcmp(pin->subs[k].path, ov[i].path))
					ov[i].ref = pin->subs[k].commit;
		}
		struct git_opts go = git_opts_of(o, r, mirrors_fresh);
		struct git_tree_result res;
		int rc = git_fetch_tree(&go, r->source.location, pin->commit, r->source.submodules,
					ov, r->noverrides, dest, &res, d);
		git_tree_result_release(&res);
		free(ov);
		return rc;
	}
	struct pypi_file f;
	if (fetch_file(o, r, NULL, NULL, NULL, pin_file(pin, NULL), &f, NULL, NULL, d) < 0)
		return -1;
	int strip = r->source.kind == SOURCE_ARCHIVE ? r->source.strip : 1; /* sdists: name-ver/ */
	struct buf from = BUF_INIT;
	if (r->source.kind == SOURCE_ARCHIVE) {
		char *shown = url_redact(r->source.location);
		buf_adds(&from, shown);
		free(shown);
	} else {
		buf_addf(&from, "PyPI sdist %s", f.name ? f.name : r->source.location);
	}
	struct archive_origin origin = { r->name, from.data, &r->source.pos };
	int rc = archive_extract(f.path, &origin, dest, strip, d);
	buf_release(&from);
	pypi_file_release(&f);
	return rc;
}

/* Path and wheel sources are not patched; -2 with an error when `patches` asks to. */
static int check_patchable(const struct recipe *r, const struct tree_patches *patches,
			   struct diags *d)
{
	if (!patches || (r->source.kind != SOURCE_PATH && r->source.kind != SOURCE_WHEEL))
		return 0;
	diag_error(d, &r->source.pos, "recipe \"%s\" has patches, but its source is %s", r->name,
		   r->source.kind == SOURCE_PATH ? "a local directory, which ptbuild does not "
		   "modify" : "a wheel, which has no source tree");
	diag_hint(d, "apply them in that directory yourself, or build from git, an archive or an "
		     "sdist");
	return -2;
}

/* A path source is its own tree: its absolute path in *tree. */
static int checkout_path(const struct source_opts *o, const struct recipe *r, char **tree,
			 enum checkout_state *state, struct diags *d)
{
	char *p = r->source.location[0] == '/' ? xstrdup(r->source.location)
					       : path_join(o->project_dir, r->source.location);
	*tree = absolute_path(p);
	free(p);
	*state = CHECKOUT_UP_TO_DATE;
	if (!is_directory(*tree))
		return diag_error(d, &r->source.pos, "recipe \"%s\": the local path %s is not a "
				  "directory", r->name, *tree);
	return 0;
}

/* The pin's tree, patched, in `fresh`; -2 when a patch does not apply (nothing left). */
static int write_tree(const struct source_opts *o, const struct recipe *r, const struct pin *pin,
		      bool mirrors_fresh, struct tree_patches *patches, const char *fresh,
		      struct diags *d)
{
	int rc = export_tree(o, r, pin, mirrors_fresh, fresh, d);
	if (rc < 0)
		return rc;
	if (!patches)
		return 0;
	int prc = patches_apply(fresh, patches->refs, patches->n, &patches->stats, d);
	if (prc < 0) {
		remove_tree(fresh);
		return prc == -1 ? -2 : -1;
	}
	return 0;
}

/*
 * Puts the complete tree `fresh` at `dest`, moving an existing one (`exists`) aside to
 * `old` first and removing it after. The marker goes first; when the rename fails the old
 * tree and its marker text `had` are put back.
 */
static int replace_tree(const char *fresh, const char *dest, const char *old, bool exists,
			const char *marker, const struct buf *had, struct diags *d)
{
	unlink(marker);
	if (exists && rename(dest, old) < 0) {
		diag_error(d, NULL, "cannot move %s aside: %s", dest, strerror(errno));
		remove_tree(fresh);
		return -1;
	}
	if (rename(fresh, dest) < 0) {
		diag_error(d, NULL, "cannot rename %s to %s: %s", fresh, dest, strerror(errno));
		remove_tree(fresh);
		if (exists && rename(old, dest) == 0 && had->len)
			write_file_atomic(marker, had->data, had->len);
		return -1;
	}
	if (exists)
		remove_tree(old);
	return 0;
}

int source_checkout(const struct source_opts *o, const struct recipe *r, const struct pin *pin,
		    bool mirrors_fresh, struct tree_patches *patches, char **tree,
		    enum checkout_state *state, struct diags *d)
{
	*tree = NULL;
	if (patches && !patches->n)
		patches = NULL;
	if (check_patchable(r, patches, d) < 0)
		return -2;
	if (r->source.kind == SOURCE_PATH)
		return checkout_path(o, r, tree, state, d);
	if (r->source.kind == SOURCE_WHEEL) {
		*state = CHECKOUT_NO_TREE;
		return 0;
	}
	char *name = source_tree_name(r, patches ? patches->digest : NULL);
	char *src = path_join(o->work_dir, "src");
	char *dest = path_join(src, name);
	struct buf marker = BUF_INIT, old = BUF_INIT, fresh = BUF_INIT, had = BUF_INIT;
	buf_addf(&marker, "%s/.%s.pin", src, name);
	buf_addf(&old, "%s.old", dest);
	buf_addf(&fresh, "%s.new", dest);
	char *want = tree_identity(pin, patches);
	int rc = -1;
	if (make_dirs(src, 0755) < 0) {
		diag_error(d, NULL, "cannot create %s: %s", src, strerror(errno));
		goto out;
	}
	remove_stale_temps(old.data);
	remove_stale_temps(fresh.data);
	bool exists = path_exists(dest);
	if (exists && read_file(marker.data, &had) == 0 && !strcmp(had.data, want)) {
		*state = CHECKOUT_UP_TO_DATE;
		*tree = dest;
		dest = NULL;
		rc = 0;
		goto out;
	}
	/* The new tree is made and patched beside the old one, which is replaced only once
	 * the new one is complete: a failure leaves the old tree (and its marker) as it was. */
	buf_addf(&fresh, ".tmp-%ld", (long)getpid());
	buf_addf(&old, ".tmp-%ld", (long)getpid());
	rc = write_tree(o, r, pin, mirrors_fresh, patches, fresh.data, d);
	/* the whole tree on disk (one syncfs, not an fsync per file) before it is renamed into
	 * place and its marker written: a tree with a marker is whole even after a crash */
	if (rc == 0 && flush_filesystem(fresh.data) < 0) {
		rc = diag_error(d, NULL, "cannot flush %s to disk: %s", fresh.data, strerror(errno));
		remove_tree(fresh.data);
	}
	if (rc == 0)
		rc = replace_tree(fresh.data, dest, old.data, exists, marker.data, &had, d);
	if (rc < 0)
		goto out;
	if (write_file_atomic(marker.data, want, strlen(want)) < 0) {
		rc = diag_error(d, NULL, "cannot write %s: %s", marker.data, strerror(errno));
		goto out;
	}
	*state = CHECKOUT_WRITTEN;
	*tree = dest;
	dest = NULL;
out:
	free(want);
	buf_release(&marker);
	buf_release(&old);
	buf_release(&fresh);
	buf_release(&had);
	free(dest);
	free(src);
	free(name);
	return rc;
}
