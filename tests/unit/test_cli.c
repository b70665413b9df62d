/* The command line, in-process: arguments in, exit status and output out. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/xalloc.h"

static char *project_dir;

struct run {
	int code;
	char *out;
	char *err;
};

/* Runs "ptbuild ARGS" with ARGS split on spaces; "@" stands for the test project. */
static struct run run(const char *args)
{
	char *copy = xstrdup(args);
	char *argv[32] = { "ptbuild" };
	int argc = 1;
	for (char *tok = strtok(copy, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = !strcmp(tok, "@") ? project_dir : tok;
	argv[argc] = NULL;
	struct run r = { 0 };
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&r.out, &ol);
	FILE *err = open_memstream(&r.err, &el);
	r.code = ptbuild_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	free(copy);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int setup(void **state)
{
	(void)state;
	project_dir = tmpdir_make("cli");
	write_text(project_dir, "recipes/torch.json",
		   "{ \"name\": \"torch\", \"version\": \"2.9.1\", \"source\": {\"wheel\": \"torch==2.9.1\"} }");
	write_text(project_dir, "recipes/ext.json",
		   "{ \"name\": \"ext\", \"version\": \"1.0\", \"builder\": \"cpp_extension\",\n"
		   "  \"source\": {\"pypi\": \"ext==1.0\"}, \"depends\": [\"torch\"] }");
	write_text(project_dir, "toolchains/cpu.json", "{ \"name\": \"cpu\", \"tag\": \"cpu\" }");
	write_text(project_dir, "recipes/sets/default.json",
		   "{ \"targets\": [\"ext\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\", \"3.12\"] }");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tmpdir_remove(project_dir);
	free(project_dir);
	return 0;
}

/* Parses a run's stdout as JSON; fails the test if it is not. */
static void parse_stdout(const struct run *r, struct jdoc *doc)
{
	struct diags d;
	diags_init(&d);
	if (jdoc_parse(doc, "stdout", r->out, strlen(r->out), &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("stdout is not JSON:\n%s\n%s", t, r->out);
	}
	diags_release(&d);
}

struct cli_case {
	const char *args;
	int code;
	const char *out; /* expected in stdout, or NULL */
	const char *err; /* expected in stderr, or NULL */
};

static const struct cli_case cases[] = {
	{ "--version", 0, "ptbuild " PTBUILD_VERSION, NULL },
	{ "--help", 0, "usage: ptbuild", NULL },
	{ "", 2, NULL, "usage: ptbuild" },
	{ "bogus", 2, NULL, "error: unknown command \"bogus\"" },
	{ "plna", 2, NULL, "hint: did you mean \"plan\"?" },
	{ "plan --help", 0, "usage: ptbuild plan", NULL },
	{ "plan -h", 0, "usage: ptbuild plan", NULL },
	{ "doctor --help", 0, "usage: ptbuild doctor", NULL },
	{ "help plan", 0, "usage: ptbuild plan", NULL },
	{ "plan --version", 0, "ptbuild " PTBUILD_VERSION, NULL },
	{ "-C @ plan --sett x", 2, NULL, "hint: did you mean \"--set\"?" },
	{ "-C @ plan --set", 2, NULL, "error: option \"--set\" needs a value" },
	{ "--color=sometimes plan", 2, NULL, "--color takes auto, always or never" },
	{ "--bogus plan", 2, NULL, "error: unknown option \"--bogus\"" },
	{ "-C /nonexistent/ptbuild plan", 2, NULL,
	  "error: the project directory \"/nonexistent/ptbuild\" does not exist" },
	{ "-C /proc plan", 2, NULL, "error: no recipes/ directory here" },
	{ "-C @ plan", 0, "4 variants", NULL },
	{ "-C @ plan ext --python 3.12", 0, "2 variants; toolchains cpu; Python 3.12", NULL },
	{ "-C @ plan --python 3.99", 2, NULL, "error: Python \"3.99\" is not one ptbuild knows" },
	{ "-C @ plan --toolchain gpu", 2, NULL, "error: no toolchain \"gpu\" in toolchains/" },
	{ "-C @ plan nope", 2, NULL, "error: no recipe \"nope\"" },
	{ "-C @ plan --set missing", 2, NULL, "hint: sets in recipes/sets/: default" },
	{ "-C @ -q plan", 0, NULL, NULL },
	{ "doctor extra", 2, NULL, "error: doctor takes no operands" },
};

static void test_cases(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cli_case *c = &cases[i];
		struct run r = run(c->args);
		bool ok = r.code == c->code && (!c->out || strstr(r.out, c->out)) &&
			  (!c->err || strstr(r.err, c->err));
		if (!ok) {
			print_error("ptbuild %s: exit %d (expected %d)\nstdout:\n%s\nstderr:\n%s\n", c->args,
				    r.code, c->code, r.out, r.err);
			failures++;
		}
		run_free(&r);
	}
	assert_int_equal(failures, 0);
	struct run quiet = run("-C @ -q plan");
	assert_string_equal(quiet.out, "");
	run_free(&quiet);
}

static void test_plan_json(void **state)
{
	(void)state;
	struct run r = run("-C @ plan --json");
	assert_int_equal(r.code, 0);
	struct jdoc doc;
	parse_stdout(&r, &doc);
	const struct jnode *variants = jnode_get(&doc.root, "variants");
	assert_non_null(variants);
	assert_int_equal(variants->n, 4);
	for (size_t i = 0; i < variants->n; i++) {
		const struct jnode *key = jnode_get(&variants->child[i], "key");
		assert_int_equal(strlen(key->str), 64);
		assert_int_equal(strspn(key->str, "0123456789abcdef"), 64);
	}
	/* ext depends on torch of its own toolchain and Python, planned before it. */
	const struct jnode *ext = &variants->child[1];
	assert_string_equal(jnode_get(ext, "recipe")->str, "ext");
	const struct jnode *deps = jnode_get(ext, "depends");
	assert_int_equal(deps->n, 1);
	assert_string_equal(jnode_get(&deps->child[0], "key")->str,
			    jnode_get(&variants->child[0], "key")->str);
	jdoc_release(&doc);
	run_free(&r);
}

static void test_plan_json_failure(void **state)
{
	(void)state;
	struct run r = run("-C @ plan nope --json");
	assert_int_equal(r.code, 2);
	struct jdoc doc;
	parse_stdout(&r, &doc);
	assert_false(jnode_get(&doc.root, "ok")->boolean);
	const struct jnode *diags = jnode_get(&doc.root, "diagnostics");
	assert_int_equal(diags->n, 1);
	assert_string_equal(jnode_get(&diags->child[0], "level")->str, "error");
	assert_string_equal(jnode_get(&diags->child[0], "message")->str, "no recipe \"nope\"");
	jdoc_release(&doc);
	run_free(&r);
}

/* A project of its own for one test: recipes/ with `recipe` (a file's text), toolchains/cpu.json
 * unless `no_toolchains`, and no set. Caller removes it. */
static char *small_project(const char *recipe, bool no_toolchains)
{
	char *dir = tmpdir_make("cli-small");
	write_text(dir, "recipes/x.json", recipe);
	if (!no_toolchains)
		write_text(dir, "toolchains/cpu.json", "{ \"name\": \"cpu\", \"tag\": \"cpu\" }");
	return dir;
}

/* What is missing is named: the default set, the toolchains/ directory. */
static void test_missing_parts_named(void **state)
{
	(void)state;
	static const char x[] = "{ \"name\": \"x\", \"version\": \"1.0\", "
				"\"source\": { \"pypi\": \"x==1.0\" } }";
	char *saved = project_dir;
	project_dir = small_project(x, false);
	struct run r = run("-C @ plan");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "error: no build set and no --toolchain: there is no ");
	assert_contains(r.err, "/recipes/sets/default.json");
	assert_contains(r.err, "hint: add recipes/sets/default.json");
	run_free(&r);
	tmpdir_remove(project_dir);
	free(project_dir);
	project_dir = small_project(x, true);
	r = run("-C @ plan --toolchain cpu --python 3.11");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "error: no toolchain \"cpu\" in toolchains/");
	assert_contains(r.err, "/toolchains/ has no toolchain file");
	run_free(&r);
	tmpdir_remove(project_dir);
	free(project_dir);
	project_dir = saved;
}

/* A password in a source URL never reaches the output, --json included. */
static void test_plan_json_redacts(void **state)
{
	(void)state;
	char *saved = project_dir;
	project_dir = small_project("{ \"name\": \"x\", \"version\": \"1.0\", \"source\": "
				    "{ \"archive\": \"http://user:s3cret@127.0.0.1:9/x.tar.gz\", "
				    "\"sha256\": \"" "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef\" } }", false);
	struct run r = run("-C @ --json plan x --toolchain cpu --python 3.11");
	assert_int_equal(r.code, 0);
	assert_not_contains(r.out, "s3cret");
	assert_not_contains(r.err, "s3cret");
	assert_contains(r.out, "http://***@127.0.0.1:9/x.tar.gz");
	run_free(&r);
	r = run("-C @ plan -v x --toolchain cpu --python 3.11");
	assert_not_contains(r.out, "s3cret");
	assert_not_contains(r.err, "s3cret");
	run_free(&r);
	tmpdir_remove(project_dir);
	free(project_dir);
	project_dir = saved;
}

/* A lock that is not JSON stops every command with a way out, and `lock --update` replaces
 * it (issue 14, item 10). */
static void test_unreadable_lock(void **state)
{
	(void)state;
	char *saved = project_dir;
	project_dir = small_project("{ \"name\": \"x\", \"version\": \"1.0\", "
				    "\"source\": { \"path\": \"src\" } }", false);
	write_text(project_dir, "src/setup.py", "");
	write_text(project_dir, "recipes/sets/default.json",
		   "{ \"targets\": [\"x\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.11\"] }");
	write_text(project_dir, "ptbuild.lock", "{ \"format\": 1,\n");
	static const char *const stopped[] = { "-C @ plan", "-C @ lock", "-C @ fetch" };
	for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++) {
		struct run r = run(stopped[i]);
		assert_int_equal(r.code, 2);
		assert_contains(r.err, "ptbuild.lock:2:2: error: invalid JSON");
		assert_contains(r.err, "hint: `ptbuild lock --update` writes a new lock in its place");
		run_free(&r);
	}
	struct run r = run("-C @ lock --update");
	assert_int_equal(r.code, 0);
	assert_contains(r.err, "ptbuild.lock cannot be read and is replaced by a new lock");
	run_free(&r);
	r = run("-C @ plan");
	assert_int_equal(r.code, 0);
	assert_not_contains(r.err, "error:");
	run_free(&r);
	tmpdir_remove(project_dir);
	free(project_dir);
	project_dir = saved;
}

static void test_doctor_json(void **state)
{
	(void)state;
	struct run r = run("doctor --json");
	assert_true(r.code == 0 || r.code == 3);
	struct jdoc doc;
	parse_stdout(&r, &doc);
	const struct jnode *ready = jnode_get(&doc.root, "ready");
	assert_non_null(ready);
	assert_int_equal(ready->boolean, r.code == 0);
	static const char *const items[] = { "cc", "c++", "python3", "torch", "nvcc", "nccl",
					     "ccache", "disk", "memory", "pythons" };
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		const struct jnode *it = jnode_get(&doc.root, items[i]);
		if (!it)
			fail_msg("doctor --json has no \"%s\"", items[i]);
		assert_non_null(jnode_get(it, "found"));
	}
	/* Memory is always readable on Linux. */
	assert_true(jnode_get(jnode_get(&doc.root, "memory"), "found")->boolean);
	jdoc_release(&doc);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_plan_json),
		cmocka_unit_test(test_plan_json_failure),
		cmocka_unit_test(test_doctor_json),
		cmocka_unit_test(test_missing_parts_named),
		cmocka_unit_test(test_plan_json_redacts),
		cmocka_unit_test(test_unreadable_lock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
