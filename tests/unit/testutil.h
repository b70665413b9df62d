/* Shared helpers for the cmocka unit tests. */
#ifndef PTBUILD_TESTUTIL_H
#define PTBUILD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/diag.h"

/* A fresh directory under $TMPDIR (or /tmp); removed by tmpdir_remove. Caller frees. */
char *tmpdir_make(const char *tag);
void tmpdir_remove(const char *dir);
/* Writes `text` to dir/rel, creating parent directories. */
void write_text(const char *dir, const char *rel, const char *text);
/*
 * Starts tests/integration/fixtures/loopback_server.py with `args` ("--git-root D",
 * "--root D"), its port file in `dir`; returns its pid and sets *base_url to
 * "http://127.0.0.1:PORT" (caller frees). Stop it with kill(pid, SIGTERM).
 */
long loopback_server_start(const char *dir, const char *args, char **base_url);

/* Runs the command line (printf-style) with bash, stdout and stderr into `out` (may be
 * NULL), two minutes at most; returns its exit status. */
int shell_run(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* All diagnostics (notes included) rendered as text. Caller frees. */
char *diags_text(const struct diags *d);
/* Fails the test, printing `haystack`, unless it contains `needle`. */
#define assert_contains(haystack, needle) \
	assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);
#define assert_not_contains(haystack, needle) \
	assert_not_contains_impl((haystack), (needle), __FILE__, __LINE__)
void assert_not_contains_impl(const char *haystack, const char *needle, const char *file, int line);

#endif
