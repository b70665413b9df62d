/* Loading one toolchain file into a struct toolchain (docs/files.md, "Toolchains"). */
#ifndef PTBUILD_TOOLCHAIN_LOAD_H
#define PTBUILD_TOOLCHAIN_LOAD_H

#include "model/model.h"
#include "util/diag.h"
#include "util/json.h"

/*
 * Reads the toolchain in `doc` into `t` (overwritten), every problem recorded in `d` at its
 * position. Returns 0 when `t` holds a toolchain to keep, even one with errors (the caller
 * releases it; t->file borrows doc->path, which the caller must keep alive); -1 when the
 * document is not a toolchain at all (not an object, or no name): then `t` holds nothing.
 */
int toolchain_load(struct toolchain *t, const struct jdoc *doc, struct diags *d);

#endif
