/*
 * The build engine under a front end of its own: a fixture project (tests/integration/
 * fixtures/ext_project.sh) planned, pinned and built through the session and build layers
 * alone, with build_events that record what happened, no ui.c and no command line. A
 * success reports started, the phases in order and finished; a failing build returns -1
 * with its class on the diagnostics; a cached variant starts no job.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "session/session.h"
#include "util/buf.h"
#include "util/os.h"

static char *work; /* the fixture: work/p is the project, work/cache the cache */

/* What the front end was told. */
struct seen {
	int started, finished, ticks;
	struct buf phases;             /* "venv build collect " */
	enum build_outcome last_outcome;
};

static void on_started(void *ctx, const struct build *b, size_t item)
{
	(void)b;
	(void)item;
	((struct seen *)ctx)->started++;
}

static void on_phase(void *ctx, const struct build *b, size_t item)
{
	struct seen *s = ctx;
	buf_addf(&s->phases, "%s ", b->items[item].phase_name);
}

static void on_finished(void *ctx, const struct build *b, size_t item)
{
	struct seen *s = ctx;
	s->finished++;
	s->last_outcome = b->items[item].outcome;
}

static void on_tick(void *ctx, const struct build *b)
{
	(void)b;
	((struct seen *)ctx)->ticks++;
}

static int setup(void **state)
{
	(void)state;
	work = tmpdir_make("events");
	struct buf out = BUF_INIT;
	int rc = shell_run(&out, "work=%s SRC=%s; . \"$SRC/tests/integration/fixtures/ext_project.sh\"; "
		    "make_repo good; make_repo broken; "
		    "recipe good v1 '{ \"EXT_NAME\": \"good\" }'; "
		    "recipe broken v1 '{ \"EXT_NAME\": \"broken\", \"EXT_FAIL\": \"1\" }'; "
		    "set_file default '[\"good\"]'; set_file fail '[\"broken\"]'",
		    work, PTBUILD_SOURCE_DIR);
	if (rc != 0)
		fprintf(stderr, "the fixture project was not made (exit %d):\n%s", rc, out.data);
	buf_release(&out);
	/* the build's children find git's identity and no user config here */
	char *home = path_join(work, "home");
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	free(home);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tmpdir_remove(work);
	free(work);
	return 0;
}

/* Plans the set, pins its sources, builds it with `seen` as the front end. */
static int build_set(const char *set, struct seen *seen, struct diags *d, size_t *njobs)
{
	char *project = path_join(work, "p");
	char *cache = path_join(work, "cache");
	struct session s = { 0 };
	struct pins pins = { 0 };
	struct plan_choice c = { .set = set };
	int rc = session_plan(&s, project, cache, &c, d);
	if (rc == 0)
		rc = session_load_sources(&s, false, d);
	if (rc == 0)
		rc = session_pin_sources(&s, &(struct pin_request){ 0 }, &pins, d);
	if (rc == 0) {
		struct build b;
		struct build_opts o = { .jobs = 1 };
		build_opts_defaults(&o);
		build_prepare(&b, &s, &pins, &o, d);
		*njobs = b.njobs;
		struct build_events ev = { seen, on_started, on_phase, on_finished, on_tick, 0.2 };
		rc = build_run(&b, &ev);
		build_release(&b);
	}
	pins_release(&pins);
	session_release(&s);
	free(cache);
	free(project);
	return rc;
}

static void test_build_reports_through_events(void **state)
{
	(void)state;
	struct seen seen = { .phases = BUF_INIT };
	struct diags d;
	diags_init(&d);
	size_t njobs = 0;
	int rc = build_set("default", &seen, &d, &njobs);
	char *text = diags_text(&d);
	if (rc != 0)
		fail_msg("the build failed:\n%s", text);
	free(text);
	assert_int_equal(njobs, 1);
	assert_int_equal(seen.started, 1);
	assert_int_equal(seen.finished, 1);
	assert_int_equal(seen.last_outcome, OUTCOME_BUILT);
	assert_string_equal(seen.phases.data, "venv copy build collect ");
	assert_int_equal(diags_failure(&d), DIAG_NO_FAILURE);
	buf_release(&seen.phases);
	diags_release(&d);

	/* built once: the output cache has its key, and nothing starts */
	struct seen again = { .phases = BUF_INIT };
	diags_init(&d);
	assert_int_equal(build_set("default", &again, &d, &njobs), 0);
	assert_int_equal(njobs, 0);
	assert_int_equal(again.started, 0);
	assert_int_equal(again.finished, 0);
	buf_release(&again.phases);
	diags_release(&d);
}

static void test_failure_has_its_class(void **state)
{
	(void)state;
	struct seen seen = { .phases = BUF_INIT };
	struct diags d;
	diags_init(&d);
	size_t njobs = 0;
	assert_int_equal(build_set("fail", &seen, &d, &njobs), -1);
	assert_int_equal(njobs, 1);
	assert_int_equal(seen.finished, 1);
	assert_int_equal(seen.last_outcome, OUTCOME_FAILED);
	assert_int_equal(diags_failure(&d), DIAG_BUILD_FAILED);
	assert_int_equal(d.nerrors, 0); /* the log says why; the front end shows it */
	buf_release(&seen.phases);
	diags_release(&d);
}

static void test_input_error_has_its_class(void **state)
{
	(void)state;
	struct seen seen = { .phases = BUF_INIT };
	struct diags d;
	diags_init(&d);
	size_t njobs = 0;
	assert_int_equal(build_set("no-such-set", &seen, &d, &njobs), -1);
	assert_int_equal(diags_failure(&d), DIAG_INPUT);
	char *text = diags_text(&d);
	assert_contains(text, "no-such-set");
	free(text);
	buf_release(&seen.phases);
	diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_reports_through_events),
		cmocka_unit_test(test_failure_has_its_class),
		cmocka_unit_test(test_input_error_has_its_class),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
