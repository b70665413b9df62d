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

#endif
