/* The remote output cache's pure parts: URLs of entries, redaction of credentials in them,
 * and what remote_cache_init makes of the fleet settings (issue 16, item 3). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "build/remote_cache.h"
#include "util/url.h"

static void test_url_of(void **state)
{
	(void)state;
	static const char *const rows[][4] = {
		{ "http://h:8080/out", "k1", "manifest.json", "http://h:8080/out/k1/manifest.json" },
		{ "http://h:8080/out/", "k1", "a.whl", "http://h:8080/out/k1/a.whl" },
		{ "http://h:8080/out//", "k1", NULL, "http://h:8080/out/k1/" },
		{ "https://u:p@h/c", "k", "m", "https://u:p@h/c/k/m" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = remote_cache_url_of(rows[i][0], rows[i][1], rows[i][2]);
		if (strcmp(got, rows[i][3]))
			fail_msg("%s + %s: got %s, expected %s", rows[i][0], rows[i][1], got, rows[i][3]);
		free(got);
	}
}

static void test_redact_userinfo(void **state)
{
	(void)state;
	static const char *const rows[][2] = {
		{ "http://ptuser:s3cr3t@127.0.0.1:81/out/k/m.json", "http://***@127.0.0.1:81/out/k/m.json" },
		/* an "@" in the password: everything up to the last one of the authority goes */
		{ "https://u:p@ss@h/x", "https://***@h/x" },
		{ "https://token@h", "https://***@h" },
		{ "https://h/out/a@b", "https://h/out/a@b" },
		/* a raw "#" or "?" in a password (a fuzzer found it leaked): up to the path goes,
		 * even when that "@" was a query's (over-redacting loses nothing secret) */
		{ "https://user:se#ret@h.example/x", "https://***@h.example/x" },
		{ "https://u:a?b@h/x", "https://***@h/x" },
		{ "https://h?q=a@b", "https://***@b" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = url_redact(rows[i][0]);
		if (strcmp(got, rows[i][1]))
			fail_msg("%s: got %s, expected %s", rows[i][0], got, rows[i][1]);
		free(got);
	}
	char *t = text_redact("cannot read 'https://u:p@ss@h/x': Failed to connect to h port 80");
	assert_string_equal(t, "cannot read 'https://***@h/x': Failed to connect to h port 80");
	free(t);
}

static void test_init(void **state)
{
	(void)state;
	struct fleet_config fc = { 0 };
	struct remote_cache rc;
	struct diags d;
	diags_init(&d);
	assert_int_equal(remote_cache_init(&rc, &fc, &d), 0);
	assert_null(rc.url); /* none configured */
	fc.remote_cache_url = "https://u:pw@cache.example/ptbuild///";
	fc.remote_read_only = true;
	assert_int_equal(remote_cache_init(&rc, &fc, &d), 0);
	assert_string_equal(rc.url, "https://u:pw@cache.example/ptbuild");
	assert_string_equal(rc.shown, "https://***@cache.example/ptbuild");
	assert_true(rc.read_only);
	assert_int_equal(rc.http.retries, 2);
	remote_cache_release(&rc);
	fc.remote_cache_url = "ftp://u:pw@cache.example/x";
	assert_int_equal(remote_cache_init(&rc, &fc, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "\"ftp://***@cache.example/x\" is not http:// or https://");
	assert_not_contains(text, "pw");
	free(text);
	remote_cache_release(&rc);
	diags_release(&d);
}

/* A remote cache that is not there: a miss with one warning, and then no more requests. */
static void test_down_once(void **state)
{
	(void)state;
	char *dir = tmpdir_make("remote");
	struct fleet_config fc = { 0 };
	fc.remote_cache_url = "http://u:pw@127.0.0.1:1/out"; /* port 1: refused */
	struct remote_cache rc;
	struct diags d;
	diags_init(&d);
	assert_int_equal(remote_cache_init(&rc, &fc, &d), 0);
	rc.http.retries = 0;
	struct build_record rec;
	bool refused;
	assert_int_equal(remote_cache_fetch(&rc, dir, NULL, "k1", &rec, &refused, &d), 0);
	assert_int_equal(remote_cache_fetch(&rc, dir, NULL, "k2", &rec, &refused, &d), 0);
	assert_false(refused);
	assert_true(rc.down);
	assert_int_equal(rc.failures, 1);
	assert_int_equal(d.nwarnings, 1);
	assert_int_equal(d.nerrors, 0);
	char *text = diags_text(&d);
	assert_contains(text, "remote cache: cannot read http://***@127.0.0.1:1/out/k1/manifest.json");
	assert_contains(text, "not used for the rest of this run");
	assert_not_contains(text, "pw");
	free(text);
	struct buf ls = BUF_INIT;
	shell_run(&ls, "ls -A '%s'", dir);
	assert_string_equal(ls.data, ""); /* nothing entered, no temporary left */
	buf_release(&ls);
	remote_cache_release(&rc);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_of),
		cmocka_unit_test(test_redact_userinfo),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_down_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
