/*
 * Git sources against real repositories made by tests/integration/fixtures/make_repos.sh
 * (two levels of nested submodules, a relative URL, annotated and lightweight tags, a
 * fork for submodule_overrides). The oracle is git itself: every checkout must equal a
 * `git clone --recursive` of the same ref, file for file and submodule commit for commit.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sources/git_source.h"
#include "sources/mirrors.h"
#include "sources/sources.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

static char *fixtures; /* the bare repositories */
static char *base_url; /* file://<fixtures> */
static char *http_fixtures; /* the same repositories, made for and served over smart HTTP */
static char *http_url;      /* http://127.0.0.1:PORT/git */
static long server_pid;

/* Runs the command line; returns its stdout (trimmed); fails the test on a non-zero exit. */
static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	struct buf out = BUF_INIT;
	int status = shell_run(&out, "%s", cmd.data);
	if (status != 0)
		fail_msg("`%s` exited %d:\n%s", cmd.data, status, out.data);
	buf_rtrim(&out);
	buf_release(&cmd);
	return buf_detach(&out);
}

static int setup(void **state)
{
	(void)state;
	fixtures = tmpdir_make("gitfix");
	/* git's own file:// submodule clones, used as the oracle, need this */
	setenv("GIT_CONFIG_COUNT", "1", 1);
	setenv("GIT_CONFIG_KEY_0", "protocol.file.allow", 1);
	setenv("GIT_CONFIG_VALUE_0", "always", 1);
	struct buf url = BUF_INIT;
	buf_addf(&url, "file://%s", fixtures);
	base_url = buf_detach(&url);
	free(sh("%s/tests/integration/fixtures/make_repos.sh %s %s >/dev/null", PTBUILD_SOURCE_DIR,
		fixtures, base_url));

	/* smart HTTP on loopback: the server first, then repositories whose URLs name it */
	http_fixtures = tmpdir_make("githttp");
	struct buf args = BUF_INIT;
	buf_addf(&args, "--git-root %s", http_fixtures);
	char *server = NULL;
	server_pid = loopback_server_start(http_fixtures, args.data, &server);
	struct buf hu = BUF_INIT;
	buf_addf(&hu, "%s/git", server);
	http_url = buf_detach(&hu);
	free(server);
	buf_release(&args);
	free(sh("%s/tests/integration/fixtures/make_repos.sh %s %s >/dev/null", PTBUILD_SOURCE_DIR,
		http_fixtures, http_url));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server_pid > 0)
		kill((pid_t)server_pid, SIGTERM);
	tmpdir_remove(http_fixtures);
	free(http_fixtures);
	free(http_url);
	tmpdir_remove(fixtures);
	free(fixtures);
	free(base_url);
	return 0;
}

/* "<commit> <path>" lines of `git submodule status --recursive` in a clone of `ref`. */
static char *oracle_clone(const char *work, const char *ref)
{
	return sh("cd %s && git clone -q --recursive -b %s %s/top.git oracle-%s >/dev/null 2>&1 && "
		  "git -C oracle-%s submodule status --recursive | awk '{print $1, $2}' | "
		  "sed 's/^[-+U ]//' | LC_ALL=C sort",
		  work, ref, base_url, ref, ref);
}

/* A test's own directory, with the cache and checkout paths in it. */
struct scratch {
	char *work, *cache, *dest;
};

static struct scratch scratch_make(const char *tag)
{
	struct scratch s = { tmpdir_make(tag), NULL, NULL };
	s.cache = path_join(s.work, "cache");
	s.dest = path_join(s.work, "src");
	return s;
}

static void scratch_free(struct scratch *s)
{
	tmpdir_remove(s->work);
	free(s->work);
	free(s->cache);
	free(s->dest);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The result as the oracle prints it: "<commit> <path>" lines, sorted. */
static char *result_lines(const struct git_tree_result *r)
{
	char **lines = xcalloc(r->nsubs + 1, sizeof(char *));
	for (size_t i = 0; i < r->nsubs; i++) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s %s", r->subs[i].commit, r->subs[i].path);
		lines[i] = buf_detach(&b);
	}
	qsort(lines, r->nsubs, sizeof(char *), cmp_str);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->nsubs; i++) {
		buf_addf(&out, "%s%s", i ? "\n" : "", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return buf_detach(&out);
}

static void checkout(const char *cache, const char *ref, const char *dest, bool offline,
		     const struct submodule_override *ov, size_t nov, struct git_tree_result *r,
		     struct diags *d)
{
	struct git_opts o = { .cache_dir = cache, .offline = offline };
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/top.git", base_url);
	int rc = git_fetch_tree(&o, url.data, ref, true, ov, nov, dest, r, d);
	if (rc < 0) {
		char *t = diags_text(d);
		fail_msg("checkout of %s failed:\n%s", ref, t);
	}
	buf_release(&url);
}

static size_t count_mirrors(const char *cache)
{
	char *dir = path_join(cache, "git");
	char **names;
	size_t n = 0;
	if (list_dir(dir, NULL, &names, &n) == 0)
		free_names(names, n);
	free(dir);
	return n;
}

static void test_checkout_matches_git_clone(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitwork");
	char *work = s.work, *cache = s.cache;
	const char *refs[] = { "v1.0", "v1.1" };
	size_t mirrors_after_first = 0;
	for (size_t i = 0; i < 2; i++) {
		struct diags d;
		diags_init(&d);
		struct git_tree_result r;
		struct buf dest = BUF_INIT;
		buf_addf(&dest, "%s/src-%s", work, refs[i]);
		/* the second tag comes from the warm cache alone: nothing is downloaded again */
		checkout(cache, refs[i], dest.data, i == 1, NULL, 0, &r, &d);
		char *expect_commit = sh("git -C %s/top.git rev-parse %s^{commit}", fixtures, refs[i]);
		assert_string_equal(r.commit, expect_commit);
		char *type = sh("git -C %s/top.git cat-file -t %s", fixtures, refs[i]);
		if (!strcmp(type, "tag")) {
			char *tag = sh("git -C %s/top.git rev-parse %s", fixtures, refs[i]);
			assert_string_equal(r.tag, tag);
			free(tag);
		} else {
			assert_string_equal(r.tag, "");
		}
		/* two levels of nesting were checked out */
		bool nested = false;
		for (size_t k = 0; k < r.nsubs; k++)
			nested |= strchr(strchr(r.subs[k].path, '/') + 1, '/') &&
				  strstr(r.subs[k].path, "deps/leaf");
		assert_true(nested);
		char *expected = oracle_clone(work, refs[i]);
		char *got = result_lines(&r);
		assert_string_equal(got, expected);
		/* resolving without a checkout records the same commits, from the cache alone */
		struct git_tree_result walked;
		struct git_opts frozen = { .cache_dir = cache, .offline = true };
		struct buf url = BUF_INIT;
		buf_addf(&url, "%s/top.git", base_url);
		assert_int_equal(git_resolve_tree(&frozen, url.data, refs[i], NULL, 0, &walked, &d), 0);
		char *walked_lines = result_lines(&walked);
		assert_string_equal(walked_lines, expected);
		assert_string_equal(walked.commit, r.commit);
		free(walked_lines);
		buf_release(&url);
		git_tree_result_release(&walked);
		/* the same files as git's clone, and no .git anywhere */
		free(sh("diff -r -x .git %s/oracle-%s %s", work, refs[i], dest.data));
		char *dotgit = sh("find %s -name .git | wc -l", dest.data);
		assert_string_equal(dotgit, "0");
		if (i == 0)
			mirrors_after_first = count_mirrors(cache);
		else
			assert_int_equal(count_mirrors(cache), mirrors_after_first);
		free(dotgit);
		free(expected);
		free(got);
		free(type);
		free(expect_commit);
		buf_release(&dest);
		git_tree_result_release(&r);
		diags_release(&d);
	}
	/* one mirror per repository: top, mid, mid2, leaf, kineto */
	assert_int_equal(mirrors_after_first, 5);
	scratch_free(&s);
}

static void test_override_replaces_submodule(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitov");
	char *work = s.work, *cache = s.cache, *dest = s.dest;
	struct buf fork = BUF_INIT;
	buf_addf(&fork, "%s/kineto-fork.git", base_url);
	struct submodule_override ov = { "third_party/kineto", fork.data, "v2.7.0", { 0 } };
	struct diags d;
	diags_init(&d);
	struct git_tree_result r;
	checkout(cache, "v1.0", dest, false, &ov, 1, &r, &d);
	char *fork_commit = sh("git -C %s/kineto-fork.git rev-parse v2.7.0^{commit}", fixtures);
	bool found = false;
	for (size_t i = 0; i < r.nsubs; i++) {
		if (strcmp(r.subs[i].path, "third_party/kineto"))
			continue;
		found = true;
		assert_string_equal(r.subs[i].commit, fork_commit);
		assert_true(r.subs[i].overridden);
		assert_string_equal(r.subs[i].url, fork.data);
	}
	assert_true(found);
	/* the fork's tree is what was exported */
	free(sh("git -C %s/kineto-fork.git archive v2.7.0 | tar -t | grep -v '/$' | sort > %s/want && "
		"(cd %s/third_party/kineto && find . -type f | sed 's|^./||' | sort) > %s/got && "
		"diff %s/want %s/got", fixtures, work, dest, work, work, work));
	free(fork_commit);
	git_tree_result_release(&r);
	diags_release(&d);
	buf_release(&fork);
	scratch_free(&s);
}

/* Each failure names what is wrong and leaves neither a checkout nor a half mirror. */
static void test_errors_leave_nothing(void **state)
{
	(void)state;
	struct scratch s = scratch_make("giterr");
	char *work = s.work, *cache = s.cache, *dest = s.dest;
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/top.git", base_url);
	struct git_opts online = { .cache_dir = cache }, frozen = { .cache_dir = cache, .offline = true };
	struct git_tree_result r;

	struct diags d;
	diags_init(&d);
	assert_int_equal(git_fetch_tree(&frozen, url.data, "v1.0", true, NULL, 0, dest, &r, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "is not in the cache");
	assert_contains(t, "--frozen forbids the network");
	assert_int_equal(count_mirrors(cache), 0);
	free(t);
	diags_release(&d);

	diags_init(&d);
	assert_int_equal(git_fetch_tree(&online, url.data, "v1.9", true, NULL, 0, dest, &r, &d), -1);
	t = diags_text(&d);
	assert_contains(t, "error: no tag, branch or commit \"v1.9\" in \"");
	assert_contains(t, "did you mean the tag \"v1.0\"?");
	assert_false(path_exists(dest));
	free(t);
	diags_release(&d);

	diags_init(&d);
	struct buf missing = BUF_INIT;
	buf_addf(&missing, "%s/nope.git", base_url);
	assert_int_equal(git_fetch_tree(&online, missing.data, "v1.0", true, NULL, 0, dest, &r, &d), -1);
	t = diags_text(&d);
	assert_contains(t, "error: cannot fetch \"");
	assert_contains(t, "nothing was kept in the cache");
	free(t);
	diags_release(&d);

	/* A submodule override whose repository lacks the ref. */
	struct buf fork = BUF_INIT;
	buf_addf(&fork, "%s/kineto-fork.git", base_url);
	struct submodule_override ov = { "third_party/kineto", fork.data, "v9", { 0 } };
	diags_init(&d);
	assert_int_equal(git_fetch_tree(&online, url.data, "v1.0", true, &ov, 1, dest, &r, &d), -1);
	t = diags_text(&d);
	assert_contains(t, "no tag, branch or commit \"v9\" in \"");
	assert_false(path_exists(dest));
	free(t);
	diags_release(&d);

	/* Nothing temporary is left behind anywhere. */
	char *left = sh("find %s -name '*.tmp-*' | wc -l", work);
	assert_string_equal(left, "0");
	free(left);
	buf_release(&fork);
	buf_release(&missing);
	buf_release(&url);
	scratch_free(&s);
}

/* Recipes keep upstream URLs; a mirrors file points them, and the relative submodule URLs
 * resolved against them, at the site's copies. */
static void test_mirrors_rewrite_upstream(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitmirror");
	char *work = s.work, *cache = s.cache, *dest = s.dest;
	struct buf rules = BUF_INIT;
	buf_addf(&rules, "{ \"https://upstream.invalid/org/\": \"%s/\" }", base_url);
	write_text(work, "mirrors.json", rules.data);
	unsetenv("PTBUILD_MIRRORS");
	struct mirrors m;
	struct diags d;
	diags_init(&d);
	assert_int_equal(mirrors_load(&m, work, &d), 0);
	struct git_opts o = { .cache_dir = cache, .mirrors = &m };
	struct git_tree_result r;
	if (git_fetch_tree(&o, "https://upstream.invalid/org/top.git", "v1.0", true, NULL, 0, dest,
			   &r, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("%s", t);
	}
	char *expect = sh("git -C %s/top.git rev-parse v1.0^{commit}", fixtures);
	assert_string_equal(r.commit, expect);
	bool relative_seen = false;
	for (size_t i = 0; i < r.nsubs; i++) {
		if (!strcmp(r.subs[i].path, "third_party/mid2")) {
			/* the lock records upstream URLs, whatever mirror served them */
			assert_string_equal(r.subs[i].url, "https://upstream.invalid/org/mid2.git");
			relative_seen = true;
		}
	}
	assert_true(relative_seen);
	free(expect);
	git_tree_result_release(&r);
	mirrors_release(&m);
	diags_release(&d);
	buf_release(&rules);
	scratch_free(&s);
}

/* A run killed mid-fetch leaves "<mirror>.tmp-<pid>"; the next run removes it and is
 * not fooled by it. */
static void test_interrupted_fetch_recovers(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitint");
	char *work = s.work, *cache = s.cache, *dest = s.dest;
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/top.git", base_url);
	struct git_opts o = { .cache_dir = cache };
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	char *mirror = NULL;
	assert_int_equal(git_mirror_update(&o, url.data, &mirror, &d), 0);
	/* A dead run's leftovers (pid 999999 does not exist) next to the real names. */
	free(sh("mkdir -p %s.tmp-999999/objects %s.tmp-999999/x", mirror, dest));
	char *planted = sh("find %s -name '*.tmp-999999' | wc -l", work);
	assert_string_equal(planted, "2");
	assert_int_equal(git_fetch_tree(&o, url.data, "v1.0", true, NULL, 0, dest, &r, &d), 0);
	char *left = sh("find %s -name '*.tmp-*' | wc -l", work);
	assert_string_equal(left, "0");
	assert_true(path_exists(dest));
	free(planted);
	free(left);
	free(mirror);
	git_tree_result_release(&r);
	diags_release(&d);
	buf_release(&url);
	scratch_free(&s);
}

/* The same over smart HTTP (git http-backend on loopback): the checkout equals git's
 * recursive clone over HTTP, and credentials in the URL never reach a message. */
static void test_checkout_over_http(void **state)
{
	(void)state;
	struct scratch s = scratch_make("githttpw");
	char *work = s.work, *cache = s.cache, *dest = s.dest;
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/top.git", http_url);
	struct git_opts o = { .cache_dir = cache };
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	if (git_fetch_tree(&o, url.data, "v1.1", true, NULL, 0, dest, &r, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("%s", t);
	}
	char *expected = sh("cd %s && git clone -q --recursive -b v1.1 %s oracle >/dev/null 2>&1 && "
			    "git -C oracle submodule status --recursive | awk '{print $1, $2}' | "
			    "sed 's/^[-+U ]//' | LC_ALL=C sort", work, url.data);
	char *got = result_lines(&r);
	assert_string_equal(got, expected);
	free(sh("diff -r -x .git %s/oracle %s", work, dest));
	git_tree_result_release(&r);

	struct buf secret = BUF_INIT;
	buf_addf(&secret, "http://user:s3cret@%s/top.git", http_url + strlen("http://"));
	char *dest2 = path_join(work, "src2");
	assert_int_equal(git_fetch_tree(&o, secret.data, "v7", true, NULL, 0, dest2, &r, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "in \"http://***@127.0.0.1:");
	assert_not_contains(t, "s3cret");
	free(t);
	free(dest2);
	buf_release(&secret);
	free(got);
	free(expected);
	diags_release(&d);
	buf_release(&url);
	scratch_free(&s);
}

/* source_commit_time: the pinned commit's committer time from the mirror, offline. */
static void test_source_commit_time(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gittime");
	struct git_tree_result res;
	struct diags d;
	diags_init(&d);
	checkout(s.cache, "v1.0", s.dest, false, NULL, 0, &res, &d);
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/top.git", base_url);
	struct recipe r = { .name = "top", .source = { .kind = SOURCE_GIT, .location = url.data } };
	struct pin pin = { 0 };
	snprintf(pin.commit, sizeof(pin.commit), "%s", res.commit);
	char *want = sh("git -C %s/top.git log -1 --format=%%ct %s", fixtures, res.commit);
	long long when = 0;
	assert_int_equal(source_commit_time(s.cache, &r, &pin, &when), 0);
	assert_int_equal(when, strtoll(want, NULL, 10));

	assert_int_equal(source_commit_time(s.cache, &r, NULL, &when), -1);
	char *other = path_join(s.work, "no-cache");
	assert_int_equal(source_commit_time(other, &r, &pin, &when), -1);
	r.source.kind = SOURCE_ARCHIVE;
	assert_int_equal(source_commit_time(s.cache, &r, &pin, &when), -1);
	r.source.kind = SOURCE_GIT;
	pin.commit[0] = '\0';
	assert_int_equal(source_commit_time(s.cache, &r, &pin, &when), -1);
	snprintf(pin.commit, sizeof(pin.commit), "%040d", 0);
	assert_int_equal(source_commit_time(s.cache, &r, &pin, &when), -1);
	free(other);
	free(want);
	buf_release(&url);
	git_tree_result_release(&res);
	diags_release(&d);
	scratch_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkout_matches_git_clone),
		cmocka_unit_test(test_override_replaces_submodule),
		cmocka_unit_test(test_errors_leave_nothing),
		cmocka_unit_test(test_mirrors_rewrite_upstream),
		cmocka_unit_test(test_interrupted_fetch_recovers),
		cmocka_unit_test(test_checkout_over_http),
		cmocka_unit_test(test_source_commit_time),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
