#define _GNU_SOURCE /* environ */
#include "build/buildenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wheels/elfinfo.h"
#include "sources/sources.h"
#include "model/interp.h"
#include "model/pins.h"
#include "wheels/wheel.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

extern char **environ;

struct build_lookup {
	struct build *b;
	struct build_item *it;
	const struct env *env; /* for ${env.X}: the variables set so far */
	char jobs[16];
	struct buf scratch;
};

/* ${src:NAME}: the work tree of a dependency variant named NAME when this variant builds
 * against it (torch_musa reads the torch it was built with), else NAME's pristine tree. */
static const char *source_tree_of(struct build_lookup *lc, const char *name)
{
	const struct variant *v = lc->it->v;
	for (size_t k = 0; k < v->ndeps; k++) {
		const struct variant *dv = &lc->b->s->plan.v[v->deps[k]];
		if (strcmp(dv->recipe->name, name))
			continue;
		struct build_item *dep = build_item_of(lc->b, dv);
		if (dep->work && is_directory(dep->work))
			return dep->work;
	}
	const struct recipe *r = project_recipe(&lc->b->s->project, name);
	return r ? trees_pristine(&lc->b->trees, r) : NULL;
}

static const char *build_lookup(const struct interp_ref *ref, void *ctx)
{
	struct build_lookup *lc = ctx;
	struct build_item *it = lc->it;
	switch (ref->id) {
	case INTERP_PYTHON:
		buf_reset(&lc->scratch);
		buf_addf(&lc->scratch, "%s/bin/python", it->venv);
		return lc->scratch.data;
	case INTERP_OUT: return it->out.tmp;
	case INTERP_JOBS: return lc->jobs;
	case INTERP_SRC: return it->work;
	case INTERP_SRC_OF: return source_tree_of(lc, ref->recipe);
	case INTERP_ENV: {
		const char *v = env_get(lc->env, ref->var);
		return v ? v : "";
	}
	default:
		return NULL; /* plan-time names were expanded when planning */
	}
}

static char *expand_build(struct build_lookup *lc, const char *s)
{
	struct buf out = BUF_INIT;
	interp_expand(&out, s, build_lookup, lc);
	return buf_detach(&out);
}

/* CFLAGS and CXXFLAGS (what setuptools, torch.utils.cpp_extension and CMake add to their
 * compiles) map the work directory to ".": debug info and __FILE__ are then the same from
 * any checkout path, and so are the objects and wheels. Added to what the variant sets. */
static void map_file_prefix(struct env *e, const char *work_dir)
{
	static const char *const names[] = { "CFLAGS", "CXXFLAGS" };
	if (work_dir[strcspn(work_dir, " \t\n")])
		return; /* the flags are split at white space: the map would break them */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct envvar *now = env_find(e, names[i]);
		struct buf flags = BUF_INIT;
		struct pos pos = { 0 };
		enum env_origin origin = ENV_PTBUILD;
		if (now) {
			pos = now->pos;
			origin = now->origin;
			if (*now->value)
				buf_addf(&flags, "%s ", now->value);
		}
		buf_addf(&flags, "-ffile-prefix-map=%s=.", work_dir);
		env_set(e, names[i], flags.data, now ? &pos : NULL, origin);
		buf_release(&flags);
	}
}

/* From scratch: the allow-listed parent variables, the variant's toolchain and recipe
 * variables (build-time names expanded now), then what ptbuild sets. */
char **buildenv_compose(struct build *b, struct build_item *it, int share)
{
	const struct variant *v = it->v;
	struct env e;
	env_init(&e);
	env_inherit(&e, environ);
	struct build_lookup lc = { b, it, &e, "", BUF_INIT };
	snprintf(lc.jobs, sizeof(lc.jobs), "%d", share);
	for (size_t i = 0; i < v->env.n; i++) {
		char *value = expand_build(&lc, v->env.v[i].value);
		env_set(&e, v->env.v[i].name, value, &v->env.v[i].pos, v->env.v[i].origin);
		free(value);
	}
	buf_release(&lc.scratch);
	ccache_env(&b->cc, &e, b->work_dir, it->stats_path,
		   v->tc->cuda.enabled ? v->tc->cuda.home : NULL);
	map_file_prefix(&e, b->work_dir);
	const char *cuda_home = build_cuda_home(b, v->tc);
	if (cuda_home && v->recipe->builder == BUILDER_CPP_EXTENSION)
		env_set(&e, "CUDA_HOME", cuda_home, NULL, ENV_PTBUILD);
	char *venv_bin = path_join(it->venv, "bin");
	env_prepend_path(&e, venv_bin);
	free(venv_bin);
	env_set(&e, "VIRTUAL_ENV", it->venv, NULL, ENV_PTBUILD);
	env_set(&e, "MAX_JOBS", lc.jobs, NULL, ENV_PTBUILD);
	env_set(&e, "CMAKE_BUILD_PARALLEL_LEVEL", lc.jobs, NULL, ENV_PTBUILD);
	env_set(&e, "PYTHONNOUSERSITE", "1", NULL, ENV_PTBUILD);
	env_set(&e, "PIP_NO_INPUT", "1", NULL, ENV_PTBUILD);
	env_set(&e, "PIP_DISABLE_PIP_VERSION_CHECK", "1", NULL, ENV_PTBUILD);
	if (it->fresh)
		env_set(&e, "CMAKE_FRESH", "1", NULL, ENV_PTBUILD);
	if (!env_find(&e, "SOURCE_DATE_EPOCH")) {
		char epoch[32];
		snprintf(epoch, sizeof(epoch), "%lld", it->epoch);
		env_set(&e, "SOURCE_DATE_EPOCH", epoch, NULL, ENV_PTBUILD);
	}
	char **envp = strv_new(e.n);
	for (size_t i = 0; i < e.n; i++) {
		struct buf kv = BUF_INIT;
		buf_addf(&kv, "%s=%s", e.v[i].name, e.v[i].value);
		envp[i] = buf_detach(&kv);
	}
	env_release(&e);
	return envp;
}

char **buildenv_argv(struct build *b, struct build_item *it, int share)
{
	static const char *const dflt[] = {
		"${python}", "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps",
		"--no-index", "--wheel-dir", "${out}", ".", NULL,
	};
	const struct variant *v = it->v;
	struct env none;
	env_init(&none);
	struct build_lookup lc = { b, it, &none, "", BUF_INIT };
	snprintf(lc.jobs, sizeof(lc.jobs), "%d", share);
	size_t n = v->build_argc ? v->build_argc : sizeof(dflt) / sizeof(dflt[0]) - 1;
	char **argv = strv_new(n);
	for (size_t i = 0; i < n; i++)
		argv[i] = expand_build(&lc, v->build_argc ? v->build_argv[i] : dflt[i]);
	env_release(&none);
	buf_release(&lc.scratch);
	return argv;
}

/* ---- the venv's inputs ---------------------------------------------------------------------- */

static void add_wheel(struct build_item *it, size_t *cap, char *path, const char *sha256)
{
	GROW(it->wheels, *cap, it->nwheels + 1);
	it->wheels[it->nwheels].path = path;
	snprintf(it->wheels[it->nwheels].sha256, SHA256_HEX_SIZE, "%s", sha256);
	it->nwheels++;
}

void buildenv_dependency_wheels(struct build *b, struct build_item *it)
{
	const struct variant *v = it->v;
	size_t cap = 0;
	for (size_t k = 0; k < v->ndeps; k++) {
		const struct variant *dv = &b->s->plan.v[v->deps[k]];
		struct build_item *dep = build_item_of(b, dv);
		if (dep->outcome == OUTCOME_PREBUILT) {
			const struct pin *pin = pins_find(b->pins, dv->recipe->name);
			for (size_t f = 0; pin && f < pin->nfiles; f++) {
				const struct pinned_file *pf = &pin->files[f];
				if (pf->python && strcmp(pf->python, v->python))
					continue;
				struct buf p = BUF_INIT;
				buf_addf(&p, "%s/dist/%s/%s", b->s->cache_dir, pf->sha256, pf->name);
				add_wheel(it, &cap, buf_detach(&p), pf->sha256);
			}
			continue;
		}
		char *dir = out_entry_dir(b->s->cache_dir, dv->key);
		for (size_t w = 0; w < dep->rec.nwheels; w++)
			add_wheel(it, &cap, path_join(dir, dep->rec.wheels[w].file),
				  dep->rec.wheels[w].sha256);
		free(dir);
	}
}

void buildenv_venv_key(const struct build *b, struct build_item *it)
{
	const struct variant *v = it->v;
	const struct python_fp *py = fingerprints_python(&b->s->plan.fp, v->python);
	struct buf k = BUF_INIT;
	buf_addf(&k, "venv 1\n%s\n%s\n", py && py->interpreter ? py->interpreter : "",
		 py ? py->full : "");
	for (size_t i = 0; i < it->nwheels; i++)
		buf_addf(&k, "wheel %s %s\n", path_base(it->wheels[i].path), it->wheels[i].sha256);
	for (size_t i = 0; i < v->recipe->build_requires.n; i++)
		buf_addf(&k, "requires %s\n", v->recipe->build_requires.v[i].s);
	sha256_hex(k.data, k.len, it->venv_key);
	buf_release(&k);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void closure_key(const struct build *b, const struct build_item *it, size_t nwheels,
			char *out)
{
	const struct python_fp *py = fingerprints_python(&b->s->plan.fp, it->v->python);
	char **lines = xcalloc(nwheels + 1, sizeof(char *));
	for (size_t i = 0; i < nwheels; i++) {
		struct buf l = BUF_INIT;
		buf_addf(&l, "wheel %s %s\n", it->wheels[i].sha256, path_base(it->wheels[i].path));
		lines[i] = buf_detach(&l);
	}
	qsort(lines, nwheels, sizeof(char *), cmp_str);
	struct buf k = BUF_INIT;
	buf_addf(&k, "closure 1\n%s\n%s\n", py && py->interpreter ? py->interpreter : "",
		 py ? py->full : "");
	for (size_t i = 0; i < nwheels; i++) {
		buf_adds(&k, lines[i]);
		free(lines[i]);
	}
	free(lines);
	sha256_hex(k.data, k.len, out);
	buf_release(&k);
}

void buildenv_closure_key(const struct build *b, struct build_item *it)
{
	closure_key(b, it, it->nwheels, it->env_closure);
	closure_key(b, it, 0, it->env_bare);
}

char *buildenv_constraints(const struct build_item *it, const char *venv)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < it->nwheels; i++) {
		const char *name = path_base(it->wheels[i].path);
		const char *dash = strchr(name, '-');
		const char *dash2 = dash ? strchr(dash + 1, '-') : NULL;
		if (!dash2)
			continue;
		buf_addf(&text, "%.*s==%.*s\n", (int)(dash - name), name, (int)(dash2 - dash - 1),
			 dash + 1);
	}
	char *path = path_join(venv, "ptbuild-constraints.txt");
	if (write_file_atomic(path, text.data ? text.data : "", text.len) < 0) {
		free(path);
		path = NULL;
	}
	buf_release(&text);
	return path;
}

/* ---- after the build ------------------------------------------------------------------------ */

long long buildenv_source_epoch(const char *cache_dir, const struct pins *pins,
				 const struct variant *v)
{
	const struct envvar *e = env_find(&v->env, "SOURCE_DATE_EPOCH");
	if (e && e->value[0])
		return strtoll(e->value, NULL, 10);
	const struct pin *pin = pins ? pins_find(pins, v->recipe->name) : NULL;
	long long when = 0;
	if (source_commit_time(cache_dir, v->recipe, pin, &when) == 0 && when > WHEEL_EPOCH_MIN)
		return when;
	return WHEEL_EPOCH_MIN;
}

char *buildenv_torch_version(const struct build_item *it)
{
	for (size_t i = 0; i < it->nwheels; i++) {
		struct wheel_name n;
		if (wheel_name_parse(path_base(it->wheels[i].path), &n) < 0)
			continue;
		char *norm = dist_normalize(n.dist);
		char *version = !strcmp(norm, "torch") ? xstrdup(n.version) : NULL;
		free(norm);
		wheel_name_release(&n);
		if (version)
			return version;
	}
	return NULL;
}

char *buildenv_asked_version(const struct variant *v)
{
	const struct envvar *pv = env_find(&v->env, "PYTORCH_BUILD_VERSION");
	if (pv && pv->value[0]) {
		const struct envvar *num = env_find(&v->env, "PYTORCH_BUILD_NUMBER");
		long n = num ? strtol(num->value, NULL, 10) : 0;
		struct buf b = BUF_INIT;
		/* tools/generate_torch_version.py: a build number > 1 appends .postN */
		buf_addf(&b, "%s", pv->value);
		if (n > 1)
			buf_addf(&b, ".post%ld", n);
		return buf_detach(&b);
	}
	const struct envvar *bv = env_find(&v->env, "BUILD_VERSION");
	return bv && bv->value[0] ? xstrdup(bv->value) : NULL;
}

/* torch's C++ ABI, from libc10.so in the build's venv (old ABI before the 2.7 manylinux_2_28
 * wheels, the C++11 one after). */
static enum cxx_abi venv_torch_abi(const struct build_item *it)
{
	struct buf lib = BUF_INIT;
	buf_addf(&lib, "%s/lib/python%s/site-packages/torch/lib/libc10.so", it->venv,
		 it->v->python);
	enum cxx_abi abi = CXX_ABI_UNKNOWN;
	if (path_exists(lib.data)) {
		struct elf_info e;
		struct diags d;
		diags_init(&d);
		if (elf_read(lib.data, &e, &d) == 0)
			abi = e.abi;
		elf_info_release(&e);
		diags_release(&d);
	}
	buf_release(&lib);
	return abi;
}

void buildenv_verify_expect(const struct build_item *it, struct verify_expect *x, char **owned)
{
	const struct variant *v = it->v;
	memset(x, 0, sizeof(*x));
	*owned = NULL;
	x->python = v->python;
	x->machine = verify_host_machine();
	x->torch_abi = CXX_ABI_UNKNOWN;
	const struct envvar *arch = env_find(&v->env, "TORCH_CUDA_ARCH_LIST");
	if (v->tc->cuda.enabled && arch) {
		x->arch_list = arch->value;
		if (v->tc->cuda.home) {
			char *tool = path_join(v->tc->cuda.home, "bin/cuobjdump");
			if (is_executable_file(tool))
				*owned = tool;
			else
				free(tool);
			x->cuobjdump = *owned;
		}
	}
	const struct envvar *nccl = env_find(&v->env, "USE_SYSTEM_NCCL");
	x->system_nccl = v->tc->cuda.enabled && nccl && !strcmp(nccl->value, "1");
	if (strcmp(v->recipe->name, "torch") &&
	    !(v->recipe->provides && !strcmp(v->recipe->provides, "torch")))
		x->torch_abi = venv_torch_abi(it);
}
