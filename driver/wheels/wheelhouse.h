/*
 * The files of a wheelhouse that describe its wheels: the PEP 503 simple index
 * (simple/index.html and simple/<normalized project>/index.html, links with #sha256=
 * fragments, so `pip install --index-url file://DIR/simple` works as well as
 * `--find-links DIR`) and SHA256SUMS (`sha256sum -c` format). Output depends only on the
 * list: collecting twice gives identical files.
 */
#ifndef PTBUILD_WHEELHOUSE_H
#define PTBUILD_WHEELHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/hash.h"

struct house_wheel {
	char *file;                    /* owned: the wheel's file name, in the wheelhouse's top */
	char *project;                 /* owned: PEP 503-normalized project name */
	char *version;                 /* owned */
	char sha256[SHA256_HEX_SIZE];
	uint64_t size;
};

/* Sorts by file name; -1 with an error when two wheels of one name differ. */
int house_sort(struct house_wheel *v, size_t n, struct diags *d);
/* Writes simple/ and SHA256SUMS into `dir`; -1 with an error. */
int house_write_index(const char *dir, const struct house_wheel *v, size_t n, struct diags *d);
void house_wheel_release(struct house_wheel *w);

#endif
