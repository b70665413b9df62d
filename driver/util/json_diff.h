/* Differences between two parsed JSON values, one line per leaf. */
#ifndef PTBUILD_JSON_DIFF_H
#define PTBUILD_JSON_DIFF_H

#include "util/buf.h"
#include "util/json_read.h"

/*
 * Appends one line per leaf that differs between `a` and `b`, as
 * "path.to.member: old -> new" (compact JSON; "(absent)" where one side lacks it).
 * Arrays compare as whole values. Nothing is appended when they are equal.
 */
void jnode_diff(const struct jnode *a, const struct jnode *b, struct buf *out);

#endif
