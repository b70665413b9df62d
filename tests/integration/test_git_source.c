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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
static char *site;   /* the same repositories made for https://upstream.invalid/org (never
			contacted: mirrors.json points it at copies of these) */
static char *lost;   /* file:// repositories where gklib.git lost the commit metis records */
#define UPSTREAM "https://upstream.invalid/org"

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

	site = tmpdir_make("gitsite");
	free(sh("%s/tests/integration/fixtures/make_repos.sh %s %s >/dev/null", PTBUILD_SOURCE_DIR,
		site, UPSTREAM));
	lost = tmpdir_make("gitlost");
	free(sh("%s/tests/integration/fixtures/make_repos.sh %s file://%s >/dev/null && "
		"rm -rf %s/gklib.git && cp -r %s/leaf.git %s/gklib.git", PTBUILD_SOURCE_DIR, lost,
		lost, lost, lost, lost));
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
	tmpdir_remove(site);
	free(site);
	tmpdir_remove(lost);
	free(lost);
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


/* A copy of the site's repositories in `dir` without `missing` (space-separated names),
 * with `broken` (a name) replaced by an unrelated repository, and mirrors that point the
 * upstream at it. */
static void site_mirror(const char *dir, const char *missing, const char *broken,
			struct mirrors *m)
{
	free(sh("cp -r %s %s/site && cd %s/site && rm -rf $(for n in %s; do echo $n.git; done)",
		site, dir, dir, missing));
	if (broken)
		free(sh("cd %s/site && rm -rf %s.git && cp -r leaf.git %s.git", dir, broken, broken));
	struct buf rules = BUF_INIT;
	buf_addf(&rules, "{ \"" UPSTREAM "/\": \"file://%s/site/\" }", dir);
	write_text(dir, "mirrors.json", rules.data);
	unsetenv("PTBUILD_MIRRORS");
	struct diags d;
	diags_init(&d);
	assert_int_equal(mirrors_load(m, dir, &d), 0);
	diags_release(&d);
	buf_release(&rules);
}

/* Issue 14, items 12 and 13: every submodule the site's mirror cannot give is named in one
 * error, a nested one by its full path, each with its superproject and commit, its gitlink
 * commit, the upstream URL and the URL asked; nothing is checked out. */
static void test_unavailable_submodules_in_one_pass(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitunavail");
	struct mirrors m;
	site_mirror(s.work, "gklib cutlass", "cccl", &m);
	struct git_opts o = { .cache_dir = s.cache, .mirrors = &m };
	char *pyg = sh("git -C %s/pyg.git rev-parse v0.8.0^{commit}", site);
	char *metis = sh("git -C %s/pyg.git rev-parse v0.8.0:third_party/METIS", site);
	char *gklib = sh("git -C %s/metis.git rev-parse HEAD:GKlib", site);
	char *cutlass = sh("git -C %s/pyg.git rev-parse v0.8.0:third_party/cutlass", site);
	char *cccl = sh("git -C %s/pyg.git rev-parse v0.8.0:third_party/cccl", site);
	for (int walk_only = 0; walk_only < 2; walk_only++) {
		struct git_tree_result r;
		struct diags d;
		diags_init(&d);
		int rc = walk_only ? git_resolve_tree(&o, UPSTREAM "/pyg.git", "v0.8.0", NULL, 0, &r, &d)
				   : git_fetch_tree(&o, UPSTREAM "/pyg.git", "v0.8.0", true, NULL, 0,
						    s.dest, &r, &d);
		assert_int_equal(rc, -1);
		char *t = diags_text(&d);
		assert_int_equal(d.nerrors, 1);
		struct buf want = BUF_INIT;
		buf_addf(&want, "error: 3 submodules of \"" UPSTREAM "/pyg.git\" at %.12s cannot be "
			 "fetched", pyg);
		assert_contains(t, want.data);
		buf_reset(&want);
		buf_addf(&want, "\"third_party/METIS/GKlib\" at commit %s, gitlink of "
			 "\"third_party/METIS\" (\"" UPSTREAM "/metis.git\" at %.12s)\n"
			 "    upstream \"" UPSTREAM "/gklib.git\", asked of the site mirror "
			 "\"file://%s/site/gklib.git\"", gklib, metis, s.work);
		assert_contains(t, want.data);
		buf_reset(&want);
		buf_addf(&want, "\"third_party/cutlass\" at commit %s, gitlink of \"" UPSTREAM
			 "/pyg.git\" at %.12s\n    upstream \"" UPSTREAM "/cutlass.git\", asked of "
			 "the site mirror \"file://%s/site/cutlass.git\"", cutlass, pyg, s.work);
		assert_contains(t, want.data);
		buf_reset(&want);
		/* a mirror that is there but lacks the commit */
		buf_addf(&want, "\"third_party/cccl\" at commit %s", cccl);
		assert_contains(t, want.data);
		buf_reset(&want);
		buf_addf(&want, "the repository has no commit %s", cccl);
		assert_contains(t, want.data);
		assert_not_contains(t, "force-pushed");
		assert_contains(t, "hint: the site mirror lacks them");
		assert_contains(t, "{\"exclude\": [\"third_party/METIS/GKlib\", \"third_party/cccl\", "
				   "\"third_party/cutlass\"]}");
		/* the ones the mirror has are not listed */
		assert_not_contains(t, "\"third_party/parallel-hashmap\" at commit");
		assert_false(path_exists(s.dest));
		char *left = sh("find %s -name '*.tmp-*' | wc -l", s.work);
		assert_string_equal(left, "0");
		free(left);
		buf_release(&want);
		free(t);
		git_tree_result_release(&r);
		diags_release(&d);
	}
	free(pyg);
	free(metis);
	free(gklib);
	free(cutlass);
	free(cccl);
	mirrors_release(&m);
	scratch_free(&s);
}

/* Without a mirror rule, a repository that lacks its commit lost it upstream: that hint,
 * and not the site mirror's. */
static void test_commit_lost_upstream(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitlostw");
	struct git_opts o = { .cache_dir = s.cache };
	struct buf url = BUF_INIT;
	buf_addf(&url, "file://%s/pyg.git", lost);
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	assert_int_equal(git_fetch_tree(&o, url.data, "v0.8.0", true, NULL, 0, s.dest, &r, &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "1 submodule of \"file://");
	assert_contains(t, "\"third_party/METIS/GKlib\" at commit ");
	struct buf want = BUF_INIT;
	buf_addf(&want, "    from \"file://%s/gklib.git\"", lost);
	assert_contains(t, want.data);
	assert_contains(t, "force-pushed or deleted");
	assert_not_contains(t, "site mirror");
	assert_false(path_exists(s.dest));
	buf_release(&want);
	free(t);
	git_tree_result_release(&r);
	diags_release(&d);
	buf_release(&url);
	scratch_free(&s);
}

/* "<commit> <path>" lines of the subs whose path is not under a deselected one. */
static char *paths_of(const struct git_tree_result *r)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < r->nsubs; i++)
		buf_addf(&b, "%s%s", i ? " " : "", r->subs[i].path);
	return buf_detach(&b);
}

static struct strpos sp(const char *s, unsigned line)
{
	return (struct strpos){ (char *)s, { "recipes/pyg.json", line, 7 } };
}

/* Issue 14, item 14: "only" and "exclude" by path, nested paths too; an unknown path is
 * an input error (-2) at its position with a did-you-mean; an air-gapped site leaves out
 * what its mirror lacks. */
static void test_submodule_selection(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitsel");
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/pyg.git", base_url);
	struct strpos only_v[] = { sp("third_party/METIS/GKlib", 3) };
	struct submodule_select only = { SUBMODULES_ONLY, { only_v, 1 }, { 0 } };
	struct git_opts o = { .cache_dir = s.cache, .recipe = "pyg", .select = &only };
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	/* "only" a nested path: its parent comes with it, nothing else */
	assert_int_equal(git_fetch_tree(&o, url.data, "v0.8.0", true, NULL, 0, s.dest, &r, &d), 0);
	char *got = paths_of(&r);
	assert_string_equal(got, "third_party/METIS third_party/METIS/GKlib");
	free(got);
	free(sh("test -f %s/third_party/METIS/GKlib/src/gklib.c && test -f %s/third_party/METIS/src/metis.c"
		" && test -z \"$(ls -A %s/third_party/cutlass)\"", s.dest, s.dest, s.dest));
	git_tree_result_release(&r);
	/* the walk records the same */
	assert_int_equal(git_resolve_tree(&o, url.data, "v0.8.0", NULL, 0, &r, &d), 0);
	got = paths_of(&r);
	assert_string_equal(got, "third_party/METIS third_party/METIS/GKlib");
	free(got);
	git_tree_result_release(&r);

	/* "exclude": the rest, and nothing below an excluded one */
	struct strpos ex_v[] = { sp("third_party/cutlass", 4), sp("third_party/METIS", 5) };
	struct submodule_select ex = { SUBMODULES_EXCLUDE, { ex_v, 2 }, { 0 } };
	o.select = &ex;
	assert_int_equal(git_resolve_tree(&o, url.data, "v0.8.0", NULL, 0, &r, &d), 0);
	got = paths_of(&r);
	assert_string_equal(got, "third_party/cccl third_party/parallel-hashmap");
	free(got);
	git_tree_result_release(&r);

	/* unknown paths, top-level and nested: both named, with their positions */
	struct strpos bad_v[] = { sp("third_party/METS", 6), sp("third_party/METIS/GKlb", 7) };
	struct submodule_select bad = { SUBMODULES_ONLY, { bad_v, 2 }, { 0 } };
	o.select = &bad;
	char *dest2 = path_join(s.work, "src2");
	assert_int_equal(git_fetch_tree(&o, url.data, "v0.8.0", true, NULL, 0, dest2, &r, &d), -2);
	char *t = diags_text(&d);
	assert_contains(t, "recipes/pyg.json:6:7: error: \"submodules\" of recipe \"pyg\" lists "
			   "\"third_party/METS\", which is not a submodule of \"file://");
	assert_contains(t, "hint: did you mean \"third_party/METIS\"?");
	assert_contains(t, "recipes/pyg.json:7:7: error: \"submodules\" of recipe \"pyg\" lists "
			   "\"third_party/METIS/GKlb\"");
	assert_contains(t, "hint: did you mean \"third_party/METIS/GKlib\"?");
	assert_false(path_exists(dest2));
	free(t);
	diags_release(&d);

	/* an air-gapped site whose mirror lacks cutlass and cccl builds without them */
	struct mirrors m;
	site_mirror(s.work, "cutlass cccl", NULL, &m);
	struct strpos gap_v[] = { sp("third_party/cutlass", 8), sp("third_party/cccl", 9) };
	struct submodule_select gap = { SUBMODULES_EXCLUDE, { gap_v, 2 }, { 0 } };
	struct git_opts so = { .cache_dir = s.cache, .mirrors = &m, .select = &gap };
	char *dest3 = path_join(s.work, "src3");
	diags_init(&d);
	if (git_fetch_tree(&so, UPSTREAM "/pyg.git", "v0.8.0", true, NULL, 0, dest3, &r, &d) < 0) {
		t = diags_text(&d);
		fail_msg("%s", t);
	}
	got = paths_of(&r);
	assert_string_equal(got, "third_party/METIS third_party/METIS/GKlib third_party/parallel-hashmap");
	free(got);
	git_tree_result_release(&r);
	diags_release(&d);
	mirrors_release(&m);
	free(dest2);
	free(dest3);
	buf_release(&url);
	scratch_free(&s);
}

/* Issue 14, item 15: an override of a nested path is applied; one for a path that is no
 * gitlink is an input error with a did-you-mean and the override's position. */
static void test_nested_override(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitnestov");
	struct buf url = BUF_INIT, fork = BUF_INIT;
	buf_addf(&url, "%s/pyg.git", base_url);
	buf_addf(&fork, "%s/gklib-fork.git", base_url);
	struct submodule_override ov = { "third_party/METIS/GKlib", fork.data, "v2",
					 { "recipes/pyg.json", 9, 26 } };
	struct git_opts o = { .cache_dir = s.cache, .recipe = "pyg" };
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	if (git_fetch_tree(&o, url.data, "v0.8.0", true, &ov, 1, s.dest, &r, &d) < 0) {
		char *t = diags_text(&d);
		fail_msg("%s", t);
	}
	char *want = sh("git -C %s/gklib-fork.git rev-parse v2^{commit}", fixtures);
	bool found = false;
	for (size_t i = 0; i < r.nsubs; i++) {
		if (strcmp(r.subs[i].path, "third_party/METIS/GKlib"))
			continue;
		found = true;
		assert_string_equal(r.subs[i].commit, want);
		assert_true(r.subs[i].overridden);
	}
	assert_true(found);
	free(sh("test -f %s/third_party/METIS/GKlib/src/fork.c", s.dest));
	git_tree_result_release(&r);

	ov.path = "third_party/METIS/GKlb";
	char *dest2 = path_join(s.work, "src2");
	assert_int_equal(git_fetch_tree(&o, url.data, "v0.8.0", true, &ov, 1, dest2, &r, &d), -2);
	char *t = diags_text(&d);
	assert_contains(t, "recipes/pyg.json:9:26: error: submodule override "
			   "\"third_party/METIS/GKlb\" of recipe \"pyg\" names no submodule of \"");
	assert_contains(t, "hint: did you mean \"third_party/METIS/GKlib\"?");
	assert_false(path_exists(dest2));
	free(t);
	ov.path = "no/such/path";
	diags_release(&d);
	diags_init(&d);
	assert_int_equal(git_resolve_tree(&o, url.data, "v0.8.0", &ov, 1, &r, &d), -2);
	t = diags_text(&d);
	assert_contains(t, "hint: the submodules it has: \"third_party/METIS\", ");
	assert_contains(t, "\"third_party/METIS/GKlib\"");
	free(t);
	free(dest2);
	free(want);
	diags_release(&d);
	buf_release(&url);
	buf_release(&fork);
	scratch_free(&s);
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Issue 14, item 16: with the network down, what the cached mirror has still resolves,
 * with a warning that the mirror was not updated; offline, without one. Submodule mirrors
 * that have their gitlink commits are not fetched at all. */
static void test_network_down_uses_cache(void **state)
{
	(void)state;
	struct scratch s = scratch_make("gitdown");
	struct mirrors m;
	site_mirror(s.work, "", NULL, &m);
	struct git_opts o = { .cache_dir = s.cache, .mirrors = &m };
	struct git_tree_result r;
	struct diags d;
	diags_init(&d);
	assert_int_equal(git_resolve_tree(&o, UPSTREAM "/pyg.git", "v0.8.0", NULL, 0, &r, &d), 0);
	size_t want = r.nsubs;
	git_tree_result_release(&r);
	/* the site's server goes away */
	mirrors_release(&m);
	struct buf rules = BUF_INIT;
	buf_addf(&rules, "{ \"" UPSTREAM "/\": \"http://127.0.0.1:%d/git/\" }", closed_port());
	write_text(s.work, "mirrors.json", rules.data);
	assert_int_equal(mirrors_load(&m, s.work, &d), 0);
	assert_int_equal(git_resolve_tree(&o, UPSTREAM "/pyg.git", "v0.8.0", NULL, 0, &r, &d), 0);
	assert_int_equal(r.nsubs, want);
	char *t = diags_text(&d);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1); /* the superproject only: the submodules' commits are cached */
	assert_contains(t, "warning: mirror not updated: cannot fetch \"http://127.0.0.1:");
	assert_contains(t, "\"" UPSTREAM "/pyg.git\" is resolved from the cached mirror as it is");
	assert_contains(t, "hint: its branches may be behind upstream; `--offline` uses the cache");
	free(t);
	git_tree_result_release(&r);
	diags_release(&d);
	/* a ref the cache does not have: the error says the mirror could not be updated */
	diags_init(&d);
	assert_int_equal(git_resolve_tree(&o, UPSTREAM "/pyg.git", "v0.9.0", NULL, 0, &r, &d), -1);
	t = diags_text(&d);
	assert_contains(t, "error: no tag, branch or commit \"v0.9.0\"");
	assert_contains(t, "the mirror could not be updated (see the warning)");
	free(t);
	diags_release(&d);
	/* offline: no attempt, no warning */
	diags_init(&d);
	o.offline = true;
	o.offline_flag = "--offline";
	assert_int_equal(git_resolve_tree(&o, UPSTREAM "/pyg.git", "v0.8.0", NULL, 0, &r, &d), 0);
	assert_int_equal(d.n, 0);
	git_tree_result_release(&r);
	diags_release(&d);
	buf_release(&rules);
	mirrors_release(&m);
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
		cmocka_unit_test(test_unavailable_submodules_in_one_pass),
		cmocka_unit_test(test_commit_lost_upstream),
		cmocka_unit_test(test_submodule_selection),
		cmocka_unit_test(test_nested_override),
		cmocka_unit_test(test_network_down_uses_cache),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
