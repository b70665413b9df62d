/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): a private directory for targets
 * whose parser reads a file, and checks that abort (a finding) with a message.
 */
#ifndef PTBUILD_FUZZ_UTIL_H
#define PTBUILD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process's own, removed at exit. */
const char *fuzz_dir(void);
/* fuzz_dir()/rel (caller frees), and `data` written there. */
char *fuzz_path(const char *rel);
void fuzz_write(const char *path, const void *data, size_t len);
/* `data` as a NUL-terminated string (caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);
/* Aborts with `what` on stderr: the property a target checks does not hold. */
_Noreturn void fuzz_fail(const char *what, const char *detail);
/* Aborts unless `s` is well-formed UTF-8 (what every JSON the writer writes must be). */
void fuzz_check_utf8(const char *s, const char *what);

struct jdoc;
/* Aborts unless the canonical form of a parsed document is UTF-8 that reads back to the
 * same canonical form (the writer only writes what the reader takes). */
void fuzz_check_roundtrip(const struct jdoc *doc);

#endif
