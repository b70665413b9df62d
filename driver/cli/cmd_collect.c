/* ptbuild collect: the wheels of the plan into a wheelhouse that images install from. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/buildenv.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "wheels/dockerfiles.h"
#include "wheels/finish.h"
#include "util/json.h"
#include "build/outcache.h"
#include "session/session.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"
#include "wheels/wheelhouse.h"

static const char collect_help[] =
	"usage: ptbuild collect --out DIR [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                       [--slim]\n"
	"\n"
	"Puts the wheels of every variant of the plan (the targets and what they depend on,\n"
	"built ones from the output cache, wheel sources from their pinned files) into DIR:\n"
	"  *.whl                        the wheels (`pip install --find-links DIR`)\n"
	"  simple/<project>/index.html  a PEP 503 index with #sha256= links\n"
	"                               (`pip install --index-url file://DIR/simple`)\n"
	"  SHA256SUMS                   for `sha256sum -c`\n"
	"  manifest.json                each wheel: recipe, variant, toolchain, Python, build key,\n"
	"                               source commit and submodule commits, the lock's digest\n"
	"  requirements/<variant>.txt   the pinned versions of one toolchain and Python\n"
	"  Dockerfile.base|dev|release  images from the toolchain's base image; release\n"
	"  docker-entrypoint.sh         installs only the wheelhouse, offline\n"
	"DIR is replaced as a whole (written beside it, then renamed); collecting the same\n"
	"builds again gives identical files. Every variant must be built (`ptbuild build`).\n"
	"Sources are pinned as `build` pins them: from ptbuild.lock, or resolved if not locked.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --out DIR        the wheelhouse (required)\n"
	"  --slim           drop test trees and debug symbols from the wheels (headers and\n"
	"                   share/cmake stay); prints the sizes before and after\n"
	"  --json           what was collected as JSON on stdout\n"
	"\n"
	"exit status: 0 collected, 1 a variant is not built, 2 an input is wrong, 3 DIR cannot\n"
	"be written.\n";

enum { OPT_OUT = 3100, OPT_SLIM };

struct collect_args {
	struct plan_args plan;
	const char *out;
	bool slim;
};

static const struct option collect_long[] = {
	PLAN_LONG_OPTIONS,
	{ "out", required_argument, NULL, OPT_OUT },
	{ "slim", no_argument, NULL, OPT_SLIM },
	{ NULL, 0, NULL, 0 },
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	struct collect_args *a = ctx;
	if (opt == OPT_OUT) {
		a->out = arg;
		return 0;
	}
	if (opt == OPT_SLIM) {
		a->slim = true;
		return 0;
	}
	return plan_args_option(&a->plan, opt, arg) ? 0 : -1;
}

/* A wheel of the plan: where it is, and which variant brought it. */
struct picked {
	char *src;                    /* owned: the file in the cache */
	char *file;                   /* owned */
	char sha256[SHA256_HEX_SIZE];
	uint64_t size;
	size_t variant;               /* plan index */
	bool main;                    /* the variant's own wheel (not a dependency it pins) */
};

struct collect {
	struct session *s;
	struct pins *pins;
	struct cli *cli;
	struct picked *v;
	size_t n, cap;
	long long epoch;              /* the newest source date: the images' default */
};

static void pick(struct collect *c, char *src, const char *file, const char *sha256,
		 uint64_t size, size_t variant, bool main)
{
	GROW(c->v, c->cap, c->n + 1);
	struct picked *p = &c->v[c->n++];
	p->src = src;
	p->file = xstrdup(file);
	snprintf(p->sha256, sizeof(p->sha256), "%s", sha256);
	p->size = size;
	p->variant = variant;
	p->main = main;
}

/* The wheels of every variant; an error for each one that is not built. */
static int pick_all(struct collect *c)
{
	struct session *s = c->s;
	int missing = 0;
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		long long epoch = buildenv_source_epoch(s->cache_dir, c->pins, v);
		if (epoch > c->epoch)
			c->epoch = epoch;
		if (v->recipe->source.kind == SOURCE_WHEEL) {
			const struct pin *pin = pins_find(c->pins, v->recipe->name);
			if (!pin || !pin->nfiles) {
				diag_error(&c->cli->diags, NULL, "%s (%s): the wheel source is not in "
								"ptbuild.lock", v->recipe->name, v->label);
				diag_hint(&c->cli->diags, "run `ptbuild lock` (or `ptbuild build`) first");
				missing++;
				continue;
			}
			char *project = requirement_project(v->recipe->source.location);
			for (size_t f = 0; f < pin->nfiles; f++) {
				const struct pinned_file *pf = &pin->files[f];
				if (pf->python && strcmp(pf->python, v->python))
					continue;
				struct buf p = BUF_INIT;
				buf_addf(&p, "%s/dist/%s/%s", s->cache_dir, pf->sha256, pf->name);
				struct stat st;
				if (stat(p.data, &st) < 0) {
					diag_error(&c->cli->diags, NULL, "%s (%s): %s is not in the cache (%s)",
						   v->recipe->name, v->label, pf->name, p.data);
					diag_hint(&c->cli->diags, "`ptbuild fetch %s` downloads it again",
						  v->recipe->name);
					buf_release(&p);
					missing++;
					continue;
				}
				struct wheel_name wn;
				bool main = pin->nfiles == 1;
				if (!main && wheel_name_parse(pf->name, &wn) == 0) {
					char *norm = dist_normalize(wn.dist);
					main = !strcmp(norm, project);
					free(norm);
					wheel_name_release(&wn);
				}
				pick(c, buf_detach(&p), pf->name, pf->sha256, (uint64_t)st.st_size, i, main);
			}
			free(project);
			continue;
		}
		char *dir = out_entry_dir(s->cache_dir, v->key);
		char *manifest = path_join(dir, "manifest.json");
		struct build_record rec;
		struct diags d;
		diags_init(&d);
		if (!out_entry_exists(s->cache_dir, v->key) || build_record_load(manifest, &rec, &d) < 0) {
			diag_error(&c->cli->diags, NULL, "%s (%s) is not built: the output cache has no "
							"entry for its key %.16s", v->recipe->name,
				   v->label, v->key);
			diag_hint(&c->cli->diags, "run `ptbuild build%s%s` first; `ptbuild explain %s` "
						  "says what changed since its last build",
				  session_set_name(s) ? " --set " : "",
				  session_set_name(s) ? session_set_name(s) : "", v->recipe->name);
			missing++;
		} else {
			for (size_t w = 0; w < rec.nwheels; w++)
				pick(c, path_join(dir, rec.wheels[w].file), rec.wheels[w].file,
				     rec.wheels[w].sha256, rec.wheels[w].size, i, true);
			build_record_release(&rec);
		}
		diags_release(&d);
		free(manifest);
		free(dir);
	}
	return missing ? -1 : 0;
}

/* Hard link (same file system: instant, no space), else a copy. */
static int place(const char *src, const char *dest, struct diags *d)
{
	if (link(src, dest) == 0)
		return 0;
	int rc = 0;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		rc = diag_error(d, NULL, "cannot copy %s to %s: %s", src, dest, strerror(errno));
	} else {
		char chunk[1 << 16];
		ssize_t n;
		while ((n = read(in, chunk, sizeof(chunk))) > 0)
			if (write(out, chunk, (size_t)n) != n) {
				n = -1;
				break;
			}
		if (n < 0 || close(out) < 0)
			rc = diag_error(d, NULL, "cannot copy %s to %s: %s", src, dest, strerror(errno));
		out = -1;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static void write_manifest(struct collect *c, const struct house_wheel *hw, size_t nh,
			   const char *lock_digest, struct buf *out)
{
	struct session *s = c->s;
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
	if (session_set_name(s))
		jw_string(&w, session_set_name(s));
	else
		jw_null(&w);
	jw_kint(&w, "source_date_epoch", c->epoch);
	jw_key(&w, "wheels");
	jw_array_begin(&w);
	for (size_t h = 0; h < nh; h++) {
		if (h && !strcmp(hw[h - 1].file, hw[h].file))
			continue;
		jw_object_begin(&w);
		jw_kstring(&w, "file", hw[h].file);
		jw_kstring(&w, "project", hw[h].project);
		jw_kstring(&w, "version", hw[h].version);
		jw_kstring(&w, "sha256", hw[h].sha256);
		jw_kint(&w, "size", (long long)hw[h].size);
		jw_key(&w, "variants");
		jw_array_begin(&w);
		for (size_t i = 0; i < c->n; i++) {
			if (strcmp(c->v[i].file, hw[h].file))
				continue;
			const struct variant *v = &s->plan.v[c->v[i].variant];
			jw_object_begin(&w);
			jw_kstring(&w, "recipe", v->recipe->name);
			jw_kstring(&w, "variant", v->label);
			jw_kstring(&w, "toolchain", v->tc->name);
			jw_kstring(&w, "python", v->python);
			jw_kstring(&w, "build_key", v->key);
			jw_kbool(&w, "dependency_of_source", !c->v[i].main);
			jw_kbool(&w, "built", v->recipe->source.kind != SOURCE_WHEEL);
			jw_key(&w, "source"); /* commit, file digests, submodule commits */
			pin_write_identity(&w, pins_find(c->pins, v->recipe->name), v->python);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	buf_addch(out, '\n');
}

/* requirements/<label>.txt: "project==version" of every variant's own wheels per label. */
static int write_requirements(struct collect *c, const char *dir, struct docker_target **targets,
			      size_t *ntargets, char ***owned, size_t *nowned, struct diags *d)
{
	struct session *s = c->s;
	char *reqdir = path_join(dir, "requirements");
	int rc = make_dirs(reqdir, 0755) < 0
			 ? diag_error(d, NULL, "cannot create %s: %s", reqdir, strerror(errno))
			 : 0;
	for (size_t i = 0; i < s->plan.n && rc == 0; i++) {
		const struct variant *v = &s->plan.v[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(s->plan.v[k].label, v->label);
		if (seen)
			continue;
		struct buf text = BUF_INIT;
		char **lines = NULL;
		size_t nl = 0;
		for (size_t p = 0; p < c->n; p++) {
			const struct variant *pv = &s->plan.v[c->v[p].variant];
			struct wheel_name wn;
			if (!c->v[p].main || strcmp(pv->label, v->label) ||
			    wheel_name_parse(c->v[p].file, &wn) < 0)
				continue;
			struct buf line = BUF_INIT;
			buf_addf(&line, "%s==%s", wn.dist, wn.version);
			wheel_name_release(&wn);
			lines = xrealloc(lines, (nl + 1) * sizeof(char *));
			lines[nl++] = buf_detach(&line);
		}
		qsort(lines, nl, sizeof(char *), strv_cmp);
		for (size_t k = 0; k < nl; k++) {
			if (!k || strcmp(lines[k - 1], lines[k]))
				buf_addf(&text, "%s\n", lines[k]);
		}
		for (size_t k = 0; k < nl; k++)
			free(lines[k]);
		free(lines);
		struct buf rel = BUF_INIT, path = BUF_INIT;
		buf_addf(&rel, "requirements/%s.txt", v->label);
		buf_addf(&path, "%s/%s", dir, rel.data);
		if (write_file_atomic(path.data, text.data, text.len) < 0)
			rc = diag_error(d, NULL, "cannot write %s: %s", path.data, strerror(errno));
		buf_release(&path);
		buf_release(&text);
		char *image = docker_image_for(v->tc, v->python);
		if (!image) {
			rc = diag_error(d, &v->tc->pos, "toolchain \"%s\" needs an \"image\" for the "
							"wheelhouse's Dockerfiles", v->tc->name);
			diag_hint(d, "add \"image\": the base image its wheels run in, such as the "
				     "vendor's runtime image");
			buf_release(&rel);
			continue;
		}
		*owned = xrealloc(*owned, (*nowned + 2) * sizeof(char *));
		(*owned)[(*nowned)++] = image;
		(*owned)[(*nowned)++] = buf_detach(&rel);
		*targets = xrealloc(*targets, (*ntargets + 1) * sizeof(**targets));
		(*targets)[(*ntargets)++] = (struct docker_target){
			.label = v->label,
			.toolchain = v->tc->name,
			.python = v->python,
			.image = image,
			.cuda_version = v->tc->cuda.enabled ? v->tc->cuda.version : NULL,
			.musa_version = v->tc->musa.enabled ? v->tc->musa.version : NULL,
			.system_nccl = v->tc->cuda.enabled && v->tc->nccl_system,
			.requirements = (*owned)[*nowned - 1],
		};
	}
	free(reqdir);
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

static int collect_into(struct collect *c, const struct collect_args *a, struct buf *json)
{
	struct session *s = c->s;
	struct diags *d = &c->cli->diags;
	char *dir = absolute_path(a->out);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", dir, (long)getpid());
	remove_tree(tmp.data);
	int code = EXIT_ENVIRONMENT;
	struct house_wheel *hw = xcalloc(c->n + 1, sizeof(*hw));
	size_t nh = 0;
	struct docker_target *targets = NULL;
	size_t ntargets = 0;
	char **owned = NULL;
	size_t nowned = 0;
	uint64_t before = 0, after = 0;
	size_t dropped = 0, stripped = 0;
	if (make_dirs(tmp.data, 0755) < 0) {
		diag_error(d, NULL, "cannot create %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	char *work_tmp = path_join(s->work_dir, "tmp");
	for (size_t i = 0; i < c->n; i++) {
		struct picked *p = &c->v[i];
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = !strcmp(c->v[k].file, p->file) && !strcmp(c->v[k].sha256, p->sha256);
		if (dup)
			continue;
		char *dest = path_join(tmp.data, p->file);
		int rc;
		if (a->slim) {
			struct finish_opts fo = { .epoch = c->epoch, .slim = true, .tmp_dir = work_tmp };
			struct finish_result fr;
			/* the repack keeps the name; the entry's own epoch is not known here, so the
			 * newest source date of the wheelhouse is used */
			rc = wheel_finish(p->src, tmp.data, &fo, &fr, d);
			if (rc == 0) {
				before += fr.size_before;
				after += fr.size_after;
				dropped += fr.dropped;
				stripped += fr.stripped;
				if (!c->cli->quiet && !c->cli->json)
					fprintf(c->cli->out, "slim %s: %.1f MiB -> %.1f MiB (%zu test files "
							     "dropped, %zu objects stripped)\n", p->file,
						fr.size_before / 1048576.0, fr.size_after / 1048576.0,
						fr.dropped, fr.stripped);
				rc = sha256_file_hex(dest, p->sha256);
				p->size = fr.size_after;
				finish_result_release(&fr);
			}
		} else {
			rc = place(p->src, dest, d);
		}
		free(dest);
		if (rc < 0) {
			free(work_tmp);
			goto out;
		}
		struct wheel_name wn;
		if (wheel_name_parse(p->file, &wn) < 0) {
			diag_error(d, NULL, "%s is not a wheel file name", p->file);
			free(work_tmp);
			code = EXIT_USAGE;
			goto out;
		}
		hw[nh].file = xstrdup(p->file);
		hw[nh].project = dist_normalize(wn.dist);
		hw[nh].version = xstrdup(wn.version);
		snprintf(hw[nh].sha256, sizeof(hw[nh].sha256), "%s", p->sha256);
		hw[nh].size = p->size;
		nh++;
		wheel_name_release(&wn);
	}
	free(work_tmp);
	if (house_sort(hw, nh, d) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if (house_write_index(tmp.data, hw, nh, d) < 0)
		goto out;
	char lock_digest[SHA256_HEX_SIZE];
	bool have_lock = s->lock_path && sha256_file_hex(s->lock_path, lock_digest) == 0;
	struct buf manifest = BUF_INIT;
	write_manifest(c, hw, nh, have_lock ? lock_digest : NULL, &manifest);
	char *mpath = path_join(tmp.data, "manifest.json");
	int mrc = write_file_atomic(mpath, manifest.data, manifest.len);
	free(mpath);
	buf_release(&manifest);
	if (mrc < 0) {
		diag_error(d, NULL, "cannot write the manifest in %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (write_requirements(c, tmp.data, &targets, &ntargets, &owned, &nowned, d) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	struct docker_input din = { .t = targets, .n = ntargets, .source_date_epoch = c->epoch,
				    .set_name = session_set_name(s) };
	if (dockerfiles_write(tmp.data, &din, d) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if (swap_in(tmp.data, dir, d) < 0)
		goto out;
	code = EXIT_OK;
	if (c->cli->json) {
		struct jw w;
		json_result_begin(&w, json, true);
		jw_kstring(&w, "out", dir);
		jw_key(&w, "wheels");
		jw_array_begin(&w);
		for (size_t i = 0; i < nh; i++) {
			jw_object_begin(&w);
			jw_kstring(&w, "file", hw[i].file);
			jw_kstring(&w, "sha256", hw[i].sha256);
			jw_kint(&w, "size", (long long)hw[i].size);
			jw_object_end(&w);
		}
		jw_array_end(&w);
		if (a->slim) {
			jw_kint(&w, "bytes_before", (long long)before);
			jw_kint(&w, "bytes_after", (long long)after);
		}
		json_result_end(c->cli, &w, json);
	} else if (!c->cli->quiet) {
		uint64_t total = 0;
		for (size_t i = 0; i < nh; i++)
			total += hw[i].size;
		fprintf(c->cli->out, "collected %zu wheel%s (%.1f MiB) into %s\n", nh,
			nh == 1 ? "" : "s", total / 1048576.0, dir);
		if (a->slim)
			fprintf(c->cli->out, "slim: %.1f MiB -> %.1f MiB (%zu test files dropped, %zu "
					     "shared objects stripped)\n", before / 1048576.0,
				after / 1048576.0, dropped, stripped);
		for (size_t t = 0; t < ntargets; t++)
			fprintf(c->cli->out, "image %s: cd %s && docker build -f Dockerfile.base "
					     "--build-arg VARIANT=%s --build-arg BASE_IMAGE=%s -t "
					     "ptbuild-base:%s . && docker build -f Dockerfile.release "
					     "--build-arg BASE=ptbuild-base:%s --build-arg VARIANT=%s .\n",
				targets[t].label, dir, targets[t].label, targets[t].image,
				targets[t].label, targets[t].label, targets[t].label);
	}
out:
	if (code != EXIT_OK)
		remove_tree(tmp.data);
	for (size_t i = 0; i < nh; i++)
		house_wheel_release(&hw[i]);
	free(hw);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(targets);
	buf_release(&tmp);
	free(dir);
	return code;
}

int cmd_collect(struct cli *cli, int argc, char **argv)
{
	struct collect_args a = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct collect c = { .s = &s, .pins = &pins, .cli = cli, .epoch = WHEEL_EPOCH_MIN };
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", collect_long, on_option, &a, collect_help);
	if (first == -2)
		goto done;
	if (first < 0 || !a.out) {
		if (first >= 0)
			diag_error(&cli->diags, NULL, "collect needs --out DIR: the wheelhouse to write");
		code = EXIT_USAGE;
		goto done;
	}
	code = cli_session_open(cli, &s, &a.plan, argv + first, (size_t)(argc - first));
	if (code != EXIT_OK)
		goto done;
	/* as `build` pins: the lock where it matches the recipes, else resolved (without a lock
	 * a build's keys come from resolved sources, so collect must resolve them the same way) */
	struct pin_request rq = { .note_unlocked = true };
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	if (pick_all(&c) < 0) {
		code = EXIT_BUILD_FAILED;
		goto done;
	}
	struct buf json = BUF_INIT;
	code = collect_into(&c, &a, &json);
	buf_release(&json);
done:
	if (cli->json && code != EXIT_OK && first != -2)
		print_failure_json(cli);
	code = cli_finish(cli, code);
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].src);
		free(c.v[i].file);
	}
	free(c.v);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}
