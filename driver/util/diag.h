/*
 * Diagnostics: errors, warnings and notes collected with their source position and an
 * optional hint, printed in one place. Library code never prints; it records here and
 * returns -1. Each error carries its class (what kind of failure it is), and only the CLI
 * turns the class of a failure into an exit code.
 */
#ifndef PTBUILD_DIAG_H
#define PTBUILD_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"

/* A place in a user's file. `file` is borrowed: the loader keeps it alive. */
struct pos {
	const char *file;
	unsigned line; /* 1-based; 0 when only the file is known */
	unsigned col;  /* 1-based */
};

enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

/* What kind of failure an error is, in precedence order: when a run has several, the last
 * of these wins (an interrupt over everything, a wrong input over a missing tool). */
enum diag_class {
	DIAG_NO_FAILURE,
	DIAG_BUILD_FAILED, /* a build ran and failed (its log says why) */
	DIAG_ENVIRONMENT,  /* a source, tool, disk or lock the machine did not give */
	DIAG_INPUT,        /* a file, option or lock the user wrote is wrong: the default */
	DIAG_INTERRUPTED,  /* SIGINT or SIGTERM */
};

struct diag {
	enum diag_level level;
	struct pos pos;
	char *msg;  /* owned */
	char *hint; /* owned, may be NULL */
	enum diag_class cls; /* errors: DIAG_INPUT unless classified */
};

struct diags {
	struct diag *v; /* owned */
	size_t n, cap;
	size_t nerrors;
	size_t nwarnings;
	bool last_dropped; /* the last record was a duplicate: its hint is dropped too */
	enum diag_class failure; /* raised by diag_fail and diags_classify */
};

void diags_init(struct diags *d);
void diags_release(struct diags *d);

/* Records an error at `pos` (may be NULL) and returns -1, so callers can `return diag_error(...)`. */
int diag_error(struct diags *d, const struct pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_warn(struct diags *d, const struct pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_note(struct diags *d, const struct pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks the failure of an operation as `cls` without a message of its own (the build's
 * log or the terminal said it) and returns -1. */
int diag_fail(struct diags *d, enum diag_class cls);
/* Gives the errors recorded from index `since` on the class `cls` (the caller knows what
 * kind of failure they were) and marks the failure; returns -1. */
int diags_classify(struct diags *d, size_t since, enum diag_class cls);
/* The class of the run's failure: the highest of its errors' classes and marks. */
enum diag_class diags_failure(const struct diags *d);
/* Attaches (or extends, one line more) the hint of the last record. */
void diag_hint(struct diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends every record as text: "file:line:col: error: msg\nhint: ...\n". Notes only if verbose. */
void diags_render(const struct diags *d, struct buf *out, bool verbose);
void diags_print(const struct diags *d, FILE *f, bool verbose);
/* Moves all records of `from` to the end of `to`. */
void diags_take(struct diags *to, struct diags *from);

/* "file:line:col" (or less when unknown) appended to `out`. */
void pos_render(const struct pos *pos, struct buf *out);

#endif
