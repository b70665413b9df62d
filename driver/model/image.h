/*
 * The base image of a toolchain: what its "image" may say (checked when it is loaded) and
 * the default when it says none. The Dockerfiles of a wheelhouse start from it.
 */
#ifndef PTBUILD_IMAGE_H
#define PTBUILD_IMAGE_H

#include "model/model.h"

/* What an image reference may hold beside ASCII letters and digits. */
#define DOCKER_IMAGE_CHARS "._:/@+-"

/*
 * The base image of `tc` for `python` ("3.11") when the toolchain has no "image": CPU
 * python:3.11-slim-bookworm, CUDA nvidia/cuda:<version>[.0]-runtime-ubuntu24.04; NULL for
 * MUSA, which has no default (the caller reports that the toolchain needs an "image").
 * Caller frees.
 */
char *docker_default_image(const struct toolchain *tc, const char *python);

/* The toolchain's "image" with ${python} expanded to `python`, else docker_default_image().
 * NULL when neither gives one. Caller frees. */
char *docker_image_for(const struct toolchain *tc, const char *python);

/* Checks a toolchain's "image" as written: not empty, only [A-Za-z0-9._:/@+-] and ${python}.
 * Returns 0, or -1 with `*why` (static text) saying what is wrong. */
int docker_image_check(const char *image, const char **why);

#endif
