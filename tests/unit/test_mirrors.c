/* URL mirrors: longest prefix wins, PTBUILD_MIRRORS overrides the project, bad files. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "sources/mirrors.h"
#include "util/os.h"

static void test_rewrite(void **state)
{
	(void)state;
	char *dir = tmpdir_make("mirrors");
	write_text(dir, "mirrors.json",
		   "// site mirrors\n{ \"https://github.com/\": \"file:///srv/gh/\",\n"
		   "  \"https://github.com/pytorch/\": \"http://127.0.0.1:9/pt/\" }\n");
	write_text(dir, "env.json", "{ \"https://github.com/\": \"https://mirror.internal/gh/\" }");
	unsetenv("PTBUILD_MIRRORS");
	struct mirrors m;
	struct diags d;
	diags_init(&d);
	assert_int_equal(mirrors_load(&m, dir, &d), 0);
	char *a = mirrors_rewrite(&m, "https://github.com/pytorch/pytorch.git");
	char *b = mirrors_rewrite(&m, "https://github.com/MooreThreads/kineto.git");
	char *c = mirrors_rewrite(&m, "https://gitlab.com/x/y.git");
	assert_string_equal(a, "http://127.0.0.1:9/pt/pytorch.git");
	assert_string_equal(b, "file:///srv/gh/MooreThreads/kineto.git");
	assert_string_equal(c, "https://gitlab.com/x/y.git");
	free(a);
	free(b);
	free(c);
	mirrors_release(&m);

	char *env = path_join(dir, "env.json");
	setenv("PTBUILD_MIRRORS", env, 1);
	assert_int_equal(mirrors_load(&m, dir, &d), 0);
	b = mirrors_rewrite(&m, "https://github.com/MooreThreads/kineto.git");
	assert_string_equal(b, "https://mirror.internal/gh/MooreThreads/kineto.git");
	free(b);
	mirrors_release(&m);
	unsetenv("PTBUILD_MIRRORS");
	free(env);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

static void test_bad_files(void **state)
{
	(void)state;
	char *dir = tmpdir_make("mirrors");
	write_text(dir, "mirrors.json", "{ \"https://github.com/\": 1,\n  \"\": \"x\" }");
	unsetenv("PTBUILD_MIRRORS");
	struct mirrors m;
	struct diags d;
	diags_init(&d);
	assert_int_equal(mirrors_load(&m, dir, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "mirrors.json:1:26: error: the mirror for \"https://github.com/\" must be a "
			   "string, not a number");
	assert_contains(t, "mirrors.json:2:3: error: an empty prefix would rewrite every URL");
	free(t);
	mirrors_release(&m);
	diags_release(&d);

	diags_init(&d);
	setenv("PTBUILD_MIRRORS", "/nonexistent/mirrors.json", 1);
	write_text(dir, "mirrors.json", "{}");
	assert_int_equal(mirrors_load(&m, dir, &d), -1);
	t = diags_text(&d);
	assert_contains(t, "PTBUILD_MIRRORS names \"/nonexistent/mirrors.json\", which does not exist");
	free(t);
	mirrors_release(&m);
	unsetenv("PTBUILD_MIRRORS");
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
