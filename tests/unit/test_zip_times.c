/* The DOS date and time of a zip's headers, set to an epoch in UTC whatever TZ says. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/os.h"
#include "wheels/zip_times.h"

static void test_dos_time(void **state)
{
	(void)state;
	/* 2023-11-14 22:13:20 UTC: date (43 << 9 | 11 << 5 | 14), time (22 << 11 | 13 << 5 | 10) */
	assert_int_equal(zip_dos_time_utc(1700000000), 0x576eb1aaU);
	assert_int_equal(zip_dos_time_utc(315532800), 0x00210000U); /* 1980-01-01 */
	assert_int_equal(zip_dos_time_utc(0), 0x00210000U);         /* clamped */
	assert_int_equal(zip_dos_time_utc(4354819200LL), 0xff9fbf7dU); /* 2108: clamped */
}

static void put(struct buf *b, unsigned long long v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		buf_addch(b, (char)(v >> (8 * i) & 0xff));
}

/* One empty entry "a" whose central header keeps its local offset in a zip64 extra, and
 * zip64 end records: what a wheel past 4 GiB looks like. */
static void zip64_archive(struct buf *b)
{
	put(b, 0x04034b50, 4); /* local header */
	put(b, 45, 2); put(b, 0, 2); put(b, 0, 2); put(b, 0, 4); put(b, 0, 4);
	put(b, 0, 4); put(b, 0, 4); put(b, 1, 2); put(b, 0, 2);
	buf_addch(b, 'a');
	size_t cd = b->len;
	put(b, 0x02014b50, 4); /* central header */
	put(b, 45, 2); put(b, 45, 2); put(b, 0, 2); put(b, 0, 2); put(b, 0, 4);
	put(b, 0, 4); put(b, 0, 4); put(b, 0, 4);
	put(b, 1, 2); put(b, 12, 2); put(b, 0, 2); put(b, 0, 2); put(b, 0, 2); put(b, 0, 4);
	put(b, 0xffffffff, 4);
	buf_addch(b, 'a');
	put(b, 0x0001, 2); put(b, 8, 2); put(b, 0, 8); /* zip64 extra: the local offset */
	size_t cd_len = b->len - cd, end64 = b->len;
	put(b, 0x06064b50, 4); put(b, 44, 8); put(b, 45, 2); put(b, 45, 2); put(b, 0, 4);
	put(b, 0, 4); put(b, 1, 8); put(b, 1, 8); put(b, cd_len, 8); put(b, cd, 8);
	put(b, 0x07064b50, 4); put(b, 0, 4); put(b, end64, 8); put(b, 1, 4);
	put(b, 0x06054b50, 4); put(b, 0, 2); put(b, 0, 2); put(b, 0xffff, 2); put(b, 0xffff, 2);
	put(b, 0xffffffff, 4); put(b, 0xffffffff, 4); put(b, 0, 2);
}

static unsigned long le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return u[0] | (unsigned long)u[1] << 8 | (unsigned long)u[2] << 16 | (unsigned long)u[3] << 24;
}

static void test_zip64(void **state)
{
	(void)state;
	char *dir = tmpdir_make("zip-times");
	char *path = path_join(dir, "big.zip");
	struct buf b = BUF_INIT;
	zip64_archive(&b);
	assert_int_equal(write_file_atomic(path, b.data, b.len), 0);
	struct diags d;
	diags_init(&d);
	assert_int_equal(zip_set_dos_time(path, 1700000000, &d), 0);
	struct buf z = BUF_INIT;
	assert_int_equal(read_file(path, &z), 0);
	assert_int_equal(z.len, b.len);
	assert_int_equal(le32(z.data + 10), 0x576eb1aaUL); /* local header */
	assert_int_equal(le32(z.data + 31 + 12), 0x576eb1aaUL); /* central header */
	/* nothing else moved */
	memcpy(z.data + 10, b.data + 10, 4);
	memcpy(z.data + 31 + 12, b.data + 31 + 12, 4);
	assert_memory_equal(z.data, b.data, b.len);
	buf_release(&z);
	buf_release(&b);
	diags_release(&d);
	free(path);
	tmpdir_remove(dir);
	free(dir);
}

static void test_not_a_zip(void **state)
{
	(void)state;
	char *dir = tmpdir_make("zip-times");
	write_text(dir, "x.whl", "not a zip, but long enough to hold an end record\n");
	char *path = path_join(dir, "x.whl");
	struct diags d;
	diags_init(&d);
	assert_int_equal(zip_set_dos_time(path, 1700000000, &d), -1);
	struct buf out = BUF_INIT;
	diags_render(&d, &out, false);
	assert_contains(out.data, "cannot set the times of ");
	assert_contains(out.data, "x.whl: not a zip archive");
	buf_release(&out);
	diags_release(&d);
	diags_init(&d);
	char *missing = path_join(dir, "missing.whl");
	assert_int_equal(zip_set_dos_time(missing, 1700000000, &d), -1);
	diags_render(&d, &out, false);
	assert_contains(out.data, "missing.whl: No such file or directory");
	buf_release(&out);
	diags_release(&d);
	free(missing);
	free(path);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dos_time),
		cmocka_unit_test(test_zip64),
		cmocka_unit_test(test_not_a_zip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
