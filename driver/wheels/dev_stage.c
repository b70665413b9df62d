/*
 * dev/ptbuild/ and dev/project/ of a wheelhouse: what Dockerfile.dev copies (dev_stage.h).
 */
#include "wheels/dev_stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

#ifndef PTBUILD_INSTALLED_SOURCE
#define PTBUILD_INSTALLED_SOURCE ""
#endif
#ifndef PTBUILD_BUILT_FROM
#define PTBUILD_BUILT_FROM ""
#endif

/* ---- finding ptbuild's sources ------------------------------------------------------------ */

static bool is_ptbuild_source(const char *dir)
{
	char *cm = path_join(dir, "CMakeLists.txt");
	char *main_c = path_join(dir, "driver/main.c");
	bool ok = path_exists(cm) && path_exists(main_c);
	free(cm);
	free(main_c);
	return ok;
}

/* <directory of the running binary>/../share/ptbuild/src, or NULL. */
static char *beside_binary(void)
{
	char *dir = self_dir();
	if (!dir)
		return NULL;
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/../share/ptbuild/src", dir);
	free(dir);
	return buf_detach(&b);
}

char *dev_stage_find_source(const char *given, struct diags *d)
{
	size_t since = d->n;
	if (given) {
		if (is_ptbuild_source(given))
			return absolute_path(given);
		diag_error(d, NULL, "--ptbuild-source \"%s\" is not ptbuild's source directory (it "
				    "needs CMakeLists.txt and driver/main.c)", given);
		diag_hint(d, "name a ptbuild checkout, or <prefix>/share/ptbuild/src of an "
			     "installed ptbuild");
		diags_classify(d, since, DIAG_ENVIRONMENT);
		return NULL;
	}
	char *beside = beside_binary();
	const char *candidates[] = { PTBUILD_INSTALLED_SOURCE, beside, PTBUILD_BUILT_FROM };
	char *found = NULL;
	struct buf tried = BUF_INIT;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !found; i++) {
		if (!candidates[i] || !*candidates[i])
			continue;
		if (is_ptbuild_source(candidates[i]))
			found = absolute_path(candidates[i]);
		else
			buf_addf(&tried, "%s\"%s\"", tried.len ? ", " : "", candidates[i]);
	}
	free(beside);
	if (!found) {
		diag_error(d, NULL, "cannot find ptbuild's own sources for Dockerfile.dev (it "
				    "builds ptbuild inside the image); looked in %s",
			   tried.len ? tried.data : "no place");
		diag_hint(d, "give --ptbuild-source DIR (a ptbuild checkout), or install ptbuild "
			     "with `cmake --install`, which puts them in <prefix>/share/ptbuild/src");
		diags_classify(d, since, DIAG_ENVIRONMENT);
	}
	buf_release(&tried);
	return found;
}

/* ---- placing files ------------------------------------------------------------------------ */

static int fail_errno(struct diags *d, const char *what, const char *path)
{
	return diag_error(d, NULL, "cannot stage Dockerfile.dev's files: %s \"%s\": %s", what,
			  path, strerror(errno));
}

/* A copy of the regular file `src` at `dest` with its permission bits. */
static int stage_copy(const char *src, const char *dest, mode_t mode, struct diags *d)
{
	return copy_file(src, dest, mode) < 0 ? fail_errno(d, "cannot copy to", dest) : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry of `dir` (dot files too, not "." and ".."), sorted bytewise. */
static int list_all(const char *dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		GROW(*names, cap, *n + 1);
		(*names)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(dp);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return 0;
}

/* `src` (a file, a link or a whole directory) at `dest`, whose parent exists. */
static int place_tree(const char *src, const char *dest, struct diags *d)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail_errno(d, "cannot read", src);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return fail_errno(d, "cannot read the link", src);
		target[n] = '\0';
		if (symlink(target, dest) < 0)
			return fail_errno(d, "cannot create the link", dest);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		if (link(src, dest) == 0)
			return 0;
		return stage_copy(src, dest, st.st_mode, d);
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* sockets, fifos, devices: nothing a build reads */
	if (mkdir(dest, 0755) < 0)
		return fail_errno(d, "cannot create", dest);
	char **names;
	size_t n;
	if (list_all(src, &names, &n) < 0)
		return fail_errno(d, "cannot list", src);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *s = path_join(src, names[i]);
		char *t = path_join(dest, names[i]);
		rc = place_tree(s, t, d);
		free(s);
		free(t);
	}
	free_names(names, n);
	return rc;
}

/* dir/name into into/name when it exists (`required`: an error when it does not). */
static int place_member(const char *dir, const char *name, const char *into, bool required,
			struct diags *d)
{
	char *src = path_join(dir, name);
	char *dest = path_join(into, name);
	int rc = 0;
	struct stat st;
	if (lstat(src, &st) < 0) {
		if (required || errno != ENOENT)
			rc = fail_errno(d, "cannot read", src);
	} else if (make_parents(dest) < 0) {
		rc = fail_errno(d, "cannot create the directory of", dest);
	} else {
		rc = place_tree(src, dest, d);
	}
	free(src);
	free(dest);
	return rc;
}

int dev_stage_write(const char *wheelhouse, const struct dev_stage *s, struct diags *d)
{
	char *ptb = path_join(wheelhouse, "dev/ptbuild");
	char *proj = path_join(wheelhouse, "dev/project");
	int rc = 0;
	if (make_dirs(ptb, 0755) < 0 || make_dirs(proj, 0755) < 0)
		rc = fail_errno(d, "cannot create", ptb);
	static const char *const ptbuild_files[] = { "CMakeLists.txt", "driver" };
	for (size_t i = 0; i < 2 && rc == 0; i++)
		rc = place_member(s->ptbuild_source, ptbuild_files[i], ptb, true, d);
	static const char *const project_files[] = { "recipes", "toolchains", "patches",
						     "ptbuild.lock", "mirrors.json" };
	for (size_t i = 0; i < sizeof(project_files) / sizeof(project_files[0]) && rc == 0; i++)
		rc = place_member(s->project_dir, project_files[i], proj, false, d);
	/* the trees and their pin markers, under build/src/ whatever the work directory is */
	char *src = path_join(s->work_dir, "src");
	char *dest_src = path_join(proj, "build/src");
	if (rc == 0 && s->ntrees && make_dirs(dest_src, 0755) < 0)
		rc = fail_errno(d, "cannot create", dest_src);
	for (size_t i = 0; i < s->ntrees && rc == 0; i++) {
		char *tree = path_join(src, s->trees[i]);
		bool have = is_directory(tree);
		free(tree);
		if (!have) {
			diag_warn(d, NULL, "the source tree \"%s\" is not in %s: Dockerfile.dev's "
					   "image will not have it", s->trees[i], src);
			diag_hint(d, "run `ptbuild fetch`, then collect again");
			continue;
		}
		struct buf marker = BUF_INIT;
		buf_addf(&marker, ".%s.pin", s->trees[i]);
		rc = place_member(src, s->trees[i], dest_src, true, d);
		if (rc == 0)
			rc = place_member(src, marker.data, dest_src, false, d);
		buf_release(&marker);
	}
	free(dest_src);
	free(src);
	free(proj);
	free(ptb);
	return rc;
}
