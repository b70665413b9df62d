/*
 * Wheels, the binary distribution format (PEP 427, PEP 491): file names and tags, project
 * name normalization (PEP 503), unpacking into a directory with every member's digest,
 * packing a directory into a deterministic wheel with a regenerated RECORD, and the
 * METADATA fields ptbuild edits (Version, Requires-Dist).
 *
 * A wheel is handled unpacked: members can be large (libtorch_cuda.so is over 1 GB), so
 * nothing holds a whole member in memory; everything streams between the zip and files.
 */
#ifndef PTBUILD_WHEEL_H
#define PTBUILD_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/hash.h"

/* The earliest time a zip can hold (1980-01-01 00:00:00 UTC). */
#define WHEEL_EPOCH_MIN 315532800LL

/* {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl */
struct wheel_name {
	char *dist;     /* owned: as in the file name ("torch_scatter") */
	char *version;  /* owned: "2.1.2+pt21cpu" */
	char *build;    /* owned, or NULL */
	char *python;   /* owned: compressed tag set ("cp311", "py2.py3") */
	char *abi;      /* owned */
	char *platform; /* owned */
};

/* Parses a wheel file name (without directories); -1 when it is not one. */
int wheel_name_parse(const char *file, struct wheel_name *n);
void wheel_name_release(struct wheel_name *n);
/* The file name of `n`; caller frees. */
char *wheel_name_format(const struct wheel_name *n);

/* PEP 503 normalization: lowercase, runs of "-", "_", "." become "-"; caller frees. */
char *dist_normalize(const char *name);
/* The name as wheel file names and .dist-info directories write it: runs of "-", "_", "."
 * become "_" (PEP 427, as pip and `wheel` do); caller frees. */
char *dist_escape(const char *name);
/* The project of a requirement ("Torch_Scatter==2.1.2; extra..." -> "torch-scatter"),
 * normalized; caller frees. */
char *requirement_project(const char *req);
/* The version without its local label ("2.1.2+cpu" -> "2.1.2"); caller frees. */
char *version_public(const char *version);

/* A member of an unpacked wheel. */
struct wheel_member {
	char *name;                   /* owned: path inside the wheel */
	char sha256[SHA256_B64_SIZE]; /* RECORD form: URL-safe base64, no padding */
	uint64_t size;
	bool executable;
};

struct wheel_members {
	struct wheel_member *v; /* owned, in archive order */
	size_t n, cap;
};

void wheel_members_release(struct wheel_members *m);

/*
 * Unpacks the wheel at `path` into `dir` (created; must not exist) and lists its members
 * with their digests. Refuses, with an error naming the member: an archive that is not a
 * readable zip, a member whose data is corrupt (CRC), an absolute or climbing path, a
 * duplicate, a symlink or anything else but files and directories.
 */
int wheel_unpack(const char *path, const char *dir, struct wheel_members *out, struct diags *d);
/* wheel_unpack with up to `threads` readers inflating members at once (the biggest members
 * spread first); the same files, members and digests. Every header is checked before any
 * data is read; an error in the data is the earliest member's, as wheel_unpack's. */
int wheel_unpack_threads(const char *path, const char *dir, unsigned threads,
			 struct wheel_members *out, struct diags *d);
/* The text of the wheel's <name>-<version>.dist-info/METADATA (its core metadata, what
 * PEP 658 serves beside the wheel) into `out`, read from the zip's central directory
 * without unpacking anything else. -1 with an error when it has none. */
int wheel_read_metadata(const char *path, struct buf *out, struct diags *d);

/*
 * Packs the files under `dir` into a wheel at `path`, deterministically: entries sorted by
 * name with the .dist-info directory last and its RECORD last of all, every time set to
 * `epoch` (clamped to 1980 at least, written as UTC), owner 0, permissions 0644 or 0755
 * (executable files), deflate. RECORD is regenerated from what is packed. Written beside
 * `path` and renamed. `dir` must hold exactly one top-level *.dist-info directory.
 */
int wheel_pack(const char *dir, const char *path, long long epoch, struct diags *d);
/* wheel_pack deflating up to `threads` members at a time (wheels/zip_write.h); the bytes are
 * the same for every thread count. */
int wheel_pack_threads(const char *dir, const char *path, long long epoch, unsigned threads,
		       struct diags *d);
/* The same wheel written through libarchive's zip writer, as wheel_pack did before
 * zip_write existed: the reference the tests hold zip_write's bytes against. */
int wheel_pack_libarchive(const char *dir, const char *path, long long epoch, struct diags *d);

/* The one top-level "*.dist-info" directory of an unpacked wheel; caller frees. NULL with
 * an error when there is none or several. */
char *wheel_dist_info(const char *dir, struct diags *d);

/*
 * Email-header metadata (METADATA, WHEEL): the value of the first header `field`, or NULL;
 * caller frees. The headers end at the first empty line; continuation lines are joined.
 */
char *metadata_get(const char *text, const char *field);
/* Every value of `field` (Tag, Requires-Dist), appended to `out` as NULL-free lines. */
size_t metadata_get_all(const char *text, const char *field, struct buf *out);
/* `text` with the first `field` set to `value` (added at the end of the headers if absent). */
char *metadata_set(const char *text, const char *field, const char *value);
/* `text` with every header `field` whose value satisfies `drop(value, ctx)` removed. */
char *metadata_remove(const char *text, const char *field,
		      bool (*drop)(const char *value, void *ctx), void *ctx);
/* `text` with a header added after the last existing header. */
char *metadata_add(const char *text, const char *field, const char *value);

#endif
