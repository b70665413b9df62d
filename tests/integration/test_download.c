/* Downloads over loopback HTTP: verified by sha256, errors named, nothing bad kept. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/download.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/strutil.h"
#include "util/os.h"
#include "util/xalloc.h"

static char *root;  /* served directory and cache */
static char *base;  /* http://127.0.0.1:PORT/files */
static char *server_url; /* http://127.0.0.1:PORT */
static long server_pid;

static int setup(void **state)
{
	(void)state;
	root = tmpdir_make("download");
	write_text(root, "www/pkg-1.0.tar.gz", "not really a tarball, but bytes all the same\n");
	struct buf big = BUF_INIT;
	for (int i = 0; i < 400; i++)
		buf_addf(&big, "line %04d of a file served slowly\n", i);
	write_text(root, "www/big.bin", big.data);
	buf_release(&big);
	struct buf args = BUF_INIT;
	buf_addf(&args, "--root %s/www", root);
	char *server = NULL;
	server_pid = loopback_server_start(root, args.data, &server);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/files", server);
	base = buf_detach(&b);
	server_url = server;
	buf_release(&args);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server_pid > 0)
		kill((pid_t)server_pid, SIGTERM);
	tmpdir_remove(root);
	free(root);
	free(base);
	free(server_url);
	return 0;
}

static char *url_of(const char *path)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/%s", base, path);
	return buf_detach(&b);
}

static size_t dist_entries(const char *cache)
{
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "find %s/dist -type f 2>/dev/null | wc -l", cache);
	const char *argv[] = { "sh", "-c", cmd.data, NULL };
	struct buf out = BUF_INIT;
	run_capture(argv, &out, 10000);
	size_t n = strtoul(out.data, NULL, 10);
	buf_release(&out);
	buf_release(&cmd);
	return n;
}

static void test_verified_and_cached(void **state)
{
	(void)state;
	char *cache = path_join(root, "cache-ok");
	char *src = path_join(root, "www/pkg-1.0.tar.gz");
	char sha[SHA256_HEX_SIZE];
	assert_int_equal(sha256_file_hex(src, sha), 0);
	char *url = url_of("pkg-1.0.tar.gz");
	struct download_opts o = { .cache_dir = cache };
	struct diags d;
	diags_init(&d);
	char *path = NULL;
	assert_int_equal(download_verified(&o, url, sha, &path, &d), 0);
	assert_contains(path, sha);
	assert_true(ends_with(path, "/pkg-1.0.tar.gz"));
	char got[SHA256_HEX_SIZE];
	assert_int_equal(sha256_file_hex(path, got), 0);
	assert_string_equal(got, sha);
	free(path);
	/* the second time it comes from the cache, network or not */
	struct download_opts frozen = { .cache_dir = cache, .offline = true };
	assert_int_equal(download_verified(&frozen, url, sha, &path, &d), 0);
	free(path);
	assert_int_equal(dist_entries(cache), 1);
	diags_release(&d);
	free(url);
	free(src);
	free(cache);
}

static void test_errors_keep_nothing(void **state)
{
	(void)state;
	char *cache = path_join(root, "cache-bad");
	const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
	struct {
		char *url;
		bool offline;
		const char *expect, *hint;
	} rows[] = {
		{ url_of("pkg-1.0.tar.gz"), false, "sha256 of \"", "it was not kept" },
		{ url_of("missing-2.0.tar.gz"), false, "missing-2.0.tar.gz\": HTTP 404", "check the URL" },
		{ xstrdup("http://127.0.0.1:1/x.tar.gz"), false, "cannot download \"http://127.0.0.1:1/x.tar.gz\"",
		  "refused the connection" },
		{ url_of("pkg-1.0.tar.gz"), true, "is not in the cache", "--frozen" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct download_opts o = { .cache_dir = cache, .offline = rows[i].offline, .retries = 1 };
		struct diags d;
		diags_init(&d);
		char *path = NULL;
		assert_int_equal(download_verified(&o, rows[i].url, wrong, &path, &d), -1);
		assert_null(path);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].expect);
		assert_contains(t, rows[i].hint);
		if (i == 0)
			assert_contains(t, "expected 0000000000000000000000000000000000000000000000000000000000000000, got ");
		free(t);
		diags_release(&d);
		free(rows[i].url);
	}
	assert_int_equal(dist_entries(cache), 0);
	free(cache);
}

static void test_credentials_never_printed(void **state)
{
	(void)state;
	char *cache = path_join(root, "cache-cred");
	struct buf url = BUF_INIT;
	buf_addf(&url, "http://user:s3cret@%s/missing.tar.gz", base + strlen("http://"));
	struct download_opts o = { .cache_dir = cache, .retries = 1 };
	struct diags d;
	diags_init(&d);
	char *path = NULL;
	assert_int_equal(download_verified(&o, url.data, "00", &path, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "http://***@127.0.0.1:");
	assert_not_contains(t, "s3cret");
	free(t);
	diags_release(&d);
	buf_release(&url);
	free(cache);
}

/* A server that stops half way, one that trickles, one that fails once: the first two keep
 * nothing and say what happened; the third succeeds on a retry. */
static void test_truncated_slow_flaky(void **state)
{
	(void)state;
	char *cache = path_join(root, "cache-net");
	char *file = path_join(root, "www/pkg-1.0.tar.gz");
	char *bigf = path_join(root, "www/big.bin");
	char sha[SHA256_HEX_SIZE], bigsha[SHA256_HEX_SIZE];
	assert_int_equal(sha256_file_hex(file, sha), 0);
	assert_int_equal(sha256_file_hex(bigf, bigsha), 0);
	struct {
		const char *path;
		const char *sha;
		const char *expect;
	} rows[] = {
		{ "truncate/pkg-1.0.tar.gz", sha, "closed the connection before the end" },
		{ "slow/big.bin", bigsha, "timed out" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf url = BUF_INIT;
		buf_addf(&url, "%s/%s", server_url, rows[i].path);
		struct download_opts o = { .cache_dir = cache, .retries = 1, .low_speed_timeout_s = 1 };
		struct diags d;
		diags_init(&d);
		char *path = NULL;
		double t0 = monotonic_seconds();
		assert_int_equal(download_verified(&o, url.data, rows[i].sha, &path, &d), -1);
		assert_true(monotonic_seconds() - t0 < 30);
		assert_null(path);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].path);
		assert_contains(t, rows[i].expect);
		free(t);
		diags_release(&d);
		buf_release(&url);
	}
	assert_int_equal(dist_entries(cache), 0);
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/flaky/pkg-1.0.tar.gz", server_url);
	struct download_opts o = { .cache_dir = cache, .retries = 2 };
	struct diags d;
	diags_init(&d);
	char *path = NULL;
	assert_int_equal(download_verified(&o, url.data, sha, &path, &d), 0);
	assert_non_null(path);
	assert_int_equal(dist_entries(cache), 1);
	free(path);
	diags_release(&d);
	buf_release(&url);
	free(file);
	free(bigf);
	free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verified_and_cached),
		cmocka_unit_test(test_errors_keep_nothing),
		cmocka_unit_test(test_credentials_never_printed),
		cmocka_unit_test(test_truncated_slow_flaky),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
