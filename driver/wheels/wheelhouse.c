#include "wheels/wheelhouse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/image.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"

void house_wheel_release(struct house_wheel *w)
{
	free(w->file);
	free(w->project);
	free(w->version);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct house_wheel *)a)->file, ((const struct house_wheel *)b)->file);
}

int house_sort(struct house_wheel *v, size_t n, struct diags *d)
{
	qsort(v, n, sizeof(*v), cmp_file);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i - 1].file, v[i].file) && strcmp(v[i - 1].sha256, v[i].sha256))
			return diag_error(d, NULL, "two different wheels are named %s (sha256 %.16s... "
						   "and %.16s...)", v[i].file, v[i - 1].sha256,
					  v[i].sha256);
	return 0;
}

/* A file name in an href: everything but unreserved characters percent-encoded ("+" too,
 * as download.pytorch.org writes "torch-2.1.2%2Bcpu-..."). */
static void href_escape(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			buf_addch(b, (char)*p);
		else
			buf_addf(b, "%%%02X", *p);
	}
}

static void html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		default: buf_addch(b, *s);
		}
	}
}

static int write_text(const char *path, const struct buf *b, struct diags *d)
{
	if (write_file_atomic(path, b->data, b->len) < 0)
		return diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

/* <wheel>.metadata beside the wheel in `dir` (PEP 658), its digest, and its Requires-Python
 * (NULL when it has none; caller frees). */
static int write_core_metadata(const char *dir, const char *file, char sha[SHA256_HEX_SIZE],
			       char **requires_python, struct diags *d)
{
	char *wheel = path_join(dir, file);
	struct buf text = BUF_INIT, name = BUF_INIT;
	int rc = wheel_read_metadata(wheel, &text, d);
	if (rc == 0) {
		struct sha256 h;
		sha256_init(&h);
		sha256_update(&h, text.data, text.len);
		sha256_final_hex(&h, sha);
		*requires_python = metadata_get(text.data, "Requires-Python");
		buf_addf(&name, "%s.metadata", wheel);
		rc = write_text(name.data, &text, d);
	}
	buf_release(&name);
	buf_release(&text);
	free(wheel);
	return rc;
}

int house_write_index(const char *dir, const struct house_wheel *v, size_t n, struct diags *d)
{
	char *simple = path_join(dir, "simple");
	int rc = 0;
	if (make_dirs(simple, 0755) < 0) {
		rc = diag_error(d, NULL, "cannot create %s: %s", simple, strerror(errno));
		goto out;
	}
	/* projects, sorted, each once */
	const char **projects = xcalloc(n + 1, sizeof(char *));
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < np && !seen; k++)
			seen = !strcmp(projects[k], v[i].project);
		if (!seen)
			projects[np++] = v[i].project;
	}
	qsort(projects, np, sizeof(char *), strv_cmp);
	struct buf root = BUF_INIT;
	buf_adds(&root, "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" "
			"content=\"1.0\"><title>Simple index</title></head>\n<body>\n");
	for (size_t k = 0; k < np && rc == 0; k++) {
		buf_adds(&root, "<a href=\"");
		href_escape(&root, projects[k]);
		buf_adds(&root, "/\">");
		html_escape(&root, projects[k]);
		buf_adds(&root, "</a>\n");
		struct buf page = BUF_INIT;
		buf_adds(&page, "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" "
				"content=\"1.0\"><title>Links for ");
		html_escape(&page, projects[k]);
		buf_adds(&page, "</title></head>\n<body>\n<h1>Links for ");
		html_escape(&page, projects[k]);
		buf_adds(&page, "</h1>\n");
		for (size_t i = 0; i < n; i++) {
			if (strcmp(v[i].project, projects[k]) || (i && !strcmp(v[i - 1].file, v[i].file)))
				continue;
			char meta_sha[SHA256_HEX_SIZE];
			char *requires_python = NULL;
			rc = write_core_metadata(dir, v[i].file, meta_sha, &requires_python, d);
			if (rc < 0)
				break;
			buf_adds(&page, "<a href=\"../../");
			href_escape(&page, v[i].file);
			/* PEP 658/714: pip reads the dependencies from <wheel>.metadata instead of
			 * downloading the wheel (a 640 MiB torch one) to resolve */
			buf_addf(&page, "#sha256=%s\" data-dist-info-metadata=\"sha256=%s\" "
					"data-core-metadata=\"sha256=%s\"", v[i].sha256, meta_sha,
				 meta_sha);
			if (requires_python) {
				buf_adds(&page, " data-requires-python=\"");
				html_escape(&page, requires_python);
				buf_adds(&page, "\"");
				free(requires_python);
			}
			buf_adds(&page, ">");
			html_escape(&page, v[i].file);
			buf_adds(&page, "</a><br>\n");
		}
		buf_adds(&page, "</body>\n</html>\n");
		struct buf pdir = BUF_INIT;
		buf_addf(&pdir, "%s/%s", simple, projects[k]);
		char *index = path_join(pdir.data, "index.html");
		if (rc < 0)
			; /* a wheel without readable metadata: said above */
		else if (make_dirs(pdir.data, 0755) < 0)
			rc = diag_error(d, NULL, "cannot create %s: %s", pdir.data, strerror(errno));
		else
			rc = write_text(index, &page, d);
		free(index);
		buf_release(&pdir);
		buf_release(&page);
	}
	buf_adds(&root, "</body>\n</html>\n");
	char *root_index = path_join(simple, "index.html");
	if (rc == 0)
		rc = write_text(root_index, &root, d);
	free(root_index);
	buf_release(&root);
	free(projects);
	struct buf sums = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(v[i - 1].file, v[i].file))
			buf_addf(&sums, "%s  %s\n", v[i].sha256, v[i].file);
	char *sums_path = path_join(dir, "SHA256SUMS");
	if (rc == 0)
		rc = write_text(sums_path, &sums, d);
	free(sums_path);
	buf_release(&sums);
out:
	free(simple);
	return rc;
}

/* ---- a whole wheelhouse ------------------------------------------------------------------- */

void house_result_release(struct house_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		house_wheel_release(&r->v[i]);
	free(r->v);
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->targets);
	memset(r, 0, sizeof(*r));
}

/* Hard link (same file system: instant, no space), else a copy. */
static int place(const char *src, const char *dest, struct diags *d)
{
	if (link(src, dest) == 0 || copy_file(src, dest, 0644) == 0)
		return 0;
	return diag_error(d, NULL, "cannot copy %s to %s: %s", src, dest, strerror(errno));
}

/* The slimmed copy of `w` in `tmp`, with its new digest and size. */
static int slim_one(const struct house_spec *spec, struct house_input *w, const char *tmp,
		    struct house_result *r, struct diags *d)
{
	struct finish_opts fo = { .epoch = spec->epoch, .slim = true, .tmp_dir = spec->tmp_dir };
	struct finish_result fr;
	/* the repack keeps the name; the entry's own epoch is not known here, so the newest
	 * source date of the wheelhouse is used */
	if (wheel_finish(w->src, tmp, &fo, &fr, d) < 0)
		return -1;
	r->bytes_before += fr.size_before;
	r->bytes_after += fr.size_after;
	r->dropped += fr.dropped;
	r->stripped += fr.stripped;
	if (spec->on_slim)
		spec->on_slim(spec->ctx, w->file, &fr);
	char *dest = path_join(tmp, w->file);
	int rc = sha256_file_hex(dest, w->sha256);
	free(dest);
	w->size = fr.size_after;
	finish_result_release(&fr);
	return rc;
}

/* Every wheel into `tmp` once (a file of one name and digest that several variants bring is
 * placed once), and its entry in r->v. */
static int stage_wheels(const struct house_spec *spec, const char *tmp, struct house_result *r,
			struct diags *d)
{
	r->v = xcalloc(spec->nwheels + 1, sizeof(*r->v));
	for (size_t i = 0; i < spec->nwheels; i++) {
		struct house_input *w = &spec->wheels[i];
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = !strcmp(spec->wheels[k].file, w->file) &&
			      !strcmp(spec->wheels[k].sha256, w->sha256);
		if (dup)
			continue;
		int rc;
		if (spec->slim) {
			rc = slim_one(spec, w, tmp, r, d);
		} else {
			char *dest = path_join(tmp, w->file);
			rc = place(w->src, dest, d);
			free(dest);
		}
		if (rc < 0)
			return -1;
		struct wheel_name wn;
		if (wheel_name_parse(w->file, &wn) < 0) {
			r->bad_input = true;
			return diag_error(d, NULL, "%s is not a wheel file name", w->file);
		}
		struct house_wheel *hw = &r->v[r->n++];
		hw->file = xstrdup(w->file);
		hw->project = dist_normalize(wn.dist);
		hw->version = xstrdup(wn.version);
		snprintf(hw->sha256, sizeof(hw->sha256), "%s", w->sha256);
		hw->size = w->size;
		wheel_name_release(&wn);
	}
	return 0;
}

/* The newest source date of the variants labelled `label`; the wheelhouse's when none
 * is known. */
static long long label_epoch(const struct house_spec *spec, const char *label)
{
	long long e = 0;
	for (size_t i = 0; i < spec->nvariants; i++)
		if (!strcmp(spec->variants[i].label, label) && spec->variants[i].epoch > e)
			e = spec->variants[i].epoch;
	return e ? e : spec->epoch;
}

/* manifest.json: the generator, the lock's digest, the set, and per wheel the variants that
 * brought it with their source identities. */
static void manifest_render(const struct house_spec *spec, const struct house_result *r,
			    const char *lock_digest, struct buf *out)
{
	struct jw w;
	jw_init(&w, out, true);
	jw_object_begin(&w);
	jw_kstring(&w, "generator", "ptbuild " PTBUILD_VERSION);
	jw_key(&w, "lock");
	if (lock_digest) {
		jw_object_begin(&w);
		jw_kstring(&w, "file", "ptbuild.lock");
		jw_kstring(&w, "sha256", lock_digest);
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "set");
	if (spec->set_name)
		jw_string(&w, spec->set_name);
	else
		jw_null(&w);
	jw_kint(&w, "source_date_epoch", spec->epoch);
	jw_key(&w, "source_date_epochs"); /* per variant label: what its images are built with */
	jw_object_begin(&w);
	const char **labels = xcalloc(spec->nvariants + 1, sizeof(*labels));
	size_t nlabels = 0;
	for (size_t i = 0; i < spec->nvariants; i++) {
		bool seen = false;
		for (size_t k = 0; k < nlabels && !seen; k++)
			seen = !strcmp(labels[k], spec->variants[i].label);
		if (!seen)
			labels[nlabels++] = spec->variants[i].label;
	}
	qsort(labels, nlabels, sizeof(*labels), strv_cmp);
	for (size_t k = 0; k < nlabels; k++)
		jw_kint(&w, labels[k], label_epoch(spec, labels[k]));
	free(labels);
	jw_object_end(&w);
	jw_key(&w, "wheels");
	jw_array_begin(&w);
	for (size_t h = 0; h < r->n; h++) {
		const struct house_wheel *hw = &r->v[h];
		if (h && !strcmp(r->v[h - 1].file, hw->file))
			continue;
		jw_object_begin(&w);
		jw_kstring(&w, "file", hw->file);
		jw_kstring(&w, "project", hw->project);
		jw_kstring(&w, "version", hw->version);
		jw_kstring(&w, "sha256", hw->sha256);
		jw_kint(&w, "size", (long long)hw->size);
		jw_key(&w, "variants");
		jw_array_begin(&w);
		for (size_t i = 0; i < spec->nwheels; i++) {
			if (strcmp(spec->wheels[i].file, hw->file))
				continue;
			const struct house_variant *v = &spec->variants[spec->wheels[i].variant];
			jw_object_begin(&w);
			jw_kstring(&w, "recipe", v->recipe);
			jw_kstring(&w, "variant", v->label);
			jw_kstring(&w, "toolchain", v->tc->name);
			jw_kstring(&w, "python", v->python);
			jw_kstring(&w, "build_key", v->key);
			jw_kbool(&w, "dependency_of_source", !spec->wheels[i].main);
			jw_kbool(&w, "built", v->built);
			jw_key(&w, "source"); /* commit, file digests, submodule commits */
			pin_write_identity(&w, v->pin, v->python);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	buf_addch(out, '\n');
}

static int write_manifest(const struct house_spec *spec, const char *tmp,
			  const struct house_result *r, struct diags *d)
{
	char lock_digest[SHA256_HEX_SIZE];
	bool have_lock = spec->lock_path && sha256_file_hex(spec->lock_path, lock_digest) == 0;
	struct buf manifest = BUF_INIT;
	manifest_render(spec, r, have_lock ? lock_digest : NULL, &manifest);
	char *mpath = path_join(tmp, "manifest.json");
	int rc = write_file_atomic(mpath, manifest.data, manifest.len);
	free(mpath);
	buf_release(&manifest);
	if (rc < 0)
		return diag_error(d, NULL, "cannot write the manifest in %s: %s", tmp,
				  strerror(errno));
	return 0;
}

/* "project==version --hash=sha256:<digest>" of every wheel of the variants labelled
 * `label` (their own, the closures of wheel sources, the runtime closures of built ones),
 * sorted, each once: what `pip install --require-hashes -r` installs. */
static void requirements_text(const struct house_spec *spec, const char *label, struct buf *text)
{
	char **lines = NULL;
	size_t nl = 0;
	for (size_t p = 0; p < spec->nwheels; p++) {
		const struct house_input *w = &spec->wheels[p];
		struct wheel_name wn;
		if (strcmp(spec->variants[w->variant].label, label) ||
		    wheel_name_parse(w->file, &wn) < 0)
			continue;
		struct buf line = BUF_INIT;
		buf_addf(&line, "%s==%s --hash=sha256:%s", wn.dist, wn.version, w->sha256);
		wheel_name_release(&wn);
		lines = xrealloc(lines, (nl + 1) * sizeof(char *));
		lines[nl++] = buf_detach(&line);
	}
	qsort(lines, nl, sizeof(char *), strv_cmp);
	for (size_t k = 0; k < nl; k++)
		if (!k || strcmp(lines[k - 1], lines[k]))
			buf_addf(text, "%s\n", lines[k]);
	for (size_t k = 0; k < nl; k++)
		free(lines[k]);
	free(lines);
}

/* The Dockerfiles' target of `v`, whose requirements are `rel` (taken). */
static int add_target(const struct house_spec *spec, const struct house_variant *v, char *rel,
		      struct house_result *r, struct diags *d)
{
	char *image = docker_image_for(v->tc, v->python);
	if (!image) {
		free(rel);
		diag_error(d, &v->tc->pos, "toolchain \"%s\" needs an \"image\" for the "
					   "wheelhouse's Dockerfiles", v->tc->name);
		diag_hint(d, "add \"image\": the base image its wheels run in, such as the "
			     "vendor's runtime image");
		return -1;
	}
	r->owned = xrealloc(r->owned, (r->nowned + 2) * sizeof(char *));
	r->owned[r->nowned++] = image;
	r->owned[r->nowned++] = rel;
	r->targets = xrealloc(r->targets, (r->ntargets + 1) * sizeof(*r->targets));
	r->targets[r->ntargets++] = (struct docker_target){
		.label = v->label,
		.toolchain = v->tc->name,
		.python = v->python,
		.image = image,
		.cuda_version = v->tc->cuda.enabled ? v->tc->cuda.version : NULL,
		.musa_version = v->tc->musa.enabled ? v->tc->musa.version : NULL,
		.system_nccl = v->tc->cuda.enabled && v->tc->nccl_system,
		.requirements = rel,
		.epoch = label_epoch(spec, v->label),
	};
	return 0;
}

/* requirements/<label>.txt per label, in plan order, and the Dockerfiles' target of each. */
static int write_requirements(const struct house_spec *spec, const char *dir,
			      struct house_result *r, struct diags *d)
{
	char *reqdir = path_join(dir, "requirements");
	int rc = make_dirs(reqdir, 0755) < 0
			 ? diag_error(d, NULL, "cannot create %s: %s", reqdir, strerror(errno))
			 : 0;
	for (size_t i = 0; i < spec->nvariants && rc == 0; i++) {
		const struct house_variant *v = &spec->variants[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(spec->variants[k].label, v->label);
		if (seen)
			continue;
		struct buf text = BUF_INIT, rel = BUF_INIT, path = BUF_INIT;
		requirements_text(spec, v->label, &text);
		buf_addf(&rel, "requirements/%s.txt", v->label);
		buf_addf(&path, "%s/%s", dir, rel.data);
		if (write_file_atomic(path.data, text.data, text.len) < 0)
			rc = diag_error(d, NULL, "cannot write %s: %s", path.data, strerror(errno));
		buf_release(&path);
		buf_release(&text);
		if (add_target(spec, v, buf_detach(&rel), r, d) < 0)
			rc = -1;
	}
	free(reqdir);
	return rc;
}

/*
 * variants/<label>/ for each label, in plan order: hard links to exactly the wheels of the
 * variants with that label (their own wheels and the closures they pin; copies where links
 * fail) and to requirements/<label>.txt, at the same relative paths as in the wheelhouse.
 * Dockerfile.release is built with variants/<label> as its context, which its install step
 * bind-mounts: BuildKit puts a checksum of what a RUN mounts into its cache key, so with the
 * whole wheelhouse mounted every file of every variant would rebuild that layer. The links take no space, and the
 * index, SHA256SUMS and manifest describe the top of the wheelhouse as before.
 */
static int stage_variants(const struct house_spec *spec, const char *dir, struct diags *d)
{
	int rc = 0;
	for (size_t i = 0; i < spec->nvariants && rc == 0; i++) {
		const char *label = spec->variants[i].label;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(spec->variants[k].label, label);
		if (seen)
			continue;
		struct buf vdir = BUF_INIT, reqdir = BUF_INIT, rel = BUF_INIT;
		buf_addf(&vdir, "%s/variants/%s", dir, label);
		buf_addf(&reqdir, "%s/requirements", vdir.data);
		buf_addf(&rel, "requirements/%s.txt", label);
		if (make_dirs(reqdir.data, 0755) < 0)
			rc = diag_error(d, NULL, "cannot create %s: %s", reqdir.data, strerror(errno));
		for (size_t p = 0; p < spec->nwheels + 1 && rc == 0; p++) {
			const char *name = rel.data; /* last: the requirements file */
			if (p < spec->nwheels) {
				const struct house_input *w = &spec->wheels[p];
				if (strcmp(spec->variants[w->variant].label, label))
					continue;
				name = w->file;
			}
			char *src = path_join(dir, name), *dest = path_join(vdir.data, name);
			if (!path_exists(dest)) /* a wheel several variants of the label bring */
				rc = place(src, dest, d);
			free(src);
			free(dest);
		}
		buf_release(&rel);
		buf_release(&reqdir);
		buf_release(&vdir);
	}
	return rc;
}

/* Replaces `dir` with `tmp`: only an earlier wheelhouse (or an empty directory) is replaced. */
static int swap_in(const char *tmp, const char *dir, struct diags *d)
{
	if (path_exists(dir)) {
		char *manifest = path_join(dir, "manifest.json");
		char **names = NULL;
		size_t n = 0;
		bool empty = list_dir(dir, NULL, &names, &n) == 0 && n == 0;
		free_names(names, n);
		bool house = path_exists(manifest);
		free(manifest);
		if (!house && !empty)
			return diag_error(d, NULL, "%s exists and is not a wheelhouse (no manifest.json): "
						   "nothing was replaced", dir),
			       diag_hint(d, "name a new or empty directory, or remove that one"), -1;
		struct buf old = BUF_INIT;
		buf_addf(&old, "%s.old-%ld", dir, (long)getpid());
		if (rename(dir, old.data) < 0) {
			buf_release(&old);
			return diag_error(d, NULL, "cannot replace %s: %s", dir, strerror(errno));
		}
		if (rename(tmp, dir) < 0) {
			int e = errno;
			rename(old.data, dir);
			buf_release(&old);
			return diag_error(d, NULL, "cannot replace %s: %s", dir, strerror(e));
		}
		remove_tree(old.data);
		buf_release(&old);
		return 0;
	}
	if (rename(tmp, dir) < 0)
		return diag_error(d, NULL, "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

/* Everything of the wheelhouse into `tmp`. */
static int house_fill(const struct house_spec *spec, const char *tmp, struct house_result *r,
		      struct diags *d)
{
	if (make_dirs(tmp, 0755) < 0)
		return diag_error(d, NULL, "cannot create %s: %s", tmp, strerror(errno));
	if (stage_wheels(spec, tmp, r, d) < 0)
		return -1;
	if (house_sort(r->v, r->n, d) < 0) {
		r->bad_input = true;
		return -1;
	}
	if (house_write_index(tmp, r->v, r->n, d) < 0 || write_manifest(spec, tmp, r, d) < 0)
		return -1;
	/* these need each toolchain's image; a file here that cannot be written counts as a
	 * wrong input too (exit status 2), as it always has */
	if (write_requirements(spec, tmp, r, d) < 0) {
		r->bad_input = true;
		return -1;
	}
	if (spec->dev && dev_stage_write(tmp, spec->dev, d) < 0)
		return -1;
	struct docker_input din = { .t = r->targets, .n = r->ntargets,
				    .source_date_epoch = spec->epoch, .set_name = spec->set_name,
				    .syntax = spec->dockerfile_syntax };
	if (dockerfiles_write(tmp, &din, d) < 0) {
		r->bad_input = true;
		return -1;
	}
	/* after the Dockerfiles, which checked that every label is a plain file name */
	if (stage_variants(spec, tmp, d) < 0)
		return -1;
	if (spec->check && spec->check(spec->check_ctx, tmp, r, d) < 0) {
		r->bad_input = true;
		return -1;
	}
	return 0;
}

int house_collect(const struct house_spec *spec, struct house_result *r, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", spec->dir, (long)getpid());
	remove_tree(tmp.data);
	int rc = house_fill(spec, tmp.data, r, d);
	if (rc == 0)
		rc = swap_in(tmp.data, spec->dir, d);
	if (rc < 0)
		remove_tree(tmp.data);
	buf_release(&tmp);
	return rc;
}
