/* Plans: expansion, order, `use`, excludes, and above all what changes a build key. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "model/project.h"
#include "util/os.h"
#include "util/xalloc.h"

static const char torch_json[] =
	"{ \"name\": \"torch\", \"version\": \"2.9.1\", \"builder\": \"pytorch\",\n"
	"  \"source\": { \"git\": \"https://github.com/pytorch/pytorch.git\", \"ref\": \"v2.9.1\" },\n"
	"  \"env\": { \"BUILD_TEST\": \"0\", \"USE_DISTRIBUTED\": \"1\" } }\n";
static const char vision_json[] =
	"{ \"name\": \"torchvision\", \"version\": \"0.24.1\", \"builder\": \"cpp_extension\",\n"
	"  \"source\": { \"git\": \"https://github.com/pytorch/vision.git\", \"ref\": \"v0.24.1\" },\n"
	"  \"depends\": [\"torch\"], \"compat\": { \"torch\": \"==2.9.1\" } }\n";
static const char scatter_json[] =
	"{ \"name\": \"torch_scatter\", \"version\": \"2.1.2\", \"builder\": \"cpp_extension\",\n"
	"  \"source\": { \"pypi\": \"torch-scatter==2.1.2\" }, \"depends\": [\"torch\"],\n"
	"  \"env\": { \"FORCE_CUDA\": \"${cuda.enabled}\" },\n"
	"  \"patches\": [ { \"series\": \"patches/torch_scatter/*.patch\" },\n"
	"                { \"series\": \"patches/torch_scatter/cuda/*.patch\", "
	"\"when\": { \"toolchain\": \"cuda\" } } ],\n"
	"  \"local_version\": \"pt${dep.torch.version_short}${toolchain.tag}\" }\n";
static const char geometric_json[] =
	"{ \"name\": \"torch_geometric\", \"version\": \"2.7.0\", \"builder\": \"python\",\n"
	"  \"source\": { \"pypi\": \"torch-geometric==2.7.0\" } }\n";
static const char wheel_json[] =
	"{ \"name\": \"torch_wheel\", \"version\": \"2.9.1\", \"provides\": \"torch\",\n"
	"  \"source\": { \"wheel\": \"torch==2.9.1\" } }\n";
static const char cpu_json[] = "{ \"name\": \"cpu\", \"tag\": \"cpu\", \"env\": { \"USE_CUDA\": \"0\" } }\n";
static const char cuda_json[] =
	"{ \"name\": \"cuda\", \"tag\": \"cu130\",\n"
	"  \"cuda\": { \"version\": \"13.0\", \"home\": \"/nonexistent/cuda\", \"arch_list\": \"8.0;9.0\" } }\n";
static const char set_json[] =
	"{ \"targets\": [\"torchvision\", \"torch_scatter\", \"torch_geometric\"],\n"
	"  \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"] }\n";

static char *make_project(void)
{
	char *dir = tmpdir_make("plan");
	write_text(dir, "recipes/torch.json", torch_json);
	write_text(dir, "recipes/torchvision.json", vision_json);
	write_text(dir, "recipes/torch_scatter.json", scatter_json);
	write_text(dir, "recipes/torch_geometric.json", geometric_json);
	write_text(dir, "recipes/torch_wheel.json", wheel_json);
	write_text(dir, "toolchains/cpu.json", cpu_json);
	write_text(dir, "toolchains/cuda.json", cuda_json);
	write_text(dir, "recipes/sets/default.json", set_json);
	write_text(dir, "patches/torch_scatter/0001-ninja.patch", "--- a/setup.py\n+++ b/setup.py\n");
	write_text(dir, "patches/torch_scatter/cuda/0001-arch.patch", "--- a/x\n+++ b/x\n");
	return dir;
}

/* Plans `set` in `dir`; returns "recipe@variant=key" lines, sorted as planned. */
static char *plan_keys(const char *dir, const char *set_name, const char *const *tcs, size_t ntcs)
{
	struct project p;
	struct diags d;
	diags_init(&d);
	if (project_load(&p, dir, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("load failed:\n%s", t);
	}
	struct buildset set;
	if (project_load_set(&p, set_name, &set, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("set failed:\n%s", t);
	}
	struct plan plan;
	struct plan_request req = { .project = &p, .set = &set, .toolchains = tcs, .ntoolchains = ntcs };
	if (plan_make(&plan, &req, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("plan failed:\n%s", t);
	}
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < plan.n; i++) {
		const struct variant *v = &plan.v[i];
		assert_int_equal(strlen(v->key), 64);
		buf_addf(&out, "%s@%s=%s\n", v->recipe->name, v->label, v->key);
	}
	plan_release(&plan);
	buildset_release(&set);
	project_release(&p);
	diags_release(&d);
	return buf_detach(&out);
}

/* The key of `recipe` in a listing from plan_keys. */
static char *key_of(const char *listing, const char *recipe_variant)
{
	const char *at = strstr(listing, recipe_variant);
	if (!at)
		fail_msg("%s not planned in:\n%s", recipe_variant, listing);
	at = strchr(at, '=') + 1;
	return xstrndup(at, 64);
}

static void assert_changed(const char *before, const char *after, const char *what, bool changed)
{
	char *a = key_of(before, what), *b = key_of(after, what);
	if (changed && !strcmp(a, b))
		fail_msg("key of %s did not change", what);
	if (!changed && strcmp(a, b))
		fail_msg("key of %s changed", what);
	free(a);
	free(b);
}

static void test_order_and_dependencies(void **state)
{
	(void)state;
	char *dir = make_project();
	char *keys = plan_keys(dir, "default", NULL, 0);
	/* torch once, before both of its dependents; torch_geometric stands alone. */
	const char *torch = strstr(keys, "torch@cpu-py3.11=");
	const char *vision = strstr(keys, "torchvision@cpu-py3.11=");
	const char *scatter = strstr(keys, "torch_scatter@cpu-py3.11=");
	assert_non_null(torch);
	assert_non_null(vision);
	assert_non_null(scatter);
	assert_true(torch < vision && torch < scatter);
	assert_null(strstr(torch + 1, "torch@cpu"));
	assert_null(strstr(keys, "torch_wheel"));
	free(keys);
	tmpdir_remove(dir);
	free(dir);
}

/* The brief's property: one env flag in torch changes torch and its dependents only. */
static void test_env_flag_changes_dependents_only(void **state)
{
	(void)state;
	char *dir = make_project();
	char *before = plan_keys(dir, "default", NULL, 0);
	char *edited = xstrdup(torch_json);
	char *flag = strstr(edited, "\"USE_DISTRIBUTED\": \"1\"");
	flag[strlen("\"USE_DISTRIBUTED\": \"")] = '0';
	write_text(dir, "recipes/torch.json", edited);
	char *after = plan_keys(dir, "default", NULL, 0);
	assert_changed(before, after, "torch@cpu-py3.11", true);
	assert_changed(before, after, "torchvision@cpu-py3.11", true);
	assert_changed(before, after, "torch_scatter@cpu-py3.11", true);
	assert_changed(before, after, "torch_geometric@cpu-py3.11", false);
	free(edited);
	free(before);
	free(after);
	tmpdir_remove(dir);
	free(dir);
}

/* Comments, whitespace, key order and boolean spelling are not inputs. */
static void test_formatting_is_not_an_input(void **state)
{
	(void)state;
	char *dir = make_project();
	char *before = plan_keys(dir, "default", NULL, 0);
	write_text(dir, "recipes/torch.json",
		   "// same recipe, written differently\n{\n"
		   "  \"env\": { \"USE_DISTRIBUTED\": \"1\", \"BUILD_TEST\": \"0\" },  /* reordered */\n"
		   "  \"source\": {\"ref\": \"v2.9.1\", \"git\": \"https://github.com/pytorch/pytorch.git\"},\n"
		   "  \"builder\": \"pytorch\", \"version\": \"2.9.1\", \"name\": \"torch\"\n}\n");
	char *after = plan_keys(dir, "default", NULL, 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	tmpdir_remove(dir);
	free(dir);
}

/* Each kind of input moves the key of the variant that has it. */
static void test_each_input_changes_key(void **state)
{
	(void)state;
	struct change {
		const char *file, *from, *to, *variant;
	} changes[] = {
		{ "recipes/torch.json", "v2.9.1\" }", "v2.9.0\" }", "torch@cpu-py3.11" },
		{ "recipes/torch_scatter.json", "torch-scatter==2.1.2", "torch-scatter==2.1.1",
		  "torch_scatter@cpu-py3.11" },
		{ "toolchains/cpu.json", "\"USE_CUDA\": \"0\"", "\"USE_CUDA\": \"0\", \"X\": \"1\"",
		  "torch_geometric@cpu-py3.11" },
		{ "recipes/torch_scatter.json", "pt${dep", "ptx${dep", "torch_scatter@cpu-py3.11" },
		{ "patches/torch_scatter/0001-ninja.patch", "setup.py\n", "setup.py \n",
		  "torch_scatter@cpu-py3.11" },
		{ "recipes/torch_geometric.json", "\"builder\": \"python\"",
		  "\"builder\": \"python\", \"build_requires\": [\"setuptools\"]",
		  "torch_geometric@cpu-py3.11" },
	};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		char *dir = make_project();
		char *before = plan_keys(dir, "default", NULL, 0);
		char *path = path_join(dir, changes[i].file);
		struct buf text = BUF_INIT;
		assert_int_equal(read_file(path, &text), 0);
		char *at = strstr(text.data, changes[i].from);
		assert_non_null(at);
		struct buf edited = BUF_INIT;
		buf_add(&edited, text.data, (size_t)(at - text.data));
		buf_adds(&edited, changes[i].to);
		buf_adds(&edited, at + strlen(changes[i].from));
		write_text(dir, changes[i].file, edited.data);
		char *after = plan_keys(dir, "default", NULL, 0);
		assert_changed(before, after, changes[i].variant, true);
		buf_release(&text);
		buf_release(&edited);
		free(path);
		free(before);
		free(after);
		tmpdir_remove(dir);
		free(dir);
	}
}

/* A `when` condition decides which series apply, and so the key. */
static void test_when_selects_patches(void **state)
{
	(void)state;
	char *dir = make_project();
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	struct buildset set;
	assert_int_equal(project_load_set(&p, "default", &set, &d), 0);
	const char *tcs[] = { "cpu", "cuda" };
	const char *targets[] = { "torch_scatter" };
	struct plan plan;
	struct plan_request req = { .project = &p, .set = &set, .targets = targets, .ntargets = 1,
				    .toolchains = tcs, .ntoolchains = 2 };
	assert_int_equal(plan_make(&plan, &req, &d), 0);
	size_t seen = 0;
	for (size_t i = 0; i < plan.n; i++) {
		const struct variant *v = &plan.v[i];
		if (strcmp(v->recipe->name, "torch_scatter"))
			continue;
		seen++;
		bool cuda = !strcmp(v->tc->name, "cuda");
		assert_int_equal(v->patches.n, cuda ? 2 : 1);
		assert_string_equal(v->patches.v[0].name, "patches/torch_scatter/0001-ninja.patch");
		assert_string_equal(v->local_version, cuda ? "pt29cu130" : "pt29cpu");
		assert_string_equal(env_get(&v->env, "FORCE_CUDA"), cuda ? "1" : "0");
	}
	assert_int_equal(seen, 2);
	/* nvcc under /nonexistent is missing: a warning, and the plan still stands. */
	char *text = diags_text(&d);
	assert_contains(text, "warning: toolchain \"cuda\": nvcc");
	free(text);
	plan_release(&plan);
	buildset_release(&set);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

/* "use" swaps the provider of a dependency; excludes drop targets. */
static void test_use_and_exclude(void **state)
{
	(void)state;
	char *dir = make_project();
	write_text(dir, "recipes/sets/wheel.json",
		   "{ \"targets\": [\"torch_scatter\", \"torch_geometric\"], \"toolchains\": [\"cpu\"],\n"
		   "  \"python\": [\"3.11\", \"3.12\"], \"use\": { \"torch\": \"torch_wheel\" },\n"
		   "  \"exclude\": [ { \"target\": \"torch_geometric\", \"python\": \"3.12\" } ] }\n");
	char *keys = plan_keys(dir, "wheel", NULL, 0);
	assert_contains(keys, "torch_wheel@cpu-py3.11=");
	assert_contains(keys, "torch_wheel@cpu-py3.12=");
	assert_not_contains(keys, "torch@");
	assert_contains(keys, "torch_geometric@cpu-py3.11=");
	assert_not_contains(keys, "torch_geometric@cpu-py3.12=");
	free(keys);
	tmpdir_remove(dir);
	free(dir);
}

static void test_ambiguous_provider(void **state)
{
	(void)state;
	char *dir = make_project();
	write_text(dir, "recipes/ext.json",
		   "{ \"name\": \"ext\", \"version\": \"1\", \"source\": {\"pypi\": \"ext==1\"},\n"
		   "  \"depends\": [\"blas\"] }\n");
	write_text(dir, "recipes/blas1.json", "{ \"name\": \"blas1\", \"version\": \"1\", "
					      "\"provides\": \"blas\", \"source\": {\"pypi\": \"b==1\"} }");
	write_text(dir, "recipes/blas2.json", "{ \"name\": \"blas2\", \"version\": \"1\", "
					      "\"provides\": \"blas\", \"source\": {\"pypi\": \"c==1\"} }");
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	const char *targets[] = { "ext" }, *tcs[] = { "cpu" }, *pys[] = { "3.11" };
	struct plan plan;
	struct plan_request req = { .project = &p, .targets = targets, .ntargets = 1,
				    .toolchains = tcs, .ntoolchains = 1, .pythons = pys, .npythons = 1 };
	assert_int_equal(plan_make(&plan, &req, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "ext.json:2:15: error: recipe \"ext\" depends on \"blas\", which several "
			      "recipes provide (\"blas1\", \"blas2\")");
	assert_contains(text, "\"use\": {\"blas\": \"...\"}");
	free(text);
	plan_release(&plan);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

/* An inherited variable differs between machines: it stays symbolic and out of the key,
 * while one the toolchain set expands. */
static void test_inherited_env_is_not_an_input(void **state)
{
	(void)state;
	char *dir = make_project();
	write_text(dir, "toolchains/cpu.json",
		   "{ \"name\": \"cpu\", \"tag\": \"cpu\",\n"
		   "  \"env\": { \"USE_CUDA\": \"0\", \"P\": \"${env.PATH}:/opt/x\", \"Q\": \"${env.USE_CUDA}1\" } }\n");
	char *old_path = xstrdup(getenv("PATH"));
	char *before = plan_keys(dir, "default", NULL, 0);
	struct buf other = BUF_INIT;
	buf_addf(&other, "/somewhere/else:%s", old_path);
	setenv("PATH", other.data, 1);
	char *after = plan_keys(dir, "default", NULL, 0);
	setenv("PATH", old_path, 1);
	assert_string_equal(before, after);
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	const char *targets[] = { "torch_geometric" }, *tcs[] = { "cpu" }, *pys[] = { "3.11" };
	struct plan plan;
	struct plan_request req = { .project = &p, .targets = targets, .ntargets = 1,
				    .toolchains = tcs, .ntoolchains = 1, .pythons = pys, .npythons = 1 };
	assert_int_equal(plan_make(&plan, &req, &d), 0);
	assert_string_equal(env_get(&plan.v[0].env, "P"), "${env.PATH}:/opt/x");
	assert_string_equal(env_get(&plan.v[0].env, "Q"), "01");
	plan_release(&plan);
	project_release(&p);
	diags_release(&d);
	buf_release(&other);
	free(old_path);
	free(before);
	free(after);
	tmpdir_remove(dir);
	free(dir);
}

/* Series in another recipe's tree come from that recipe's pin: unresolved without it,
 * then in glob order minus `exclude`, and an explicit list keeps its own order across
 * trees. A pin listed for other globs (an edited series) does not count. */
static void test_series_from_another_tree(void **state)
{
	(void)state;
	char *dir = make_project();
	write_text(dir, "recipes/backend.json",
		   "{ \"name\": \"backend\", \"version\": \"1\", \"builder\": \"generic\",\n"
		   "  \"source\": { \"git\": \"https://example.invalid/b.git\", \"ref\": \"v1\" } }\n");
	write_text(dir, "recipes/torch.json",
		   "{ \"name\": \"torch\", \"version\": \"2.9.1\", \"builder\": \"pytorch\",\n"
		   "  \"source\": { \"git\": \"https://github.com/pytorch/pytorch.git\", \"ref\": \"v2.9.1\" },\n"
		   "  \"patches\": [\n"
		   "    { \"series\": \"${src:backend}/p/*.patch\", \"exclude\": [\"b-*\"] },\n"
		   "    { \"files\": [\"${src:backend}/p/z.patch\", \"patches/torch/local.patch\",\n"
		   "                \"${src:backend}/p/a.patch\"] } ] }\n");
	write_text(dir, "patches/torch/local.patch", "local\n");
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	const char *targets[] = { "torch" };
	struct plan plan;
	struct plan_request req = { .project = &p, .targets = targets, .ntargets = 1 };
	const char *tcs[] = { "cpu" }, *pys[] = { "3.11" };
	req.toolchains = tcs;
	req.ntoolchains = 1;
	req.pythons = pys;
	req.npythons = 1;
	assert_int_equal(plan_make(&plan, &req, &d), 0);
	const struct variant *v = &plan.v[0];
	assert_string_equal(v->recipe->name, "torch");
	assert_true(v->patches_unresolved);
	assert_int_equal(v->patches.n, 1); /* the local file only */
	char key_before[SHA256_HEX_SIZE];
	memcpy(key_before, v->key, sizeof(key_before));

	struct pins pins = { 0 };
	struct pin *pin = pins_add(&pins, "backend");
	pin->read_globs = series_globs_reading(&p, "backend");
	assert_string_equal(pin->read_globs, "p/*.patch\np/a.patch\np/z.patch\n");
	static const char *const files[] = { "p/z.patch", "p/b-skip.patch", "p/a.patch",
					     "p/m.patch", "p/sub/deeper.patch" };
	for (size_t i = 0; i < 5; i++)
		pin_add_read(pin, files[i], "1111111111111111111111111111111111111111111111111111111111111111");
	plan_rekey(&plan, &pins);
	assert_false(v->patches_unresolved);
	static const char *const want[] = {
		"${src:backend}/p/a.patch", "${src:backend}/p/m.patch", "${src:backend}/p/z.patch",
		"${src:backend}/p/z.patch", "patches/torch/local.patch", "${src:backend}/p/a.patch",
	};
	assert_int_equal(v->patches.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(v->patches.v[i].name, want[i]);
	assert_string_equal(v->patches.v[0].source, "backend");
	assert_null(v->patches.v[4].source);
	assert_string_not_equal(v->key, key_before);

	/* listed for other globs: not trusted */
	free(pin->read_globs);
	pin->read_globs = xstrdup("p/*.patch\n");
	plan_rekey(&plan, &pins);
	assert_true(v->patches_unresolved);
	pins_release(&pins);
	plan_release(&plan);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

/* Fingerprints as a machine would have them, so that keys do not depend on this one. */
static void fake_fingerprints(struct plan *plan)
{
	struct fingerprints *fp = &plan->fp;
	free(fp->platform);
	fp->platform = xstrdup("x86_64-linux");
	for (size_t i = 0; i < fp->ntc; i++) {
		struct toolchain_fp *t = &fp->tc[i];
		bool cuda = t->tc->cuda.enabled;
		free(t->cc);
		free(t->cxx);
		free(t->nvcc);
		free(t->nccl);
		t->cc = xstrdup("gcc (GCC) 13.2.0");
		t->cxx = xstrdup("g++ (GCC) 13.2.0");
		t->nvcc = cuda ? xstrdup("Cuda compilation tools, release 13.0, V13.0.88") : NULL;
		t->nccl = cuda ? xstrdup("2.28.9") : NULL;
	}
	for (size_t i = 0; i < fp->npy; i++) {
		free(fp->py[i].full);
		fp->py[i].full = xstrdup("Python 3.11.7");
	}
}

/* The keys of a fixture plan, pinned: the lock files and the recorded builds depend on
 * every byte of the key input, so a refactoring must leave them as they are. */
static void test_keys_are_pinned(void **state)
{
	(void)state;
	char *dir = make_project();
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	struct buildset set;
	assert_int_equal(project_load_set(&p, "default", &set, &d), 0);
	const char *tcs[] = { "cpu", "cuda" };
	struct plan plan;
	struct plan_request req = { .project = &p, .set = &set, .toolchains = tcs, .ntoolchains = 2 };
	assert_int_equal(plan_make(&plan, &req, &d), 0);
	fake_fingerprints(&plan);
	struct pins pins = { 0 };
	struct pin *torch = pins_add(&pins, "torch");
	torch->kind = SOURCE_GIT;
	memcpy(torch->commit, "0123456789abcdef0123456789abcdef01234567", 41);
	pin_add_sub(torch, "third_party/fmt", "https://github.com/fmtlib/fmt.git",
		    "89abcdef0123456789abcdef0123456789abcdef", false);
	struct pin *scatter = pins_add(&pins, "torch_scatter");
	scatter->kind = SOURCE_PYPI;
	pin_add_file(scatter, NULL, "torch_scatter-2.1.2.tar.gz",
		     "2222222222222222222222222222222222222222222222222222222222222222");
	plan_rekey(&plan, &pins);
	static const struct {
		const char *variant, *key;
	} want[] = {
		{ "torch@cpu-py3.11",
		  "846e2e5431c55f351b068b049e04a199436f0324d906cde288ae7dd607c67842" },
		{ "torchvision@cpu-py3.11",
		  "373639150542e925e05139d673bfa384d62bd509f00562cc8e7363b60011346f" },
		{ "torch_scatter@cpu-py3.11",
		  "be6e81287d37fab8de587cd21f0179635d87daa3def2efda4fd56c5d1fc60fc6" },
		{ "torch_geometric@cpu-py3.11",
		  "7fa98c10ee97265c83af474b7d1f0969746d569e5e4e3aa05e53f04b8d8be7d7" },
		{ "torch@cuda-py3.11",
		  "8f0de5b0d79cbbe981deb7bc77db3a8233af4ff5cf918052f179ba7ee579a583" },
		{ "torchvision@cuda-py3.11",
		  "cf15813d2f079a2477dca32efa9b0085dcb40c360ff6e2ee56ad2c2d6e0b0277" },
		{ "torch_scatter@cuda-py3.11",
		  "1cdfe007d0366e4c1fd6714f8b7eaeadacdc2daecff4416c68ae9b436e0af53d" },
		{ "torch_geometric@cuda-py3.11",
		  "70bd5c914f51580bd6c547814a86d333a0b0d6bfcc4b605a36e7a7e0f4a24ac7" },
	};
	assert_int_equal(plan.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < plan.n; i++) {
		struct buf variant = BUF_INIT;
		buf_addf(&variant, "%s@%s", plan.v[i].recipe->name, plan.v[i].label);
		assert_string_equal(variant.data, want[i].variant);
		assert_string_equal(plan.v[i].key, want[i].key);
		buf_release(&variant);
	}
	pins_release(&pins);
	plan_release(&plan);
	buildset_release(&set);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_dependencies),
		cmocka_unit_test(test_env_flag_changes_dependents_only),
		cmocka_unit_test(test_formatting_is_not_an_input),
		cmocka_unit_test(test_each_input_changes_key),
		cmocka_unit_test(test_when_selects_patches),
		cmocka_unit_test(test_use_and_exclude),
		cmocka_unit_test(test_ambiguous_provider),
		cmocka_unit_test(test_inherited_env_is_not_an_input),
		cmocka_unit_test(test_series_from_another_tree),
		cmocka_unit_test(test_keys_are_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
