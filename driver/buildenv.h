/*
 * What a build runs with: its environment (made from scratch: the allow-listed parent
 * variables, the variant's toolchain and recipe variables with build-time names expanded,
 * then ccache, the venv, MAX_JOBS), its command (the recipe's or the builder's default),
 * and the inputs of its venv (the dependency wheels, the venv's key, the constraints that
 * keep build_requires from replacing a dependency).
 */
#ifndef PTBUILD_BUILDENV_H
#define PTBUILD_BUILDENV_H

#include "build.h"

/* The environment of every child of the job, NULL-terminated "NAME=value"; caller frees. */
char **buildenv_compose(struct build *b, struct build_item *it, int share);
/* The build command, expanded; caller frees. */
char **buildenv_argv(struct build *b, struct build_item *it, int share);
/* Fills it->wheels: the dependencies' wheels in this run's output cache, or a wheel
 * source's pinned files for this Python, with the digests already known. */
void buildenv_dependency_wheels(struct build *b, struct build_item *it);
/* it->venv_key: the interpreter, the dependency wheels by digest, build_requires. */
void buildenv_venv_key(const struct build *b, struct build_item *it);
/* Writes the venv's constraints file ("torch==2.1.2" per dependency wheel) and returns
 * its path (caller frees), or NULL when it cannot be written. */
char *buildenv_constraints(const struct build_item *it);

#endif
