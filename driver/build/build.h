/*
 * The build engine: turns a planned, pinned session into wheels.
 *
 * Every variant of the plan is one item: cached (its key has an output-cache entry),
 * prebuilt (a wheel source), or built by a scheduler job. A job's phases:
 *   venv      python -m venv from the toolchain's interpreter (reused while its inputs,
 *             the dependency wheels and build_requires, are unchanged)
 *   deps      dependency wheels installed with pip --no-index --no-deps
 *   requires  build_requires installed with pip, constrained to the dependencies' versions
 *   copy      the variant's work tree build/work/<variant>/<recipe>/ copied from its source
 *             tree; a tree whose flags are unchanged keeps its build/ directory
 *   build     the recipe's command (or the builder's default, pip wheel without isolation)
 *             in a fresh environment with ccache, MAX_JOBS and the job's share
 *   collect   the wheels and the build record enter the output cache atomically
 * Logs: build/logs/<variant>/<recipe>.log, one per job, every phase in it.
 */
#ifndef PTBUILD_BUILD_H
#define PTBUILD_BUILD_H

#include "build/state.h"
#include "plan/shard.h"
#include "session/session.h"

/* Sorts the plan's variants into cached, prebuilt and to build (the jobs). Reads the
 * output cache and the build records; writes nothing, except, with o->remote, the entries
 * the local cache lacks and the remote cache has (downloaded, checked and entered: remote
 * hits, build/remote_cache.h). */
void build_prepare(struct build *b, struct session *s, const struct pins *pins,
		   const struct build_opts *o, struct diags *d);
/* Lists and prepares the source trees the jobs need, sets up ccache, runs the jobs,
 * telling `ev` (borrowed until it returns) what happens; then (unless interrupted) uploads
 * to o->remote what it lacks of this run's built and local entries. Returns 0, or -1 with the class of
 * the failure in b->d: a build failed, interrupted, or the trees or the set-up failed
 * (input or environment). */
int build_run(struct build *b, const struct build_events *ev);
void build_release(struct build *b);

/* The expected share (MAX_JOBS) of each variant of `s`'s plan that is not cached, from a
 * simulated schedule; 0 for cached and prebuilt ones. Caller frees. */
int *build_expected_shares(struct session *s, const struct build_opts *o);

/* The expected seconds of building variant `v`: the last build's (build/state/), else a
 * default (60). What the scheduler weighs jobs by and `--shard` balances. */
double build_expected_seconds(const char *work_dir, const struct variant *v);

/* The plan of `s` split into `nshards` shards, balanced by build_expected_seconds. */
void build_shard_split(struct shard_split *out, const struct session *s, int nshards);

/* Fills what the command line left out: cores, 2 GiB per job, MemAvailable. */
void build_opts_defaults(struct build_opts *o);

#endif
