/*
 * What ptbuild knows about the options PyTorch and its extensions read: the option names
 * PyTorch's CMake and setup.py read, the old NO_X / WITH_X spellings, and how each project
 * parses its boolean switches. Facts only, looked up by builder; envflags composes and
 * validates environments with them. The facts and their sources are in docs/flags.md;
 * TORCH_CUDA_ARCH_LIST has its own module, archlist.
 */
#ifndef PTBUILD_ENVFLAGS_CATALOG_H
#define PTBUILD_ENVFLAGS_CATALOG_H

#include <stdbool.h>

#include "model/model.h"
#include "util/buf.h"

/* Whether `name` is an option (USE_*, BUILD_*, ...) that the builder's project reads. */
bool catalog_option_known(enum builder builder, const char *name);
/* The known option closest to `name`, or NULL when none is a plausible typo. Static string. */
const char *catalog_option_suggest(enum builder builder, const char *name);

/*
 * Maps an old spelling (NO_X or WITH_X, for the X PyTorch once translated) to its current
 * name, appended to `target`. Returns false for any other name; `*inverted` is set when
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
/* How the builder's project reads the switch `name` (READ_NOT_A_SWITCH: not one of its). */
enum switch_reader catalog_switch_reader(enum builder builder, const char *name);

#endif
