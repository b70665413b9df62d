/*
 * The environment store, <cache>/envs/: complete venvs made once, by digest, whose regular
 * files are read-only and listed in a manifest (relative path, size, mtime_ns, inode); a build
 * venv is a tree of new directories whose files are hardlinks to an entry's, except the few
 * files that name the entry's path (pyvenv.cfg, bin/ scripts): rewritten copies. The
 * manifest is how a write into a shared file is found (stat only): docs/building.md,
 * "Environments".
 *
 * An entry: <cache>/envs/<digest>/{venv/, manifest, used}; made in <digest>.tmp-<pid> and
 * renamed into place; <digest>.lock is held (flock) by its maker.
 */
#ifndef PTBUILD_ENVSTORE_H
#define PTBUILD_ENVSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

struct env_file {
	char *rel;                /* owned: path under the venv */
	long long size;
	long long mtime_ns;
	unsigned long long ino;
};

struct env_manifest {
	char *made_at;            /* owned: the venv's path when it was made (what files name) */
	char *entry;              /* owned: in a build venv's copy: the entry's digest */
	bool linked;              /* in a build venv's copy: hardlinked (not copied) */
	struct env_file *files;   /* owned */
	size_t n, cap;
	char **rewrite;           /* owned: files naming made_at, rewritten when linked */
	size_t nrewrite, caprw;
};

/* <cache>/envs/<digest>, and the same with a suffix (".lock"); caller frees. */
char *envstore_entry(const char *cache_dir, const char *digest, const char *suffix);

int envstore_manifest_load(const char *path, struct env_manifest *m);
void envstore_manifest_write(const struct env_manifest *m, struct buf *out);
void envstore_manifest_release(struct env_manifest *m);

enum env_check {
	ENV_CHECK_ENTRY,  /* size, mtime and inode as recorded: the entry is as it was made */
	ENV_CHECK_REUSE,  /* a build venv: still linked to those very files, unchanged */
	ENV_CHECK_SHARED, /* a build venv: no file it shares with the store was written */
};

/* Compares the files under `venv` with `m` (stat only). 0 when they match; -1 with *bad (the
 * path, owned) and *why (static) for the first that does not. */
int envstore_check(const char *venv, const struct env_manifest *m, enum env_check how,
		   char **bad, const char **why);

/* Makes every regular file under `venv` read-only (a-w) and fills `m` (made_at = venv). */
int envstore_seal(const char *venv, struct env_manifest *m);

/* The files of `m` that name m->made_at, under `venv`, replaced by copies naming `to`
 * (never written in place: they may be links into the store). */
int envstore_rewrite(const char *venv, const struct env_manifest *m, const char *to);

/* Renames the entry away (so nothing links it again) and removes it. */
int envstore_drop(const char *entry);

#endif
