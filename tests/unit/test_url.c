/* Submodule URL resolution (as git does it), credential redaction, mirror names. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "util/url.h"

static void test_resolve(void **state)
{
	(void)state;
	static const char *const rows[][3] = {
		{ "https://github.com/org/top.git", "../mid2.git", "https://github.com/org/mid2.git" },
		{ "https://github.com/org/top.git/", "../mid2.git", "https://github.com/org/mid2.git" },
		{ "https://github.com/org/top.git", "../../other/x.git", "https://github.com/other/x.git" },
		{ "https://github.com/org/top.git", "./sub.git", "https://github.com/org/top.git/sub.git" },
		/* libgit2 1.5 loses a slash here */
		{ "file:///srv/git/org/top.git", "../mid2.git", "file:///srv/git/org/mid2.git" },
		/* and drops the host here */
		{ "git@github.com:org/top.git", "../../other/x.git", "git@github.com:other/x.git" },
		{ "git@github.com:org/top.git", "../x.git", "git@github.com:org/x.git" },
		{ "/srv/git/top.git", "../leaf.git", "/srv/git/leaf.git" },
		{ "http://127.0.0.1:8080/git/top.git", "../mid2.git", "http://127.0.0.1:8080/git/mid2.git" },
		{ "https://github.com/org/top.git", "https://example.invalid/y.git",
		  "https://example.invalid/y.git" },
		{ "https://github.com/org/top.git", "/abs/path.git", "/abs/path.git" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = url_resolve(rows[i][0], rows[i][1]);
		if (strcmp(got, rows[i][2]))
			fail_msg("%s + %s: got %s, expected %s", rows[i][0], rows[i][1], got, rows[i][2]);
		free(got);
	}
}

static void test_join(void **state)
{
	(void)state;
	static const char *const rows[][3] = {
		/* what PyPI's simple pages link to */
		{ "https://pypi.org/simple/torch-scatter/",
		  "https://files.pythonhosted.org/packages/f5/ab/torch_scatter-2.1.2.tar.gz#sha256=ab",
		  "https://files.pythonhosted.org/packages/f5/ab/torch_scatter-2.1.2.tar.gz#sha256=ab" },
		/* what a static index beside the files links to */
		{ "http://127.0.0.1:8080/files/simple/pkg/", "../../dist/pkg-1.0.tar.gz",
		  "http://127.0.0.1:8080/files/dist/pkg-1.0.tar.gz" },
		{ "http://127.0.0.1:8080/files/simple/pkg/", "pkg-1.0.tar.gz",
		  "http://127.0.0.1:8080/files/simple/pkg/pkg-1.0.tar.gz" },
		{ "http://127.0.0.1:8080/files/simple/pkg/index.html?x=1", "./pkg-1.0.zip",
		  "http://127.0.0.1:8080/files/simple/pkg/pkg-1.0.zip" },
		{ "http://127.0.0.1:8080/files/simple/pkg/", "/packages/pkg-1.0.tar.gz",
		  "http://127.0.0.1:8080/packages/pkg-1.0.tar.gz" },
		{ "https://pypi.org/simple/pkg/", "//files.example/pkg-1.0.tar.gz",
		  "https://files.example/pkg-1.0.tar.gz" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = url_join(rows[i][0], rows[i][1]);
		if (strcmp(got, rows[i][2]))
			fail_msg("%s + %s: got %s, expected %s", rows[i][0], rows[i][1], got, rows[i][2]);
		free(got);
	}
}

static void test_redact(void **state)
{
	(void)state;
	char *r = url_redact("https://user:s3cret@host.example/org/x.git");
	assert_string_equal(r, "https://***@host.example/org/x.git");
	free(r);
	r = url_redact("https://host.example/a@b/x.git");
	assert_string_equal(r, "https://host.example/a@b/x.git");
	free(r);
	r = text_redact("failed to fetch 'https://u:p@h/x.git' and http://a@b/ (see https://h/y)");
	assert_string_equal(r, "failed to fetch 'https://***@h/x.git' and http://***@b/ (see https://h/y)");
	free(r);
	r = url_redact("git@github.com:org/x.git");
	assert_string_equal(r, "git@github.com:org/x.git");
	free(r);
}

static void test_mirror_name(void **state)
{
	(void)state;
	char *a = url_mirror_name("https://github.com/pytorch/pytorch.git");
	char *b = url_mirror_name("https://github.com/other/pytorch.git");
	assert_true(!strncmp(a, "pytorch-", 8));
	assert_int_equal(strlen(a), strlen("pytorch-") + 12);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	char *c = url_mirror_name("git@host:we ird/x y.git/");
	assert_true(!strncmp(c, "x_y-", 4));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_mirror_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
