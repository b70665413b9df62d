/*
 * zip_write, the parallel writer behind wheel_pack, against the libarchive writer wheel_pack
 * used before (kept as wheel_pack_libarchive, the reference): the same bytes for 1, 2 and 4
 * threads, on a generated fixture with a member over 1 MiB, one whose deflate stream spills
 * to a temp file (over 8 MiB compressed), empty files, nested and empty directories, an
 * executable, a name RECORD quotes and a stale RECORD; a symlink is refused by both. And
 * wheel_unpack_threads against wheel_unpack.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "util/hash.h"
#include "util/os.h"
#include "util/xalloc.h"
#include "wheels/wheel.h"
#include "wheels/zip_write.h"

/* Deterministic bytes: text-like runs (compress well) mixed with LCG noise (do not). */
static void write_generated(const char *dir, const char *rel, size_t size, unsigned noise,
			    unsigned seed)
{
	char *path = path_join(dir, rel);
	assert_int_equal(make_parents(path), 0);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	uint32_t x = seed;
	static const char words[] = "torch cuda kernel tensor module dispatch autograd ";
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		unsigned char c = (x >> 16) % 100 < noise ? (unsigned char)(x >> 24)
							 : (unsigned char)words[i % (sizeof(words) - 1)];
		fputc(c, f);
	}
	fclose(f);
	free(path);
}

static char *make_fixture(const char *root)
{
	char *src = path_join(root, "src");
	assert_int_equal(make_dirs(src, 0755), 0);
	write_text(src, "pkg/__init__.py", "from .core import *\n");
	write_text(src, "pkg/core.py", "def f():\n    return 1\n");
	write_text(src, "pkg/empty.txt", "");
	write_text(src, "pkg/sub/deeper/also_empty", "");
	write_text(src, "pkg/data,with \"quotes\".txt", "quoted in RECORD\n");
	write_generated(src, "pkg/lib/libbig.so", 3u << 20, 30, 7);       /* > 1 MiB */
	write_generated(src, "pkg/lib/libnoise.so", 9u << 20, 100, 11);   /* spills */
	write_generated(src, "pkg/bin/tool", 200000, 50, 3);
	char *tool = path_join(src, "pkg/bin/tool");
	assert_int_equal(chmod(tool, 0755), 0);
	free(tool);
	char *emptydir = path_join(src, "pkg/nothing_here");
	assert_int_equal(make_dirs(emptydir, 0755), 0);
	free(emptydir);
	write_text(src, "pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\n"
						     "Version: 1.0\n\n");
	write_text(src, "pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
						  "Tag: cp311-cp311-linux_x86_64\n");
	write_text(src, "pkg-1.0.dist-info/RECORD", "stale,,\n");
	return src;
}

static void file_sha(const char *path, char hex[SHA256_HEX_SIZE])
{
	assert_int_equal(sha256_file_hex(path, hex), 0);
}

static void test_same_bytes_for_every_thread_count(void **state)
{
	(void)state;
	char *root = tmpdir_make("zipw");
	char *src = make_fixture(root);
	struct diags d;
	diags_init(&d);
	char *ref = path_join(root, "ref.whl");
	assert_int_equal(wheel_pack_libarchive(src, ref, 1700000000, &d), 0);
	char want[SHA256_HEX_SIZE];
	file_sha(ref, want);
	static const unsigned threads[] = { 1, 2, 4 };
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "t%u.whl", threads[i]);
		char *out = path_join(root, name);
		assert_int_equal(wheel_pack_threads(src, out, 1700000000, threads[i], &d), 0);
		char got[SHA256_HEX_SIZE];
		file_sha(out, got);
		if (strcmp(got, want)) {
			struct buf cmp = BUF_INIT;
			shell_run(&cmp, "cmp -l '%s' '%s' | head -5; ls -l '%s' '%s'", ref, out,
				  ref, out);
			print_error("%u threads: %s differs from libarchive's %s\n%s\n", threads[i],
				    got, want, cmp.data);
			buf_release(&cmp);
			fail();
		}
		free(out);
	}
	/* wheel_pack is the 1-thread writer; nothing temporary is left beside the outputs */
	char *plain = path_join(root, "plain.whl");
	assert_int_equal(wheel_pack(src, plain, 1700000000, &d), 0);
	char got[SHA256_HEX_SIZE];
	file_sha(plain, got);
	assert_string_equal(got, want);
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(list_dir(root, NULL, &names, &n), 0);
	assert_int_equal(n, 6); /* src, ref, t1, t2, t4, plain */
	free_names(names, n);
	/* it is a wheel: unpacks with the right digests */
	char *un = path_join(root, "un");
	struct wheel_members m;
	assert_int_equal(wheel_unpack(plain, un, &m, &d), 0);
	assert_int_equal(m.n, 11); /* 10 files + RECORD */
	wheel_members_release(&m);
	assert_int_equal(d.nerrors, 0);
	diags_release(&d);
	free(un);
	free(plain);
	free(ref);
	free(src);
	tmpdir_remove(root);
	free(root);
}

static void test_symlink_refused_and_nothing_left(void **state)
{
	(void)state;
	char *root = tmpdir_make("zipw");
	char *src = path_join(root, "src");
	assert_int_equal(make_dirs(src, 0755), 0);
	write_text(src, "pkg/a.py", "x = 1\n");
	write_text(src, "pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n\n");
	char *link = path_join(src, "pkg/link.py");
	assert_int_equal(symlink("a.py", link), 0);
	char *out = path_join(root, "out.whl");
	struct diags d;
	diags_init(&d);
	assert_int_equal(wheel_pack_threads(src, out, 1700000000, 2, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "link.py is a symbolic link: a wheel holds only regular files");
	free(text);
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(list_dir(root, NULL, &names, &n), 0);
	assert_int_equal(n, 1); /* src only: no wheel, no temp */
	free_names(names, n);
	diags_release(&d);
	free(out);
	free(link);
	free(src);
	tmpdir_remove(root);
	free(root);
}

static void test_unreadable_member_names_it(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip(); /* root reads anything */
	char *root = tmpdir_make("zipw");
	char *src = path_join(root, "src");
	assert_int_equal(make_dirs(src, 0755), 0);
	write_text(src, "pkg/a.py", "x = 1\n");
	write_text(src, "pkg/secret.py", "y = 2\n");
	write_text(src, "pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n\n");
	char *secret = path_join(src, "pkg/secret.py");
	assert_int_equal(chmod(secret, 0), 0);
	char *out = path_join(root, "out.whl");
	struct diags d;
	diags_init(&d);
	assert_int_equal(wheel_pack_threads(src, out, 1700000000, 2, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "cannot read ");
	assert_contains(text, "secret.py: Permission denied");
	free(text);
	assert_false(path_exists(out));
	diags_release(&d);
	free(out);
	free(secret);
	free(src);
	tmpdir_remove(root);
	free(root);
}

/* Parallel unpacking: the same members, digests and files as wheel_unpack; a corrupt member
 * is named the same way. */
static void test_unpack_threads_same_as_sequential(void **state)
{
	(void)state;
	char *root = tmpdir_make("zipw");
	char *src = make_fixture(root);
	struct diags d;
	diags_init(&d);
	char *whl = path_join(root, "w.whl");
	assert_int_equal(wheel_pack_threads(src, whl, 1700000000, 2, &d), 0);
	char *one = path_join(root, "one"), *three = path_join(root, "three");
	struct wheel_members a, b;
	assert_int_equal(wheel_unpack(whl, one, &a, &d), 0);
	assert_int_equal(wheel_unpack_threads(whl, three, 3, &b, &d), 0);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.v[i].name, b.v[i].name);
		assert_string_equal(a.v[i].sha256, b.v[i].sha256);
		assert_int_equal(a.v[i].size, b.v[i].size);
		assert_int_equal(a.v[i].executable, b.v[i].executable);
	}
	struct buf out = BUF_INIT;
	assert_int_equal(shell_run(&out, "diff -r '%s' '%s'", one, three), 0);
	buf_release(&out);
	wheel_members_release(&a);
	wheel_members_release(&b);
	/* a flipped byte inside libnoise.so's data (9 of the wheel's ~10 MiB) */
	struct stat st;
	assert_int_equal(stat(whl, &st), 0);
	int fd = open(whl, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	off_t mid = st.st_size / 2;
	assert_int_equal(pread(fd, &c, 1, mid), 1);
	c ^= 0x55;
	assert_int_equal(pwrite(fd, &c, 1, mid), 1);
	close(fd);
	for (unsigned t = 1; t <= 3; t += 2) {
		char name[16];
		snprintf(name, sizeof(name), "bad%u", t);
		char *bad = path_join(root, name);
		struct diags e;
		diags_init(&e);
		assert_int_equal(wheel_unpack_threads(whl, bad, t, &b, &e), -1);
		char *text = diags_text(&e);
		assert_contains(text, "the member \"pkg/lib/libnoise.so\" is corrupt");
		free(text);
		diags_release(&e);
		free(bad);
	}
	diags_release(&d);
	free(one);
	free(three);
	free(whl);
	free(src);
	tmpdir_remove(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_for_every_thread_count),
		cmocka_unit_test(test_symlink_refused_and_nothing_left),
		cmocka_unit_test(test_unreadable_member_names_it),
		cmocka_unit_test(test_unpack_threads_same_as_sequential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
