/*
 * ccache in front of every compiler call of a build: C, C++ and nvcc.
 *
 * What the builds see (docs/building.md):
 * - CCACHE_DIR in ptbuild's cache; CCACHE_BASEDIR at the work directory (work trees, venvs,
 *   the CUDA homes below) and CCACHE_NOHASHDIR, so that a checkout at another path hits;
 *   CCACHE_SLOPPINESS with time_macros, so that __DATE__/__TIME__ do not turn every compile
 *   into a miss. The user's CCACHE_* variables and ccache.conf apply (remote storage, size).
 * - A masquerade directory first on PATH (cc, c++, gcc, g++, the triplet names and the
 *   toolchain's compilers as links to ccache) for builds that run the compiler by name, as
 *   setuptools and torch.utils.cpp_extension do.
 * - CMAKE_{C,CXX,CUDA}_COMPILER_LAUNCHER=ccache for CMake builds.
 * - nvcc: torch.utils.cpp_extension runs CUDA_HOME/bin/nvcc by absolute path, so the
 *   build gets a CUDA home whose bin/nvcc runs ccache with the real nvcc and whose other
 *   entries link to the real home (<work>/cuda/<toolchain>); PYTORCH_NVCC says the same for
 *   its ninja path.
 * - CCACHE_STATSLOG per build: its hits and misses, whatever runs beside it
 *   (build/ccache_stats.h counts them per compiler).
 *
 * Which ccache (docs/building.md, "Which ccache runs"): $PTBUILD_CCACHE when set (that one
 * only); else the newest of ptbuild's own tool environment (ci/install-tools.sh: <dir of
 * the binary>/tools/bin/ccache, <dir>/../tools/bin/ccache in a build tree, and
 * <prefix>/libexec/ptbuild/ccache when installed) and every ccache on PATH, the earlier
 * one on a tie. 4.12.3 and later cache nvcc's --generate-dependencies-with-compile
 * --dependency-output, which torch.utils.cpp_extension's ninja rules pass.
 */
#ifndef PTBUILD_CCACHE_H
#define PTBUILD_CCACHE_H

#include <stdbool.h>

#include "build/ccache_stats.h"
#include "model/envflags.h"
#include "util/diag.h"

/* Where a ccache was found. */
enum ccache_origin { CCACHE_FROM_SETTING, CCACHE_FROM_TOOLS, CCACHE_FROM_PATH };
/* "PTBUILD_CCACHE", "ptbuild's tools", "PATH" */
extern const char *const ccache_origin_names[];

/* The first version that caches nvcc's dependency flags. */
#define CCACHE_NVCC_DEPFLAGS_VERSION "4.12.3"

struct ccache {
	char *program;  /* owned: absolute path of ccache; NULL when not installed */
	char *version;  /* owned: "4.14.2" from `ccache --version`; NULL when unknown */
	enum ccache_origin origin;
	bool nvcc_depflags; /* version >= CCACHE_NVCC_DEPFLAGS_VERSION */
	char *dir;      /* owned: CCACHE_DIR */
	char *masq;     /* owned: the masquerade directory */
	char *remote;   /* owned: ptbuild's remote storage for ccache (CCACHE_REMOTE_STORAGE's
			   syntax), or NULL: the user's own CCACHE_REMOTE_STORAGE, if any */
	bool remote_read_only; /* every remote storage read-only (untrusted runners) */
};

/* Compares two dotted versions numerically ("4.7.5" < "4.12.3"); a missing part is 0. */
int ccache_version_cmp(const char *a, const char *b);
/* The version in the first line of `ccache --version` ("ccache version 4.14.2"); caller
 * frees; NULL when the text has none. */
char *ccache_parse_version(const char *text);

/* One candidate: a path and its version (NULL when it printed none). */
struct ccache_candidate {
	const char *path;
	const char *version;
	enum ccache_origin origin;
};
/* The candidate ptbuild runs: the newest version, the first of equals; one without a
 * version only when none has one. -1 when n is 0. */
int ccache_choose(const struct ccache_candidate *c, size_t n);

/*
 * Finds the ccache to run (program, version, origin, nvcc_depflags of `c`; dir and masq stay
 * NULL): `exe_dir` is the directory of the ptbuild binary (NULL: /proc/self/exe's). Runs each
 * candidate's --version once. Not found: 0 with program NULL. $PTBUILD_CCACHE naming no
 * executable: -1 with an error in `d`.
 */
int ccache_find(struct ccache *c, const char *exe_dir, struct diags *d);
/* The warning for CUDA builds with a ccache that cannot cache nvcc's dependency flags, with
 * its hint, `why` first ("toolchain cuda-13.0 uses CUDA"); nothing when it can or there is
 * no ccache. */
void ccache_warn_cuda(const struct ccache *c, const char *why, struct diags *d);

/* Finds ccache (ccache_find) and prepares <cache_dir>/ccache/ with its masquerade directory, adding links
 * for `compilers` (the toolchains' cc/cxx names; NULL-terminated). Without ccache the
 * struct stays empty (program NULL) and builds run uncached: a warning in `d`.
 * Returns -1 when the directories cannot be written or $PTBUILD_CCACHE is wrong. */
int ccache_prepare(struct ccache *c, const char *cache_dir, const char *const *compilers,
		   struct diags *d);
void ccache_release(struct ccache *c);

/* Remote storage for every build: `storage` (NULL: the user's CCACHE_REMOTE_STORAGE, if
 * any), read-only when `read_only` (ccache's "|read-only" attribute on each entry). */
void ccache_set_remote(struct ccache *c, const char *storage, bool read_only);

/* The CUDA home `dir`/`name` for builds of `real_home`, whose bin/nvcc runs through ccache
 * (rewritten, atomically, when ccache or the real home changed). `dir` should be under the
 * builds' CCACHE_BASEDIR and `name` the same on every machine (the toolchain's name): the
 * -I flags of CUDA_HOME/include are then the same relative paths everywhere. Caller frees;
 * NULL with an error in `d`. */
char *ccache_cuda_home(const struct ccache *c, const char *real_home, const char *dir,
		       const char *name, struct diags *d);

/* The user's own ccache.conf, where ccache finds it when CCACHE_DIR is not set
 * ($XDG_CONFIG_HOME/ccache, ~/.config/ccache, ~/.ccache); NULL when there is none. */
char *ccache_user_config_path(void);

/*
 * Adds the ccache variables to a build's environment `e`: the user's own CCACHE_* variables
 * and ccache.conf (CCACHE_CONFIGPATH), then ptbuild's, which win. `basedir` holds every path
 * the build's compiles see (work trees, venvs, CUDA homes: the work directory), so that a
 * checkout at another path hits;
 * `statslog` the file that collects this build's counters. `cuda_home` (may be NULL) is
 * the real CUDA home of the toolchain, for PYTORCH_NVCC. PATH gets the masquerade
 * directory in front (e must hold PATH already).
 */
void ccache_env(const struct ccache *c, struct env *e, const char *basedir, const char *statslog,
		const char *cuda_home);

#endif
