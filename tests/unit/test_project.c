/*
 * Bad inputs, one per row: each must stop `ptbuild plan` with exit status 2 and its own
 * message at the right file:line:col. The rows run the CLI in-process on a project made in
 * a temporary directory: a valid base, then the row's file written over it.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/project.h"
#include "util/xalloc.h"

static const char base_torch[] =
	"{\n"
	"  \"name\": \"torch\",\n"
	"  \"version\": \"2.9.1\",\n"
	"  \"builder\": \"pytorch\",\n"
	"  \"source\": { \"git\": \"https://github.com/pytorch/pytorch.git\", \"ref\": \"v2.9.1\" }\n"
	"}\n";
static const char base_cpu[] = "{ \"name\": \"cpu\", \"tag\": \"cpu\" }\n";
static const char base_set[] =
	"{ \"targets\": [\"torch\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"] }\n";

struct bad_case {
	const char *file;    /* relative path written over the base project */
	const char *content;
	const char *expect;  /* must appear in stderr: "file:line:col: error: message" */
	const char *hint;    /* must appear too, or NULL */
	const char *args;    /* extra plan arguments, or NULL */
};

#define R "recipes/bad.json"
#define GIT "\"source\": {\"git\": \"u\", \"ref\": \"v1\"}"
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct bad_case cases[] = {
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", }",
	  R ":1:32: error: invalid JSON: trailing comma before '}'", "remove the comma", NULL },
	{ R, "{ \"name\": \"bad\" /* never closed",
	  R ":1:17: error: unterminated comment", "*/", NULL },
	{ R, "{\n  \"name\": \"bad\",\n  'version': \"1\"\n}",
	  R ":3:3: error: invalid JSON: strings need double quotes", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n  \"dependz\": [\"torch\"] }",
	  R ":2:3: error: unknown key \"dependz\" in recipe \"bad\"", "did you mean \"depends\"?",
	  NULL },
	{ R, "{ \"name\": \"bad\", \"version\": 2.1, " GIT " }",
	  R ":1:29: error: \"version\" in recipe \"bad\" must be a string, not a number",
	  "quote the value", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\" }",
	  R ":1:1: error: recipe \"bad\" has no \"source\"", "\"source\" is required", NULL },
	{ R, "{ \"version\": \"1\", " GIT " }",
	  R ":1:1: error: this recipe has no \"name\"", NULL, NULL },
	{ R, "{ \"name\": \"torch\", \"version\": \"1\", " GIT " }",
	  "recipes/torch.json:2:11: error: recipe \"torch\" is defined twice", "recipes/bad.json:1:11", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n  \"depends\": [\"troch\"] }",
	  R ":2:15: error: recipe \"bad\" depends on \"troch\", which no recipe is or provides",
	  "did you mean \"torch\"?", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ", \"depends\": [\"bad2\"] }",
	  "dependency cycle: bad -> bad2 -> bad", "remove one of these", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n"
	     "  \"env\": { \"TORCH_CUDA_ARCH_LIST\": \"${cuda.arch}\" } }",
	  R ":2:37: error: unknown name in env \"TORCH_CUDA_ARCH_LIST\" of recipe \"bad\": "
	    "\"${cuda.arch}\"", "did you mean \"${cuda.arch_list}\"?", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n"
	     "  \"env\": { \"X\": \"a${cuda.home\" } }",
	  R ":2:19: error: \"${\" is not closed by \"}\" in env \"X\" of recipe \"bad\"", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\",\n"
	     "  \"source\": {\"git\": \"u\", \"ref\": \"v1\", \"pypi\": \"x==1\"} }",
	  R ":2:39: error: \"source\" of recipe \"bad\" has both \"git\" and \"pypi\"", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\",\n"
	     "  \"source\": {\"archive\": \"https://h/x.tar.gz\", \"sha256\": \"abc\"} }",
	  R ":2:57: error: \"sha256\" in \"source\" of recipe \"bad\" is not 64 lowercase hex digits",
	  NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\",\n"
	     "  \"source\": {\"archive\": \"https://h/x.tar.gz\"} }",
	  R ":2:13: error: \"source\" of recipe \"bad\" has no \"sha256\"", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\",\n  \"source\": {\"pypi\": \"torch-scatter>=2\"} }",
	  R ":2:22: error: \"pypi\" in \"source\" of recipe \"bad\" must pin one version",
	  "a range would build", NULL },
	{ R, "{ \"name\": \"torch-scatter\", \"version\": \"1\", " GIT " }",
	  R ":1:11: error: recipe name \"torch-scatter\" is not valid", "torch_scatter", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", \"builder\": \"pytroch\", " GIT " }",
	  R ":1:45: error: unknown builder \"pytroch\" in recipe \"bad\"",
	  "did you mean \"pytorch\"?", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n  \"version\": \"2\" }",
	  R ":2:3: error: duplicate key \"version\" (first at line 1)", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n"
	     "  \"env\": { \"V\": \"${dep.torch.version}\" } }",
	  R ":2:18: error: \"${dep.torch...}\" in recipe \"bad\": \"torch\" is not in its \"depends\"",
	  NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n"
	     "  \"env\": { \"P\": \"${src:nope}\" } }",
	  R ":2:18: error: \"${src:nope}\" in recipe \"bad\" names no recipe", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n  \"compat\": { \"numpy\": \">=1\" } }",
	  R ":2:15: error: compat \"numpy\" of recipe \"bad\" is neither a dependency", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ", \"depends\": [\"torch\"],\n"
	     "  \"compat\": { \"torch\": \"2.9\" } }",
	  R ":2:24: error: compat \"torch\" of recipe \"bad\" is not a version specifier: \"2.9\"",
	  "\">=2.0,<2.9\"", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n"
	     "  \"patches\": [ { \"series\": \"p/*.patch\", \"files\": [\"a.patch\"] } ] }",
	  R ":2:16: error: patch entry 1 of recipe \"bad\" needs exactly one of \"series\" and \"files\"",
	  NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ",\n  \"env\": { \"USE_CUDA\": 1 } }",
	  R ":2:24: error: \"USE_CUDA\" in \"env\" of recipe \"bad\" must be a string, not a number",
	  "quote the value", NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", \"source\": {\"git\": \"u\", \"ref\": \"v\", "
	     "\"submodules\": \"yes\"} }",
	  R ":1:83: error: \"submodules\" in \"source\" of recipe \"bad\" must be \"recursive\" or "
	    "\"none\", not \"yes\"", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"latest\", " GIT " }",
	  R ":1:29: error: \"version\" of recipe \"bad\" is not a version: \"latest\"", NULL, NULL },
	{ "toolchains/cuda.json", "{ \"name\": \"cuda-13.0\", \"tag\": \"cu130\",\n"
				  "  \"cuda\": { \"version\": \"13.0\" } }",
	  "toolchains/cuda.json:2:11: error: \"cuda\" of toolchain \"cuda-13.0\" has no \"arch_list\"",
	  "cannot detect it", NULL },
	{ "toolchains/cpu.json", "{ \"name\": \"cpu\", \"tag\": \"cpu\", \"cc\": \"gcc\", \"cxxx\": \"g++\" }",
	  "toolchains/cpu.json:1:45: error: unknown key \"cxxx\" in toolchain \"cpu\"",
	  "did you mean \"cxx\"?", NULL },
	{ "toolchains/cpu.json", "{ \"name\": \"cpu\", \"tag\": \"cpu\",\n"
				 "  \"env\": { \"P\": \"${src:torch}\" } }",
	  "toolchains/cpu.json:2:18: error: \"${src:torch}\" in env \"P\" of toolchain \"cpu\" names a "
	  "recipe", NULL, NULL },
	{ "recipes/sets/default.json",
	  "{ \"targets\": [\"torch\"], \"toolchains\": [\"cpux\"], \"python\": [\"3.11\"] }",
	  "recipes/sets/default.json:1:40: error: build set \"default\" names toolchain \"cpux\"",
	  "did you mean \"cpu\"?", NULL },
	{ "recipes/sets/default.json",
	  "{ \"targets\": [\"torch\"], \"toolchains\": [\"cpu\"],\n  \"python\": [\"3.15\"] }",
	  "recipes/sets/default.json:2:14: error: build set \"default\" names Python \"3.15\"",
	  "3.14", NULL },
	{ "recipes/sets/default.json",
	  "{ \"targets\": [\"torhc\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"] }",
	  "recipes/sets/default.json:1:15: error: build set \"default\" targets \"torhc\"",
	  "did you mean \"torch\"?", NULL },
	{ "recipes/sets/default.json",
	  "{ \"targets\": [\"torch\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"],\n"
	  "  \"exclude\": [ { \"target\": \"torch\", \"toolchian\": \"cpu\" } ] }",
	  "recipes/sets/default.json:2:37: error: unknown key \"toolchian\" in exclude entry 1",
	  "did you mean \"toolchain\"?", NULL },
	{ "recipes/sets/default.json",
	  "{ \"targets\": [\"torch\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"],\n"
	  "  \"use\": { \"torch\": \"nope\" } }",
	  "recipes/sets/default.json:2:21: error: \"use\" in build set \"default\" names \"nope\"",
	  NULL, NULL },
	{ "recipes/sets/x.json", "{}", "error: no build set \"other\"", "sets in recipes/sets/",
	  "--set other" },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", " GIT ", \"depends\": [\"torch\"],\n"
	     "  \"compat\": { \"torch\": \">=2.10\" } }",
	  R ":2:24: error: bad 1 supports torch >=2.10, but this plan pairs it with torch 2.9.1",
	  "use a torch within \">=2.10\"", "bad" },
	{ R, "[1, 2]", R ":1:1: error: a recipe must be a JSON object, not an array", NULL, NULL },
	{ R, "{ \"name\": \"bad\", \"version\": \"1\", \"source\": {\"wheel\": \"https://h/x.whl\"} }",
	  R ":1:54: error: \"source\" of recipe \"bad\" is a wheel URL without \"sha256\"", NULL, NULL },
	/* nightly pins (issue 16, item 5): "index" and "pre" of a wheel source */
#define W "{ \"name\": \"bad\", \"version\": \"1\",\n  \"source\": "
	{ R, W "{\"wheel\": \"torch\", \"index\": 5} }",
	  R ":2:41: error: \"index\" in \"source\" of recipe \"bad\" must be a string, not a "
	  "number", NULL, NULL },
	{ R, W "{\"wheel\": \"torch\", \"pre\": \"yes\"} }",
	  R ":2:39: error: \"pre\" in \"source\" of recipe \"bad\" must be a boolean, not a string",
	  NULL, NULL },
	{ R, W "{\"wheel\": \"torch\", \"pre\": true, \"indx\": \"https://h/simple/\"} }",
	  R ":2:45: error: unknown key \"indx\" in \"source\" of recipe \"bad\"",
	  "did you mean \"index\"?", NULL },
	{ R, W "{\"wheel\": \"torch\", \"index\": \"ftp://h/simple/\"} }",
	  R ":2:41: error: \"index\" in \"source\" of recipe \"bad\" must be an http(s) or file URL "
	  "of a PEP 503 index, not \"ftp://h/simple/\"", NULL, NULL },
	{ R, W "{\"wheel\": \"https://h/x.whl\", \"sha256\": \"" SHA "\", \"pre\": true} }",
	  R ":2:120: error: \"pre\" in \"source\" of recipe \"bad\" does not apply to a wheel URL",
	  "name the wheel by requirement", NULL },
	{ R, W "{\"wheel\": \"torch>=2.10\", \"pre\": true} }",
	  R ":2:23: error: \"wheel\" in \"source\" of recipe \"bad\" must be a project name "
	  "(\"torch\") or pin one version (\"name==1.2.3\"), not \"torch>=2.10\"",
	  "a bare name with \"index\" or \"pre\" is pinned by the lock", NULL },
	{ R, W "{\"wheel\": \"torch\"} }",
	  R ":2:23: error: \"wheel\" in \"source\" of recipe \"bad\" must pin one version",
	  "for a nightly, add \"index\" and \"pre\": true", NULL },
#undef W
};

static const char bad2[] =
	"{ \"name\": \"bad2\", \"version\": \"1\", " GIT ", \"depends\": [\"bad\"] }";

static int run_plan(const char *dir, const char *extra, char **out_text, char **err_text)
{
	char *out_buf = NULL, *err_buf = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *out = open_memstream(&out_buf, &out_len);
	FILE *err = open_memstream(&err_buf, &err_len);
	char *argv[16] = { "ptbuild", "-C", (char *)dir, "plan" };
	int argc = 4;
	char *copy = extra ? xstrdup(extra) : NULL;
	for (char *tok = copy, *sp; tok && *tok; tok = sp ? sp + 1 : NULL) {
		sp = strchr(tok, ' ');
		if (sp)
			*sp = '\0';
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	int code = ptbuild_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	free(copy);
	*out_text = out_buf;
	*err_text = err_buf;
	return code;
}

static void make_base(const char *dir)
{
	write_text(dir, "recipes/torch.json", base_torch);
	write_text(dir, "toolchains/cpu.json", base_cpu);
	write_text(dir, "recipes/sets/default.json", base_set);
}

static void test_base_project_plans(void **state)
{
	(void)state;
	char *dir = tmpdir_make("base");
	make_base(dir);
	char *out, *err;
	int code = run_plan(dir, NULL, &out, &err);
	assert_int_equal(code, 0);
	assert_contains(out, "1 variant;");
	assert_contains(out, "torch");
	free(out);
	free(err);
	tmpdir_remove(dir);
	free(dir);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		char *dir = tmpdir_make("bad");
		make_base(dir);
		if (strstr(c->content, "bad2"))
			write_text(dir, "recipes/bad2.json", bad2);
		write_text(dir, c->file, c->content);
		char *out, *err;
		int code = run_plan(dir, c->args, &out, &err);
		/* Messages name files relative to the project: strip the temporary directory. */
		struct buf rel = BUF_INIT;
		for (const char *p = err; *p;) {
			const char *hit = strstr(p, dir);
			if (!hit) {
				buf_adds(&rel, p);
				break;
			}
			buf_add(&rel, p, (size_t)(hit - p));
			p = hit + strlen(dir) + (hit[strlen(dir)] == '/' ? 1 : 0);
		}
		bool ok = code == 2 && strstr(rel.data, c->expect) &&
			  (!c->hint || strstr(rel.data, c->hint));
		if (!ok) {
			print_error("case %zu (%s): exit %d, expected 2 and\n  %s\n  %s\ngot:\n%s\n", i,
				    c->file, code, c->expect, c->hint ? c->hint : "", rel.data);
			failures++;
		}
		buf_release(&rel);
		free(out);
		free(err);
		tmpdir_remove(dir);
		free(dir);
	}
	assert_int_equal(failures, 0);
}

/* Two bad rows in one run: both are reported, not just the first. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	char *dir = tmpdir_make("multi");
	make_base(dir);
	write_text(dir, "recipes/a.json", "{ \"name\": \"a\", \"versoin\": \"1\" }");
	write_text(dir, "recipes/b.json", "{ \"name\": \"b\", \"version\": \"1\", " GIT ", \"x\": 1 }");
	char *out, *err;
	int code = run_plan(dir, NULL, &out, &err);
	assert_int_equal(code, 2);
	assert_contains(err, "unknown key \"versoin\"");
	assert_contains(err, "unknown key \"x\" in recipe \"b\"");
	free(out);
	free(err);
	tmpdir_remove(dir);
	free(dir);
}

/* Comments of both kinds are allowed anywhere whitespace is, and positions stay right. */
static void test_comments_keep_positions(void **state)
{
	(void)state;
	char *dir = tmpdir_make("comments");
	make_base(dir);
	write_text(dir, "recipes/c.json",
		   "// a recipe\n/* block\n   comment */ {\n  \"name\": \"c\", // trailing\n"
		   "  \"version\": \"1\", \"source\": {\"pypi\": \"c==1\"},\n  \"depends\": [\"nope\"] }\n");
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "c.json:6:15: error: recipe \"c\" depends on \"nope\"");
	free(text);
	diags_release(&d);
	project_release(&p);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_project_plans),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_comments_keep_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
