/* build/state/<recipe>/<variant>.failed.json: written sorted, read back, absent and bad ones. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/failure_record.h"
#include "util/buf.h"
#include "util/os.h"

#define KEY "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_path(void **state)
{
	(void)state;
	char *p = failure_record_path("/w/build", "torch_scatter", "cpu-py3.11");
	assert_string_equal(p, "/w/build/state/torch_scatter/cpu-py3.11.failed.json");
	free(p);
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = tmpdir_make("failure_record");
	struct diags d;
	diags_init(&d);
	struct failure_record f = {
		.key = KEY, .recipe = "torch_scatter", .variant = "cpu-py3.11", .phase = "build",
		.message = "ext.c:1:1: error: \"quoted\" | piped\nsecond line",
		.log = "/w/build/logs/cpu-py3.11/torch_scatter.log", .finished = 1700000000,
	};
	/* the state directory does not exist yet: write makes it */
	assert_int_equal(failure_record_write(dir, &f, &d), 0);
	assert_int_equal(d.n, 0);
	char *path = failure_record_path(dir, "torch_scatter", "cpu-py3.11");
	struct buf text = BUF_INIT;
	assert_int_equal(read_file(path, &text), 0);
	/* keys sorted, as the build record's */
	const char *order[] = { "\"finished\"", "\"format\"", "\"key\"", "\"log\"", "\"message\"",
				"\"phase\"", "\"recipe\"", "\"variant\"" };
	for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++) {
		assert_non_null(strstr(text.data, order[i]));
		assert_true(strstr(text.data, order[i - 1]) < strstr(text.data, order[i]));
	}
	assert_contains(text.data, "\"format\": 1");
	assert_contains(text.data, "\"finished\": 1700000000");
	buf_release(&text);

	struct failure_record g;
	assert_int_equal(failure_record_load(path, &g, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(g.key, KEY);
	assert_string_equal(g.recipe, "torch_scatter");
	assert_string_equal(g.variant, "cpu-py3.11");
	assert_string_equal(g.phase, "build");
	assert_string_equal(g.message, f.message);
	assert_string_equal(g.log, f.log);
	assert_int_equal(g.finished, 1700000000);
	failure_record_release(&g);
	assert_null(g.key);

	/* written again: replaced whole, no temporary left beside it */
	f.phase = "collect";
	f.message = NULL;
	f.log = NULL;
	assert_int_equal(failure_record_write(dir, &f, &d), 0);
	assert_int_equal(failure_record_load(path, &g, &d), 0);
	assert_string_equal(g.phase, "collect");
	assert_null(g.message);
	assert_null(g.log);
	failure_record_release(&g);
	char *sdir = path_join(dir, "state/torch_scatter");
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(list_dir(sdir, NULL, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "cpu-py3.11.failed.json");
	free_names(names, n);
	free(sdir);

	/* removed: absent is ENOENT without an error, and removing again is fine */
	assert_int_equal(failure_record_remove(dir, "torch_scatter", "cpu-py3.11"), 0);
	assert_false(path_exists(path));
	assert_int_equal(failure_record_remove(dir, "torch_scatter", "cpu-py3.11"), 0);
	errno = 0;
	assert_int_equal(failure_record_load(path, &g, &d), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(d.n, 0);
	assert_null(g.key);

	diags_release(&d);
	free(path);
	tmpdir_remove(dir);
	free(dir);
}

static void test_incomplete_is_refused(void **state)
{
	(void)state;
	char *dir = tmpdir_make("failure_record");
	struct diags d;
	diags_init(&d);
	struct failure_record f = { .key = KEY, .recipe = "r", .variant = "cpu-py3.11" };
	assert_int_equal(failure_record_write(dir, &f, &d), -1); /* no phase */
	assert_int_equal(d.nerrors, 1);
	char *path = failure_record_path(dir, "r", "cpu-py3.11");
	assert_false(path_exists(path));
	free(path);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

static void check_bad(const char *text, const char *expect)
{
	char *dir = tmpdir_make("failure_record");
	write_text(dir, "state/r/cpu-py3.11.failed.json", text);
	char *path = failure_record_path(dir, "r", "cpu-py3.11");
	struct diags d;
	diags_init(&d);
	struct failure_record f;
	assert_int_equal(failure_record_load(path, &f, &d), -1);
	assert_int_equal(d.nerrors, 1);
	char *all = diags_text(&d);
	assert_contains(all, expect);
	assert_contains(all, "hint: delete it");
	free(all);
	assert_null(f.key);
	assert_null(f.phase);
	diags_release(&d);
	free(path);
	tmpdir_remove(dir);
	free(dir);
}

static void test_bad_records(void **state)
{
	(void)state;
	check_bad("{ \"format\": 1, \"key\": ", "cpu-py3.11.failed.json:1:");
	check_bad("[]", "is not a failure record ptbuild can read");
	check_bad("{ \"format\": 2, \"finished\": 1, \"key\": \"k\", \"recipe\": \"r\", "
		  "\"variant\": \"v\", \"phase\": \"build\" }",
		  "is not a failure record ptbuild can read");
	check_bad("{ \"format\": 1, \"finished\": 1, \"key\": 7, \"recipe\": \"r\", "
		  "\"variant\": \"v\", \"phase\": \"build\" }",
		  "is not a failure record ptbuild can read");
	check_bad("{ \"format\": 1, \"key\": \"k\", \"recipe\": \"r\", \"variant\": \"v\", "
		  "\"phase\": \"build\" }",
		  "is not a failure record ptbuild can read");
	check_bad("{ \"format\": 1, \"finished\": 1, \"key\": \"k\", \"recipe\": \"r\", "
		  "\"variant\": \"v\", \"message\": \"m\" }",
		  "is not a failure record ptbuild can read");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_incomplete_is_refused),
		cmocka_unit_test(test_bad_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
