/* ccache's stats logs counted per compiler (real logs of 4.7.5 and 4.14.2), version
 * comparison, the choice among candidates, the search (PTBUILD_CCACHE, ptbuild's tools,
 * PATH) and the build record's per-compiler counts. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/ccache.h"
#include "build/ccache_stats.h"
#include "build/outcache.h"
#include "util/buf.h"
#include "util/os.h"

/*
 * Captured with CCACHE_STATSLOG, twice in a row in a fresh CCACHE_DIR: gcc -c a.c, g++ -c
 * b.cpp, nvcc --generate-dependencies-with-compile --dependency-output k.d -c k.cu (what
 * torch.utils.cpp_extension's ninja rule runs; CUDA 13.0, sm_90), g++ a.o b.o -shared (a
 * link), gcc -E a.c, gcc -c of a missing file.
 */
static const char log_4_7_5[] =
	"# a.c\n"
	"cache_miss\n"
	"direct_cache_miss\n"
	"local_storage_miss\n"
	"local_storage_read_miss\n"
	"local_storage_read_miss\n"
	"local_storage_write\n"
	"local_storage_write\n"
	"preprocessed_cache_miss\n"
	"# b.cpp\n"
	"cache_miss\n"
	"direct_cache_miss\n"
	"local_storage_miss\n"
	"local_storage_read_miss\n"
	"local_storage_read_miss\n"
	"local_storage_write\n"
	"local_storage_write\n"
	"preprocessed_cache_miss\n"
	"# k.cu\n"
	"direct_cache_miss\n"
	"local_storage_read_miss\n"
	"preprocessor_error\n"
	"# a.o\n"
	"called_for_link\n"
	"# a.c\n"
	"called_for_preprocessing\n"
	"# \n"
	"no_input_file\n"
	"# a.c\n"
	"direct_cache_hit\n"
	"local_storage_hit\n"
	"local_storage_read_hit\n"
	"local_storage_read_hit\n"
	"# b.cpp\n"
	"direct_cache_hit\n"
	"local_storage_hit\n"
	"local_storage_read_hit\n"
	"local_storage_read_hit\n"
	"# k.d\n"
	"multiple_source_files\n"
	"# a.o\n"
	"called_for_link\n"
	"# a.c\n"
	"called_for_preprocessing\n"
	"# \n"
	"no_input_file\n";

static const char log_4_14_2[] =
	"# a.c\n"
	"cache_miss\n"
	"direct_cache_miss\n"
	"local_storage_miss\n"
	"local_storage_read_miss\n"
	"local_storage_read_miss\n"
	"local_storage_write\n"
	"local_storage_write\n"
	"preprocessed_cache_miss\n"
	"# b.cpp\n"
	"cache_miss\n"
	"direct_cache_miss\n"
	"local_storage_miss\n"
	"local_storage_read_miss\n"
	"local_storage_read_miss\n"
	"local_storage_write\n"
	"local_storage_write\n"
	"preprocessed_cache_miss\n"
	"# k.cu\n"
	"cache_miss\n"
	"direct_cache_miss\n"
	"local_storage_miss\n"
	"local_storage_read_miss\n"
	"local_storage_read_miss\n"
	"local_storage_write\n"
	"local_storage_write\n"
	"preprocessed_cache_miss\n"
	"# \n"
	"called_for_link\n"
	"# a.c\n"
	"called_for_preprocessing\n"
	"# \n"
	"no_input_file\n"
	"# a.c\n"
	"direct_cache_hit\n"
	"local_storage_hit\n"
	"local_storage_read_hit\n"
	"local_storage_read_hit\n"
	"# b.cpp\n"
	"direct_cache_hit\n"
	"local_storage_hit\n"
	"local_storage_read_hit\n"
	"local_storage_read_hit\n"
	"# k.cu\n"
	"direct_cache_hit\n"
	"local_storage_hit\n"
	"local_storage_read_hit\n"
	"local_storage_read_hit\n"
	"# \n"
	"called_for_link\n"
	"# a.c\n"
	"called_for_preprocessing\n"
	"# \n"
	"no_input_file\n";

static void assert_counts(const struct ccache_counts *c, long hits, long misses, long unc)
{
	assert_int_equal(c->hits, hits);
	assert_int_equal(c->misses, misses);
	assert_int_equal(c->uncacheable, unc);
}

/* 4.7.5: both nvcc calls uncacheable (the cold one fails to preprocess, the warm one takes
 * k.d for a second source file and logs it as the input). */
static void test_log_4_7_5(void **state)
{
	(void)state;
	struct ccache_stats s = { 0 };
	ccache_stats_parse(log_4_7_5, &s);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.misses, 2);
	assert_int_equal(s.uncacheable, 8);
	assert_counts(&s.by[CCK_CC], 1, 1, 2);
	assert_counts(&s.by[CCK_CXX], 1, 1, 0);
	assert_counts(&s.by[CCK_NVCC], 0, 0, 2);
	assert_counts(&s.by[CCK_OTHER], 0, 0, 4);
	assert_int_equal(s.by[CCK_NVCC].nreasons, 2);
	assert_string_equal(s.by[CCK_NVCC].reasons[0].name, "multiple_source_files");
	assert_string_equal(s.by[CCK_NVCC].reasons[1].name, "preprocessor_error");
	assert_string_equal(s.by[CCK_CC].reasons[0].name, "called_for_preprocessing");
	assert_int_equal(s.by[CCK_CC].reasons[0].count, 2);
	struct buf d = BUF_INIT;
	ccache_stats_describe(&s, &d);
	assert_string_equal(d.data, "cc 1/1/2, c++ 1/1/0, nvcc 0/0/2, other 0/0/4 "
				    "(hits/misses/uncacheable); uncacheable: called_for_link 2, "
				    "called_for_preprocessing 2, no_input_file 2");
	buf_release(&d);
	/* the hit rate leaves uncacheable calls out; the description above shows them */
	assert_true(ccache_hit_rate(&s) == 50.0);
}

/* 4.14.2 caches the same nvcc call: a miss, then a hit. */
static void test_log_4_14_2(void **state)
{
	(void)state;
	struct ccache_stats s = { 0 };
	ccache_stats_parse(log_4_14_2, &s);
	assert_int_equal(s.hits, 3);
	assert_int_equal(s.misses, 3);
	assert_int_equal(s.uncacheable, 6);
	assert_counts(&s.by[CCK_CC], 1, 1, 2);
	assert_counts(&s.by[CCK_CXX], 1, 1, 0);
	assert_counts(&s.by[CCK_NVCC], 1, 1, 0);
	assert_counts(&s.by[CCK_OTHER], 0, 0, 4);
	struct ccache_reason top[3];
	assert_int_equal(ccache_top_reasons(&s, top, 3), 3);
	assert_string_equal(top[0].name, "called_for_link");
	assert_int_equal(top[0].count, 2);
}

static void test_read_file(void **state)
{
	(void)state;
	char *dir = tmpdir_make("ccache_stats");
	char *path = path_join(dir, "stats");
	struct ccache_stats s;
	/* a build that never ran ccache: empty, not an error */
	assert_int_equal(ccache_stats_read(path, &s), 0);
	assert_false(s.any);
	assert_true(ccache_hit_rate(&s) < 0);
	write_text(dir, "stats", log_4_14_2);
	assert_int_equal(ccache_stats_read(path, &s), 0);
	assert_true(s.any);
	assert_int_equal(s.by[CCK_NVCC].hits, 1);
	free(path);
	tmpdir_remove(dir);
	free(dir);
}

static void test_kind_of(void **state)
{
	(void)state;
	assert_int_equal(ccache_kind_of("csrc/cuda/scatter_cuda.cu"), CCK_NVCC);
	assert_int_equal(ccache_kind_of("x.cuh"), CCK_NVCC);
	assert_int_equal(ccache_kind_of("build/x.o.d"), CCK_NVCC);
	assert_int_equal(ccache_kind_of("a.c"), CCK_CC);
	assert_int_equal(ccache_kind_of("a.cpp"), CCK_CXX);
	assert_int_equal(ccache_kind_of("a.cc"), CCK_CXX);
	assert_int_equal(ccache_kind_of("a.cxx"), CCK_CXX);
	assert_int_equal(ccache_kind_of("a.C"), CCK_CXX);
	assert_int_equal(ccache_kind_of("a.o"), CCK_OTHER);
	assert_int_equal(ccache_kind_of(""), CCK_OTHER);
	assert_int_equal(ccache_kind_of("dir.c/noext"), CCK_OTHER);
}

/* More reasons than are kept: the most frequent stay, in order. */
static void test_reasons_kept(void **state)
{
	(void)state;
	struct ccache_counts c = { 0 };
	char name[16];
	for (int i = 0; i < CCACHE_REASONS + 4; i++) {
		snprintf(name, sizeof(name), "r%02d", i);
		ccache_counts_add_reason(&c, name, i + 1);
	}
	assert_int_equal(c.nreasons, CCACHE_REASONS);
	assert_string_equal(c.reasons[0].name, "r11");
	assert_int_equal(c.reasons[0].count, 12);
	ccache_counts_add_reason(&c, "r05", 100);
	assert_string_equal(c.reasons[0].name, "r05");
	assert_int_equal(c.reasons[0].count, 106);
}

static void test_versions(void **state)
{
	(void)state;
	assert_true(ccache_version_cmp("4.7.5", "4.12.3") < 0);
	assert_true(ccache_version_cmp("4.12.3", "4.12.3") == 0);
	assert_true(ccache_version_cmp("4.14.2", "4.12.3") > 0);
	assert_true(ccache_version_cmp("4.12.2", "4.12.3") < 0);
	assert_true(ccache_version_cmp("4.10", "4.10.0") == 0);
	assert_true(ccache_version_cmp("5", "4.99") > 0);
	assert_true(ccache_version_cmp("4.10.2+dirty", "4.10.2") == 0);
	char *v = ccache_parse_version("ccache version 4.14.2\nFeatures: http-storage redis-storage\n");
	assert_string_equal(v, "4.14.2");
	free(v);
	v = ccache_parse_version("ccache version 4.7.5\n\nCopyright (C) 2002-2007 Andrew Tridgell\n");
	assert_string_equal(v, "4.7.5");
	free(v);
	assert_null(ccache_parse_version("Usage: ccache [options]\nccache version 1.0\n"));
	assert_null(ccache_parse_version(""));
}

static void test_choose(void **state)
{
	(void)state;
	struct ccache_candidate c[3] = {
		{ "/t/ccache", "4.7.5", CCACHE_FROM_TOOLS },
		{ "/usr/bin/ccache", "4.14.2", CCACHE_FROM_PATH },
		{ "/usr/local/bin/ccache", "4.14.2", CCACHE_FROM_PATH },
	};
	assert_int_equal(ccache_choose(c, 3), 1); /* the newest; the first of equals */
	c[0].version = "4.14.2";
	assert_int_equal(ccache_choose(c, 3), 0); /* the tools win a tie */
	c[0].version = NULL;
	assert_int_equal(ccache_choose(c, 1), 0); /* no version: still a ccache */
	assert_int_equal(ccache_choose(c, 2), 1); /* a version beats none */
	assert_int_equal(ccache_choose(c, 0), -1);
}

static void fake_ccache(const char *dir, const char *rel, const char *version)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "#!/bin/sh\necho 'ccache version %s'\n", version);
	write_text(dir, rel, text.data);
	char *path = path_join(dir, rel);
	chmod(path, 0755);
	free(path);
	buf_release(&text);
}

/* The search: the tools beside the binary, PATH, the newest wins; PTBUILD_CCACHE alone. */
static void test_find(void **state)
{
	(void)state;
	char *dir = tmpdir_make("ccache_find");
	fake_ccache(dir, "tools/bin/ccache", "4.14.2");
	fake_ccache(dir, "old/ccache", "4.7.5");
	fake_ccache(dir, "new/ccache", "4.15.0");
	write_text(dir, "bin/ptbuild", ""); /* the binary's directory: build/test of a build tree */
	char *exe = path_join(dir, "bin");
	char *old = path_join(dir, "old"), *new = path_join(dir, "new");
	char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct diags d;
	diags_init(&d);
	struct ccache c = { 0 };
	setenv("PATH", old, 1);
	unsetenv("PTBUILD_CCACHE");
	assert_int_equal(ccache_find(&c, exe, &d), 0);
	assert_string_equal(c.version, "4.14.2");
	assert_int_equal(c.origin, CCACHE_FROM_TOOLS);
	assert_true(c.nvcc_depflags);
	assert_contains(c.program, "/tools/bin/ccache");
	assert_not_contains(c.program, "..");
	ccache_release(&c);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s:%s", old, new);
	setenv("PATH", path.data, 1);
	assert_int_equal(ccache_find(&c, exe, &d), 0);
	assert_string_equal(c.version, "4.15.0");
	assert_int_equal(c.origin, CCACHE_FROM_PATH);
	ccache_release(&c);
	/* PTBUILD_CCACHE: that one, even when older */
	char *given = path_join(old, "ccache");
	setenv("PTBUILD_CCACHE", given, 1);
	assert_int_equal(ccache_find(&c, exe, &d), 0);
	assert_string_equal(c.version, "4.7.5");
	assert_int_equal(c.origin, CCACHE_FROM_SETTING);
	assert_false(c.nvcc_depflags);
	ccache_warn_cuda(&c, "toolchain cuda-13.0 uses CUDA", &d);
	char *text = diags_text(&d);
	assert_contains(text, "toolchain cuda-13.0 uses CUDA, but ccache 4.7.5");
	assert_contains(text, "ci/install-tools.sh");
	assert_contains(text, "PTBUILD_CCACHE");
	free(text);
	ccache_release(&c);
	diags_release(&d);
	diags_init(&d);
	setenv("PTBUILD_CCACHE", exe, 1); /* a directory */
	assert_int_equal(ccache_find(&c, exe, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "PTBUILD_CCACHE is \"");
	assert_contains(text, "not an executable file");
	free(text);
	ccache_release(&c);
	diags_release(&d);
	/* nothing anywhere */
	unsetenv("PTBUILD_CCACHE");
	setenv("PATH", exe, 1);
	diags_init(&d);
	char *empty = path_join(dir, "nothing");
	assert_int_equal(ccache_find(&c, empty, &d), 0);
	assert_null(c.program);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	free(empty);
	free(given);
	buf_release(&path);
	free(exe);
	free(old);
	free(new);
	tmpdir_remove(dir);
	free(dir);
}

/* The record keeps the per-compiler counts; a record from before them reads as zeros. */
static void test_record(void **state)
{
	(void)state;
	char *dir = tmpdir_make("ccache_record");
	struct build_record r = { 0 };
	r.key = strdup("k");
	r.recipe = strdup("ext");
	r.variant = strdup("cuda13-py3.11");
	r.inputs = strdup("{}");
	ccache_stats_parse(log_4_7_5, &r.cc);
	r.ccache_hits = r.cc.hits;
	r.ccache_misses = r.cc.misses;
	struct buf text = BUF_INIT;
	build_record_write(&r, &text);
	assert_contains(text.data, "\"uncacheable\": 8");
	assert_contains(text.data, "\"reason\": \"multiple_source_files\"");
	write_text(dir, "rec.json", text.data);
	char *path = path_join(dir, "rec.json");
	struct build_record back;
	struct diags d;
	diags_init(&d);
	assert_int_equal(build_record_load(path, &back, &d), 0);
	assert_int_equal(back.ccache_hits, 2);
	assert_int_equal(back.cc.uncacheable, 8);
	for (int k = 0; k < CCK_COUNT; k++) {
		assert_counts(&back.cc.by[k], r.cc.by[k].hits, r.cc.by[k].misses,
			      r.cc.by[k].uncacheable);
		assert_int_equal(back.cc.by[k].nreasons, r.cc.by[k].nreasons);
	}
	assert_string_equal(back.cc.by[CCK_NVCC].reasons[0].name, "multiple_source_files");
	build_record_release(&back);
	write_text(dir, "old.json", "{\"ccache\": {\"hits\": 3, \"misses\": 1}, \"format\": 1, "
				    "\"inputs\": {}, \"key\": \"k\", \"wheels\": []}\n");
	char *oldp = path_join(dir, "old.json");
	assert_int_equal(build_record_load(oldp, &back, &d), 0);
	assert_int_equal(back.ccache_hits, 3);
	assert_int_equal(back.cc.hits, 3);
	assert_int_equal(back.cc.uncacheable, 0);
	assert_int_equal(back.cc.by[CCK_CXX].hits, 0);
	build_record_release(&back);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	free(oldp);
	free(path);
	buf_release(&text);
	build_record_release(&r);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_4_7_5),
		cmocka_unit_test(test_log_4_14_2),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_kind_of),
		cmocka_unit_test(test_reasons_kept),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
