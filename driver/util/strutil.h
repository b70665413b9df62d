/* Small string helpers: edit distance for "did you mean", prefixes, version comparison. */
#ifndef PTBUILD_STRUTIL_H
#define PTBUILD_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The number of elements of an array (not a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

bool starts_with(const char *s, const char *prefix);
/* `s` with every `from` (non-empty) replaced by `to`; caller frees. */
char *str_replace_all(const char *s, const char *from, const char *to);
bool ends_with(const char *s, const char *suffix);
/* Whether `s` is one of the `n` strings of `list`. */
bool str_in_list(const char *s, const char *const *list, size_t n);
/* The next line of a "\n"-separated list at *cursor (a copy, caller frees), advancing the
 * cursor; NULL at the end. */
char *next_line(const char **cursor);

/* Optimal string alignment distance (Levenshtein with adjacent transpositions). */
size_t edit_distance(const char *a, const char *b);

/*
 * The candidate closest to `word`, or NULL when none is close enough to be a plausible
 * typo (distance at most a third of the longer word, and at least 1 allowed), or the only
 * candidate that starts with `word`.
 */
const char *closest_match(const char *word, const char *const *candidates, size_t n);

/*
 * Compares dotted versions numerically ("2.10.0" > "2.9.1"); a local part after '+' is
 * ignored, missing components count as 0, and a pre-release tail (2.9.0rc1) sorts first.
 */
int version_cmp(const char *a, const char *b);
/* Whether `s` is a version this comparison understands: digits and dots, optional tail. */
bool version_valid(const char *s);

/*
 * Checks `version` against a specifier list such as ">=2.0,<2.9" or "==2.9.*".
 * Returns 1 when it matches, 0 when not, -1 when the specifier is malformed.
 */
int version_matches(const char *version, const char *spec);

/* "4GiB", "512M", "2g", "1048576": bytes (K, M, G, T are powers of 1024; "i" and "B" are
 * optional). Returns -1 when `s` is not such a size or is 0. */
int size_parse(const char *s, uint64_t *bytes);
/* "3.5 GiB", "120 MiB", "512 B" into `out` of `len` bytes; returns `out`. */
const char *size_format(uint64_t bytes, char *out, size_t len);

/* A NULL-terminated vector of `n` owned strings (all NULL now); strv_free frees both. */
/* qsort comparator for an array of strings. */
int strv_cmp(const void *a, const void *b);
char **strv_new(size_t n);
void strv_free(char **v);

#endif
