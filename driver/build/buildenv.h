/*
 * What a build runs with: its environment (made from scratch: the allow-listed parent
 * variables, the variant's toolchain and recipe variables with build-time names expanded,
 * then ccache, the venv, MAX_JOBS), its command (the recipe's or the builder's default),
 * and the inputs of its venv (the dependency wheels, the venv's key, the constraints that
 * keep build_requires from replacing a dependency).
 */
#ifndef PTBUILD_BUILDENV_H
#define PTBUILD_BUILDENV_H

#include "build/state.h"
#include "wheels/verify.h"

/* The environment of every child of the job, NULL-terminated "NAME=value"; caller frees. */
char **buildenv_compose(struct build *b, struct build_item *it, int share);
/* The build command, expanded; caller frees. */
char **buildenv_argv(struct build *b, struct build_item *it, int share);
/* Fills it->wheels: the dependencies' wheels in this run's output cache, or a wheel
 * source's pinned files for this Python, with the digests already known. */
void buildenv_dependency_wheels(struct build *b, struct build_item *it);
/* it->venv_key: the interpreter, the dependency wheels by digest, build_requires. */
void buildenv_venv_key(const struct build *b, struct build_item *it);
/* it->env_closure: the interpreter and the dependency wheels by digest (in any order): the
 * store entry shared by every variant with this closure; it->env_bare: the interpreter's
 * alone (what `python -m venv` makes, once per interpreter). */
void buildenv_closure_key(const struct build *b, struct build_item *it);
/* Writes the constraints file ("torch==2.1.2" per dependency wheel) into the venv `venv`
 * and returns its path (caller frees), or NULL when it cannot be written. */
char *buildenv_constraints(const struct build_item *it, const char *venv);


/* ---- after the build: what its wheels must look like ---------------------------------------- */

/* SOURCE_DATE_EPOCH of a variant: its environment's, else the committer time of its git
 * source (from the cache's mirror), else 1980-01-01 (the earliest a zip holds). */
long long buildenv_source_epoch(const char *cache_dir, const struct pins *pins,
				 const struct variant *v);
/* The version of the torch wheel the build's venv installs ("2.1.2+cpu"), or NULL. */
char *buildenv_torch_version(const struct build_item *it);
/* What the build asked its wheel's version to be (PYTORCH_BUILD_VERSION, with .postN when
 * PYTORCH_BUILD_NUMBER > 1, or BUILD_VERSION), or NULL; caller frees. */
char *buildenv_asked_version(const struct variant *v);
/* What verify expects of the variant's wheels. Strings in `x` point into `v` or into
 * `*owned` (caller frees). */
void buildenv_verify_expect(const struct build_item *it, struct verify_expect *x, char **owned);

#endif
