/* The scheduler: shares of the job budget, memory caps, critical path first, real children
 * with failures and --keep-going; ccache's stats log; sizes. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/ccache.h"
#include "build/scheduler.h"
#include "util/buf.h"
#include "util/os.h"
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

/* One child with a cwd and a log file: what a build job's process sees. */
struct env_ctx {
	char *const *argv;
	const char *cwd;
	int log_fd;
	struct sched_job *jobs;
	int steps;
};

static enum sched_step env_step(void *ctx, size_t job, struct sched_spawn *sp)
{
	struct env_ctx *c = ctx;
	if (c->jobs[job].state != JOB_RUNNING)
		return STEP_FAILED;
	if (c->steps++ == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
		sp->argv = c->argv;
		sp->envp = envp;
		sp->cwd = c->cwd;
		sp->log_fd = c->log_fd;
		return STEP_SPAWN;
	}
	return STEP_DONE;
}

static void test_child_environment(void **state)
{
	(void)state;
	/* its own process group, the cwd, stdin /dev/null, the log as stdout and stderr,
	 * nothing ignored or blocked even when ptbuild ignores SIGPIPE */
	static char *const argv[] = { "sh", "-c", "set -- $(cat /proc/$$/stat); "
				      "[ \"$5\" = \"$$\" ] && echo own-group; pwd; cat; "
				      "i=$(sed -n 's/^SigIgn:\\t//p' /proc/$$/status); "
				      "b=$(sed -n 's/^SigBlk:\\t//p' /proc/$$/status); "
				      "echo pipe-ignored=$(( 0x$i >> 12 & 1 )) blocked=$(( 0x$b != 0 )); "
				      "echo err >&2", NULL };
	char *dir = tmpdir_make("sched-env");
	char *log = path_join(dir, "log");
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	for (int missing = 0; missing < 2; missing++) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		char *cwd = missing ? path_join(dir, "gone") : strdup(dir);
		struct sched_job jobs[1] = { { .weight = 1 } };
		struct env_ctx c = { argv, cwd, fd, jobs, 0 };
		struct sched_ops ops = { &c, env_step, NULL };
		struct sched_opts o = { .jobs = 1 };
		assert_int_equal(sched_run(jobs, 1, &ops, &o), missing ? SCHED_FAILED : SCHED_OK);
		close(fd);
		struct buf text = BUF_INIT;
		assert_int_equal(read_file(log, &text), 0);
		if (missing) {
			assert_int_equal(jobs[0].status, 127);
			assert_contains(text.data, "ptbuild: cannot enter \"");
			assert_contains(text.data, "gone\": No such file or directory\n");
		} else {
			struct buf want = BUF_INIT;
			buf_addf(&want, "own-group\n%s\npipe-ignored=0 blocked=0\nerr\n", dir);
			assert_string_equal(text.data, want.data);
			buf_release(&want);
		}
		buf_release(&text);
		free(cwd);
	}
	sigaction(SIGPIPE, &old, NULL);
	free(log);
	tmpdir_remove(dir);
	free(dir);
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
		cmocka_unit_test(test_child_environment),
		cmocka_unit_test(test_ccache_stats_log),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
