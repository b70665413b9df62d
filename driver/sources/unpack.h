/*
 * Unpacking source archives with libarchive, safely: entries with "..", absolute paths, and
 * symlinks or hard links that point outside the tree are refused, and the tree appears
 * only when every entry was written (it is extracted beside `dest` and renamed).
 * With wheels/wheel (wheel files), this module is the only one that includes <archive.h>.
 */
#ifndef PTBUILD_UNPACK_H
#define PTBUILD_UNPACK_H

#include "util/diag.h"

/* Where an archive came from, named in every message with the cached file. */
struct archive_origin {
	const char *recipe;    /* the recipe's name */
	const char *url;       /* the URL (credentials redacted) or "PyPI sdist FILE" */
	const struct pos *pos; /* the recipe's source, or NULL */
};

/* Extracts `archive_path` (any format and compression libarchive reads) into `dest`, which
 * must not exist, dropping `strip` leading path components of every entry. `from` may be
 * NULL. */
int archive_extract(const char *archive_path, const struct archive_origin *from,
		    const char *dest, int strip, struct diags *d);

#endif
