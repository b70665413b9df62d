/*
 * What envflags knows about PyTorch and its extensions: the option names PyTorch's CMake and
 * setup.py read, the old NO_X / WITH_X spellings, how each project parses its boolean
 * switches, and the two TORCH_CUDA_ARCH_LIST grammars. Private to envflags.c; the facts and
 * their sources are in docs/flags.md.
 */
#ifndef PTBUILD_ENVFLAGS_CATALOG_H
#define PTBUILD_ENVFLAGS_CATALOG_H

#include <stdbool.h>

#include "model/envflags.h"
#include "util/buf.h"

/* Whether `name` is an option (USE_*, BUILD_*, ...) that the builder's project reads. */
bool catalog_option_known(enum builder builder, const char *name);
/* The known option closest to `name`, or NULL when none is a plausible typo. */
const char *catalog_option_suggest(enum builder builder, const char *name);

/*
 * Maps an old spelling (NO_X or WITH_X, for the X PyTorch once translated) to its current
 * name, written into `target`. Returns false for any other name; `*inverted` is set when
 * the value must be negated (NO_X).
 */
bool catalog_legacy_spelling(const char *name, struct buf *target, bool *inverted);

/* How a project turns the text of one of its boolean switches into true or false. */
enum switch_reader {
	READ_NOT_A_SWITCH, /* not a switch of this builder: leave the value alone */
	READ_PYTORCH,      /* upper-cased, compared with 1/ON/YES/TRUE/Y and 0/OFF/NO/FALSE/N */
	READ_EQUALS_ONE,   /* os.getenv(X, "0") == "1": anything else is false */
	READ_INT,          /* bool(int(os.getenv(X))): a non-number raises ValueError */
	READ_PRESENCE,     /* only whether it is set counts: "0" is true */
	READ_TORCHAUDIO,   /* 1/true/TRUE/on/ON/yes/YES, the same negatives; else a warning */
};
enum switch_reader catalog_switch_reader(enum builder builder, const char *name);

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
/*
 * The device code a valid TORCH_CUDA_ARCH_LIST asks for: the SASS arches ("sm_80 sm_90a",
 * space-separated, sorted, no duplicates) and the PTX ones ("sm_90"), with named arches
 * expanded. Returns -1 when the list leaves the arches to detection or to CMake keywords
 * (empty, "native", All, Common, Auto): then nothing exact can be expected.
 */
int arch_list_targets(const char *value, const char *torch_version, struct buf *sass,
		      struct buf *ptx);
/* qsort order of arch words ("sm_90a"): by number, then suffix. */
int arch_word_cmp(const void *a, const void *b);

/* One line saying what `grammar` accepts, for error messages. */
const char *arch_grammar_accepts(enum arch_grammar grammar);

#endif
