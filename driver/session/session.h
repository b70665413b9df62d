/*
 * What plan, fetch and lock share: the plan options (--set, --toolchain, --python, targets),
 * and a session holding the loaded project, build set, plan, mirrors and lock file of one
 * command run. Everything in a session is released together, after the diagnostics that
 * point into its files have been printed.
 */
#ifndef PTBUILD_SESSION_H
#define PTBUILD_SESSION_H

#include <getopt.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "session/lockfile.h"
#include "sources/mirrors.h"
#include "plan/plan.h"
#include "model/project.h"
#include "sources/sources.h"

enum { OPT_SET = 2000, OPT_TOOLCHAIN, OPT_PYTHON };

#define PLAN_LONG_OPTIONS                                          \
	{ "set", required_argument, NULL, OPT_SET },               \
	{ "toolchain", required_argument, NULL, OPT_TOOLCHAIN },   \
	{ "python", required_argument, NULL, OPT_PYTHON }

#define PLAN_OPTIONS_HELP                                                                    \
	"  --set F          build set: a name in recipes/sets/ or a path (default: \"default\")\n" \
	"  --toolchain T    these toolchains instead of the set's (repeat or T1,T2)\n"          \
	"  --python V       these Pythons instead of the set's (repeat or 3.11,3.12)\n"

struct plan_args {
	const char *set;
	char **toolchains;
	size_t ntoolchains, cap_tc;
	char **pythons;
	size_t npythons, cap_py;
};

/* Takes a plan option; 1 when it was one, 0 when not. */
int plan_args_option(struct plan_args *a, int opt, const char *arg);
void plan_args_release(struct plan_args *a);

struct session {
	struct project project;
	struct buildset set;
	struct plan plan;
	struct mirrors mirrors;
	struct lockfile lock;
	char *lock_path;       /* owned: <project>/ptbuild.lock */
	char *cache_dir;       /* owned */
	char *work_dir;        /* owned: <project>/build */
	bool have_project, have_set, planned, have_lock;
};

/* Loads the project and the set (the default set when none is named and it exists) and
 * plans; returns an exit code (EXIT_OK on success). */
int session_plan(struct session *s, struct cli *cli, const struct plan_args *a,
		 char *const *targets, size_t ntargets);
/* Loads mirrors.json and ptbuild.lock (absent is fine: have_lock false). Exit code. */
int session_load_sources(struct session *s, struct cli *cli);
/* The set's name for messages ("default"), or NULL. */
const char *session_set_name(const struct session *s);
/* Options for the sources module. */
struct source_opts session_source_opts(const struct session *s, bool offline);
void session_release(struct session *s);

/* The recipes whose sources the plan reads (built ones and ${src:} ones), in plan order;
 * owned array of borrowed pointers. */
const struct recipe **session_source_recipes(const struct session *s, size_t *n);
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
	bool note_unlocked;          /* say when a source is not (or no longer) in the lock */
	bool no_resolve;             /* plan: use what the lock has, never the network */
};

/*
 * Gives every source the plan reads a pin in `out`: the lock's where it still matches the
 * recipe (and is not to be updated), else resolved from upstream. With `locked`, anything
 * the lock lacks or that differs from it is an error showing both values, and every
 * variant's key must equal the locked one. Rekeys the plan with the pins. Exit code.
 */
int session_pin_sources(struct session *s, struct cli *cli, const struct pin_request *rq,
			struct pins *out);

/* "recipe/variant", the id of a variant in the lock. Caller frees. */
char *variant_lock_id(const struct variant *v);

void write_diags_json(struct jw *w, const struct diags *d);
/* A command's JSON answer: {"ok": OK, ...members..., "diagnostics": [...]} on stdout.
 * `begin` opens it (`out` starts empty); `end` adds the diagnostics, prints and releases. */
void json_result_begin(struct jw *w, struct buf *out, bool ok);
void json_result_end(struct cli *cli, struct jw *w, struct buf *out);
/* With --json a failed command still answers in JSON: {"ok": false, "diagnostics": [...]}. */
void print_failure_json(struct cli *cli);

#endif
