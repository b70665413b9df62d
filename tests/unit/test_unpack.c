/*
 * Unpacking archives: a normal tarball with "strip", and every unsafe kind refused with its
 * own message and nothing left behind. The archives are made by Python's tarfile, which
 * writes whatever names it is given.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/unpack.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

static char *dir;

/* Makes dir/NAME with python: `spec` is a Python list of (name, type, data) tuples. */
static char *make_tar(const char *name, const char *spec)
{
	char *path = path_join(dir, name);
	struct buf py = BUF_INIT;
	buf_addf(&py,
		 "import io, tarfile, sys\n"
		 "t = tarfile.open(sys.argv[1], 'w:gz')\n"
		 "for name, kind, data in %s:\n"
		 "    i = tarfile.TarInfo(name)\n"
		 "    if kind == 'dir': i.type = tarfile.DIRTYPE; t.addfile(i)\n"
		 "    elif kind == 'sym': i.type = tarfile.SYMTYPE; i.linkname = data; t.addfile(i)\n"
		 "    elif kind == 'hard': i.type = tarfile.LNKTYPE; i.linkname = data; t.addfile(i)\n"
		 "    else: b = data.encode(); i.size = len(b); t.addfile(i, io.BytesIO(b))\n"
		 "t.close()\n",
		 spec);
	const char *argv[] = { "python3", "-c", py.data, path, NULL };
	struct buf out = BUF_INIT;
	if (run_capture(argv, &out, 60000) != 0)
		fail_msg("python3 failed: %s", out.data);
	buf_release(&out);
	buf_release(&py);
	return path;
}

static int setup(void **state)
{
	(void)state;
	dir = tmpdir_make("unpack");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tmpdir_remove(dir);
	free(dir);
	return 0;
}

static void test_extract_with_strip(void **state)
{
	(void)state;
	char *tar = make_tar("ok.tar.gz", "[('pkg-1.0', 'dir', ''), ('pkg-1.0/setup.py', 'file', 'x=1\\n'),"
					  " ('pkg-1.0/src/a.c', 'file', 'int a;\\n'),"
					  " ('pkg-1.0/link', 'sym', 'src/a.c')]");
	char *dest = path_join(dir, "ok");
	struct diags d;
	diags_init(&d);
	assert_int_equal(archive_extract(tar, NULL, dest, 1, &d), 0);
	char *setup_py = path_join(dest, "setup.py");
	struct buf text = BUF_INIT;
	assert_int_equal(read_file(setup_py, &text), 0);
	assert_string_equal(text.data, "x=1\n");
	char *a = path_join(dest, "link");
	buf_reset(&text);
	assert_int_equal(read_file(a, &text), 0); /* the symlink inside the tree works */
	assert_string_equal(text.data, "int a;\n");
	buf_release(&text);
	/* extracting again into an existing tree is refused, not merged */
	assert_int_equal(archive_extract(tar, NULL, dest, 1, &d), -1);
	free(a);
	free(setup_py);
	free(dest);
	free(tar);
	diags_release(&d);
}

static void test_unsafe_archives(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *expect;
	} rows[] = {
		{ "[('../evil', 'file', 'x')]", "entry \"../evil\" contains \"..\"" },
		{ "[('pkg/../../evil', 'file', 'x')]", "entry \"pkg/../../evil\" contains \"..\"" },
		{ "[('/abs/evil', 'file', 'x')]", "entry \"/abs/evil\" has an absolute path" },
		{ "[('pkg/l', 'sym', '/etc/passwd')]", "entry \"pkg/l\" is a symlink to an absolute path" },
		{ "[('pkg/l', 'sym', '../../outside')]",
		  "entry \"pkg/l\" is a symlink that points outside the tree" },
		{ "[('pkg/a', 'file', 'x'), ('pkg/h', 'hard', '/etc/hostname')]",
		  "entry \"pkg/h\" is a hard link to outside the tree" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "bad%zu.tar.gz", i);
		char *tar = make_tar(name, rows[i].spec);
		char *dest = path_join(dir, "bad");
		struct diags d;
		diags_init(&d);
		assert_int_equal(archive_extract(tar, NULL, dest, 0, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].expect);
		assert_contains(t, "nothing was extracted");
		assert_false(path_exists(dest));
		free(t);
		diags_release(&d);
		free(dest);
		free(tar);
	}
	/* nothing temporary is left either */
	char **names;
	size_t n;
	assert_int_equal(list_dir(dir, NULL, &names, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(names[i], ".tmp-"));
	free_names(names, n);
}

static void test_truncated_archive(void **state)
{
	(void)state;
	char *tar = make_tar("big.tar.gz", "[('pkg/f%d' % i, 'file', str(i) * 5000) for i in range(50)]");
	struct buf cut = BUF_INIT;
	assert_int_equal(read_file(tar, &cut), 0);
	char *half = path_join(dir, "half.tar.gz");
	assert_int_equal(write_file_atomic(half, cut.data, cut.len / 2), 0);
	char *dest = path_join(dir, "half");
	struct diags d;
	diags_init(&d);
	assert_int_equal(archive_extract(half, NULL, dest, 0, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "is damaged or truncated");
	assert_false(path_exists(dest));
	free(t);
	diags_release(&d);
	buf_release(&cut);
	free(dest);
	free(half);
	free(tar);
}

/* With its origin, every message names the recipe, the URL and the recipe's source line as
 * well as the cached file (issue 14, item 9). */
static void test_messages_name_the_origin(void **state)
{
	(void)state;
	char *evil = make_tar("evil.tar.gz", "[('../evil', 'file', 'x')]");
	char *good = make_tar("good.tar.gz", "[('pkg/f%d' % i, 'file', str(i) * 5000) for i in range(50)]");
	struct buf cut = BUF_INIT;
	assert_int_equal(read_file(good, &cut), 0);
	char *half = path_join(dir, "cut.tar.gz");
	assert_int_equal(write_file_atomic(half, cut.data, cut.len / 2), 0);
	struct pos pos = { "recipes/foo.json", 3, 14 };
	struct archive_origin from = { "foo", "http://127.0.0.1:9/foo-1.0.tar.gz", &pos };
	const char *archives[] = { evil, half };
	for (size_t i = 0; i < 2; i++) {
		char *dest = path_join(dir, "from");
		struct diags d;
		diags_init(&d);
		assert_int_equal(archive_extract(archives[i], &from, dest, 0, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, "recipes/foo.json:3:14: error: recipe \"foo\": archive "
				   "http://127.0.0.1:9/foo-1.0.tar.gz (cached as ");
		assert_contains(t, archives[i]);
		assert_contains(t, i == 0 ? "contains \"..\"" : "is damaged or truncated");
		assert_contains(t, "hint: ");
		assert_false(path_exists(dest));
		free(t);
		diags_release(&d);
		free(dest);
	}
	buf_release(&cut);
	free(half);
	free(good);
	free(evil);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_with_strip),
		cmocka_unit_test(test_unsafe_archives),
		cmocka_unit_test(test_truncated_archive),
		cmocka_unit_test(test_messages_name_the_origin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
