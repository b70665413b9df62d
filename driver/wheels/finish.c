#include "wheels/finish.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wheels/elfinfo.h"
#include "util/buf.h"
#include "util/json_write.h"
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
	if (wheel_unpack_threads(in, dir.data, o->threads, &members, d) < 0 ||
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
	rc = wheel_pack_threads(dir.data, dest, o->epoch, o->threads ? o->threads : 1, d);
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

/* ---- a build's wheels ------------------------------------------------------------------------ */

static void log_f(finish_log_fn log, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void log_f(finish_log_fn log, void *ctx, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log(ctx, b.data);
	buf_release(&b);
}

/* Every record of `d` as log lines. */
static void log_diags(finish_log_fn log, void *ctx, const struct diags *d)
{
	struct buf text = BUF_INIT;
	diags_render(d, &text, false);
	const char *cur = text.data;
	char *line;
	while ((line = next_line(&cur))) {
		log(ctx, line);
		free(line);
	}
	buf_release(&text);
}

int finish_dir(const struct finish_job *j, finish_log_fn log, void *ctx, char **failure)
{
	*failure = NULL;
	char **names = NULL;
	size_t n = 0;
	struct buf msg = BUF_INIT;
	if (list_dir(j->dir, ".whl", &names, &n) < 0) {
		buf_addf(&msg, "cannot read the build outputs in \"%s\"", j->dir);
		*failure = buf_detach(&msg);
		return -1;
	}
	struct buf req = BUF_INIT;
	if (j->torch)
		buf_addf(&req, "torch==%s", j->torch);
	const char *requires[] = { req.data };
	struct verify_expect x = j->verify;
	x.tmp_dir = j->tmp_dir;
	x.torch_version = j->torch;
	x.threads = j->threads;
	for (size_t i = 0; i < n && !*failure; i++) {
		struct diags d;
		diags_init(&d);
		char *in = path_join(j->dir, names[i]);
		char *version = NULL;
		char *base = NULL;
		struct wheel_name wn;
		if (wheel_name_parse(names[i], &wn) == 0) {
			version = finish_version(names[i], wn.version, j->asked, j->local_version, &d);
			wheel_name_release(&wn);
		} else {
			diag_error(&d, NULL, "%s is not a wheel file name", names[i]);
		}
		struct finish_opts fo = { .version = version, .requires = requires,
					  .nrequires = j->torch ? 1 : 0, .epoch = j->epoch,
					  .tmp_dir = j->tmp_dir, .threads = j->threads };
		struct finish_result fr = { 0 };
		bool verified = false;
		if (!d.nerrors && wheel_finish(in, j->dir, &fo, &fr, &d) == 0) {
			verified = true;
			if (strcmp(fr.file, names[i]))
				unlink(in);
			base = path_join(j->dir, fr.file);
			log_f(log, ctx, "# ptbuild: %s -> %s (version %s%s%s, SOURCE_DATE_EPOCH=%lld)",
			      names[i], fr.file, version, j->torch ? ", requires " : "",
			      j->torch ? req.data : "", j->epoch);
			struct verify_stats st;
			int findings = verify_wheel(base, &x, &st, &d);
			log_f(log, ctx, "# ptbuild: verify %s: %zu members, %zu shared objects (%zu "
					"with CUDA code): %d finding%s", fr.file, st.members,
			      st.shared_objects, st.cuda_objects, findings, findings == 1 ? "" : "s");
		}
		log_diags(log, ctx, &d);
		if (d.nerrors) {
			const struct diag *first = NULL;
			for (size_t k = 0; k < d.n && !first; k++)
				if (d.v[k].level == DIAG_ERROR)
					first = &d.v[k];
			if (verified)
				buf_addf(&msg, "failed verification with %zu problem%s; the first: %s",
					 d.nerrors, d.nerrors == 1 ? "" : "s", first->msg);
			else /* stamping or repacking: not the wheel's fault */
				buf_addf(&msg, "cannot finish %s: %s", names[i], first->msg);
			*failure = buf_detach(&msg);
		}
		finish_result_release(&fr);
		diags_release(&d);
		free(base);
		free(version);
		free(in);
	}
	free_names(names, n);
	buf_release(&req);
	buf_release(&msg);
	return *failure ? -1 : 0;
}

/* ---- the job as a file ---------------------------------------------------------------------- */

void finish_job_write(const struct finish_job *j, const char *result_path, struct buf *out)
{
	struct jw w;
	jw_init(&w, out, true);
	jw_object_begin(&w);
	jw_kstring(&w, "dir", j->dir);
	jw_kstring(&w, "tmp_dir", j->tmp_dir);
	jw_kstring(&w, "asked", j->asked);
	jw_kstring(&w, "local_version", j->local_version);
	jw_kstring(&w, "torch", j->torch);
	jw_kint(&w, "epoch", j->epoch);
	jw_kint(&w, "threads", j->threads);
	jw_kstring(&w, "result", result_path);
	jw_key(&w, "verify");
	jw_object_begin(&w);
	jw_kstring(&w, "python", j->verify.python);
	jw_kstring(&w, "machine", j->verify.machine);
	jw_kstring(&w, "arch_list", j->verify.arch_list);
	jw_kstring(&w, "cuobjdump", j->verify.cuobjdump);
	jw_kbool(&w, "system_nccl", j->verify.system_nccl);
	jw_kint(&w, "torch_abi", j->verify.torch_abi);
	jw_object_end(&w);
	jw_object_end(&w);
	buf_addch(out, '\n');
}

/* `key` of `obj` is missing or not `want`: an error at its place, or naming the file. */
static int member_wrong(const struct jnode *n, const char *key, const char *want,
			const char *path, struct diags *d)
{
	if (n)
		return diag_error(d, &n->pos, "\"%s\" must be %s", key, want);
	return diag_error(d, NULL, "%s: \"%s\" is missing (%s)", path, key, want);
}

/* The member `key` of `obj` as a string: NULL when null; -1 when missing or not a string. */
static int member_str(const struct jnode *obj, const char *key, bool nullable, const char **out,
		      const char *path, struct diags *d)
{
	const struct jnode *n = jnode_get(obj, key);
	*out = NULL;
	if (n && n->type == JSON_STRING) {
		*out = n->str;
		return 0;
	}
	if (n && n->type == JSON_NULL && nullable)
		return 0;
	return member_wrong(n, key, nullable ? "a string or null" : "a string", path, d);
}

static int member_num(const struct jnode *obj, const char *key, double *out, const char *path,
		      struct diags *d)
{
	const struct jnode *n = jnode_get(obj, key);
	if (n && n->type == JSON_NUMBER) {
		*out = n->num;
		return 0;
	}
	return member_wrong(n, key, "a number", path, d);
}

int finish_job_read(const char *path, struct jdoc *doc, struct finish_job *j,
		    const char **result_path, struct diags *d)
{
	memset(j, 0, sizeof(*j));
	memset(doc, 0, sizeof(*doc));
	if (jdoc_load(doc, path, d) < 0)
		return -1;
	const struct jnode *r = &doc->root;
	if (r->type != JSON_OBJECT)
		return diag_error(d, &r->pos, "%s must hold a JSON object", path);
	const struct jnode *v = jnode_get(r, "verify");
	if (!v || v->type != JSON_OBJECT)
		return member_wrong(v, "verify", "an object", path, d);
	double epoch = 0, threads = 0, abi = 0;
	int rc = 0;
	rc |= member_str(r, "dir", false, &j->dir, path, d);
	rc |= member_str(r, "tmp_dir", false, &j->tmp_dir, path, d);
	rc |= member_str(r, "asked", true, &j->asked, path, d);
	rc |= member_str(r, "local_version", true, &j->local_version, path, d);
	rc |= member_str(r, "torch", true, &j->torch, path, d);
	rc |= member_str(r, "result", false, result_path, path, d);
	rc |= member_num(r, "epoch", &epoch, path, d);
	rc |= member_num(r, "threads", &threads, path, d);
	rc |= member_str(v, "python", true, &j->verify.python, path, d);
	rc |= member_str(v, "machine", true, &j->verify.machine, path, d);
	rc |= member_str(v, "arch_list", true, &j->verify.arch_list, path, d);
	rc |= member_str(v, "cuobjdump", true, &j->verify.cuobjdump, path, d);
	rc |= member_num(v, "torch_abi", &abi, path, d);
	const struct jnode *nccl = jnode_get(v, "system_nccl");
	if (!nccl || nccl->type != JSON_BOOL)
		rc |= member_wrong(nccl, "system_nccl", "true or false", path, d);
	else
		j->verify.system_nccl = nccl->boolean;
	if (rc) {
		diag_hint(d, "this file is written by `ptbuild build` for its finishing step "
			     "(ptbuild __finish); run the build again rather than edit it");
		return -1;
	}
	j->epoch = (long long)epoch;
	j->threads = threads >= 1 && threads <= 4096 ? (unsigned)threads : 1;
	j->verify.torch_abi = abi == 0 ? CXX_ABI_OLD : abi == 1 ? CXX_ABI_CXX11 : CXX_ABI_UNKNOWN;
	return 0;
}
