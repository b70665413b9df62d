/*
 * What the commands that plan share: the plan options (--set, --toolchain, --python), the
 * job budget options (-j, --mem-per-job), and the start of a run (plan, mirrors, lock,
 * pins) with the class of its failure turned into an exit code.
 */
#ifndef PTBUILD_OPTIONS_H
#define PTBUILD_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "build/build.h"
#include "build/remote_cache.h"
#include "build/runtime.h"
#include "cli/cli.h"
#include "session/session.h"

enum { OPT_SET = 2000, OPT_TOOLCHAIN, OPT_PYTHON };

#define PLAN_LONG_OPTIONS                                          \
	{ "set", required_argument, NULL, OPT_SET },               \
	{ "toolchain", required_argument, NULL, OPT_TOOLCHAIN },   \
	{ "python", required_argument, NULL, OPT_PYTHON }

#define PLAN_OPTIONS_HELP                                                                    \
	"  --set F          build set: a name in recipes/sets/ or a path (default: \"default\")\n" \
	"  --toolchain T    these toolchains instead of the set's (repeat or T1,T2)\n"          \
	"  --python V       these Pythons instead of the set's (repeat or 3.11,3.12)\n"

/* The plan options as given; the strings are owned. */
struct plan_args {
	const char *set; /* borrowed from argv */
	char **toolchains;
	size_t ntoolchains, cap_tc;
	char **pythons;
	size_t npythons, cap_py;
};

/* Takes a plan option; 1 when it was one, 0 when not. */
int plan_args_option(struct plan_args *a, int opt, const char *arg);
void plan_args_release(struct plan_args *a);

/* --offline, for lock, fetch and build: sources from the cache only, never the network. */
enum { OPT_OFFLINE = 2950 };
#define OFFLINE_LONG_OPTION { "offline", no_argument, NULL, OPT_OFFLINE }
#define OFFLINE_HELP                                                                         \
	"  --offline        no network access: sources resolve from the cache (the tags and\n"  \
	"                   commits its mirrors have, the files it holds); what it lacks is\n"  \
	"                   an error\n"
/* The name of the option that keeps a run off the network, for messages. */
#define OFFLINE_FLAG(frozen, offline) ((frozen) ? "--frozen" : (offline) ? "--offline" : NULL)

/* --remote-cache URL and --remote-read-only, for build and collect (the shared caches:
 * session/fleet_config.h, build/remote_cache.h). */
enum { OPT_REMOTE_CACHE = 2960, OPT_REMOTE_READ_ONLY };
#define REMOTE_LONG_OPTIONS                                                \
	{ "remote-cache", required_argument, NULL, OPT_REMOTE_CACHE },     \
	{ "remote-read-only", no_argument, NULL, OPT_REMOTE_READ_ONLY }
#define REMOTE_HELP                                                                          \
	"  --remote-cache URL  the shared output cache (http:// or https://; over\n"          \
	"                   PTBUILD_REMOTE_CACHE and ptbuild.config.json): entries the local\n" \
	"                   cache lacks are downloaded from it, new ones uploaded\n"          \
	"  --remote-read-only  downloads only: never upload (also PTBUILD_REMOTE_READ_ONLY=1)\n"

struct remote_args {
	const char *url; /* borrowed from argv */
	bool read_only;
};
/* Takes --remote-cache and --remote-read-only; 1 when it was one, 0 when not. */
int remote_args_option(struct remote_args *a, int opt, const char *arg);
/* The fleet config of the session with the flags over it, and the remote cache it names
 * into `rc` (url NULL when none). Returns an exit code (a wrong config file: EXIT_USAGE). */
int cli_remote_open(struct cli *cli, struct session *s, const struct remote_args *a,
		    struct remote_cache *rc);

/* The option id of --mem-per-job, for the long-option tables of build and plan. */
enum { OPT_MEM_PER_JOB = 2900 };
#define BUDGET_LONG_OPTIONS                                         \
	{ "jobs", required_argument, NULL, 'j' },                   \
	{ "mem-per-job", required_argument, NULL, OPT_MEM_PER_JOB }

/* Takes -j and --mem-per-job: 1 when taken, 0 when not one of them, -1 on a bad value
 * (reported). */
int budget_option(struct cli *cli, struct build_opts *o, int opt, const char *arg);

/* The exit code of the failure recorded in cli->diags (by its class). */
int cli_exit_code(const struct cli *cli);

/* Plans `a` with `targets` for the project of -C and the cache in effect, then loads
 * mirrors.json and the lock (replaced when it cannot be read and `replace_unreadable_lock`:
 * session_load_sources). Returns an exit code. */
int cli_session_open(struct cli *cli, struct session *s, const struct plan_args *a,
		     char *const *targets, size_t ntargets, bool replace_unreadable_lock);
/* session_pin_sources(), returning an exit code. */
int cli_session_pin(struct cli *cli, struct session *s, const struct pin_request *rq,
		    struct pins *out);

/*
 * The runtime closures of the plan's built variants (build/runtime.h) into `out`, one line
 * per closure resolved now ("runtime VARIANT: LINES -> N wheels"); with `record` and a
 * lock, those resolved now are written into ptbuild.lock (a line says so). The exit code.
 */
int cli_runtime(struct cli *cli, struct session *s, const struct pins *pins,
		const struct runtime_request *rq, bool record, struct runtime_set *out);

#endif
