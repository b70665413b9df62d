/* Every _release of driver/model/ and driver/sources/ is safe on a zeroed struct and
 * idempotent, so callers need no "have_x" flags: zero-initialize, maybe load, release. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "model/envflags.h"
#include "model/interp.h"
#include "model/model.h"
#include "model/pins.h"
#include "model/project.h"
#include "sources/git_source.h"
#include "sources/mirrors.h"
#include "sources/patch_parse.h"
#include "sources/pypi_source.h"
#include "util/diag.h"

/* Releases a zeroed `type` twice with `fn`; it must stay zeroed. */
#define RELEASE_ZEROED(type, fn)                                               \
	do {                                                                   \
		type x, zero;                                                  \
		memset(&x, 0, sizeof(x));                                      \
		memset(&zero, 0, sizeof(zero));                                \
		fn(&x);                                                        \
		fn(&x);                                                        \
		assert_memory_equal(&x, &zero, sizeof(x));                     \
	} while (0)

static void test_model_zeroed(void **state)
{
	(void)state;
	RELEASE_ZEROED(struct strpos_list, strpos_list_release);
	RELEASE_ZEROED(struct kv_list, kv_list_release);
	RELEASE_ZEROED(struct recipe, recipe_release);
	RELEASE_ZEROED(struct toolchain, toolchain_release);
	RELEASE_ZEROED(struct buildset, buildset_release);
	RELEASE_ZEROED(struct project, project_release);
	RELEASE_ZEROED(struct env, env_release);
	RELEASE_ZEROED(struct pin, pin_release);
	RELEASE_ZEROED(struct pins, pins_release);
	interp_refs_free(NULL, 0);
}

static void test_sources_zeroed(void **state)
{
	(void)state;
	RELEASE_ZEROED(struct git_tree_result, git_tree_result_release);
	RELEASE_ZEROED(struct mirrors, mirrors_release);
	RELEASE_ZEROED(struct patch, patch_release);
	RELEASE_ZEROED(struct pypi_file, pypi_file_release);
}

/* Loaded, released, released again: the second release finds a zeroed struct. */
static void test_loaded_twice(void **state)
{
	(void)state;
	char *dir = tmpdir_make("release");
	write_text(dir, "recipes/a.json",
		   "{ \"name\": \"a\", \"version\": \"1.0\", \"depends\": [\"b\"],\n"
		   "  \"source\": { \"git\": \"https://example.com/a.git\", \"ref\": \"v1\" },\n"
		   "  \"env\": { \"X\": \"${dep.b.version}\" },\n"
		   "  \"patches\": [ { \"series\": \"patches/a/*.patch\", \"when\": { \"python\": \"3.12\" } } ] }\n");
	write_text(dir, "recipes/b.json",
		   "{ \"name\": \"b\", \"version\": \"2.0\",\n"
		   "  \"source\": { \"pypi\": \"b==2.0\" } }\n");
	write_text(dir, "toolchains/cpu.json", "{ \"name\": \"cpu\", \"tag\": \"cpu\", \"env\": { \"Y\": \"1\" } }\n");
	write_text(dir, "recipes/sets/s.json",
		   "{ \"targets\": [\"a\"], \"toolchains\": [\"cpu\"], \"python\": [\"3.12\"],\n"
		   "  \"exclude\": [ { \"python\": \"3.12\", \"toolchain\": \"cpu\", \"target\": \"b\" } ],\n"
		   "  \"use\": { \"b\": \"b\" } }\n");
	struct diags d;
	diags_init(&d);
	struct project p;
	struct buildset s;
	int rc = project_load(&p, dir, &d);
	if (rc == 0)
		rc = project_load_set(&p, "s", &s, &d);
	if (rc < 0) {
		char *t = diags_text(&d);
		fail_msg("loading failed:\n%s", t);
	}
	assert_int_equal(p.nrecipes, 2);
	assert_int_equal(s.nexcludes, 1);
	buildset_release(&s);
	buildset_release(&s);
	project_release(&p);
	project_release(&p);
	assert_null(p.recipes);
	assert_null(s.name);

	/* A set that fails to load holds nothing, and releasing it is still safe. */
	diags_release(&d);
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), 0);
	assert_int_equal(project_load_set(&p, "missing", &s, &d), -1);
	buildset_release(&s);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_zeroed),
		cmocka_unit_test(test_sources_zeroed),
		cmocka_unit_test(test_loaded_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
