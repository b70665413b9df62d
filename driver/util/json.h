/*
 * JSON: the reader (json_read.h: comments allowed, every value with its file:line:col; the
 * only includer of cJSON), the streaming writer (json_write.h) and the differ
 * (json_diff.h). Include the part you use; this header includes all three.
 */
#ifndef PTBUILD_JSON_H
#define PTBUILD_JSON_H

#include "util/json_diff.h"
#include "util/json_read.h"
#include "util/json_write.h"

#endif
