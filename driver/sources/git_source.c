#include "sources/git_source.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/url.h"
#include "util/buf.h"
#include "util/os.h"
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

static int fetch_all(git_remote *remote)
{
	/* The *_INIT macros trip -Wmissing-field-initializers; the init functions do not. */
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	fo.update_fetchhead = 0;
	fo.proxy_opts.type = GIT_PROXY_AUTO;
	return git_remote_fetch(remote, NULL, &fo, "ptbuild: mirror fetch");
}

/* Creates the mirror in a temporary directory and renames it into place, so an interrupted
 * first fetch never leaves a half mirror where the next run would look. */
static int mirror_create(const char *url, const char *fetch_url, const char *path,
			 struct diags *d)
{
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_config *cfg = NULL;
	int rc = -1;
	if (git_repository_init(&repo, tmp.data, 1) < 0) {
		git_fail(d, "cannot create a mirror for", url);
		goto out;
	}
	if (git_remote_create_with_fetchspec(&remote, repo, "origin", fetch_url, "+refs/*:refs/*") < 0 ||
	    git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_bool(cfg, "remote.origin.mirror", 1) < 0) {
		git_fail(d, "cannot configure the mirror of", url);
		goto out;
	}
	if (fetch_all(remote) < 0) {
		git_fail(d, "cannot fetch", fetch_url);
		if (strcmp(url, fetch_url)) {
			char *u = url_redact(url);
			diag_hint(d, "that is the mirror of \"%s\" (mirrors.json or PTBUILD_MIRRORS)", u);
			free(u);
		}
		diag_hint(d, "check the URL and the network; nothing was kept in the cache");
		goto out;
	}
	/* A mirror fetch leaves HEAD unborn; point it at the remote's default branch. */
	git_buf head = { 0 };
	if (git_remote_default_branch(&head, remote) == 0)
		git_repository_set_head(repo, head.ptr);
	git_buf_dispose(&head);
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
	buf_release(&tmp);
	return rc;
}

int git_mirror_update(const struct git_opts *o, const char *url, char **mirror, struct diags *d)
{
	git_source_init();
	*mirror = NULL;
	char *dir = path_join(o->cache_dir, "git");
	char *name = url_mirror_name(url);
	char *fetch_url = mirrors_rewrite(o->mirrors, url);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s.git", dir, name);
	free(name);
	int rc = -1;
	if (make_dirs(dir, 0755) < 0) {
		diag_error(d, NULL, "cannot create the cache directory %s: %s", dir, strerror(errno));
		goto out;
	}
	remove_stale_temps(path.data); /* what a killed run left half-made */
	if (!is_directory(path.data)) {
		if (o->offline) {
			char *u = url_redact(url);
			diag_error(d, NULL, "\"%s\" is not in the cache (%s), and --frozen forbids the "
					    "network", u, path.data);
			diag_hint(d, "run `ptbuild fetch` once with the network to fill the cache");
			free(u);
			goto out;
		}
		rc = mirror_create(url, fetch_url, path.data, d);
		goto out;
	}
	if (o->offline) {
		rc = 0;
		goto out;
	}
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	/* The site's mirror may have changed since the cache was made: fetch from today's. */
	if (git_repository_open_bare(&repo, path.data) < 0 ||
	    git_remote_set_url(repo, "origin", fetch_url) < 0 ||
	    git_remote_lookup(&remote, repo, "origin") < 0) {
		git_fail(d, "cannot open the cached mirror of", url);
		diag_hint(d, "remove %s; the next run creates it again", path.data);
	} else if (fetch_all(remote) < 0) {
		git_fail(d, "cannot update the mirror of", fetch_url);
		diag_hint(d, "the cached mirror is as it was; --frozen builds from it without the "
			     "network");
	} else {
		rc = 0;
	}
	git_remote_free(remote);
	git_repository_free(repo);
out:
	if (rc == 0)
		*mirror = buf_detach(&path);
	buf_release(&path);
	free(fetch_url);
	free(dir);
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

struct export_ctx {
	const struct git_opts *o;
	const struct submodule_override *overrides;
	size_t noverrides;
	struct git_tree_result *res;
	struct diags *d;
};

static int export_commit(struct export_ctx *x, const char *mirror, const char *url,
			 const char *commit_hex, const char *dest, const char *prefix, int depth);

static int export_submodules(struct export_ctx *x, git_repository *repo, git_tree *tree,
			     const char *url, const char *commit_hex, const char *dest,
			     const char *prefix, int depth)
{
	struct gitlinks links = { 0 };
	git_tree_walk(tree, GIT_TREEWALK_PRE, collect_gitlink, &links);
	int rc = 0;
	for (size_t i = 0; i < links.n && rc == 0; i++) {
		const struct gitlink *gl = &links.v[i];
		const struct submodule_override *ov = NULL;
		for (size_t k = 0; depth == 0 && k < x->noverrides; k++)
			if (!strcmp(x->overrides[k].path, gl->path))
				ov = &x->overrides[k];
		char *raw = gitmodules_url(repo, tree, gl->path);
		if (!raw && !ov) {
			char *u = url_redact(url);
			diag_error(x->d, NULL, "submodule \"%s%s\" of \"%s\" at %.12s has no URL in "
					       ".gitmodules", prefix, gl->path, u, commit_hex);
			diag_hint(x->d, "add a \"submodule_overrides\" entry for it");
			free(u);
			rc = -1;
			break;
		}
		char *sub_url = ov ? xstrdup(ov->git) : url_resolve(url, raw);
		free(raw);
		char *sub_mirror = NULL;
		char commit[GIT_OID_HEX_SIZE], tag[GIT_OID_HEX_SIZE];
		struct buf full = BUF_INIT;
		buf_addf(&full, "%s%s", prefix, gl->path);
		rc = git_mirror_update(x->o, sub_url, &sub_mirror, x->d);
		if (rc == 0 && ov) {
			rc = git_resolve(sub_mirror, sub_url, ov->ref, commit, tag, x->d);
		} else if (rc == 0) {
			git_oid_tostr(commit, sizeof(commit), &gl->oid);
		}
		if (rc == 0) {
			GROW(x->res->subs, x->res->cap, x->res->nsubs + 1);
			struct git_sub *s = &x->res->subs[x->res->nsubs++];
			s->path = xstrdup(full.data);
			s->url = url_redact(sub_url);
			memcpy(s->commit, commit, sizeof(commit));
			s->overridden = ov != NULL;
			char *sub_dest = dest ? path_join(dest, gl->path) : NULL;
			struct buf sub_prefix = BUF_INIT;
			buf_addf(&sub_prefix, "%s/", full.data);
			if (sub_dest)
				make_dirs(sub_dest, 0755);
			rc = export_commit(x, sub_mirror, sub_url, commit, sub_dest, sub_prefix.data,
					   depth + 1);
			if (rc < 0 && !ov) {
				char *u = url_redact(url), *su = url_redact(sub_url);
				diag_hint(x->d, "submodule \"%s\" of \"%s\" (at %.12s) records commit %s "
						"from \"%s\"", full.data, u, commit_hex, commit, su);
				free(u);
				free(su);
			}
			buf_release(&sub_prefix);
			free(sub_dest);
		}
		buf_release(&full);
		free(sub_mirror);
		free(sub_url);
	}
	for (size_t i = 0; i < links.n; i++)
		free(links.v[i].path);
	free(links.v);
	return rc;
}

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
		char *u = url_redact(url);
		diag_error(x->d, NULL, "commit %s is not in \"%s\"%s", commit_hex, u,
			   x->o->offline ? " (as cached)" : "");
		if (depth > 0)
			diag_hint(x->d, "upstream no longer has the commit its superproject records "
					"(force-pushed or deleted); point \"submodule_overrides\" at a fork "
					"that has it, or choose another superproject ref");
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
		git_fail(x->d, "cannot check out", url);
		goto out;
	}
	rc = x->res ? export_submodules(x, repo, tree, url, commit_hex, dest, prefix, depth) : 0;
out:
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	return rc;
}

int git_fetch_tree(const struct git_opts *o, const char *url, const char *ref, bool submodules,
		   const struct submodule_override *overrides, size_t noverrides, const char *dest,
		   struct git_tree_result *res, struct diags *d)
{
	memset(res, 0, sizeof(*res));
	char *mirror = NULL;
	if (git_mirror_update(o, url, &mirror, d) < 0)
		return -1;
	struct staged_dir out = { 0 };
	struct export_ctx x = { o, overrides, noverrides, submodules ? res : NULL, d };
	int rc = -1;
	if (git_resolve(mirror, url, ref, res->commit, res->tag, d) == 0 &&
	    staged_dir_begin(&out, dest, "checkout", d) == 0 &&
	    export_commit(&x, mirror, url, res->commit, out.tmp, "", 0) == 0)
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
	if (git_mirror_update(o, url, &mirror, d) < 0)
		return -1;
	struct export_ctx x = { o, overrides, noverrides, res, d };
	int rc = -1;
	if (git_resolve(mirror, url, ref, res->commit, res->tag, d) == 0)
		rc = export_commit(&x, mirror, url, res->commit, NULL, "", 0);
	if (rc < 0)
		git_tree_result_release(res);
	free(mirror);
	return rc;
}
