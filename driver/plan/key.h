/*
 * Build keys: the one module that knows the schema of the key input.
 *
 * The build key is the SHA-256 of a canonical JSON document (`key_input`: fixed member
 * order, no whitespace) holding every input known before the build: the normalized recipe,
 * the resolved environment, the toolchain and its fingerprint, the Python, the patch files'
 * digests, the source identity and the keys of the dependencies. Changing one input
 * changes the key of that variant and of every variant that depends on it, and nothing
 * else. Nothing outside this module reads a key input by member name.
 */
#ifndef PTBUILD_KEY_H
#define PTBUILD_KEY_H

#include "model/pins.h"
#include "model/project.h"
#include "plan/fingerprint.h"
#include "plan/variant.h"

/* What a key reads besides its variant. Everything borrowed. */
struct key_context {
	const struct project *project;  /* the recipes that variants' source_deps index */
	const struct variant *variants; /* the plan's, which variants' deps index: their keys */
	const struct pins *pins;        /* source identities, or NULL ("pinned": null) */
	const struct fingerprints *fp;  /* the platform, toolchains' and Pythons' fingerprints */
};

/* Writes v->key_input (owned by `v`; an old one is freed) and v->key from the variant as
 * planned. The keys of its dependencies must be computed already. */
void key_compute(struct variant *v, const struct key_context *ctx);

/*
 * The key input `inputs` split in two and each part hashed: `flags` over what invalidates
 * a build directory (env, toolchain, Python, dependencies, the rest of the recipe),
 * `source` over what one survives (the source and its pin, submodule overrides, patches,
 * sources read through ${src:NAME}). Text that is not JSON hashes as two empty parts.
 */
void key_split(const char *inputs, char flags[SHA256_HEX_SIZE], char source[SHA256_HEX_SIZE]);

/* What a changed input of a key is, by where it sits in the key input. */
enum key_change_kind {
	KEY_CHANGE_ENV,         /* env.NAME: a variable of the composed environment */
	KEY_CHANGE_DEPENDENCY,  /* deps.NAME: a dependency's key (added, dropped or rebuilt) */
	KEY_CHANGE_SOURCE_REF,  /* recipe.source.ref: the git ref the recipe names */
	KEY_CHANGE_SOURCE_PIN,  /* recipe.source.pinned[...]: commit, submodules, file digests */
	KEY_CHANGE_PATCHES,     /* patch_files: the files that apply, with their digests */
	KEY_CHANGE_FINGERPRINT, /* toolchain.fingerprint.TOOL: what a compiler or NCCL is */
	KEY_CHANGE_PYTHON,      /* python.*: the version or the interpreter */
	KEY_CHANGE_OTHER,       /* anything else */
};

struct key_change {
	enum key_change_kind kind;
	char *path;       /* owned: the member path in the key input, "env.CC" */
	const char *name; /* points into `path`: what of its kind changed ("CC" of "env.CC",
			     "torch" of "deps.torch", "commit" of "recipe.source.pinned.commit",
			     "nvcc" of "toolchain.fingerprint.nvcc"), "" when the kind says it
			     all, the whole path for KEY_CHANGE_OTHER */
	char *old_value;  /* owned: 'text' for a string, compact JSON otherwise; NULL when
			     absent (or when the path does not lead to a value) */
	char *new_value;  /* owned, the same */
	char *old_text;   /* owned: the string itself when the old value is one, else NULL */
	char *new_text;   /* owned, the same */
	size_t old_count; /* elements when the old value is an array (patch files), else 0 */
	size_t new_count;
};

struct key_changes {
	struct key_change *v; /* owned, in member order */
	size_t n, cap;
};

/* The inputs that differ between the key inputs `old` and `now` (texts), one change per
 * differing leaf (arrays count as leaves), appended to `out`. Returns -1 with the error
 * in `d` (no position: nothing of the texts outlives the call) when one is not JSON;
 * nothing is appended then. */
int key_diff(const char *old, const char *now, struct key_changes *out, struct diags *d);
void key_changes_release(struct key_changes *c);

#endif
