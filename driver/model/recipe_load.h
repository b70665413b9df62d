/* Loading one recipe file into a struct recipe (docs/files.md, "Recipes"). */
#ifndef PTBUILD_RECIPE_LOAD_H
#define PTBUILD_RECIPE_LOAD_H

#include "model/model.h"
#include "util/diag.h"
#include "util/json.h"

/*
 * Reads the recipe in `doc` into `r` (overwritten), every problem recorded in `d` at its
 * position. Returns 0 when `r` holds a recipe to keep, even one with errors (the caller
 * releases it; r->file borrows doc->path, which the caller must keep alive); -1 when the
 * document is not a recipe at all (not an object, or no name): then `r` holds nothing.
 */
int recipe_load(struct recipe *r, const struct jdoc *doc, struct diags *d);

#endif
