/* The scheduler: shares of the job budget, memory caps, critical path first, real children
 * with failures and --keep-going; ccache's stats log; sizes. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/ccache.h"
#include "build/scheduler.h"
#include "util/strutil.h"

#define GIB (1ULL << 30)

static void test_shares_split_the_budget(void **state)
{
	(void)state;
	/* Two independent jobs share -j 4 evenly; a third waits for both. */
	size_t deps[] = { 0, 1 };
	struct sched_job jobs[3] = { { .weight = 10 }, { .weight = 10 },
				     { .deps = deps, .ndeps = 2, .weight = 5 } };
	struct sched_opts o = { .jobs = 4 };
	double makespan = sched_simulate(jobs, 3, &o);
	assert_int_equal(jobs[0].share, 2);
	assert_int_equal(jobs[1].share, 2);
	assert_int_equal(jobs[2].share, 4); /* alone at the end: the whole budget */
	assert_true(jobs[2].started >= 10);
	assert_true(makespan == 15);
}

static void test_memory_caps_the_share(void **state)
{
	(void)state;
	/* 8 slots, but 5 GiB available at 2 GiB per compiler: 2 processes. A second job must
	 * wait for the memory rather than start with nothing. */
	struct sched_job jobs[2] = { { .weight = 10, .mem_per_slot = 2 * GIB },
				     { .weight = 10, .mem_per_slot = 2 * GIB } };
	struct sched_opts o = { .jobs = 8, .mem_available = 5 * GIB };
	sched_simulate(jobs, 2, &o);
	assert_int_equal(jobs[0].share, 2); /* 8 / 2 ready = 4, memory allows 2 */
	assert_int_equal(jobs[1].share, 2);
	/* 1 GiB left after the first: the second waits for it instead of starting starved */
	assert_true(jobs[0].started == 0 && jobs[1].started == 10);
	/* Less memory than one process wants: still one job at a time, share 1. */
	struct sched_job big[2] = { { .weight = 1, .mem_per_slot = 16 * GIB },
				    { .weight = 1, .mem_per_slot = 16 * GIB } };
	double makespan = sched_simulate(big, 2, &o);
	assert_int_equal(big[0].share, 1);
	assert_int_equal(big[1].share, 1);
	assert_true(makespan == 2);
}

static void test_critical_path_first(void **state)
{
	(void)state;
	/* One slot: job 1 heads a chain of 100 s, job 0 is alone at 50 s: 1 goes first. */
	size_t chain[] = { 1 };
	struct sched_job jobs[3] = { { .weight = 50 }, { .weight = 10 },
				     { .deps = chain, .ndeps = 1, .weight = 90 } };
	struct sched_opts o = { .jobs = 1 };
	sched_simulate(jobs, 3, &o);
	assert_true(jobs[1].started == 0);
	assert_true(jobs[0].started > 0);
	assert_true(jobs[2].priority == 90);
	assert_true(jobs[1].priority == 100);
}

/* Real children: job i runs argv[i]; job 2 depends on job 0. */
struct run_ctx {
	char *const *argv[3];
	int steps[3];
	int cleanups[3];
	struct sched_job *jobs;
};

static enum sched_step run_step(void *ctx, size_t job, struct sched_spawn *sp)
{
	struct run_ctx *c = ctx;
	if (c->jobs[job].state != JOB_RUNNING) {
		c->cleanups[job]++;
		return STEP_FAILED;
	}
	if (c->steps[job]++ == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
		sp->argv = c->argv[job];
		sp->envp = envp;
		sp->log_fd = 2;
		return STEP_SPAWN;
	}
	return STEP_DONE;
}

static void test_children_and_failures(void **state)
{
	(void)state;
	static char *const ok[] = { "true", NULL };
	static char *const bad[] = { "sh", "-c", "exit 3", NULL };
	static char *const missing[] = { "no-such-program-ptbuild", NULL };
	size_t dep0[] = { 0 };
	for (int keep_going = 0; keep_going < 2; keep_going++) {
		struct sched_job jobs[3] = { { .weight = 1 }, { .weight = 1 },
					     { .deps = dep0, .ndeps = 1, .weight = 1 } };
		struct run_ctx c = { { bad, ok, ok }, { 0 }, { 0 }, jobs };
		jobs[0].weight = 100; /* first, on one slot */
		struct sched_ops ops = { &c, run_step, NULL };
		struct sched_opts o = { .jobs = 1, .keep_going = keep_going };
		assert_int_equal(sched_run(jobs, 3, &ops, &o), SCHED_FAILED);
		assert_int_equal(jobs[0].state, JOB_FAILED);
		assert_int_equal(jobs[0].status, 3);
		assert_int_equal(c.cleanups[0], 1);
		assert_int_equal(jobs[2].state, JOB_SKIPPED); /* its dependency failed */
		assert_int_equal(jobs[1].state, keep_going ? JOB_OK : JOB_SKIPPED);
	}
	struct sched_job jobs[3] = { { .weight = 1 }, { .weight = 1 }, { .weight = 1 } };
	struct run_ctx c = { { ok, missing, ok }, { 0 }, { 0 }, jobs };
	struct sched_ops ops = { &c, run_step, NULL };
	struct sched_opts o = { .jobs = 3, .keep_going = true };
	assert_int_equal(sched_run(jobs, 3, &ops, &o), SCHED_FAILED);
	assert_int_equal(jobs[0].state, JOB_OK);
	assert_int_equal(jobs[1].state, JOB_FAILED);
	assert_int_equal(jobs[1].status, 127);
	assert_int_equal(jobs[2].state, JOB_OK);
	assert_int_equal(jobs[0].share, 1);
}

static void test_ccache_stats_log(void **state)
{
	(void)state;
	char *dir = tmpdir_make("ccstats");
	write_text(dir, "log", "# a.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\n"
			       "# b.c\ndirect_cache_hit\nlocal_storage_hit\n"
			       "# c.c\npreprocessed_cache_hit\n# d.o\ncalled_for_link\n");
	char path[4096];
	snprintf(path, sizeof(path), "%s/log", dir);
	struct ccache_stats s;
	assert_int_equal(ccache_stats_read(path, &s), 0);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.misses, 1);
	assert_int_equal(s.uncacheable, 1);
	assert_true(ccache_hit_rate(&s) > 66 && ccache_hit_rate(&s) < 67);
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(ccache_stats_read(path, &s), 0);
	assert_false(s.any);
	assert_true(ccache_hit_rate(&s) < 0);
	tmpdir_remove(dir);
	free(dir);
}

static void test_sizes(void **state)
{
	(void)state;
	uint64_t b;
	assert_int_equal(size_parse("4GiB", &b), 0);
	assert_true(b == 4 * GIB);
	assert_int_equal(size_parse("512M", &b), 0);
	assert_true(b == 512ULL << 20);
	assert_int_equal(size_parse("1.5g", &b), 0);
	assert_true(b == 3 * GIB / 2);
	assert_int_equal(size_parse("1048576", &b), 0);
	assert_true(b == 1048576);
	assert_int_equal(size_parse("lots", &b), -1);
	assert_int_equal(size_parse("4 parsecs", &b), -1);
	assert_int_equal(size_parse("0", &b), -1);
	assert_int_equal(size_parse("-1G", &b), -1);
	char out[32];
	assert_string_equal(size_format(3 * GIB / 2, out, sizeof(out)), "1.5 GiB");
	assert_string_equal(size_format(512, out, sizeof(out)), "512 B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_split_the_budget),
		cmocka_unit_test(test_memory_caps_the_share),
		cmocka_unit_test(test_critical_path_first),
		cmocka_unit_test(test_children_and_failures),
		cmocka_unit_test(test_ccache_stats_log),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
