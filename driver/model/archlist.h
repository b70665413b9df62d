/*
 * TORCH_CUDA_ARCH_LIST as its two consumers read it: PyTorch's CMake
 * (select_compute_arch.cmake) and torch.utils.cpp_extension. Checks a value in either
 * grammar for a given torch, and says which device code (SASS and PTX arches) a valid
 * value asks for. The facts and their sources are in docs/flags.md.
 */
#ifndef PTBUILD_ARCHLIST_H
#define PTBUILD_ARCHLIST_H

#include <stddef.h>

#include "util/buf.h"

/* Which TORCH_CUDA_ARCH_LIST parser reads the value. */
enum arch_grammar {
	ARCH_GRAMMAR_CMAKE,         /* PyTorch's select_compute_arch.cmake */
	ARCH_GRAMMAR_CPP_EXTENSION, /* torch.utils.cpp_extension._get_cuda_arch_flags */
};

/*
 * Checks `value` in `grammar` for a build against `torch_version` (NULL: the newest rules).
 * Returns 0 when valid; otherwise -1 with the offending entry and what is wrong with it in
 * `why` and, when `hint` is not NULL, what to write instead. Both buffers are appended to.
 * An empty value (and "native" for cpp_extension) is valid: it asks for detection.
 */
int arch_list_check_grammar(const char *value, enum arch_grammar grammar,
			    const char *torch_version, struct buf *why, struct buf *hint);

/* One line saying what `grammar` accepts, for error messages (a static string). */
const char *arch_grammar_accepts(enum arch_grammar grammar);

/*
 * The same checks with the newest rules (cmake) or those of `torch_version`
 * (cpp_extension). Return 0 when valid; otherwise -1 with a short reason written into
 * `why` of `why_len` bytes (truncated; `why` may be NULL).
 */
int arch_list_check_cmake(const char *value, char *why, size_t why_len);
int arch_list_check_cpp_extension(const char *value, const char *torch_version, char *why,
				  size_t why_len);

/*
 * The device code a valid TORCH_CUDA_ARCH_LIST asks for: the SASS arches ("sm_80 sm_90a",
 * space-separated, sorted, no duplicates) and the PTX ones ("sm_90"), with named arches
 * expanded, appended to `sass` and `ptx`. Returns -1 (nothing appended) when the list
 * leaves the arches to detection or to CMake keywords (NULL, empty, "native", All, Common,
 * Auto): then nothing exact can be expected.
 */
int arch_list_targets(const char *value, const char *torch_version, struct buf *sass,
		      struct buf *ptx);

/* qsort order of arch words ("sm_90a", as `const char *` elements): by number, then
 * suffix; the order of arch_list_targets(). */
int arch_word_cmp(const void *a, const void *b);

#endif
