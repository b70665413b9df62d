/* build/cache_gc and build/cache_live on a synthetic cache: du's counts, what gc removes and
 * keeps (references, live builds, temps), --dry-run, LRU under --max-size, two gcs apart. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/cache_gc.h"
#include "build/cache_live.h"
#include "util/buf.h"
#include "util/os.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define K3 "3333333333333333333333333333333333333333333333333333333333333333"

static void at(const char *dir, const char *rel, long long age_days)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", dir, rel);
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= (time_t)(age_days * 86400);
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, p.data, t, AT_SYMLINK_NOFOLLOW), 0);
	buf_release(&p);
}

static bool exists(const char *dir, const char *rel)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", dir, rel);
	bool ok = path_exists(p.data);
	buf_release(&p);
	return ok;
}

/* A cache: three output entries (K1 10 days old, K2 5, K3 1), a dist file, two mirrors,
 * an env entry and a writer's temp, and ccache files. */
static char *make_cache(void)
{
	char *dir = tmpdir_make("cache_gc");
	const char *keys[] = { K1, K2, K3 };
	for (int i = 0; i < 3; i++) {
		struct buf rel = BUF_INIT;
		buf_addf(&rel, "out/%s/manifest.json", keys[i]);
		write_text(dir, rel.data, "{}\n");
		buf_release(&rel);
	}
	write_text(dir, "out/" K1 ".tmp-1/x.whl", "half");
	write_text(dir, "dist/" K2 "/a-1.0.tar.gz", "archive");
	write_text(dir, "dist/.pip.tmp-1/x", "pip");
	write_text(dir, "git/a-000000000000.git/HEAD", "ref: refs/heads/main\n");
	write_text(dir, "git/b-000000000000.git/HEAD", "ref: refs/heads/main\n");
	write_text(dir, "envs/e1/used", "");
	write_text(dir, "envs/e1/lib.so", "0123456789");
	write_text(dir, "envs/e2.tmp-5/lib.so", "x");
	write_text(dir, "envs/e2.lock", "");
	write_text(dir, "ccache/0/a", "obj");
	at(dir, "out/" K1, 10);
	at(dir, "out/" K2, 5);
	at(dir, "out/" K3, 1);
	at(dir, "dist/" K2 "/a-1.0.tar.gz", 20);
	at(dir, "dist/" K2, 20);
	at(dir, "git/a-000000000000.git/HEAD", 20);
	at(dir, "git/a-000000000000.git", 20);
	at(dir, "git/b-000000000000.git/HEAD", 20);
	at(dir, "git/b-000000000000.git", 20);
	at(dir, "envs/e1/used", 30);
	return dir;
}

static void test_du(void **state)
{
	(void)state;
	char *dir = make_cache();
	struct cache_usage u;
	struct diags d;
	diags_init(&d);
	assert_int_equal(cache_du(dir, &u, &d), 0);
	assert_int_equal(u.entries[PART_OUT], 3); /* not the temp */
	assert_int_equal(u.entries[PART_DIST], 1);
	assert_int_equal(u.entries[PART_GIT], 2);
	assert_int_equal(u.entries[PART_ENVS], 1);
	assert_int_equal(u.entries[PART_CCACHE], 1);
	uint64_t sum = 0;
	for (int p = 0; p < NPARTS; p++)
		sum += u.bytes[p];
	assert_true(u.total > sum); /* the directory itself */
	assert_true(u.bytes[PART_OUT] > 0);
	/* a missing cache is empty */
	struct buf none = BUF_INIT;
	buf_addf(&none, "%s/none", dir);
	assert_int_equal(cache_du(none.data, &u, &d), 0);
	assert_int_equal(u.total, 0);
	buf_release(&none);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

static bool removed_has(const struct gc_result *r, enum cache_part part, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->removed[i].part == part && !strcmp(r->removed[i].name, name))
			return true;
	return false;
}

static void test_unreferenced(void **state)
{
	(void)state;
	char *dir = make_cache();
	struct cache_refs refs = { 0 };
	strset_add(&refs.keys, K1);
	strset_add(&refs.mirrors, "a-000000000000.git");
	struct gc_opts o = { .keep_days = 7, .refs = &refs, .dry_run = true };
	struct gc_result r;
	struct diags d;
	diags_init(&d);
	/* dry run: K2 (5 days) and K3 are recent; the dist file, mirror b and e1 are old */
	assert_int_equal(cache_gc(dir, &o, &r, &d), 0);
	assert_int_equal(r.n, 3);
	assert_true(removed_has(&r, PART_DIST, K2));
	assert_true(removed_has(&r, PART_GIT, "b-000000000000.git"));
	assert_true(removed_has(&r, PART_ENVS, "e1"));
	assert_true(exists(dir, "dist/" K2) && exists(dir, "git/b-000000000000.git") &&
		    exists(dir, "envs/e1"));
	gc_result_release(&r);
	/* --keep 0, for real: K2 and K3 go too; temps, locks, K1 and mirror a stay */
	o.dry_run = false;
	o.keep_days = 0;
	assert_int_equal(cache_gc(dir, &o, &r, &d), 0);
	assert_int_equal(r.n, 5);
	assert_false(exists(dir, "out/" K2) || exists(dir, "out/" K3) || exists(dir, "dist/" K2) ||
		     exists(dir, "git/b-000000000000.git") || exists(dir, "envs/e1"));
	assert_true(exists(dir, "out/" K1) && exists(dir, "git/a-000000000000.git"));
	assert_true(exists(dir, "out/" K1 ".tmp-1") && exists(dir, "dist/.pip.tmp-1") &&
		    exists(dir, "envs/e2.tmp-5") && exists(dir, "envs/e2.lock") &&
		    exists(dir, "ccache/0/a"));
	assert_false(exists(dir, "trash/out-" K2));
	gc_result_release(&r);
	cache_refs_release(&refs);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

static void test_live_and_lru(void **state)
{
	(void)state;
	char *dir = make_cache();
	struct diags d;
	diags_init(&d);
	/* a running build that uses K1 */
	struct cache_live live;
	assert_int_equal(cache_live_begin(&live, dir, dir, &d), 0);
	struct cache_refs lr = { 0 };
	strset_add(&lr.keys, K1);
	assert_int_equal(cache_live_update(&live, &lr, &d), 0);
	cache_refs_release(&lr);
	/* a stale live file */
	write_text(dir, "live/1.json", "{\"started_ms\": 1}\n");
	write_text(dir, "live/1.lock", "");
	/* everything referenced (keep 100 days), max 0: all but what the live build uses, LRU
	 * first: the mirrors and the dist file (20 days), then K2 (5), then K3 (1) */
	struct gc_opts o = { .keep_days = 100, .have_max = true, .max_size = 0, .dry_run = true };
	struct gc_result r;
	assert_int_equal(cache_gc(dir, &o, &r, &d), 0);
	assert_int_equal(r.nlive, 1);
	assert_false(removed_has(&r, PART_OUT, K1));
	assert_true(r.n >= 5);
	assert_true(exists(dir, "live/1.json")); /* dry run */
	size_t i2 = r.n, i3 = r.n;
	for (size_t i = 0; i < r.n; i++) {
		assert_true(r.removed[i].over_size);
		if (!strcmp(r.removed[i].name, K2))
			i2 = i;
		if (!strcmp(r.removed[i].name, K3))
			i3 = i;
	}
	assert_true(i2 < i3 && i3 < r.n);
	assert_string_equal(r.removed[0].name, "e1"); /* 30 days */
	gc_result_release(&r);
	/* a bound the cache fits: nothing goes, but the stale live file does */
	o.dry_run = false;
	o.max_size = UINT64_MAX;
	assert_int_equal(cache_gc(dir, &o, &r, &d), 0);
	assert_int_equal(r.n, 0);
	assert_false(exists(dir, "live/1.json") || exists(dir, "live/1.lock")); /* stale: gone */
	gc_result_release(&r);
	/* the live build ends: K1 is no longer protected */
	cache_live_end(&live);
	o.max_size = 0;
	assert_int_equal(cache_gc(dir, &o, &r, &d), 0);
	assert_int_equal(r.nlive, 0);
	assert_false(exists(dir, "out/" K1));
	gc_result_release(&r);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

static void test_two_gcs(void **state)
{
	(void)state;
	char *dir = make_cache();
	struct buf lock = BUF_INIT;
	buf_addf(&lock, "%s/gc.lock", dir);
	int fd = lock_file_try(lock.data);
	assert_true(fd >= 0);
	struct gc_opts o = { .keep_days = 0 };
	struct gc_result r;
	struct diags d;
	diags_init(&d);
	assert_int_equal(cache_gc(dir, &o, &r, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "another `ptbuild cache gc` is running");
	assert_int_equal(diags_failure(&d), DIAG_ENVIRONMENT);
	free(text);
	assert_true(exists(dir, "out/" K2)); /* nothing removed */
	close(fd);
	gc_result_release(&r);
	diags_release(&d);
	buf_release(&lock);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_du),
		cmocka_unit_test(test_unreferenced),
		cmocka_unit_test(test_live_and_lru),
		cmocka_unit_test(test_two_gcs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
