/*
 * Pins: the exact identity of a recipe's source, as resolved from the network or read
 * from ptbuild.lock. For git: the commit (and annotated tag object) and every submodule's
 * path, URL and commit; for archives, sdists and wheels: file name and sha256 (wheels
 * fetched by requirement have one file per Python). A pin also keeps the recipe's source
 * declaration it was resolved from (`spec`), so an edited recipe is noticed.
 *
 * Pins go into build keys (plan.c) and into the lock (lockfile.c); sources.c makes them.
 */
#ifndef PTBUILD_PINS_H
#define PTBUILD_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/json.h"
#include "model/model.h"
#include "util/hash.h"

#define PIN_OID_SIZE 41 /* 40 hex digits and the NUL */

struct pinned_sub {
	char *path;                 /* owned: relative to the top of the source tree */
	char *url;                  /* owned: resolved, credentials redacted */
	char commit[PIN_OID_SIZE];
	bool overridden;            /* from submodule_overrides */
};

struct pinned_file {
	char *python;               /* owned: "3.11" for a wheel chosen per Python, else NULL */
	char *name;                 /* owned: file name ("torch_scatter-2.1.2.tar.gz") */
	char sha256[SHA256_HEX_SIZE];
};

/* A file of this source's tree that another recipe's patch series reads. */
struct pinned_read {
	char *path;                 /* owned: relative to the top of the tree */
	char sha256[SHA256_HEX_SIZE];
};

struct pin {
	char *recipe;               /* owned */
	enum source_kind kind;
	char *spec;                 /* owned: source_spec() of the recipe it was resolved from */
	char commit[PIN_OID_SIZE];  /* git; "" otherwise */
	char tag[PIN_OID_SIZE];     /* git: annotated tag object, or "" */
	struct pinned_sub *subs;    /* owned, depth-first */
	size_t nsubs, cap_subs;
	char *version;              /* owned: a floating wheel source's resolved version
				       ("2.10.0.dev20261130+cpu"), else NULL */
	struct pinned_file *files;  /* owned */
	size_t nfiles, cap_files;
	char *read_globs;           /* owned: the globs `reads` was listed for (sorted, one per
				       line), NULL when not listed */
	struct pinned_read *reads;  /* owned, sorted by path */
	size_t nreads, cap_reads;
	bool resolved_now;          /* resolved from upstream by this run (not stored) */
};

struct pins {
	struct pin *v; /* owned */
	size_t n, cap;
};

/*
 * The recipe's source declaration as canonical compact JSON (kind, location with
 * credentials redacted, ref, submodules, sha256, strip, submodule_overrides): what a pin
 * was resolved from. Two recipes with equal specs resolve the same way. Caller frees.
 */
char *source_spec(const struct recipe *r);

/* The "submodules" of a git source as keys and locks record it: true (recursive), false
 * (none), or {"only": [PATH...]} / {"exclude": [PATH...]} with the paths sorted. */
void source_write_submodules(struct jw *w, const struct source *s);

/* Adds an empty pin for `recipe` (replacing one of the same name). */
struct pin *pins_add(struct pins *p, const char *recipe);
struct pin *pins_find(const struct pins *p, const char *recipe);
void pins_remove(struct pins *p, const char *recipe);
/* Free what the struct owns and zero it: safe on a zeroed struct; idempotent. */
void pins_release(struct pins *p);
void pin_release(struct pin *pin);

/* Adds a deep copy of `src` to `into` (replacing one of the same recipe). */
struct pin *pins_add_copy(struct pins *into, const struct pin *src);

void pin_add_sub(struct pin *pin, const char *path, const char *url, const char *commit,
		 bool overridden);
void pin_add_file(struct pin *pin, const char *python, const char *name, const char *sha256);
/* Adds a read file, keeping `reads` sorted by path. */
void pin_add_read(struct pin *pin, const char *path, const char *sha256);
/* Forgets the read files and their globs. */
void pin_clear_reads(struct pin *pin);
/* The file for `python` (a per-Python wheel) or the one file of the source; NULL if none. */
const struct pinned_file *pin_file(const struct pin *pin, const char *python);

/* The submodules sorted by path (caller frees the array, not the entries). */
const struct pinned_sub **pin_sorted_subs(const struct pin *pin);

/*
 * Writes the identity that enters build keys: {"commit", "files": {name: sha256},
 * "submodules": {path: commit}}, or null without a pin. With `python`, a wheel source
 * contributes only that Python's file.
 */
void pin_write_identity(struct jw *w, const struct pin *pin, const char *python);

#endif
