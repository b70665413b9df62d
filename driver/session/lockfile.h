/*
 * ptbuild.lock: the pins of every source a plan uses and, per variant, the build key and
 * the inputs it was computed from (so a refusal can say exactly what changed).
 *
 * JSON, keys sorted, one member per line: a change to one recipe changes only its lines.
 * Credentials never appear (URLs are redacted before they are pinned). See docs/files.md.
 */
#ifndef PTBUILD_LOCKFILE_H
#define PTBUILD_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/json.h"
#include "model/pins.h"
#include "util/diag.h"

#define LOCKFILE_NAME "ptbuild.lock"
#define LOCKFILE_FORMAT 1

struct lock_variant {
	char *id;                    /* owned: "recipe/toolchain-pyX.Y" */
	char key[SHA256_HEX_SIZE];
	char *inputs;                /* owned: the key's input document, canonical compact JSON */
	struct pos pos;              /* where it was read (file borrowed from the lockfile) */
	/* The runtime closure of the variant's built wheel (build/runtime.h), valid for `key`:
	 * its Requires-Dist lines that the plan does not provide (sorted, one per line, "" for
	 * none) and the wheels pip resolved them to. NULL requires: not pinned. */
	char *runtime_requires;      /* owned */
	struct pinned_file *runtime; /* owned, sorted by name; python NULL */
	size_t nruntime;
};

struct lockfile {
	struct pins pins;
	struct lock_variant *v;      /* owned */
	size_t n, cap;
	struct jdoc doc;             /* kept while diagnostics may point into it */
	bool loaded;
};

/* Reads `path`. Returns 1 when read, 0 when there is no such file (l is empty), -1 on an
 * error (reported with file:line:col). Release in every case. */
int lockfile_load(struct lockfile *l, const char *path, struct diags *d);
/* The lock's JSON as lockfile_write() writes it, without the comment lines on top, appended
 * to `out`: two locks with the same text hold the same pins, variants and closures. */
void lockfile_text(const struct lockfile *l, struct buf *out);
/* Whether two pins would be written alike (the same declaration, commits, files, reads). */
bool lockfile_pins_equal(const struct pin *a, const struct pin *b);
/* Writes `path` atomically (temp file + rename). */
int lockfile_write(const struct lockfile *l, const char *path, struct diags *d);
void lockfile_release(struct lockfile *l);

const struct lock_variant *lockfile_variant(const struct lockfile *l, const char *id);
/* Adds or replaces a variant's entry. */
void lockfile_set_variant(struct lockfile *l, const char *id, const char *key, const char *inputs);

/* Sets (replacing) the runtime closure of variant `id` (which must be in the lock). */
void lockfile_set_runtime(struct lockfile *l, const char *id, const char *requires,
			  const struct pinned_file *files, size_t n);
/* Copies `from`'s runtime closure into `to`. */
void lock_variant_copy_runtime(struct lock_variant *to, const struct lock_variant *from);

/* Where recipe `name`'s pin was read, for messages (pos.file NULL when unknown). */
struct pos lockfile_source_pos(const struct lockfile *l, const char *name);

#endif
