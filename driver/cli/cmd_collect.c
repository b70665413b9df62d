/* ptbuild collect: the wheels of the plan into a wheelhouse that images install from. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/buildenv.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "build/outcache.h"
#include "session/session.h"
#include "plan/fingerprint.h"
#include "session/trees.h"
#include "sources/sources.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"
#include "wheels/wheelhouse.h"

static const char collect_help[] =
	"usage: ptbuild collect --out DIR [TARGET...] [--set F] [--toolchain T] [--python V]\n"
	"                       [--slim] [--dockerfile-syntax IMAGE] [--ptbuild-source DIR]\n"
	"                       [--locked | --frozen] [--remote-cache URL]\n"
	"\n"
	"Puts the wheels of every variant of the plan (the targets and what they depend on,\n"
	"built ones from the output cache, wheel sources from their pinned files) into DIR:\n"
	"  *.whl                        the wheels (`pip install --find-links DIR`)\n"
	"  simple/<project>/index.html  a PEP 503 index with #sha256= links\n"
	"  *.whl.metadata               each wheel's METADATA (PEP 658), named by the index\n"
	"                               (`pip install --index-url file://DIR/simple`)\n"
	"  SHA256SUMS                   for `sha256sum -c`\n"
	"  manifest.json                each wheel: recipe, variant, toolchain, Python, build key,\n"
	"                               source commit and submodule commits, the lock's digest\n"
	"  requirements/<variant>.txt   every wheel of one toolchain and Python, pinned with\n"
	"                               its sha256 (`pip install --require-hashes -r`)\n"
	"  Dockerfile.base|dev|release  images from the toolchain's base image; release\n"
	"  docker-entrypoint.sh         installs only the wheelhouse, offline\n"
	"  dev/ptbuild/, dev/project/   what Dockerfile.dev copies: ptbuild's sources, and the\n"
	"                               project's recipes, toolchains, patches, lock, mirrors\n"
	"                               and build/src/ trees (hard links where possible)\n"
	"DIR is replaced as a whole (written beside it, then renamed); collecting the same\n"
	"builds again gives identical files. Every variant must be built (`ptbuild build`).\n"
	"Sources are pinned as `build` pins them: from ptbuild.lock, or resolved if not locked.\n"
	"The runtime requirements of built wheels that the plan does not provide (scipy for\n"
	"torch_sparse) come with them: the closure ptbuild.lock pins, else resolved with pip\n"
	"from the index. Before DIR is replaced, pip proves that every variant installs from\n"
	"DIR alone (--no-index --require-hashes, dry run); if not, nothing is replaced and the\n"
	"error names the wheel and the requirement.\n"
	"\n"
	PLAN_OPTIONS_HELP
	"  --out DIR        the wheelhouse (required)\n"
	"  --slim           drop test trees and debug symbols from the wheels (headers and\n"
	"                   share/cmake stay); prints the sizes before and after\n"
	"  --dockerfile-syntax IMAGE\n"
	"                   start each Dockerfile with `# syntax=IMAGE` (a frontend your\n"
	"                   registry mirrors); by default none: the engine's built-in\n"
	"                   frontend (Docker >= 20.10 with BuildKit) needs no network\n"
	"  --locked         sources and runtime closures from ptbuild.lock only\n"
	"  --frozen         --locked without network access: every file from the cache\n"
	"  --ptbuild-source DIR\n"
	"                   ptbuild's sources for dev/ptbuild/ (default: the installed copy in\n"
	"                   <prefix>/share/ptbuild/src, else the tree this binary was built from)\n"
	"  --json           what was collected as JSON on stdout\n"
	REMOTE_HELP
	"                   collect downloads the entries the local cache lacks from the\n"
	"                   remote cache (never uploads; not with --frozen)\n"
	"\n"
	"exit status: 0 collected, 1 a variant is not built, 2 an input is wrong (or the\n"
	"wheelhouse would be incomplete), 3 DIR cannot be written or a file cannot be had.\n";

enum { OPT_OUT = 3100, OPT_SLIM, OPT_SYNTAX, OPT_PTBUILD_SOURCE, OPT_COLLECT_LOCKED,
       OPT_COLLECT_FROZEN };

struct collect_args {
	struct plan_args plan;
	const char *out;
	const char *syntax;
	const char *ptbuild_source;
	struct remote_args remote;
	bool slim, locked, frozen;
};

static const struct option collect_long[] = {
	PLAN_LONG_OPTIONS,
	{ "out", required_argument, NULL, OPT_OUT },
	{ "slim", no_argument, NULL, OPT_SLIM },
	{ "dockerfile-syntax", required_argument, NULL, OPT_SYNTAX },
	{ "locked", no_argument, NULL, OPT_COLLECT_LOCKED },
	{ "frozen", no_argument, NULL, OPT_COLLECT_FROZEN },
	{ "ptbuild-source", required_argument, NULL, OPT_PTBUILD_SOURCE },
	REMOTE_LONG_OPTIONS,
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
	if (opt == OPT_SYNTAX) {
		a->syntax = arg;
		return 0;
	}
	if (opt == OPT_COLLECT_LOCKED || opt == OPT_COLLECT_FROZEN) {
		*(opt == OPT_COLLECT_LOCKED ? &a->locked : &a->frozen) = true;
		return 0;
	}
	if (opt == OPT_PTBUILD_SOURCE) {
		a->ptbuild_source = arg;
		return 0;
	}
	return plan_args_option(&a->plan, opt, arg) || remote_args_option(&a->remote, opt, arg)
		       ? 0 : -1;
}

struct collect {
	struct session *s;
	struct pins *pins;
	struct cli *cli;
	struct house_input *v;        /* owned, and so are their src and file */
	size_t n, cap;
	long long epoch;              /* the newest source date: the images' default */
	long long *epochs;            /* owned: each plan variant's source date */
	struct remote_cache *remote;  /* borrowed: where missing entries come from, or NULL */
};

static void pick(struct collect *c, char *src, const char *file, const char *sha256,
		 uint64_t size, size_t variant, bool main)
{
	GROW(c->v, c->cap, c->n + 1);
	struct house_input *p = &c->v[c->n++];
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
		c->epochs[i] = epoch;
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
		bool refused = false;
		if (!out_entry_exists(s->cache_dir, v->key) && c->remote &&
		    remote_cache_fetch(c->remote, s->cache_dir, s->work_dir, v->key, &rec, &refused,
				       &c->cli->diags) == 1)
			build_record_release(&rec); /* entered: read below as a local entry */
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

/* The runtime closures of the built variants, as dependencies of each. */
static int pick_runtime(struct collect *c, const struct collect_args *a)
{
	struct session *s = c->s;
	struct runtime_request rr = {
		.mode = a->frozen ? RUNTIME_FROZEN : a->locked ? RUNTIME_LOCKED : RUNTIME_RESOLVE,
		.offline = a->frozen,
		.offline_flag = a->frozen ? "--frozen" : NULL,
		.lock = s->have_lock ? &s->lock : NULL,
	};
	struct runtime_set rt;
	int code = cli_runtime(c->cli, s, c->pins, &rr, false, &rt);
	for (size_t i = 0; code == EXIT_OK && i < rt.n; i++) {
		const struct runtime_closure *rc = &rt.v[i];
		for (size_t f = 0; f < rc->nfiles; f++) {
			struct stat st;
			uint64_t size = stat(rc->files[f].path, &st) == 0 ? (uint64_t)st.st_size : 0;
			pick(c, xstrdup(rc->files[f].path), rc->files[f].name, rc->files[f].sha256,
			     size, rc->variant, false);
		}
	}
	runtime_set_release(&rt);
	return code;
}

/* The interpreter of Python `version` in the plan, or NULL. */
static const char *interpreter_of(const struct session *s, const char *version)
{
	const struct python_fp *fp = fingerprints_python(&s->plan.fp, version);
	return fp ? fp->interpreter : NULL;
}

/*
 * house_collect's check: each variant installs from the new wheelhouse alone. pip run by
 * the variant's interpreter, --isolated (no configuration or PIP_* variables), resolves
 * requirements/<variant>.txt with --no-index --require-hashes --dry-run: a requirement no
 * wheel there answers, or one not pinned in the file, fails with pip's words, which name
 * the requirement and the wheel that has it.
 */
static int check_complete(void *ctx, const char *tmp, const struct house_result *r,
			  struct diags *d)
{
	const struct session *s = ctx;
	int errors = 0;
	for (size_t t = 0; t < r->ntargets; t++) {
		const struct docker_target *dt = &r->targets[t];
		const char *python = interpreter_of(s, dt->python);
		if (!python) {
			diag_warn(d, NULL, "no Python %s interpreter here to check that %s installs "
					   "from the wheelhouse alone", dt->python, dt->label);
			continue;
		}
		/* variants/<label>/: exactly the label's wheels (what Dockerfile.release mounts) */
		struct buf links = BUF_INIT;
		buf_addf(&links, "%s/variants/%s", tmp, dt->label);
		char *req = path_join(tmp, dt->requirements);
		/* --report makes a dry run pass PEP 668's check of an externally managed
		 * (Debian's) Python: nothing is installed */
		const char *argv[] = { python, "-m", "pip", "install", "--isolated", "--dry-run",
				       "--report", "/dev/null", "--ignore-installed", "--no-index", "--require-hashes",
				       "--disable-pip-version-check", "--no-input",
				       "--find-links", links.data, "-r", req, NULL };
		struct buf log = BUF_INIT;
		int status = run_capture(argv, &log, 30 * 60 * 1000);
		if (status != 0) {
			struct buf why = BUF_INIT;
			const char *cursor = log.data ? log.data : "";
			for (char *line; (line = next_line(&cursor)); free(line))
				if (starts_with(line, "ERROR: ") || starts_with(line, "    "))
					buf_addf(&why, "\n  %s", starts_with(line, "ERROR: ") ? line + 7 : line + 4);
			char *shown = str_replace_all(why.data ? why.data : "", tmp, "<wheelhouse>");
			diag_error(d, NULL, "the wheelhouse does not install %s by itself: pip "
					    "(%s) says:%s", dt->label, python,
				   *shown ? shown : " (nothing; exit status not 0)");
			diag_hint(d, "a wheel requires a project no wheel of %s provides at a pinned "
				     "version: add the recipe that builds it to the set, or pin the "
				     "runtime closure (`ptbuild lock` after `ptbuild build`)", dt->label);
			free(shown);
			buf_release(&why);
			errors++;
		}
		buf_release(&log);
		buf_release(&links);
		free(req);
	}
	return errors ? -1 : 0;
}

/* --slim's line per wheel, as each is done. */
static void on_slim(void *ctx, const char *file, const struct finish_result *fr)
{
	struct cli *cli = ctx;
	if (!cli->quiet && !cli->json)
		fprintf(cli->out, "slim %s: %.1f MiB -> %.1f MiB (%zu test files dropped, %zu "
				  "objects stripped)\n", file, fr->size_before / 1048576.0,
			fr->size_after / 1048576.0, fr->dropped, fr->stripped);
}

static void print_json(struct cli *cli, const char *dir, const struct house_result *r,
		       bool slim, struct buf *json)
{
	struct jw w;
	json_result_begin(&w, json, true);
	jw_kstring(&w, "out", dir);
	jw_key(&w, "wheels");
	jw_array_begin(&w);
	for (size_t i = 0; i < r->n; i++) {
		jw_object_begin(&w);
		jw_kstring(&w, "file", r->v[i].file);
		jw_kstring(&w, "sha256", r->v[i].sha256);
		jw_kint(&w, "size", (long long)r->v[i].size);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	if (slim) {
		jw_kint(&w, "bytes_before", (long long)r->bytes_before);
		jw_kint(&w, "bytes_after", (long long)r->bytes_after);
	}
	json_result_end(cli, &w, json);
}

static void print_text(struct cli *cli, const char *dir, const struct house_result *r, bool slim)
{
	uint64_t total = 0;
	for (size_t i = 0; i < r->n; i++)
		total += r->v[i].size;
	fprintf(cli->out, "collected %zu wheel%s (%.1f MiB) into %s\n", r->n, r->n == 1 ? "" : "s",
		total / 1048576.0, dir);
	if (slim)
		fprintf(cli->out, "slim: %.1f MiB -> %.1f MiB (%zu test files dropped, %zu "
				  "shared objects stripped)\n", r->bytes_before / 1048576.0,
			r->bytes_after / 1048576.0, r->dropped, r->stripped);
	for (size_t t = 0; t < r->ntargets; t++) {
		const struct docker_target *dt = &r->targets[t];
		fprintf(cli->out, "image %s: ptbuild image base --wheelhouse %s --variant %s && "
				  "ptbuild image release --wheelhouse %s --variant %s\n",
			dt->label, dir, dt->label, dir, dt->label);
	}
}

/* The names under build/src/ of the trees the plan builds from (what Dockerfile.dev copies);
 * owned array of owned names. */
static char **plan_trees(const struct session *s, size_t *n)
{
	struct tree_work w = { 0 };
	struct diags d;
	diags_init(&d);
	char **names = xcalloc(1, sizeof(char *));
	*n = 0;
	/* unresolved series have no tree to copy yet: the build said so already */
	if (trees_list(&s->plan, &s->project, &(struct tree_select){ 0 }, &w, &d) == 0) {
		names = xrealloc(names, (w.n + 1) * sizeof(char *));
		for (size_t i = 0; i < w.n; i++) {
			enum source_kind k = w.v[i].r->source.kind;
			if (k == SOURCE_WHEEL || k == SOURCE_PATH)
				continue;
			names[(*n)++] = source_tree_name(w.v[i].r, w.v[i].patches ? w.v[i].digest
										  : NULL);
		}
	}
	trees_release(&w);
	diags_release(&d);
	return names;
}

/* The wheelhouse of what pick_all found, written by the wheels layer; the exit code. */
static int collect_into(struct collect *c, const struct collect_args *a, struct buf *json)
{
	struct session *s = c->s;
	char *ptbuild_source = dev_stage_find_source(a->ptbuild_source, &c->cli->diags);
	if (!ptbuild_source)
		return EXIT_ENVIRONMENT;
	size_t ntrees = 0;
	char **trees = plan_trees(s, &ntrees);
	struct dev_stage dev = {
		.ptbuild_source = ptbuild_source,
		.project_dir = s->project.dir,
		.work_dir = s->work_dir,
		.trees = (const char *const *)trees,
		.ntrees = ntrees,
	};
	struct house_variant *hv = xcalloc(s->plan.n + 1, sizeof(*hv));
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct variant *v = &s->plan.v[i];
		hv[i] = (struct house_variant){
			.recipe = v->recipe->name,
			.label = v->label,
			.tc = v->tc,
			.python = v->python,
			.key = v->key,
			.built = v->recipe->source.kind != SOURCE_WHEEL,
			.pin = pins_find(c->pins, v->recipe->name),
			.epoch = c->epochs[i],
		};
	}
	char *dir = absolute_path(a->out);
	char *work_tmp = path_join(s->work_dir, "tmp");
	struct house_spec spec = {
		.dir = dir,
		.dockerfile_syntax = a->syntax,
		.variants = hv,
		.nvariants = s->plan.n,
		.wheels = c->v,
		.nwheels = c->n,
		.epoch = c->epoch,
		.set_name = session_set_name(s),
		.lock_path = s->lock_path,
		.slim = a->slim,
		.tmp_dir = work_tmp,
		.on_slim = on_slim,
		.ctx = c->cli,
		.check = check_complete,
		.check_ctx = s,
		.dev = &dev,
	};
	struct house_result r;
	int code = EXIT_OK;
	if (house_collect(&spec, &r, &c->cli->diags) < 0)
		code = r.bad_input ? EXIT_USAGE : EXIT_ENVIRONMENT;
	else if (c->cli->json)
		print_json(c->cli, dir, &r, a->slim, json);
	else if (!c->cli->quiet)
		print_text(c->cli, dir, &r, a->slim);
	house_result_release(&r);
	free(work_tmp);
	free(dir);
	free(hv);
	for (size_t i = 0; i < ntrees; i++)
		free(trees[i]);
	free(trees);
	free(ptbuild_source);
	return code;
}

int cmd_collect(struct cli *cli, int argc, char **argv)
{
	struct collect_args a = { 0 };
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct collect c = { .s = &s, .pins = &pins, .cli = cli, .epoch = WHEEL_EPOCH_MIN };
	struct remote_cache remote = { 0 };
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
	code = cli_session_open(cli, &s, &a.plan, argv + first, (size_t)(argc - first), false);
	if (code != EXIT_OK)
		goto done;
	/* as `build` pins: the lock where it matches the recipes, else resolved (without a lock
	 * a build's keys come from resolved sources, so collect must resolve them the same way) */
	struct pin_request rq = { .note_unlocked = true, .locked = a.locked || a.frozen,
				  .offline = a.frozen, .offline_flag = OFFLINE_FLAG(a.frozen, false) };
	code = cli_remote_open(cli, &s, &a.remote, &remote);
	if (code != EXIT_OK)
		goto done;
	remote.read_only = true; /* collect only downloads */
	if (remote.url && !a.frozen)
		c.remote = &remote;
	code = cli_session_pin(cli, &s, &rq, &pins);
	if (code != EXIT_OK)
		goto done;
	c.epochs = xcalloc(s.plan.n + 1, sizeof(*c.epochs));
	if (pick_all(&c) < 0) {
		code = EXIT_BUILD_FAILED;
		goto done;
	}
	code = pick_runtime(&c, &a);
	if (code != EXIT_OK)
		goto done;
	struct buf json = BUF_INIT;
	code = collect_into(&c, &a, &json);
	buf_release(&json);
done:
	code = cli_end(cli, code);
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].src);
		free(c.v[i].file);
	}
	free(c.v);
	free(c.epochs);
	remote_cache_release(&remote);
	pins_release(&pins);
	session_release(&s);
	plan_args_release(&a.plan);
	return code;
}
