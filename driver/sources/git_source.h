/*
 * Git sources through libgit2: one bare mirror per URL in the cache (created once, then
 * fetched incrementally), refs resolved to commits (annotated tags peeled), and trees
 * exported from the mirrors at exact commits with every submodule, recursively, at the
 * commit its superproject records. Nothing is ever cloned from upstream into a work tree.
 * With patch_parse (which reads patch text with libgit2's parser), this module is the only
 * one that includes <git2.h>, and the one place that initialises libgit2.
 */
#ifndef PTBUILD_GIT_SOURCE_H
#define PTBUILD_GIT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "sources/mirrors.h"
#include "model/model.h"
#include "util/diag.h"

#define GIT_OID_HEX_SIZE 41

struct git_opts {
	const char *cache_dir;   /* mirrors live in cache_dir/git/ */
	bool offline;            /* --frozen or --offline: the cache only, no network */
	const struct mirrors *mirrors; /* URL rewrites, or NULL */
	const char *offline_flag;      /* the option that made `offline`, for messages; NULL:
					  "--frozen" */
	const char *recipe;            /* whose source this is, for messages; or NULL */
	const struct submodule_select *select; /* which submodules; NULL: all, recursively */
};

/* A submodule as checked out: where, from which URL, at which commit. */
struct git_sub {
	char *path;                   /* owned: relative to the top of the exported tree */
	char *url;                    /* owned: the URL its objects came from (resolved) */
	char commit[GIT_OID_HEX_SIZE];
	bool overridden;              /* from submodule_overrides, not the gitlink */
};

struct git_tree_result {
	char commit[GIT_OID_HEX_SIZE];
	char tag[GIT_OID_HEX_SIZE];   /* annotated tag object, or "" */
	struct git_sub *subs;         /* owned, in depth-first order */
	size_t nsubs, cap;
};

/* Initialises libgit2 once per process and keeps it (never shut down), with the user's and
 * the system's git config ignored. Every libgit2 user calls it first; idempotent. */
void git_source_init(void);
/* Frees the submodules and zeroes `r`: safe on a zeroed struct; idempotent. */
void git_tree_result_release(struct git_tree_result *r);

/* Makes sure cache/git/<name>.git mirrors the branches and tags of `url` (creating it, or
 * fetching unless offline; git's CLI or libgit2, sources/git_cli.h).
 * The cache is keyed by the upstream URL; objects come from its rewrite by `o->mirrors`.
 * A cached mirror that cannot be fetched (the network is down) is used as it is, with a
 * warning "mirror not updated". On success *mirror is the mirror's path (caller frees). */
int git_mirror_update(const struct git_opts *o, const char *url, char **mirror, struct diags *d);

/* git_mirror_update and git_resolve of `ref` in one: a ref outside branches and tags
 * (`refs/pull/12/head`) is fetched exactly, a commit id no branch or tag reaches by id. */
int git_mirror_resolve(const struct git_opts *o, const char *url, const char *ref,
		       char commit[GIT_OID_HEX_SIZE], char tag[GIT_OID_HEX_SIZE], struct diags *d);

/* The committer time of `commit` in the cached mirror of `url`, without any network access
 * (for SOURCE_DATE_EPOCH); -1 when the mirror or the commit is not there. */
int git_source_commit_time(const char *cache_dir, const char *url, const char *commit, long long *when);

/* Resolves `ref` (tag, branch, full ref or commit id) in a mirror. `tag` gets the annotated
 * tag object id, or "" for a lightweight tag or anything else. */
int git_resolve(const char *mirror, const char *url, const char *ref,
		char commit[GIT_OID_HEX_SIZE], char tag[GIT_OID_HEX_SIZE], struct diags *d);

/*
 * Mirrors `url`, resolves `ref` and exports the commit's tree into `dest` (which must not
 * exist: the tree is written beside it and renamed into place, so a failure leaves nothing).
 * With `submodules`, every gitlink `o->select` selects is exported from its own mirror,
 * recursively (a mirror that has the gitlink's commit is not fetched again); `overrides`
 * replace the URL and ref of submodules by full path, nested ones too. The whole tree is
 * walked before failing: every submodule that cannot be fetched is listed in one error
 * (path, the superproject and its commit, the gitlink commit, upstream URL and the URL
 * used), as is every selected or overridden path that is no submodule (did you mean).
 * Returns 0; -1 when something could not be fetched; -2 when a path of the selection or
 * of `overrides` is wrong (an input error).
 */
int git_fetch_tree(const struct git_opts *o, const char *url, const char *ref, bool submodules,
		   const struct submodule_override *overrides, size_t noverrides, const char *dest,
		   struct git_tree_result *res, struct diags *d);

/*
 * What a checkout of `ref` would record, without writing a tree: the commit, the tag and
 * every selected submodule commit, recursively (what a lock file needs). Mirrors are
 * created or updated, and errors reported, as for a checkout; returns 0, -1 or -2 as it.
 */
int git_resolve_tree(const struct git_opts *o, const char *url, const char *ref,
		     const struct submodule_override *overrides, size_t noverrides,
		     struct git_tree_result *res, struct diags *d);

#endif
