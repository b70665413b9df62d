/* wheels/dev_stage: what Dockerfile.dev copies, staged in the wheelhouse (dev/ptbuild/,
 * dev/project/), and where ptbuild's own sources are found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "util/buf.h"
#include "util/os.h"
#include "wheels/dev_stage.h"

static ino_t inode(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct stat st;
	int rc = lstat(p, &st);
	free(p);
	return rc == 0 ? st.st_ino : 0;
}

static bool exists(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

/* A fake ptbuild checkout and project in `root`. */
static void make_inputs(const char *root)
{
	write_text(root, "ptbuild/CMakeLists.txt", "project(ptbuild C)\n");
	write_text(root, "ptbuild/driver/main.c", "int main(void) { return 0; }\n");
	write_text(root, "ptbuild/driver/util/os.c", "/* os */\n");
	write_text(root, "ptbuild/tests/unit/test_x.c", "/* not staged */\n");
	write_text(root, "ptbuild/build/test/ptbuild", "not staged either\n");
	write_text(root, "proj/recipes/ext.json", "{}\n");
	write_text(root, "proj/recipes/sets/default.json", "{}\n");
	write_text(root, "proj/toolchains/cpu.json", "{}\n");
	write_text(root, "proj/ptbuild.lock", "{}\n");
	write_text(root, "proj/build/src/ext-v1/ext.c", "int x;\n");
	write_text(root, "proj/build/src/ext-v1/.gitignore", "*.o\n");
	write_text(root, "proj/build/src/.ext-v1.pin", "pin\n");
	write_text(root, "proj/build/src/other-v2/other.c", "not in the plan\n");
	write_text(root, "proj/build/logs/x.log", "not staged\n");
	char *tool = path_join(root, "proj/build/src/ext-v1/tool.sh");
	write_text(root, "proj/build/src/ext-v1/tool.sh", "#!/bin/sh\n");
	chmod(tool, 0755);
	free(tool);
	char *link = path_join(root, "proj/build/src/ext-v1/link.c");
	assert_int_equal(symlink("ext.c", link), 0);
	free(link);
}

static void test_stage(void **state)
{
	(void)state;
	char *root = tmpdir_make("dev-stage");
	make_inputs(root);
	char *ptb = path_join(root, "ptbuild"), *proj = path_join(root, "proj");
	char *work = path_join(proj, "build"), *house = path_join(root, "house");
	assert_int_equal(make_dirs(house, 0755), 0);
	const char *trees[] = { "ext-v1", "gone-v3" };
	struct dev_stage s = { ptb, proj, work, trees, 2 };
	struct diags d;
	diags_init(&d);
	assert_int_equal(dev_stage_write(house, &s, &d), 0);

	/* ptbuild: CMakeLists.txt and driver/, nothing else */
	assert_true(exists(house, "dev/ptbuild/CMakeLists.txt"));
	assert_true(exists(house, "dev/ptbuild/driver/main.c"));
	assert_true(exists(house, "dev/ptbuild/driver/util/os.c"));
	assert_false(exists(house, "dev/ptbuild/tests"));
	assert_false(exists(house, "dev/ptbuild/build"));
	/* the project: its files, the plan's trees with dot files and markers, nothing else */
	assert_true(exists(house, "dev/project/recipes/sets/default.json"));
	assert_true(exists(house, "dev/project/toolchains/cpu.json"));
	assert_true(exists(house, "dev/project/ptbuild.lock"));
	assert_false(exists(house, "dev/project/mirrors.json")); /* absent in the project */
	assert_false(exists(house, "dev/project/patches"));
	assert_true(exists(house, "dev/project/build/src/ext-v1/.gitignore"));
	assert_true(exists(house, "dev/project/build/src/.ext-v1.pin"));
	assert_false(exists(house, "dev/project/build/src/other-v2"));
	assert_false(exists(house, "dev/project/build/logs"));
	/* hard links, not copies; links made again; modes kept */
	assert_int_equal(inode(house, "dev/project/build/src/ext-v1/ext.c"),
			 inode(root, "proj/build/src/ext-v1/ext.c"));
	assert_int_equal(inode(house, "dev/ptbuild/driver/main.c"), inode(root, "ptbuild/driver/main.c"));
	char *link = path_join(house, "dev/project/build/src/ext-v1/link.c");
	char target[64] = "";
	assert_int_equal(readlink(link, target, sizeof(target) - 1), 5);
	assert_string_equal(target, "ext.c");
	free(link);
	char *tool = path_join(house, "dev/project/build/src/ext-v1/tool.sh");
	assert_int_equal(access(tool, X_OK), 0);
	free(tool);
	/* a tree of the plan that is not there: a warning naming it and `ptbuild fetch` */
	char *text = diags_text(&d);
	assert_contains(text, "the source tree \"gone-v3\" is not in");
	assert_contains(text, "ptbuild fetch");
	assert_int_equal(diags_failure(&d), DIAG_NO_FAILURE);
	free(text);
	diags_release(&d);

	/* staging twice into a fresh directory gives the same listing */
	struct buf a = BUF_INIT, b = BUF_INIT;
	assert_int_equal(shell_run(&a, "cd '%s/dev' && find . | LC_ALL=C sort", house), 0);
	char *house2 = path_join(root, "house2");
	assert_int_equal(make_dirs(house2, 0755), 0);
	diags_init(&d);
	assert_int_equal(dev_stage_write(house2, &s, &d), 0);
	assert_int_equal(shell_run(&b, "cd '%s/dev' && find . | LC_ALL=C sort", house2), 0);
	assert_string_equal(a.data, b.data);
	buf_release(&a);
	buf_release(&b);
	diags_release(&d);
	free(house2);

	free(house);
	free(work);
	free(proj);
	free(ptb);
	tmpdir_remove(root);
	free(root);
}

static void test_find_source(void **state)
{
	(void)state;
	char *root = tmpdir_make("dev-source");
	struct diags d;
	diags_init(&d);
	/* --ptbuild-source that is not ptbuild's: an environment error with a hint */
	assert_null(dev_stage_find_source(root, &d));
	char *text = diags_text(&d);
	assert_contains(text, "is not ptbuild's source directory (it needs CMakeLists.txt and "
			      "driver/main.c)");
	assert_contains(text, "hint: name a ptbuild checkout");
	assert_int_equal(diags_failure(&d), DIAG_ENVIRONMENT);
	free(text);
	diags_release(&d);
	/* a checkout given is taken, absolute */
	write_text(root, "CMakeLists.txt", "project(ptbuild C)\n");
	write_text(root, "driver/main.c", "\n");
	diags_init(&d);
	char *got = dev_stage_find_source(root, &d);
	assert_non_null(got);
	assert_string_equal(got, root);
	free(got);
	/* without one: the tree this binary was built from (the tests run in a build tree) */
	got = dev_stage_find_source(NULL, &d);
	assert_non_null(got);
	char *cm = path_join(got, "driver/wheels/dev_stage.c");
	assert_true(path_exists(cm));
	free(cm);
	free(got);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	tmpdir_remove(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_find_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
