#include "sources/git_source.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/git_cli.h"
#include "util/url.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/fault.h"
#include "util/staged.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* libgit2 stays initialized for the whole run: each git_libgit2_init() after a full
 * shutdown reloads the TLS certificates, about 8 ms per patch here. */
void git_source_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	git_libgit2_init();
	/* Builds must not depend on the user's ~/.gitconfig or /etc/gitconfig. */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
}

void git_tree_result_release(struct git_tree_result *r)
{
	for (size_t i = 0; i < r->nsubs; i++) {
		free(r->subs[i].path);
		free(r->subs[i].url);
	}
	free(r->subs);
	memset(r, 0, sizeof(*r));
}

/* Records libgit2's last error about `what` (URL credentials redacted) and returns -1. */
static int git_fail(struct diags *d, const char *what, const char *url)
{
	const git_error *e = git_error_last();
	char *msg = text_redact(e && e->message ? e->message : "unknown libgit2 error");
	char *u = url ? url_redact(url) : NULL;
	if (u)
		diag_error(d, NULL, "%s \"%s\": %s", what, u, msg);
	else
		diag_error(d, NULL, "%s: %s", what, msg);
	free(msg);
	free(u);
	return -1;
}

/* ---- mirrors ----------------------------------------------------------------------------- */

/* What a mirror holds: branches and tags, not the pull-request refs (GitHub's refs/pull/N/...:
 * 1,308 of kineto's 1,430 refs, more than half of its objects). A commit that none of them
 * reaches is fetched by id into refs/ptbuild/commits/<id>, which keeps it reachable. */
static const char *const lean_specs[] = { "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*" };
/* Every ref, once, when a server will not send a commit by its id. Never pruned: that would
 * drop refs/ptbuild/commits/. */
static const char *const full_specs[] = { "+refs/*:refs/*" };

/* libgit2's last error, credentials redacted, into `why`. */
static void libgit2_why(struct buf *why)
{
	const git_error *e = git_error_last();
	char *msg = text_redact(e && e->message ? e->message : "unknown libgit2 error");
	buf_adds(why, msg);
	free(msg);
}

/* A fetch of `specs` from `fetch_url` into the bare repository at `path`, by git's CLI when
 * `git` is set, else by libgit2 (an anonymous remote: the mirror's config is not written).
 * -1 with the reason, redacted, in `why`. */
static int mirror_fetch(const char *git, const char *path, const char *fetch_url,
			const char *const *specs, size_t nspecs, bool prune, struct buf *why)
{
	if (git)
		return git_cli_fetch(git, path, fetch_url, specs, nspecs, prune, why) == 0 ? 0 : -1;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	int rc = -1;
	if (git_repository_open_bare(&repo, path) < 0 ||
	    git_remote_create_anonymous(&remote, repo, fetch_url) < 0) {
		libgit2_why(why);
		goto out;
	}
	/* The *_INIT macros trip -Wmissing-field-initializers; the init functions do not. */
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = prune ? GIT_FETCH_PRUNE : GIT_FETCH_NO_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the specs say which */
	fo.update_fetchhead = 0;
	fo.proxy_opts.type = GIT_PROXY_AUTO;
	git_strarray sa = { (char **)specs, nspecs };
	if (git_remote_fetch(remote, &sa, &fo, "ptbuild: mirror fetch") < 0)
		libgit2_why(why);
	else
		rc = 0;
out:
	git_remote_free(remote);
	git_repository_free(repo);
	return rc;
}

/* The branches and tags, plus `extra` (a ref outside them a recipe names) when set. */
static int mirror_fetch_lean(const char *git, const char *path, const char *fetch_url,
			     const char *extra, struct buf *why)
{
	const char *specs[3] = { lean_specs[0], lean_specs[1], extra };
	return mirror_fetch(git, path, fetch_url, specs, extra ? 3 : 2, true, why);
}

/* A fetch leaves a new mirror's HEAD unborn: point it at the remote's default branch. Best
 * effort: nothing reads HEAD but people looking into the cache. */
static void mirror_set_head(const char *path, const char *fetch_url)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_buf head = { 0 };
	git_remote_callbacks cb;
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	git_proxy_options po;
	git_proxy_options_init(&po, GIT_PROXY_OPTIONS_VERSION);
	po.type = GIT_PROXY_AUTO;
	if (git_repository_open_bare(&repo, path) == 0 &&
	    git_remote_create_detached(&remote, fetch_url) == 0 &&
	    git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &po, NULL) == 0 &&
	    git_remote_default_branch(&head, remote) == 0)
		git_repository_set_head(repo, head.ptr);
	git_buf_dispose(&head);
	git_remote_free(remote);
	git_repository_free(repo);
}

/* The refspec that fetches `ref` exactly when it is a ref outside branches and tags
 * (`refs/pull/12/head`), or NULL. Caller frees. */
static char *extra_spec(const char *ref)
{
	if (!ref || !starts_with(ref, "refs/") || starts_with(ref, "refs/heads/") ||
	    starts_with(ref, "refs/tags/"))
		return NULL;
	struct buf b = BUF_INIT;
	buf_addf(&b, "+%s:%s", ref, ref);
	return buf_detach(&b);
}

/* Creates the mirror in a temporary directory and renames it into place, so an interrupted
 * first fetch never leaves a half mirror where the next run would look. */
static int mirror_create(const char *url, const char *fetch_url, const char *path,
			 const char *git, const char *extra, struct diags *d)
{
	struct buf tmp = BUF_INIT, why = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_config *cfg = NULL;
	int rc = -1;
	if (git_repository_init(&repo, tmp.data, 1) < 0) {
		git_fail(d, "cannot create a mirror for", url);
		goto out;
	}
	/* The config says what ptbuild fetches, for people running git in the cache. */
	if (git_remote_create_with_fetchspec(&remote, repo, "origin", fetch_url, lean_specs[0]) < 0 ||
	    git_remote_add_fetch(repo, "origin", lean_specs[1]) < 0 ||
	    git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_bool(cfg, "remote.origin.mirror", 1) < 0) {
		git_fail(d, "cannot configure the mirror of", url);
		goto out;
	}
	git_config_free(cfg);
	cfg = NULL;
	git_remote_free(remote);
	remote = NULL;
	git_repository_free(repo);
	repo = NULL;
	if (mirror_fetch_lean(git, tmp.data, fetch_url, extra, &why) < 0) {
		char *fu = url_redact(fetch_url);
		diag_error(d, NULL, "cannot fetch \"%s\": %s", fu, why.data);
		free(fu);
		if (strcmp(url, fetch_url)) {
			char *u = url_redact(url);
			diag_hint(d, "that is the mirror of \"%s\" (mirrors.json or PTBUILD_MIRRORS)", u);
			free(u);
		}
		diag_hint(d, "check the URL and the network; nothing was kept in the cache");
		goto out;
	}
	fault_point("mirror"); /* fetched, not yet in place */
	mirror_set_head(tmp.data, fetch_url);
	rc = 0;
out:
	git_config_free(cfg);
	git_remote_free(remote);
	git_repository_free(repo);
	if (rc == 0 && rename(tmp.data, path) < 0) {
		if (is_directory(path)) { /* another run won the race: use its mirror */
			remove_tree(tmp.data);
		} else {
			diag_error(d, NULL, "cannot move the new mirror into %s: %s", path, strerror(errno));
			rc = -1;
		}
	}
	if (rc < 0)
		remove_tree(tmp.data);
	buf_release(&why);
	buf_release(&tmp);
	return rc;
}

/* Where the mirror of `url` lives in the cache. Caller frees. */
static char *mirror_path(const struct git_opts *o, const char *url)
{
	char *name = url_mirror_name(url);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/git/%s.git", o->cache_dir, name);
	free(name);
	return buf_detach(&path);
}

/* The option that keeps this run off the network, for messages. */
static const char *offline_flag(const struct git_opts *o)
{
	return o->offline_flag ? o->offline_flag : "--frozen";
}

/*
 * git_mirror_update, and with `fallback` a cached mirror that cannot be fetched is used as
 * it is, with a warning ("mirror not updated") and *stale set: a network that is down does
 * not stop what the cache can answer. `ref` (or NULL): a recipe's ref, fetched exactly as
 * well when it is outside branches and tags.
 */
static int mirror_update(const struct git_opts *o, const char *url, const char *ref,
			 bool fallback, char **mirror, bool *stale, struct diags *d)
{
	git_source_init();
	*mirror = NULL;
	if (stale)
		*stale = false;
	char *dir = path_join(o->cache_dir, "git");
	char *fetch_url = mirrors_rewrite(o->mirrors, url);
	char *extra = extra_spec(ref);
	char *git = NULL;
	struct buf path = BUF_INIT, why = BUF_INIT;
	char *p = mirror_path(o, url);
	buf_adds(&path, p);
	free(p);
	int rc = -1;
	if (!o->offline && git_cli_choose(fetch_url, &git, d) < 0)
		goto out;
	if (make_dirs(dir, 0755) < 0) {
		diag_error(d, NULL, "cannot create the cache directory %s: %s", dir, strerror(errno));
		goto out;
	}
	remove_stale_temps(path.data); /* what a killed run left half-made */
	if (!is_directory(path.data)) {
		if (o->offline) {
			char *u = url_redact(url);
			diag_error(d, NULL, "\"%s\" is not in the cache (%s), and %s forbids the "
					    "network", u, path.data, offline_flag(o));
			diag_hint(d, "run `ptbuild fetch` once with the network to fill the cache");
			free(u);
			goto out;
		}
		rc = mirror_create(url, fetch_url, path.data, git, extra, d);
		goto out;
	}
	if (o->offline) {
		rc = 0;
		goto out;
	}
	/* The site's mirror may have changed since the cache was made: fetch from today's. A
	 * mirror made by older ptbuilds (every ref) keeps the refs it has beyond branches and
	 * tags (prune touches only the refs fetched); they are never fetched again. */
	git_repository *repo = NULL;
	bool opens = git_repository_open_bare(&repo, path.data) == 0;
	git_repository_free(repo);
	if (!opens) {
		git_fail(d, "cannot open the cached mirror of", url);
		diag_hint(d, "remove %s; the next run creates it again", path.data);
	} else if (mirror_fetch_lean(git, path.data, fetch_url, extra, &why) == 0) {
		rc = 0;
	} else if (fallback) {
		char *u = url_redact(url), *fu = url_redact(fetch_url);
		diag_warn(d, NULL, "mirror not updated: cannot fetch \"%s\": %s; \"%s\" is resolved "
				   "from the cached mirror as it is", fu, why.data, u);
		diag_hint(d, "its branches may be behind upstream; `--offline` uses the cache without "
			     "trying the network");
		free(u);
		free(fu);
		if (stale)
			*stale = true;
		rc = 0;
	} else {
		char *fu = url_redact(fetch_url);
		diag_error(d, NULL, "cannot update the mirror of \"%s\": %s", fu, why.data);
		free(fu);
		diag_hint(d, "the cached mirror is as it was; --frozen builds from it without the "
			     "network");
	}
out:
	if (rc == 0)
		*mirror = buf_detach(&path);
	buf_release(&path);
	buf_release(&why);
	free(git);
	free(extra);
	free(fetch_url);
	free(dir);
	return rc;
}

int git_mirror_update(const struct git_opts *o, const char *url, char **mirror, struct diags *d)
{
	return mirror_update(o, url, NULL, true, mirror, NULL, d);
}

/*
 * Fetches the one commit `hex` (full id) no branch or tag of `url` reaches into the mirror
 * at `path`, as refs/ptbuild/commits/<id>. A server that will not send it by id (over http
 * without uploadpack.allowReachableSHA1InWant) gets one fetch of every ref instead, said in
 * a note. Returns 0 when the fetches ran (the caller looks for the commit), -1 with an error.
 */
static int mirror_fetch_commit(const struct git_opts *o, const char *url, const char *path,
			       const char *hex, struct diags *d)
{
	char *fetch_url = mirrors_rewrite(o->mirrors, url);
	char *git = NULL;
	struct buf spec = BUF_INIT, why = BUF_INIT, why_full = BUF_INIT;
	int rc = -1;
	if (git_cli_choose(fetch_url, &git, d) < 0)
		goto out;
	if (strlen(hex) == GIT_OID_HEX_SIZE - 1) {
		buf_addf(&spec, "%s:refs/ptbuild/commits/%s", hex, hex);
		const char *one[] = { spec.data };
		if (mirror_fetch(git, path, fetch_url, one, 1, false, &why) == 0) {
			rc = 0;
			goto out;
		}
	} else {
		buf_adds(&why, "an abbreviated id cannot be asked for");
	}
	char *fu = url_redact(fetch_url);
	if (mirror_fetch(git, path, fetch_url, full_specs, 1, false, &why_full) == 0) {
		diag_note(d, NULL, "commit %s is on no branch or tag of \"%s\" and could not be "
				   "fetched by id (%s): fetched all of its refs (+refs/*:refs/*) once "
				   "instead", hex, fu, why.data);
		rc = 0;
	} else {
		diag_error(d, NULL, "cannot fetch commit %s from \"%s\": %s", hex, fu, why_full.data);
		diag_hint(d, "the cached mirror is as it was; check the URL and the network");
	}
	free(fu);
out:
	buf_release(&spec);
	buf_release(&why);
	buf_release(&why_full);
	free(git);
	free(fetch_url);
	return rc;
}

int git_source_commit_time(const char *cache_dir, const char *url, const char *commit, long long *when)
{
	git_source_init();
	char *name = url_mirror_name(url);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/git/%s.git", cache_dir, name);
	free(name);
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_oid oid;
	int rc = -1;
	if (is_directory(path.data) && git_repository_open_bare(&repo, path.data) == 0 &&
	    git_oid_fromstr(&oid, commit) == 0 && git_commit_lookup(&c, repo, &oid) == 0) {
		*when = (long long)git_commit_time(c);
		rc = 0;
	}
	git_commit_free(c);
	git_repository_free(repo);
	buf_release(&path);
	return rc;
}

/* ---- refs -------------------------------------------------------------------------------- */

static void hint_refs(git_repository *repo, const char *ref, struct diags *d)
{
	git_strarray tags = { 0 };
	if (git_tag_list(&tags, repo) < 0)
		return;
	const char *near = closest_match(ref, (const char *const *)tags.strings, tags.count);
	if (near)
		diag_hint(d, "did you mean the tag \"%s\"?", near);
	else
		diag_hint(d, "`git ls-remote --tags URL` lists the tags upstream has");
	git_strarray_dispose(&tags);
}

static bool is_hex(const char *s, size_t min)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n >= min && s[n] == '\0' && n <= 40;
}

int git_resolve(const char *mirror, const char *url, const char *ref,
		char commit[GIT_OID_HEX_SIZE], char tag[GIT_OID_HEX_SIZE], struct diags *d)
{
	git_source_init();
	commit[0] = tag[0] = '\0';
	git_repository *repo = NULL;
	if (git_repository_open_bare(&repo, mirror) < 0)
		return git_fail(d, "cannot open the cached mirror of", url);
	int rc = -1;
	struct buf name = BUF_INIT;
	const char *prefixes[] = { "", "refs/tags/", "refs/heads/" };
	for (size_t i = 0; i < 3 && rc < 0; i++) {
		if (i == 0 && !starts_with(ref, "refs/"))
			continue;
		buf_reset(&name);
		buf_addf(&name, "%s%s", prefixes[i], ref);
		git_reference *r = NULL;
		if (git_reference_lookup(&r, repo, name.data) < 0)
			continue;
		git_reference *direct = NULL;
		git_object *peeled = NULL;
		if (git_reference_resolve(&direct, r) == 0 &&
		    git_reference_peel(&peeled, direct, GIT_OBJECT_COMMIT) == 0) {
			git_oid_tostr(commit, GIT_OID_HEX_SIZE, git_object_id(peeled));
			const git_oid *target = git_reference_target(direct);
			git_object *obj = NULL;
			if (target && git_object_lookup(&obj, repo, target, GIT_OBJECT_ANY) == 0 &&
			    git_object_type(obj) == GIT_OBJECT_TAG)
				git_oid_tostr(tag, GIT_OID_HEX_SIZE, target);
			git_object_free(obj);
			rc = 0;
		}
		git_object_free(peeled);
		git_reference_free(direct);
		git_reference_free(r);
	}
	if (rc < 0 && is_hex(ref, 7)) {
		git_object *obj = NULL;
		git_object *peeled = NULL;
		if (git_revparse_single(&obj, repo, ref) == 0 &&
		    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
			git_oid_tostr(commit, GIT_OID_HEX_SIZE, git_object_id(peeled));
			rc = 0;
		}
		git_object_free(peeled);
		git_object_free(obj);
	}
	if (rc < 0) {
		char *u = url_redact(url);
		diag_error(d, NULL, "no tag, branch or commit \"%s\" in \"%s\"", ref, u);
		hint_refs(repo, ref, d);
		free(u);
	}
	buf_release(&name);
	git_repository_free(repo);
	return rc;
}

/*
 * git_resolve in the mirror at `mirror`; a commit id that no branch or tag reaches (a lean
 * mirror lacks it) is fetched then, unless the run is offline or the mirror is `stale`.
 */
static int resolve_fetching(const struct git_opts *o, const char *url, const char *mirror,
			    const char *ref, bool stale, char commit[GIT_OID_HEX_SIZE],
			    char tag[GIT_OID_HEX_SIZE], struct diags *d)
{
	struct diags tmp;
	diags_init(&tmp);
	int rc = git_resolve(mirror, url, ref, commit, tag, &tmp);
	if (rc < 0 && !stale && !o->offline && is_hex(ref, 7) &&
	    mirror_fetch_commit(o, url, mirror, ref, d) == 0) {
		diags_release(&tmp);
		diags_init(&tmp);
		rc = git_resolve(mirror, url, ref, commit, tag, &tmp);
	}
	diags_take(d, &tmp);
	return rc;
}

/* ---- export ------------------------------------------------------------------------------ */

struct gitlink {
	char *path;
	git_oid oid;
};

struct gitlinks {
	struct gitlink *v;
	size_t n, cap;
};

static int collect_gitlink(const char *root, const git_tree_entry *entry, void *payload)
{
	if (git_tree_entry_filemode(entry) != GIT_FILEMODE_COMMIT)
		return 0;
	struct gitlinks *links = payload;
	GROW(links->v, links->cap, links->n + 1);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
	links->v[links->n].path = buf_detach(&path);
	git_oid_cpy(&links->v[links->n].oid, git_tree_entry_id(entry));
	links->n++;
	return 0;
}

/* The URL .gitmodules gives the submodule at `path`, or NULL. libgit2 1.5 parses config
 * only from files, so the blob goes through a temporary file. Caller frees. */
static char *gitmodules_url(git_repository *repo, git_tree *tree, const char *path)
{
	git_tree_entry *entry = NULL;
	if (git_tree_entry_bypath(&entry, tree, ".gitmodules") < 0)
		return NULL;
	git_blob *blob = NULL;
	char *url = NULL;
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0)
		goto out;
	char tmpl[] = "/tmp/ptbuild-gitmodules-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		goto out;
	size_t size = (size_t)git_blob_rawsize(blob);
	bool written = write(fd, git_blob_rawcontent(blob), size) == (ssize_t)size;
	close(fd);
	git_config *cfg = NULL;
	if (written && git_config_open_ondisk(&cfg, tmpl) == 0) {
		git_config_iterator *it = NULL;
		git_config_entry *e;
		/* Not git_config_iterator_glob_new: with Debian's libgit2 1.5 its PCRE2 matching
		 * leaks the match data of every entry. */
		if (git_config_iterator_new(&it, cfg) == 0) {
			while (!url && git_config_next(&e, it) == 0) {
				if (!starts_with(e->name, "submodule.") || !ends_with(e->name, ".path") ||
				    strcmp(e->value, path))
					continue;
				/* "submodule.<name>.path" -> "submodule.<name>.url" */
				struct buf key = BUF_INIT;
				buf_add(&key, e->name, strlen(e->name) - strlen(".path"));
				buf_adds(&key, ".url");
				git_config_entry *u = NULL;
				if (git_config_get_entry(&u, cfg, key.data) == 0)
					url = xstrdup(u->value);
				git_config_entry_free(u);
				buf_release(&key);
			}
			git_config_iterator_free(it);
		}
		git_config_free(cfg);
	}
	unlink(tmpl);
out:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	return url;
}

/* A submodule that could not be had: everything its line in the error names. */
struct sub_failure {
	char *path;           /* full path from the top of the tree */
	char *super_path;     /* the superproject's path, "" for the top */
	char *super_url;      /* redacted */
	char super_commit[GIT_OID_HEX_SIZE];
	char commit[GIT_OID_HEX_SIZE]; /* the gitlink's (or override's), or "" */
	char *url;            /* upstream, redacted */
	char *fetch_url;      /* what was asked (the mirror rewrite), redacted */
	char *why;
	bool missing_commit;  /* the repository was fetched but lacks the commit */
};

struct export_ctx {
	const struct git_opts *o;
	const struct submodule_override *overrides;
	size_t noverrides;
	bool *override_used;         /* per override */
	bool *path_matched;          /* per path of o->select */
	struct git_tree_result *res;
	struct diags *d;
	struct sub_failure *fails;
	size_t nfails, cap_fails;
	char **known;                /* every gitlink walked, by full path */
	size_t nknown, cap_known;
	int errors;                  /* reported on the spot: an override's ref, a write */
	bool writing;                /* a tree is being checked out (not only walked) */
};

static int export_commit(struct export_ctx *x, const char *mirror, const char *url,
			 const char *commit_hex, const char *dest, const char *prefix, int depth);

/* The text of the errors recorded in `tmp`, joined by "; " (the reason of a failure). */
static char *errors_text(const struct diags *tmp)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < tmp->n; i++)
		if (tmp->v[i].level == DIAG_ERROR)
			buf_addf(&b, "%s%s", b.len ? "; " : "", tmp->v[i].msg);
	return buf_detach(&b);
}

static void add_failure(struct export_ctx *x, const char *path, const char *super_path,
			const char *super_url, const char *super_commit, const char *commit,
			const char *url, const char *why, bool missing_commit)
{
	GROW(x->fails, x->cap_fails, x->nfails + 1);
	struct sub_failure *f = &x->fails[x->nfails++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->super_path = xstrdup(super_path);
	f->super_url = url_redact(super_url);
	snprintf(f->super_commit, sizeof(f->super_commit), "%s", super_commit);
	snprintf(f->commit, sizeof(f->commit), "%s", commit ? commit : "");
	f->url = url ? url_redact(url) : xstrdup("(none)");
	char *fu = url ? mirrors_rewrite(x->o->mirrors, url) : xstrdup("(none)");
	f->fetch_url = url_redact(fu);
	free(fu);
	f->why = xstrdup(why);
	f->missing_commit = missing_commit;
}

/* Whether the cached mirror at `path` has the commit: then it need not be fetched. */
static bool mirror_has_commit(const char *path, const git_oid *oid)
{
	if (!is_directory(path))
		return false;
	git_repository *repo = NULL;
	git_commit *c = NULL;
	bool has = git_repository_open_bare(&repo, path) == 0 && git_commit_lookup(&c, repo, oid) == 0;
	git_commit_free(c);
	git_repository_free(repo);
	return has;
}

/* One gitlink: its mirror, its commit, then what it holds. */
static void export_submodule(struct export_ctx *x, git_repository *repo, git_tree *tree,
			     const struct gitlink *gl, const char *url, const char *commit_hex,
			     const char *dest, const char *prefix, int depth)
{
	struct buf full = BUF_INIT;
	buf_addf(&full, "%s%s", prefix, gl->path);
	char *super_path = xstrndup(prefix, prefix[0] ? strlen(prefix) - 1 : 0);
	const struct submodule_override *ov = NULL;
	for (size_t k = 0; k < x->noverrides; k++)
		if (!strcmp(x->overrides[k].path, full.data)) {
			ov = &x->overrides[k];
			x->override_used[k] = true;
		}
	char gl_hex[GIT_OID_HEX_SIZE];
	git_oid_tostr(gl_hex, sizeof(gl_hex), &gl->oid);
	char *raw = ov ? NULL : gitmodules_url(repo, tree, gl->path);
	char *sub_url = ov ? xstrdup(ov->git) : raw ? url_resolve(url, raw) : NULL;
	char *sub_mirror = NULL;
	char commit[GIT_OID_HEX_SIZE] = "", tag[GIT_OID_HEX_SIZE];
	struct diags tmp;
	diags_init(&tmp);
	if (!sub_url) {
		add_failure(x, full.data, super_path, url, commit_hex, gl_hex, NULL,
			    "no URL in .gitmodules: add a \"submodule_overrides\" entry for it",
			    false);
		goto out;
	}
	char *cached = mirror_path(x->o, sub_url);
	bool have = !ov && mirror_has_commit(cached, &gl->oid);
	free(cached);
	bool stale = false;
	int rc = have ? 0 : mirror_update(x->o, sub_url, ov ? ov->ref : NULL, ov != NULL,
					  &sub_mirror, &stale, &tmp);
	if (have)
		sub_mirror = mirror_path(x->o, sub_url);
	/* A gitlink to a commit no branch or tag reaches (a pull request's): that one commit. */
	if (!have && rc == 0 && !ov && !x->o->offline && !mirror_has_commit(sub_mirror, &gl->oid)) {
		rc = mirror_fetch_commit(x->o, sub_url, sub_mirror, gl_hex, &tmp);
		if (rc == 0)
			diags_take(x->d, &tmp); /* the note of a fetch of every ref */
	}
	if (rc < 0) {
		char *why = errors_text(&tmp);
		add_failure(x, full.data, super_path, url, commit_hex, ov ? NULL : gl_hex, sub_url,
			    why, false);
		free(why);
		goto out;
	}
	if (ov) {
		diags_take(x->d, &tmp); /* a "mirror not updated" warning */
		if (resolve_fetching(x->o, sub_url, sub_mirror, ov->ref, stale, commit, tag, x->d) < 0) {
			diag_hint(x->d, "that is the \"submodule_overrides\" entry for \"%s\"%s%s", full.data,
				  x->o->recipe ? " of recipe " : "", x->o->recipe ? x->o->recipe : "");
			x->errors++;
			goto out;
		}
	} else {
		memcpy(commit, gl_hex, sizeof(commit));
	}
	size_t at = x->res->nsubs;
	GROW(x->res->subs, x->res->cap, x->res->nsubs + 1);
	struct git_sub *s = &x->res->subs[x->res->nsubs++];
	s->path = xstrdup(full.data);
	s->url = url_redact(sub_url);
	memcpy(s->commit, commit, sizeof(commit));
	s->overridden = ov != NULL;
	/* After a failure nothing more is written (it would be thrown away); the walk goes
	 * on to find every other one. */
	char *sub_dest = dest && !x->nfails ? path_join(dest, gl->path) : NULL;
	struct buf sub_prefix = BUF_INIT;
	buf_addf(&sub_prefix, "%s/", full.data);
	if (sub_dest)
		make_dirs(sub_dest, 0755);
	rc = export_commit(x, sub_mirror, sub_url, commit, sub_dest, sub_prefix.data, depth + 1);
	if (rc == 1) { /* the repository is there but not the commit */
		struct buf why = BUF_INIT;
		buf_addf(&why, "the repository has no commit %s", commit);
		add_failure(x, full.data, super_path, url, commit_hex, commit, sub_url, why.data, !ov);
		buf_release(&why);
		free(x->res->subs[at].path);
		free(x->res->subs[at].url);
		x->res->nsubs--; /* recorded only when it is there */
	} else if (rc < 0) {
		x->errors++; /* reported there (cannot read or write the tree) */
	}
	buf_release(&sub_prefix);
	free(sub_dest);
out:
	diags_release(&tmp);
	free(sub_mirror);
	free(sub_url);
	free(raw);
	free(super_path);
	buf_release(&full);
}

static int export_submodules(struct export_ctx *x, git_repository *repo, git_tree *tree,
			     const char *url, const char *commit_hex, const char *dest,
			     const char *prefix, int depth)
{
	struct gitlinks links = { 0 };
	git_tree_walk(tree, GIT_TREEWALK_PRE, collect_gitlink, &links);
	const struct submodule_select *sel = x->o->select;
	for (size_t i = 0; i < links.n; i++) {
		struct buf full = BUF_INIT;
		buf_addf(&full, "%s%s", prefix, links.v[i].path);
		GROW(x->known, x->cap_known, x->nknown + 1);
		x->known[x->nknown++] = xstrdup(full.data);
		for (size_t k = 0; sel && k < sel->paths.n; k++)
			if (!strcmp(sel->paths.v[k].s, full.data))
				x->path_matched[k] = true;
		if (submodule_selected(sel, full.data))
			export_submodule(x, repo, tree, &links.v[i], url, commit_hex, dest, prefix,
					 depth);
		buf_release(&full);
	}
	for (size_t i = 0; i < links.n; i++)
		free(links.v[i].path);
	free(links.v);
	return 0;
}

/* 0; 1 (nothing recorded) when a submodule's mirror lacks `commit_hex`; -1 with an error. */
static int export_commit(struct export_ctx *x, const char *mirror, const char *url,
			 const char *commit_hex, const char *dest, const char *prefix, int depth)
{
	if (depth > 16) {
		diag_error(x->d, NULL, "submodules nest deeper than 16 levels at \"%s\"", prefix);
		return -1;
	}
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	int rc = -1;
	if (git_repository_open_bare(&repo, mirror) < 0) {
		git_fail(x->d, "cannot open the cached mirror of", url);
		goto out;
	}
	if (git_oid_fromstr(&oid, commit_hex) < 0 || git_commit_lookup(&commit, repo, &oid) < 0) {
		if (depth > 0) {
			rc = 1;
			goto out;
		}
		char *u = url_redact(url);
		diag_error(x->d, NULL, "commit %s is not in \"%s\"%s", commit_hex, u,
			   x->o->offline ? " (as cached)" : "");
		free(u);
		goto out;
	}
	if (git_commit_tree(&tree, commit) < 0) {
		git_fail(x->d, "cannot read the tree of", url);
		goto out;
	}
	/* Export from the bare mirror: the work directory is set in memory only, and the
	 * checkout writes into `dest` without an index. No `dest`: only walk the gitlinks. */
	git_checkout_options co;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX |
			       GIT_CHECKOUT_DONT_WRITE_INDEX;
	co.target_directory = dest;
	if (dest && (git_repository_set_workdir(repo, dest, 0) < 0 ||
		     git_checkout_tree(repo, (git_object *)tree, &co) < 0)) {
		const git_error *e = git_error_last();
		bool full = e && e->message && strstr(e->message, strerror(ENOSPC));
		struct buf what = BUF_INIT;
		if (x->o->recipe)
			buf_addf(&what, "recipe \"%s\": ", x->o->recipe);
		buf_addf(&what, "cannot check out %.12s of", commit_hex);
		git_fail(x->d, what.data, url);
		buf_release(&what);
		diag_hint(x->d, full ? "the disk is full: free space on the filesystem of the work "
				       "directory and run again; nothing was kept"
				     : "nothing was kept; fix the cause and run again");
		goto out;
	}
	if (dest)
		fault_point("checkout"); /* the superproject written, its submodules not yet */
	rc = x->res ? export_submodules(x, repo, tree, url, commit_hex, dest, prefix, depth) : 0;
out:
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	return rc;
}

/* `path` is `dir` or below it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* A path below a submodule that could not be had cannot be checked. */
static bool under_failure(const struct export_ctx *x, const char *path)
{
	for (size_t i = 0; i < x->nfails; i++)
		if (path_under(path, x->fails[i].path) && strcmp(path, x->fails[i].path))
			return true;
	return false;
}

/* "did you mean" among the gitlinks walked, or the list of them. */
static void hint_known(const struct export_ctx *x, const char *path)
{
	const char *near = closest_match(path, (const char *const *)x->known, x->nknown);
	if (near) {
		diag_hint(x->d, "did you mean \"%s\"?", near);
		return;
	}
	if (!x->nknown) {
		diag_hint(x->d, "this commit has no submodules");
		return;
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < x->nknown && i < 24; i++)
		buf_addf(&b, "%s\"%s\"", i ? ", " : "", x->known[i]);
	if (x->nknown > 24)
		buf_addf(&b, " and %zu more", x->nknown - 24);
	diag_hint(x->d, "the submodules it has: %s", b.data);
	buf_release(&b);
}

/* Paths of the selection and of the overrides that name no gitlink of the tree walked. */
static int check_paths(struct export_ctx *x, const char *url, const char *commit)
{
	int errors = 0;
	char *u = url_redact(url);
	const char *recipe = x->o->recipe;
	const struct submodule_select *sel = x->o->select;
	for (size_t k = 0; sel && x->res && k < sel->paths.n; k++) {
		const struct strpos *p = &sel->paths.v[k];
		if (x->path_matched[k] || under_failure(x, p->s))
			continue;
		diag_error(x->d, &p->pos, "\"submodules\" of %s%s%s lists \"%s\", which is not a "
			   "submodule of \"%s\" at %.12s", recipe ? "recipe \"" : "the source",
			   recipe ? recipe : "", recipe ? "\"" : "", p->s, u, commit);
		hint_known(x, p->s);
		errors++;
	}
	for (size_t k = 0; x->res && k < x->noverrides; k++) {
		const struct submodule_override *ov = &x->overrides[k];
		if (x->override_used[k] || under_failure(x, ov->path))
			continue;
		diag_error(x->d, &ov->pos, "submodule override \"%s\" of %s%s%s names no submodule "
			   "of \"%s\" at %.12s", ov->path, recipe ? "recipe \"" : "the source",
			   recipe ? recipe : "", recipe ? "\"" : "", u, commit);
		hint_known(x, ov->path);
		errors++;
	}
	free(u);
	return errors;
}

/* The one error listing every submodule that could not be had. */
static void report_failures(struct export_ctx *x, const char *url, const char *commit)
{
	char *u = url_redact(url);
	const char *recipe = x->o->recipe;
	struct buf msg = BUF_INIT;
	if (recipe)
		buf_addf(&msg, "recipe \"%s\": ", recipe);
	buf_addf(&msg, "%zu submodule%s of \"%s\" at %.12s cannot be fetched%s%s:", x->nfails,
		 x->nfails == 1 ? "" : "s", u, commit, x->o->offline ? " from the cache" : "",
		 x->writing ? "; nothing was checked out" : "");
	bool via_mirror = false, upstream_lost = false;
	for (size_t i = 0; i < x->nfails; i++) {
		const struct sub_failure *f = &x->fails[i];
		bool rewritten = strcmp(f->url, f->fetch_url) != 0;
		via_mirror |= rewritten;
		upstream_lost |= f->missing_commit && !rewritten && !x->o->offline;
		buf_addf(&msg, "\n  \"%s\"", f->path);
		if (f->commit[0])
			buf_addf(&msg, " at commit %s", f->commit);
		if (f->super_path[0])
			buf_addf(&msg, ", gitlink of \"%s\" (\"%s\" at %.12s)", f->super_path,
				 f->super_url, f->super_commit);
		else
			buf_addf(&msg, ", gitlink of \"%s\" at %.12s", f->super_url, f->super_commit);
		if (rewritten)
			buf_addf(&msg, "\n    upstream \"%s\", asked of the site mirror \"%s\"", f->url,
				 f->fetch_url);
		else
			buf_addf(&msg, "\n    from \"%s\"", f->url);
		buf_addf(&msg, "\n    %s", f->why);
	}
	diag_error(x->d, NULL, "%s", msg.data);
	if (x->o->offline)
		diag_hint(x->d, "the cache lacks them: run `ptbuild fetch` once with the network "
			     "(without %s)", offline_flag(x->o));
	if (via_mirror)
		diag_hint(x->d, "the site mirror lacks them: mirror these repositories there "
			     "(mirrors.json or PTBUILD_MIRRORS rewrites the URLs), then run again");
	if (upstream_lost)
		diag_hint(x->d, "a repository that lacks its commit no longer has what its "
			     "superproject records (force-pushed or deleted): point "
			     "\"submodule_overrides\" at a fork that has it, or choose another "
			     "superproject ref");
	struct buf ex = BUF_INIT;
	for (size_t i = 0; i < x->nfails; i++)
		buf_addf(&ex, "%s\"%s\"", i ? ", " : "", x->fails[i].path);
	diag_hint(x->d, "if the build does not need them, leave them out: \"submodules\": "
		     "{\"exclude\": [%s]} in the recipe's source", ex.data);
	buf_release(&ex);
	buf_release(&msg);
	free(u);
}

static void export_ctx_init(struct export_ctx *x, const struct git_opts *o,
			    const struct submodule_override *overrides, size_t noverrides,
			    struct git_tree_result *res, struct diags *d)
{
	memset(x, 0, sizeof(*x));
	x->o = o;
	x->overrides = overrides;
	x->noverrides = noverrides;
	x->override_used = xcalloc(noverrides + 1, sizeof(bool));
	x->path_matched = xcalloc((o->select ? o->select->paths.n : 0) + 1, sizeof(bool));
	x->res = res;
	x->d = d;
}

/* Everything the walk found wrong, reported: 0, -1 (a fetch) or -2 (an input). */
static int export_ctx_finish(struct export_ctx *x, int rc, const char *url, const char *commit)
{
	if (rc == 0) {
		int bad = check_paths(x, url, commit);
		if (x->nfails)
			report_failures(x, url, commit);
		rc = bad ? -2 : x->nfails || x->errors ? -1 : 0;
	}
	for (size_t i = 0; i < x->nfails; i++) {
		struct sub_failure *f = &x->fails[i];
		free(f->path);
		free(f->super_path);
		free(f->super_url);
		free(f->url);
		free(f->fetch_url);
		free(f->why);
	}
	free(x->fails);
	for (size_t i = 0; i < x->nknown; i++)
		free(x->known[i]);
	free(x->known);
	free(x->override_used);
	free(x->path_matched);
	return rc;
}

/* The mirror of `url` brought up to date and `ref` resolved in it into res. */
static int resolve_top(const struct git_opts *o, const char *url, const char *ref,
		       char **mirror, struct git_tree_result *res, struct diags *d)
{
	git_source_init();
	bool stale = false;
	/* A commit id the cache has (a locked pin) needs no fetch: its tree cannot change. */
	char *cached = mirror_path(o, url);
	git_oid oid;
	bool have = is_hex(ref, 40) && git_oid_fromstr(&oid, ref) == 0 && mirror_has_commit(cached, &oid);
	free(cached);
	if (have)
		*mirror = mirror_path(o, url);
	else if (mirror_update(o, url, ref, true, mirror, &stale, d) < 0)
		return -1;
	if (resolve_fetching(o, url, *mirror, ref, stale, res->commit, res->tag, d) < 0) {
		if (stale)
			diag_hint(d, "the mirror could not be updated (see the warning): upstream may "
				     "have it; run again with the network");
		return -1;
	}
	return 0;
}

int git_mirror_resolve(const struct git_opts *o, const char *url, const char *ref,
		       char commit[GIT_OID_HEX_SIZE], char tag[GIT_OID_HEX_SIZE], struct diags *d)
{
	struct git_tree_result res;
	memset(&res, 0, sizeof(res));
	char *mirror = NULL;
	int rc = resolve_top(o, url, ref, &mirror, &res, d);
	memcpy(commit, res.commit, GIT_OID_HEX_SIZE);
	memcpy(tag, res.tag, GIT_OID_HEX_SIZE);
	free(mirror);
	return rc;
}

int git_fetch_tree(const struct git_opts *o, const char *url, const char *ref, bool submodules,
		   const struct submodule_override *overrides, size_t noverrides, const char *dest,
		   struct git_tree_result *res, struct diags *d)
{
	memset(res, 0, sizeof(*res));
	char *mirror = NULL;
	struct staged_dir out = { 0 };
	struct export_ctx x;
	export_ctx_init(&x, o, overrides, noverrides, submodules ? res : NULL, d);
	x.writing = true;
	int rc = resolve_top(o, url, ref, &mirror, res, d);
	if (rc == 0)
		rc = staged_dir_begin(&out, dest, "checkout", d);
	if (rc == 0)
		rc = export_ctx_finish(&x, export_commit(&x, mirror, url, res->commit, out.tmp, "", 0),
				       url, res->commit);
	else
		export_ctx_finish(&x, rc, url, res->commit);
	if (rc == 0)
		rc = staged_dir_commit(&out, "checkout", d);
	staged_dir_abort(&out);
	if (rc < 0) { /* keep the resolved commit for messages, drop the rest */
		char commit[GIT_OID_HEX_SIZE];
		memcpy(commit, res->commit, sizeof(commit));
		git_tree_result_release(res);
		memcpy(res->commit, commit, sizeof(commit));
	}
	free(mirror);
	return rc;
}

int git_resolve_tree(const struct git_opts *o, const char *url, const char *ref,
		     const struct submodule_override *overrides, size_t noverrides,
		     struct git_tree_result *res, struct diags *d)
{
	memset(res, 0, sizeof(*res));
	char *mirror = NULL;
	struct export_ctx x;
	export_ctx_init(&x, o, overrides, noverrides, res, d);
	int rc = resolve_top(o, url, ref, &mirror, res, d);
	if (rc == 0)
		rc = export_ctx_finish(&x, export_commit(&x, mirror, url, res->commit, NULL, "", 0),
				       url, res->commit);
	else
		export_ctx_finish(&x, rc, url, res->commit);
	if (rc < 0)
		git_tree_result_release(res);
	free(mirror);
	return rc;
}
