/* Wheel names, metadata edits, deterministic packing and unpacking, verify's RECORD check,
 * version stamping and the arch list expansion verify compares cuobjdump against. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "model/archlist.h"
#include "wheels/finish.h"
#include "util/buf.h"
#include "util/os.h"
#include "wheels/verify.h"
#include "wheels/wheel.h"
#include "wheels/zip_times.h"

static void test_names(void **state)
{
	(void)state;
	struct wheel_name n;
	assert_int_equal(wheel_name_parse("torch_scatter-2.1.2+pt21cpu-cp311-cp311-linux_x86_64.whl",
					  &n), 0);
	assert_string_equal(n.dist, "torch_scatter");
	assert_string_equal(n.version, "2.1.2+pt21cpu");
	assert_null(n.build);
	assert_string_equal(n.python, "cp311");
	assert_string_equal(n.platform, "linux_x86_64");
	char *back = wheel_name_format(&n);
	assert_string_equal(back, "torch_scatter-2.1.2+pt21cpu-cp311-cp311-linux_x86_64.whl");
	free(back);
	wheel_name_release(&n);
	assert_int_equal(wheel_name_parse("pkg-1.0-1build-py2.py3-none-any.whl", &n), 0);
	assert_string_equal(n.build, "1build");
	assert_string_equal(n.python, "py2.py3");
	wheel_name_release(&n);
	assert_int_equal(wheel_name_parse("pkg-1.0-py3-none.whl", &n), -1);
	assert_int_equal(wheel_name_parse("pkg-1.0.tar.gz", &n), -1);
	assert_int_equal(wheel_name_parse("dir/pkg-1.0-py3-none-any.whl", &n), -1);

	char *s = dist_normalize("Torch_Scatter..x");
	assert_string_equal(s, "torch-scatter-x");
	free(s);
	s = dist_escape("torch-scatter.x");
	assert_string_equal(s, "torch_scatter_x");
	free(s);
	s = version_public("2.1.2+cu121");
	assert_string_equal(s, "2.1.2");
	free(s);
}

static const char meta[] = "Metadata-Version: 2.1\n"
			   "Name: ext\n"
			   "Version: 1.0\n"
			   "Requires-Dist: torch>=2.0\n"
			   "Requires-Dist: numpy; extra == \"test\"\n"
			   "Summary: a long\n"
			   "  summary\n"
			   "\n"
			   "Requires-Dist: not a header, the description\n";

static bool is_torch(const char *value, void *ctx)
{
	(void)ctx;
	return strncmp(value, "torch", 5) == 0;
}

static void test_metadata(void **state)
{
	(void)state;
	char *v = metadata_get(meta, "version");
	assert_string_equal(v, "1.0");
	free(v);
	v = metadata_get(meta, "Summary");
	assert_string_equal(v, "a long summary");
	free(v);
	struct buf all = BUF_INIT;
	assert_int_equal(metadata_get_all(meta, "Requires-Dist", &all), 2);
	assert_string_equal(all.data, "torch>=2.0\nnumpy; extra == \"test\"\n");
	buf_release(&all);

	char *set = metadata_set(meta, "Version", "1.0+pt21cpu");
	assert_contains(set, "Version: 1.0+pt21cpu\n");
	assert_not_contains(set, "Version: 1.0\n");
	char *removed = metadata_remove(set, "Requires-Dist", is_torch, NULL);
	assert_not_contains(removed, "torch>=2.0");
	assert_contains(removed, "Requires-Dist: numpy");
	assert_contains(removed, "Requires-Dist: not a header"); /* the body is untouched */
	char *added = metadata_add(removed, "Requires-Dist", "torch==2.1.2");
	/* after the last header, before the body */
	assert_contains(added, "  summary\nRequires-Dist: torch==2.1.2\n\nRequires-Dist: not a header");
	free(set);
	free(removed);
	free(added);
}

/* A small unpacked wheel in dir/src. */
static char *make_tree(const char *dir, const char *name)
{
	char *src = path_join(dir, name);
	make_dirs(src, 0755);
	write_text(src, "pkg/__init__.py", "X = 1\n");
	write_text(src, "pkg/b.txt", "b\n");
	write_text(src, "pkg/a.txt", "a\n");
	write_text(src, "pkg/run.sh", "#!/bin/sh\n");
	write_text(src, "pkg/tests/test_x.py", "def test(): pass\n");
	write_text(src, "pkg/include/tests/keep.h", "int x;\n");
	write_text(src, "pkg-1.0.dist-info/METADATA",
		   "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nRequires-Dist: torch\n");
	write_text(src, "pkg-1.0.dist-info/WHEEL",
		   "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
	write_text(src, "pkg-1.0.dist-info/RECORD", "stale,,\n");
	char *sh = path_join(src, "pkg/run.sh");
	chmod(sh, 0700);
	free(sh);
	return src;
}

static char *file_digest(const char *path)
{
	char hex[SHA256_HEX_SIZE];
	assert_int_equal(sha256_file_hex(path, hex), 0);
	return strdup(hex);
}

static void test_pack_deterministic(void **state)
{
	(void)state;
	char *dir = tmpdir_make("wheel");
	char *a = make_tree(dir, "a");
	char *b = make_tree(dir, "b");
	/* other times, other permissions, other creation order: the same bytes */
	char *touched = path_join(b, "pkg/a.txt");
	struct utimbuf t = { 1000000000, 1000000000 };
	utime(touched, &t);
	chmod(touched, 0600);
	free(touched);
	char *wa = path_join(dir, "pkg-1.0-py3-none-any.whl");
	char *wb = path_join(dir, "b.whl");
	struct diags d;
	diags_init(&d);
	setenv("TZ", "Asia/Tokyo", 1);
	assert_int_equal(wheel_pack(a, wa, 1700000000, &d), 0);
	unsetenv("TZ");
	assert_int_equal(wheel_pack(b, wb, 1700000000, &d), 0);
	char *ha = file_digest(wa), *hb = file_digest(wb);
	assert_string_equal(ha, hb);
	assert_string_equal(getenv("TZ") ? "set" : "unset", "unset"); /* TZ put back */
	free(ha);
	free(hb);

	/* unpacked again: every member, RECORD regenerated, executables kept */
	char *un = path_join(dir, "un");
	struct wheel_members m;
	assert_int_equal(wheel_unpack(wa, un, &m, &d), 0);
	assert_int_equal(m.n, 9);
	assert_string_equal(m.v[0].name, "pkg/__init__.py"); /* sorted, .dist-info last */
	assert_string_equal(m.v[m.n - 1].name, "pkg-1.0.dist-info/RECORD");
	bool exec_kept = false;
	for (size_t i = 0; i < m.n; i++)
		if (!strcmp(m.v[i].name, "pkg/run.sh"))
			exec_kept = m.v[i].executable;
	assert_true(exec_kept);
	wheel_members_release(&m);

	/* verify: clean, then a member changed behind RECORD's back */
	struct verify_expect x = { .torch_abi = CXX_ABI_UNKNOWN, .tmp_dir = dir };
	assert_int_equal(verify_wheel(wa, &x, NULL, &d), 0);
	assert_int_equal(d.nerrors, 0);
	x.python = "3.11";
	assert_int_equal(verify_wheel(wa, &x, NULL, &d), 0); /* py3-none-any fits, no .so */
	/* finish: stamped version and Requires-Dist, slim drops tests/ but not include/ */
	char *out = path_join(dir, "out");
	make_dirs(out, 0755);
	const char *req[] = { "torch==2.1.2+cpu" };
	struct finish_opts fo = { .version = "1.0+pt21cpu", .requires = req, .nrequires = 1,
				  .epoch = 0, .slim = true, .tmp_dir = dir };
	struct finish_result fr;
	assert_int_equal(wheel_finish(wa, out, &fo, &fr, &d), 0);
	assert_string_equal(fr.file, "pkg-1.0+pt21cpu-py3-none-any.whl");
	assert_int_equal(fr.dropped, 1);
	char *stamped = path_join(out, fr.file);
	char *un2 = path_join(dir, "un2");
	assert_int_equal(wheel_unpack(stamped, un2, &m, &d), 0);
	bool tests = false, header = false;
	for (size_t i = 0; i < m.n; i++) {
		tests |= strstr(m.v[i].name, "pkg/tests/") != NULL;
		header |= !strcmp(m.v[i].name, "pkg/include/tests/keep.h");
	}
	assert_false(tests);
	assert_true(header);
	wheel_members_release(&m);
	char *mp = path_join(un2, "pkg-1.0+pt21cpu.dist-info/METADATA");
	struct buf text = BUF_INIT;
	assert_int_equal(read_file(mp, &text), 0);
	assert_contains(text.data, "Version: 1.0+pt21cpu\n");
	assert_contains(text.data, "Requires-Dist: torch==2.1.2+cpu\n");
	assert_not_contains(text.data, "Requires-Dist: torch\n");
	buf_release(&text);
	assert_int_equal(verify_wheel(stamped, &x, NULL, &d), 0);
	assert_int_equal(d.nerrors, 0);

	/* version stamping rules */
	char *ver = finish_version("t.whl", "2.1.2+cpu", "2.1.2+cpu", NULL, &d);
	assert_string_equal(ver, "2.1.2+cpu");
	free(ver);
	ver = finish_version("e.whl", "0.24.1", "0.24.1", "pt29cpu", &d);
	assert_string_equal(ver, "0.24.1+pt29cpu");
	free(ver);
	assert_int_equal(d.nerrors, 0);
	assert_null(finish_version("t.whl", "2.1.0a0+git12", "2.1.2", NULL, &d));
	assert_int_equal(d.nerrors, 1);

	finish_result_release(&fr);
	diags_release(&d);
	free(stamped);
	free(mp);
	free(un2);
	free(out);
	free(un);
	free(wa);
	free(wb);
	free(a);
	free(b);
	tmpdir_remove(dir);
	free(dir);
}

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* "YYYY-MM-DD HH:MM:SS" of the DOS date and time at `p` (time first, then date). */
static void dos_fields(const unsigned char *p, char *out, size_t len)
{
	unsigned t = le16(p), dt = le16(p + 2);
	snprintf(out, len, "%04u-%02u-%02u %02u:%02u:%02u", 1980 + (dt >> 9), dt >> 5 & 15,
		 dt & 31, t >> 11, t >> 5 & 63, (t & 31) * 2);
}

/* Packing never touches TZ (not even to put it back: getenv returns the very same string),
 * and in a zone with DST every local and central header says SOURCE_DATE_EPOCH in UTC. */
static void test_pack_times_utc(void **state)
{
	(void)state;
	char *dir = tmpdir_make("wheel-tz");
	char *src = make_tree(dir, "src");
	char *whl = path_join(dir, "pkg-1.0-py3-none-any.whl");
	struct diags d;
	diags_init(&d);
	setenv("TZ", "America/New_York", 1);
	tzset();
	const char *tz = getenv("TZ");
	assert_int_equal(wheel_pack(src, whl, 1720000000, &d), 0); /* July: EDT, UTC-4 */
	assert_ptr_equal(getenv("TZ"), tz);
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	tzset();
	struct buf z = BUF_INIT;
	assert_int_equal(read_file(whl, &z), 0);
	const unsigned char *b = (const unsigned char *)z.data;
	assert_true(z.len > 22);
	const unsigned char *end = b + z.len - 22;
	assert_int_equal(le16(end), 0x4b50);
	unsigned entries = le16(end + 10);
	size_t cd = (size_t)le16(end + 16) | (size_t)le16(end + 18) << 16;
	assert_int_equal(entries, 9);
	char when[32];
	for (unsigned i = 0; i < entries; i++) {
		const unsigned char *h = b + cd;
		assert_int_equal(le16(h + 2), 0x0201);
		dos_fields(h + 12, when, sizeof(when));
		assert_string_equal(when, "2024-07-03 09:46:40"); /* 1720000000 in UTC */
		size_t local = (size_t)le16(h + 42) | (size_t)le16(h + 44) << 16;
		assert_int_equal(le16(b + local + 2), 0x0403);
		dos_fields(b + local + 10, when, sizeof(when));
		assert_string_equal(when, "2024-07-03 09:46:40");
		cd += 46 + le16(h + 28) + le16(h + 30) + le16(h + 32);
	}
	buf_release(&z);
	/* the same bytes as packed in UTC */
	char *utc = path_join(dir, "utc.whl");
	setenv("TZ", "UTC0", 1);
	tzset();
	assert_int_equal(wheel_pack(src, utc, 1720000000, &d), 0);
	unsetenv("TZ");
	tzset();
	char *h1 = file_digest(whl), *h2 = file_digest(utc);
	assert_string_equal(h1, h2);
	assert_int_equal(d.nerrors, 0);
	free(h1);
	free(h2);
	free(utc);
	diags_release(&d);
	free(whl);
	free(src);
	tmpdir_remove(dir);
	free(dir);
}

static void test_unpack_refuses(void **state)
{
	(void)state;
	char *dir = tmpdir_make("wheel-bad");
	char *bad = path_join(dir, "bad.whl");
	write_text(dir, "bad.whl", "PK\003\004 not really");
	struct diags d;
	diags_init(&d);
	struct wheel_members m;
	char *un = path_join(dir, "un");
	assert_int_equal(wheel_unpack(bad, un, &m, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "bad.whl");
	free(text);
	diags_release(&d);
	free(un);
	free(bad);
	tmpdir_remove(dir);
	free(dir);
}

static void test_arch_targets(void **state)
{
	(void)state;
	struct buf sass = BUF_INIT, ptx = BUF_INIT;
	assert_int_equal(arch_list_targets("7.5;8.0;8.6;9.0;10.0;12.0+PTX", NULL, &sass, &ptx), 0);
	assert_string_equal(sass.data, "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120");
	assert_string_equal(ptx.data, "sm_120");
	buf_reset(&sass);
	buf_reset(&ptx);
	assert_int_equal(arch_list_targets("Ampere 9.0a", NULL, &sass, &ptx), 0);
	assert_string_equal(sass.data, "sm_80 sm_86 sm_90a");
	assert_string_equal(ptx.data, "sm_86");
	buf_reset(&sass);
	buf_reset(&ptx);
	assert_int_equal(arch_list_targets("native", NULL, &sass, &ptx), -1);
	assert_int_equal(arch_list_targets("", NULL, &sass, &ptx), -1);
	buf_release(&sass);
	buf_release(&ptx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_pack_deterministic),
		cmocka_unit_test(test_pack_times_utc),
		cmocka_unit_test(test_unpack_refuses),
		cmocka_unit_test(test_arch_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
