/* The fleet config: the user's file < the project's file < the environment < the flags,
 * and its errors (issue 16, items 2 and 3). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "session/fleet_config.h"
#include "util/os.h"

static void clear_env(void)
{
	unsetenv("PTBUILD_REMOTE_CACHE");
	unsetenv("PTBUILD_REMOTE_READ_ONLY");
	unsetenv("PTBUILD_CCACHE_REMOTE");
}

static void test_precedence(void **state)
{
	(void)state;
	clear_env();
	char *dir = tmpdir_make("fleet");
	char *xdg = path_join(dir, "xdg");
	char *proj = path_join(dir, "proj");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	char *sub = path_join(xdg, "ptbuild");
	make_dirs(sub, 0755);
	make_dirs(proj, 0755);
	free(sub);
	write_text(xdg, "ptbuild/config.json",
		   "// the user's defaults\n"
		   "{ \"remote_cache\": { \"url\": \"http://user-file/out\", \"read_only\": true },\n"
		   "  \"ccache\": { \"remote\": \"http://user-file/ccache\" } }\n");
	struct fleet_config c = { 0 };
	struct diags d;
	diags_init(&d);
	/* the user file alone */
	assert_int_equal(fleet_config_load(&c, proj, &d), 0);
	assert_string_equal(c.remote_cache_url, "http://user-file/out");
	assert_true(c.remote_read_only);
	bool ro = true;
	assert_string_equal(fleet_config_ccache_remote(&c, &ro), "http://user-file/ccache");
	assert_false(ro);
	fleet_config_release(&c);
	/* the project file over it, for what it sets */
	write_text(proj, "ptbuild.config.json",
		   "{ \"remote_cache\": { \"url\": \"http://project-file/out\", \"read_only\": false } }\n");
	assert_int_equal(fleet_config_load(&c, proj, &d), 0);
	assert_string_equal(c.remote_cache_url, "http://project-file/out");
	assert_false(c.remote_read_only);
	assert_string_equal(c.ccache_remote, "http://user-file/ccache");
	fleet_config_release(&c);
	/* the environment over both */
	setenv("PTBUILD_REMOTE_CACHE", "http://env/out", 1);
	setenv("PTBUILD_REMOTE_READ_ONLY", "1", 1);
	setenv("PTBUILD_CCACHE_REMOTE", "redis://env:6379", 1);
	assert_int_equal(fleet_config_load(&c, proj, &d), 0);
	assert_string_equal(c.remote_cache_url, "http://env/out");
	assert_true(c.remote_read_only);
	assert_string_equal(fleet_config_ccache_remote(&c, &ro), "redis://env:6379");
	assert_true(ro);
	/* the flags over all */
	fleet_config_apply_flags(&c, "http://flag/out", false);
	assert_string_equal(c.remote_cache_url, "http://flag/out");
	assert_true(c.remote_read_only); /* the flag only ever turns read-only on */
	fleet_config_release(&c);
	setenv("PTBUILD_REMOTE_READ_ONLY", "0", 1);
	assert_int_equal(fleet_config_load(&c, proj, &d), 0);
	assert_false(c.remote_read_only);
	fleet_config_apply_flags(&c, NULL, true);
	assert_true(c.remote_read_only);
	assert_true(c.ccache_read_only);
	assert_string_equal(c.remote_cache_url, "http://env/out");
	fleet_config_release(&c);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	clear_env();
	unsetenv("XDG_CONFIG_HOME");
	tmpdir_remove(dir);
	free(xdg);
	free(proj);
	free(dir);
}

static void test_errors(void **state)
{
	(void)state;
	clear_env();
	char *dir = tmpdir_make("fleet");
	setenv("XDG_CONFIG_HOME", dir, 1); /* no user file there */
	struct fleet_config c = { 0 };
	struct diags d;
	diags_init(&d);
	write_text(dir, "ptbuild.config.json",
		   "{\n  \"remote_cache\": { \"url\": \"http://x\", \"readonly\": true },\n"
		   "  \"cache\": {}\n}\n");
	assert_int_equal(fleet_config_load(&c, dir, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "ptbuild.config.json:2:40: error: unknown key \"readonly\" in "
			      "\"remote_cache\" of the ptbuild config file");
	assert_contains(text, "did you mean \"read_only\"?");
	assert_contains(text, "ptbuild.config.json:3:3: error: unknown key \"cache\"");
	free(text);
	fleet_config_release(&c);
	diags_release(&d);
	diags_init(&d);
	write_text(dir, "ptbuild.config.json", "{ \"ccache\": { \"read_only\": \"yes\" } }\n");
	assert_int_equal(fleet_config_load(&c, dir, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "\"read_only\" in \"ccache\" of the ptbuild config file must be a "
			      "boolean, not a string");
	free(text);
	fleet_config_release(&c);
	diags_release(&d);
	diags_init(&d);
	write_text(dir, "ptbuild.config.json", "[1]\n");
	assert_int_equal(fleet_config_load(&c, dir, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "must hold an object, not an array");
	free(text);
	fleet_config_release(&c);
	diags_release(&d);
	unsetenv("XDG_CONFIG_HOME");
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
