/*
 * Build environments: composition (inherited allow-list, then toolchain, then recipe) and
 * validation of the flags PyTorch and its extensions read, which they do not check
 * themselves (facts and sources: docs/flags.md).
 */
#ifndef PTBUILD_ENVFLAGS_H
#define PTBUILD_ENVFLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "util/diag.h"

enum env_origin { ENV_INHERITED, ENV_TOOLCHAIN, ENV_RECIPE, ENV_PTBUILD };

struct envvar {
	char *name;  /* owned */
	char *value; /* owned */
	struct pos pos; /* where the value was written; file is NULL for inherited values */
	enum env_origin origin;
};

/* A set of variables kept sorted by name. */
struct env {
	struct envvar *v; /* owned */
	size_t n, cap;
};

void env_init(struct env *e);
/* Frees every variable and leaves `e` empty (safe on a zeroed struct; idempotent). */
void env_release(struct env *e);
/* Sets (or replaces) `name`. `pos` may be NULL. */
void env_set(struct env *e, const char *name, const char *value, const struct pos *pos,
	     enum env_origin origin);
/* Sets (or replaces) every variable of `add` at once, taking its names and values (the
 * array itself stays the caller's); of two with one name the later wins. O((n + m) log m)
 * where n calls of env_set are O(n * m) for a map in no particular order. */
void env_set_all(struct env *e, struct envvar *add, size_t n);
const struct envvar *env_find(const struct env *e, const char *name);
const char *env_get(const struct env *e, const char *name);
void env_unset(struct env *e, const char *name);
/* Puts `dir` in front of PATH (origin ENV_PTBUILD). */
void env_prepend_path(struct env *e, const char *dir);

/* The parent variables a build inherits (PATH, HOME, LANG, proxies, ...), NULL-terminated. */
extern const char *const env_inherited_names[];
/* Copies the allow-listed variables of `environ` into `e` with origin ENV_INHERITED. */
void env_inherit(struct env *e, char *const *environ);

/* Linux's limit on one argument or "NAME=VALUE" string of a new program (MAX_ARG_STRLEN,
 * 32 pages), NUL included. */
#define EXEC_STRING_MAX (32 * 4096)
/* What ptbuild adds to every build's environment (VIRTUAL_ENV, MAX_JOBS, the ccache
 * variables, the venv in PATH, ...) is kept free under ARG_MAX: those paths are short. */
#define EXEC_PTBUILD_RESERVE (16 * 1024)

/* The bytes the kernel counts for one variable of a program's environment: "NAME=VALUE",
 * its NUL and its pointer. */
size_t env_exec_bytes(const char *name, const char *value);

/* What starting a build with `e` would need of the kernel. */
struct exec_need {
	char *const *inherited; /* the parent's environ: its allow-listed variables `e` does
				   not set count too */
	size_t argv_bytes;      /* the command line, counted as the environment is */
	long arg_max;           /* sysconf(_SC_ARG_MAX); <= 0: no total limit checked */
	const char *recipe;     /* for messages */
	const char *variant;    /* "cpu-py3.11" */
	const struct pos *toolchain_env, *recipe_env; /* where each "env" map starts (the
							 total is reported at the larger) */
};

/*
 * Refuses an environment a build could not start with (execve fails with "Argument list
 * too long", E2BIG): a variable over EXEC_STRING_MAX (an error at it), or, with the
 * inherited variables, the command line and EXEC_PTBUILD_RESERVE, more than `arg_max`
 * (an error at the larger of the two maps, naming each part's size). Returns -1 if an error was recorded.
 */
int env_check_exec_size(const struct env *e, const struct exec_need *need, struct diags *d);

struct flag_context {
	enum builder builder;
	const char *recipe;        /* recipe name, for messages */
	const char *torch_version; /* the torch this recipe builds against; NULL if none */
	bool cuda;                 /* the toolchain builds for CUDA */
};

/*
 * Validates and normalizes the toolchain and recipe variables of `e` in place (inherited
 * ones are left alone). Errors (exit 2) and warnings go to `d` at the position each
 * variable was written. Returns -1 if any error was recorded.
 *
 * - TORCH_CUDA_ARCH_LIST in the grammar of the consumer: PyTorch's CMake for
 *   BUILDER_PYTORCH/TORCH_MUSA, torch.utils.cpp_extension for the extension builders,
 *   checked against `torch_version`; missing or empty while `cuda` is set is an error.
 * - USE_* / BUILD_* names PyTorch does not know: a warning with "did you mean".
 * - Legacy NO_X / WITH_X spellings: translated to USE_X / BUILD_X with a warning.
 * - Boolean switches normalized to "1"/"0", the only spelling every project parses.
 * - MAX_JOBS and CMAKE_BUILD_PARALLEL_LEVEL belong to the scheduler: an error.
 */
int envflags_check(struct env *e, const struct flag_context *ctx, struct diags *d);

#endif
