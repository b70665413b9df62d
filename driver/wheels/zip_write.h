/*
 * The zip writer behind wheel_pack: exactly the bytes libarchive 3.x's zip writer wrote for
 * wheel_pack (deflate through zlib at Z_DEFAULT_COMPRESSION, raw window 15, memLevel 8,
 * Z_DEFAULT_STRATEGY; a data descriptor after every member; "UT" and "ux" extra fields; zip64
 * fields where libarchive adds them), with the DOS times already in UTC, but with members
 * deflated in parallel: each member is compressed on its own (its deflate stream does not
 * depend on any other member), into memory or, past a few MiB, an unlinked temp file beside
 * the output, and the members are written in their given order. libarchive cannot take a
 * member compressed elsewhere, so this writer exists; tests/unit/test_zip_write.c checks it
 * against libarchive byte for byte.
 */
#ifndef PTBUILD_ZIP_WRITE_H
#define PTBUILD_ZIP_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/hash.h"

/* A file to add: read from `path`, stored as `name`; the rest is filled in when it is added. */
struct zip_file {
	const char *path;             /* borrowed */
	const char *name;             /* borrowed */
	bool executable;              /* 0755, else 0644 */
	char sha256[SHA256_B64_SIZE]; /* out: RECORD form */
	uint64_t size;                /* out */
};

struct zip_writer;

/* Creates `path` (which must not exist: the caller writes a temp name and renames it); every
 * member gets `epoch` as its time (UTC; clamped as libarchive clamps). NULL with an error. */
struct zip_writer *zip_writer_open(const char *path, long long epoch, struct diags *d);
/* Adds the files in order, deflating up to `threads` (at least 1) of them at a time. */
int zip_writer_add_files(struct zip_writer *w, struct zip_file *files, size_t n,
			 unsigned threads, struct diags *d);
/* Adds a member from memory (RECORD). */
int zip_writer_add_data(struct zip_writer *w, const char *name, const void *data, size_t len,
			bool executable, struct diags *d);
/* Writes the central directory and closes the file; frees `w` either way. */
int zip_writer_close(struct zip_writer *w, struct diags *d);
/* Closes and frees without finishing (the caller removes the file). */
void zip_writer_abort(struct zip_writer *w);

#endif
