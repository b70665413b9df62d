#include "wheels/finish.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wheels/elfinfo.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"

void finish_result_release(struct finish_result *r)
{
	free(r->file);
	memset(r, 0, sizeof(*r));
}

char *finish_version(const char *wheel, const char *built, const char *asked,
		     const char *local, struct diags *d)
{
	char *have = version_public(built);
	if (asked) {
		char *want = version_public(asked);
		bool same = !strcmp(have, want);
		if (!same) {
			diag_error(d, NULL, "%s: the wheel's version is %s but the recipe asked the "
					    "build for %s: the build did not use it", wheel, built,
				   asked);
			diag_hint(d, "check how the project's setup.py reads its version variable");
		}
		free(want);
		if (!same) {
			free(have);
			return NULL;
		}
	}
	if (!local || !*local) {
		free(have);
		return xstrdup(built);
	}
	struct buf v = BUF_INIT;
	buf_addf(&v, "%s+%s", have, local);
	free(have);
	return buf_detach(&v);
}

static bool same_project_unconditional(const char *value, void *ctx)
{
	if (strchr(value, ';'))
		return false; /* extras and markers stay */
	char *p = requirement_project(value);
	bool same = !strcmp(p, ctx);
	free(p);
	return same;
}

static int rewrite_metadata(const char *dir, const char *dist_info, const struct finish_opts *o,
			    struct diags *d)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s/METADATA", dir, dist_info);
	struct buf text = BUF_INIT;
	int rc = -1;
	if (read_file(path.data, &text) < 0) {
		diag_error(d, NULL, "cannot read %s: %s", path.data, strerror(errno));
		goto out;
	}
	char *meta = buf_detach(&text);
	if (o->version) {
		char *next = metadata_set(meta, "Version", o->version);
		free(meta);
		meta = next;
	}
	for (size_t i = 0; i < o->nrequires; i++) {
		char *project = requirement_project(o->requires[i]);
		char *next = metadata_remove(meta, "Requires-Dist", same_project_unconditional,
					     project);
		free(meta);
		meta = metadata_add(next, "Requires-Dist", o->requires[i]);
		free(next);
		free(project);
	}
	if (write_file_atomic(path.data, meta, strlen(meta)) < 0)
		diag_error(d, NULL, "cannot write %s: %s", path.data, strerror(errno));
	else
		rc = 0;
	free(meta);
out:
	buf_release(&text);
	buf_release(&path);
	return rc;
}

/* ---- slimming --------------------------------------------------------------------------------- */

static size_t count_files(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return 1;
	size_t n = 0;
	DIR *dh = opendir(path);
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = path_join(path, de->d_name);
		n += count_files(child);
		free(child);
	}
	if (dh)
		closedir(dh);
	return n;
}

/* Removes test trees, strips shared objects; `inside_keep`: under include/ or share/cmake. */
static int slim_walk(const char *path, bool inside_keep, const char *parent, struct finish_result *r,
		     struct diags *d)
{
	DIR *dh = opendir(path);
	if (!dh)
		return diag_error(d, NULL, "cannot read %s: %s", path, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dh);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *child = path_join(path, names[i]);
		struct stat st;
		if (rc == 0 && lstat(child, &st) == 0) {
			bool keep = inside_keep || !strcmp(names[i], "include") ||
				    (!strcmp(names[i], "cmake") && parent && !strcmp(parent, "share"));
			if (S_ISDIR(st.st_mode) && !keep &&
			    (!strcmp(names[i], "test") || !strcmp(names[i], "tests"))) {
				r->dropped += count_files(child);
				remove_tree(child);
			} else if (S_ISDIR(st.st_mode)) {
				rc = slim_walk(child, keep, names[i], r, d);
			} else if (S_ISREG(st.st_mode) && !keep && elf_is_elf(child) &&
				   (ends_with(names[i], ".so") || strstr(names[i], ".so."))) {
				const char *argv[] = { "strip", "--strip-debug", child, NULL };
				struct buf out = BUF_INIT;
				int status = run_capture(argv, &out, 600000);
				if (status != 0) {
					buf_rtrim(&out);
					rc = diag_error(d, NULL, "strip --strip-debug %s failed (%d): %s",
							names[i], status, out.data);
				} else {
					r->stripped++;
				}
				buf_release(&out);
			}
		}
		free(child);
		free(names[i]);
	}
	free(names);
	return rc;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int wheel_finish(const char *in, const char *out_dir, const struct finish_opts *o,
		 struct finish_result *r, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	const char *file = path_base(in);
	struct wheel_name name;
	if (wheel_name_parse(file, &name) < 0)
		return diag_error(d, NULL, "%s is not a wheel file name", file);
	r->size_before = file_size(in);
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/finish-%ld", o->tmp_dir, (long)getpid());
	remove_tree(dir.data);
	make_dirs(o->tmp_dir, 0755);
	struct wheel_members members = { 0 };
	char *dist_info = NULL;
	int rc = -1;
	if (wheel_unpack(in, dir.data, &members, d) < 0 ||
	    !(dist_info = wheel_dist_info(dir.data, d)))
		goto out;
	if (o->version || o->nrequires) {
		if (rewrite_metadata(dir.data, dist_info, o, d) < 0)
			goto out;
	}
	if (o->version && strcmp(o->version, name.version)) {
		char *esc = dist_escape(name.dist);
		struct buf from = BUF_INIT, to = BUF_INIT;
		buf_addf(&from, "%s/%s", dir.data, dist_info);
		buf_addf(&to, "%s/%s-%s.dist-info", dir.data, esc, o->version);
		int mv = rename(from.data, to.data);
		if (mv < 0)
			diag_error(d, NULL, "cannot rename %s: %s", from.data, strerror(errno));
		buf_release(&from);
		buf_release(&to);
		free(esc);
		if (mv < 0)
			goto out;
		free(name.version);
		name.version = xstrdup(o->version);
	}
	if (o->slim && slim_walk(dir.data, false, NULL, r, d) < 0)
		goto out;
	r->file = wheel_name_format(&name);
	char *dest = path_join(out_dir, r->file);
	rc = wheel_pack(dir.data, dest, o->epoch, d);
	r->size_after = file_size(dest);
	free(dest);
out:
	remove_tree(dir.data);
	buf_release(&dir);
	wheel_members_release(&members);
	wheel_name_release(&name);
	free(dist_info);
	if (rc < 0)
		finish_result_release(r);
	return rc;
}
