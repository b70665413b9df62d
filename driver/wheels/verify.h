/*
 * Checks a wheel for what would fail at run time, not at install time:
 *  - the zip is well-formed (central directory, CRCs, paths that stay inside);
 *  - RECORD lists every member with its sha256 and size, and nothing else;
 *  - the file name, METADATA (Name, Version) and WHEEL (Tag) agree with each other, and the
 *    tags with the Python and machine the wheel was built for; compiled code is not tagged
 *    "any", and extension modules carry the right cpython-XY suffix;
 *  - CUDA builds: `cuobjdump --list-elf/--list-ptx` on every shared object shows exactly
 *    the arches of TORCH_CUDA_ARCH_LIST ("no kernel image is available" otherwise);
 *  - USE_SYSTEM_NCCL=1: the torch libraries need libnccl.so.2 and no libnccl is inside;
 *  - the C++ ABI (_GLIBCXX_USE_CXX11_ABI) of every shared object matches torch's.
 * Every finding is an error in the diagnostics naming the wheel, the member and what was
 * expected.
 */
#ifndef PTBUILD_VERIFY_H
#define PTBUILD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "wheels/elfinfo.h"
#include "util/diag.h"

struct verify_expect {
	const char *python;       /* "3.11": the Python it was built for; NULL: not checked */
	const char *machine;      /* "x86_64"; NULL: not checked */
	const char *arch_list;    /* TORCH_CUDA_ARCH_LIST of a CUDA build; NULL: no CUDA check */
	const char *torch_version;/* for named arches (Blackwell+Tegra); may be NULL */
	const char *cuobjdump;    /* the tool; NULL: looked up in PATH */
	bool system_nccl;         /* USE_SYSTEM_NCCL=1 */
	enum cxx_abi torch_abi;   /* torch's C++ ABI; CXX_ABI_UNKNOWN: not checked */
	const char *tmp_dir;      /* where the wheel is unpacked (a fresh subdirectory) */
	unsigned threads;         /* members inflated at a time; 0: 1 */
};

struct verify_stats {
	size_t members, shared_objects, cuda_objects;
};

/*
 * Verifies the wheel at `path`. Findings are errors in `d`; the return value is their
 * number, or -1 when the check itself could not run (the tmp dir cannot be written).
 * What could not be checked (no cuobjdump) is a warning.
 */
int verify_wheel(const char *path, const struct verify_expect *x, struct verify_stats *st,
		 struct diags *d);

/* The machine name wheels of this host use ("x86_64"); static storage. */
const char *verify_host_machine(void);

#endif
