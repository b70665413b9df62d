/*
 * What verify reads from a shared object: the libraries it needs (DT_NEEDED) and which C++
 * standard library ABI its symbols use. 64-bit little-endian ELF only (x86_64, aarch64),
 * read through a read-only mapping; no library is ever loaded.
 */
#ifndef PTBUILD_ELFINFO_H
#define PTBUILD_ELFINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"

enum cxx_abi {
	CXX_ABI_UNKNOWN = -1, /* no std::string in any dynamic symbol (or both kinds) */
	CXX_ABI_OLD = 0,      /* _GLIBCXX_USE_CXX11_ABI=0: std::string mangles as "Ss" */
	CXX_ABI_CXX11 = 1,    /* _GLIBCXX_USE_CXX11_ABI=1: std::__cxx11::basic_string */
};

struct elf_info {
	char **needed;   /* owned: DT_NEEDED entries, in order */
	size_t nneeded;
	enum cxx_abi abi;
	char machine[16]; /* "x86_64", "aarch64", or the e_machine number */
};

/* Whether `path` starts with the ELF magic. */
bool elf_is_elf(const char *path);
/* Reads `path`; -1 with an error when it cannot be read or is not a 64-bit LE ELF file. */
int elf_read(const char *path, struct elf_info *e, struct diags *d);
void elf_info_release(struct elf_info *e);
/* Whether `lib` is among the needed libraries. */
bool elf_needs(const struct elf_info *e, const char *lib);

#endif
