/*
 * What the commands share: a session holding the loaded project, build set, plan, mirrors
 * and lock file of one run, and the pins of the sources its plan reads. Everything in a session is released together, after the diagnostics that
 * point into its files have been printed.
 */
#ifndef PTBUILD_SESSION_H
#define PTBUILD_SESSION_H

#include <stdbool.h>

#include "plan/plan.h"
#include "model/project.h"
#include "session/fleet_config.h"
#include "session/lockfile.h"
#include "sources/mirrors.h"
#include "sources/sources.h"

/* What to plan. Every string is borrowed. */
struct plan_choice {
	const char *set;                /* a name in recipes/sets/ or a path; NULL: "default"
					   when it exists, else no set */
	const char *const *toolchains;  /* instead of the set's, when n > 0 */
	size_t ntoolchains;
	const char *const *pythons;     /* instead of the set's, when n > 0 */
	size_t npythons;
	const char *const *targets;     /* these recipes instead of the set's, when n > 0 */
	size_t ntargets;
};

struct session {
	struct project project;
	struct buildset set;
	struct plan plan;
	struct mirrors mirrors;
	struct lockfile lock;
	struct lockfile lock_before; /* the lock as read, once session_write_lock() replaced
					`lock` (kept: diagnostics may point into it) */
	char *lock_path;       /* owned: <project>/ptbuild.lock */
	char *cache_dir;       /* owned */
	char *work_dir;        /* owned: <project>/build */
	bool have_set;         /* a set was named or the default set exists */
	bool have_lock;        /* ptbuild.lock exists */
	bool offline;          /* session_pin_sources() was asked for no network */
	const char *offline_flag; /* the option that asked it, for messages */
	struct fleet_config fleet; /* the shared caches: session_load_fleet() */
};

/* Loads the project in `dir` and the set (the default set when none is named and it
 * exists) and plans, with the cache in `cache_dir` (copied). 0, or -1 with errors in `d`. */
int session_plan(struct session *s, const char *dir, const char *cache_dir,
		 const struct plan_choice *c, struct diags *d);
/* Loads mirrors.json and ptbuild.lock (absent is fine: have_lock false). 0 or -1; a lock
 * that cannot be read is an error with a hint, or, with `replace_unreadable_lock` (the
 * whole lock is written anew), a warning, and the session goes on as if there were none. */
int session_load_sources(struct session *s, bool replace_unreadable_lock, struct diags *d);
/* The set's name for messages ("default"), or NULL. */
const char *session_set_name(const struct session *s);
/* Options for the sources module: no network when `offline` or when the pins were made
 * without it. */
struct source_opts session_source_opts(const struct session *s, bool offline);
void session_release(struct session *s);
/* The fleet settings (session/fleet_config.h) of the user, the project and the environment
 * into s->fleet. 0, or -1 with input errors in `d`. */
int session_load_fleet(struct session *s, struct diags *d);

/* The Pythons (with interpreters) of the variants of `r`; owned array. */
struct source_python *session_pythons_of(const struct session *s, const struct recipe *r,
					 size_t *n);

/* How sources get their pins. */
struct pin_request {
	bool locked;                 /* the lock only: refuse what differs from it */
	bool offline;                /* --frozen: no network at all */
	bool update_all;             /* lock --update: resolve everything again */
	char *const *update;         /* lock --update TARGET...: resolve these again */
	size_t nupdate;
	bool note_unlocked;          /* with a lock: say when a source is not (or no longer) in it */
	bool no_resolve;             /* plan: use what the lock has, never the network */
	const char *offline_flag;    /* with `offline`: the option, for messages ("--offline";
					NULL: "--frozen"); without `locked`, sources resolve
					from the cache */
	bool write_lock;             /* the caller writes the lock with these pins
					(session_write_lock): no note that `ptbuild lock` would */
	bool defer_files;            /* build: the files a pinned wheel requires are fetched
					when a variant builds (session_fetch_pinned_files), not
					here: a run whose variants all come from an output cache
					downloads none of them */
};

/*
 * Gives every source the plan reads a pin in `out`: the lock's where it still matches the
 * recipe (and is not to be updated), else resolved from upstream. With `locked`, anything
 * the lock lacks or that differs from it is an error showing both values, and every
 * variant's key must equal the locked one. Rekeys the plan with the pins. Returns 0, or -1
 * with errors in `d` (of class input when a file or the lock is wrong, environment when a
 * source could not be reached).
 */
int session_pin_sources(struct session *s, const struct pin_request *rq, struct pins *out,
			struct diags *d);

/* Every file the pins of the plan's wheel sources list that the cache lacks (a pinned
 * wheel and the wheels it requires), for the build venvs: what session_pin_sources()
 * left with `defer_files`. 0, or -1 with errors in `d` (classified). */
int session_fetch_pinned_files(struct session *s, const struct pins *pins, struct diags *d);

/* What session_write_lock() did. */
struct lock_update {
	bool written;     /* ptbuild.lock was (re)written */
	bool created;     /* there was none before */
	size_t nsources;  /* sources in the lock written */
	char **changes;   /* owned: "torch_scatter re-resolved (source changed)", one per
			     source or variant that differs from the lock before */
	size_t nchanges, cap;
};

/*
 * The lock a build leaves (cargo's and uv's convention): the pins `pins` of this run and the
 * plan's variants with their keys, as `ptbuild lock` would write them, the runtime closures
 * of unchanged keys kept. With `whole_plan` false (targets, --toolchain or --python narrowed
 * the plan) the lock's other entries stay as they are, while their recipe still exists.
 * Written (temp + rename) when there is no lock, or when its sources or its set of variants
 * differ from these; a key that changed by itself (a compiler, an env) is left for
 * `ptbuild lock` to accept, so a committed lock does not follow each machine. s->lock is
 * then the lock written. 0 (`u` says what changed), or -1 when it could not be written
 * (a warning in `d`, the lock left as it was: the build goes on). cmd_build calls it once
 * the build ran (exit 0 or 1).
 */
int session_write_lock(struct session *s, const struct pins *pins, bool whole_plan,
		       struct lock_update *u, struct diags *d);
void lock_update_release(struct lock_update *u);

/* The recipe whose source variant `i`'s key was computed without (its own, a dependency's
 * or one its patches read: the pins lack it), or NULL when every one is pinned. A plan that
 * never resolves (explain, report) cannot know such a key, so it cannot say the variant
 * changed. */
const char *session_unpinned_source(const struct session *s, const struct pins *pins,
				    size_t i);

/* "recipe/variant", the id of a variant in the lock. Caller frees. */
char *variant_lock_id(const struct variant *v);

#endif
