/*
 * What Dockerfile.dev copies, staged inside the wheelhouse by `collect` so that one plain
 * `docker build` (Docker 20.10: no named build contexts) builds the dev image:
 *
 *   dev/ptbuild/   ptbuild's own sources: CMakeLists.txt and driver/ (the image builds the
 *                  binary with -DPTBUILD_TESTS=OFF, so tests/ is not needed)
 *   dev/project/   the project: recipes/, toolchains/, patches/, ptbuild.lock and
 *                  mirrors.json where they exist, and build/src/<tree>/ with its pin marker
 *                  build/src/.<tree>.pin for every source tree the plan builds from
 *
 * Files are hard-linked where the file system allows, else copied (mode kept); symbolic
 * links are made again as they are. Directories are walked in sorted order, so two
 * collects of the same inputs stage the same tree.
 */
#ifndef PTBUILD_DEV_STAGE_H
#define PTBUILD_DEV_STAGE_H

#include <stddef.h>

#include "util/diag.h"

struct dev_stage {
	const char *ptbuild_source;  /* ptbuild's source directory (dev_stage_find_source) */
	const char *project_dir;     /* the project, absolute */
	const char *work_dir;        /* its work directory (<project>/build) */
	const char *const *trees;    /* names of the plan's trees under work_dir/src/ */
	size_t ntrees;
};

/*
 * ptbuild's source directory, the first of: `given` (collect --ptbuild-source DIR), the
 * installed copy (`cmake --install` puts it in <datadir>/ptbuild/src, also looked for at
 * <directory of the running binary>/../share/ptbuild/src) and the source tree this binary
 * was built from. Each must hold CMakeLists.txt and driver/main.c. Returns a new string,
 * or NULL with an environment error naming what was looked at and a hint.
 */
char *dev_stage_find_source(const char *given, struct diags *d);

/*
 * Writes dev/ptbuild/ and dev/project/ into `wheelhouse` (the wheelhouse being written). A
 * tree of the plan missing from work_dir/src/ is a warning (the dev image lacks it; `ptbuild
 * fetch` prepares it). Returns 0, or -1 with errors in `d`.
 */
int dev_stage_write(const char *wheelhouse, const struct dev_stage *s, struct diags *d);

#endif
