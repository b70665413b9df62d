/* Tests for model/envflags.c's env_set_all (a whole map at once, same result as env_set one
 * by one) and env_check_exec_size (what the kernel can pass to a build), issue 14, item 8. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/envflags.h"
#include "util/diag.h"
#include "util/xalloc.h"

static struct envvar var(const char *name, const char *value, unsigned line)
{
	return (struct envvar){ xstrdup(name), xstrdup(value), { "recipes/r.json", line, 5 },
				ENV_RECIPE };
}

static void assert_same_env(const struct env *a, const struct env *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->v[i].name, b->v[i].name);
		assert_string_equal(a->v[i].value, b->v[i].value);
		assert_int_equal(a->v[i].pos.line, b->v[i].pos.line);
		assert_int_equal(a->v[i].origin, b->v[i].origin);
	}
}

/* In no order, over a set that has some of the names: what env_set one by one makes. */
static void test_set_all_matches_set(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct env one, all;
	env_init(&one);
	env_init(&all);
	env_set(&one, "CC", "gcc", NULL, ENV_TOOLCHAIN);
	env_set(&all, "CC", "gcc", NULL, ENV_TOOLCHAIN);
	env_set(&one, "V_00007", "toolchain", NULL, ENV_TOOLCHAIN);
	env_set(&all, "V_00007", "toolchain", NULL, ENV_TOOLCHAIN);
	struct envvar *add = xcalloc(N + 2, sizeof(*add));
	size_t n = 0;
	unsigned k = 1;
	for (size_t i = 0; i < N; i++) {
		k = k * 1103515245u + 12345u;
		char name[32], value[32];
		snprintf(name, sizeof(name), "V_%05u", (k >> 8) % N);
		snprintf(value, sizeof(value), "v%zu", i);
		add[n++] = var(name, value, (unsigned)i + 1);
		env_set(&one, name, value, &add[n - 1].pos, ENV_RECIPE);
	}
	add[n++] = var("AAA", "first", 9000); /* a name twice: the later wins */
	env_set(&one, "AAA", "first", &add[n - 1].pos, ENV_RECIPE);
	add[n++] = var("AAA", "second", 9001);
	env_set(&one, "AAA", "second", &add[n - 1].pos, ENV_RECIPE);
	env_set_all(&all, add, n);
	free(add);
	assert_same_env(&one, &all);
	assert_string_equal(env_get(&all, "AAA"), "second");
	assert_string_equal(env_get(&all, "CC"), "gcc");
	for (size_t i = 1; i < all.n; i++)
		assert_true(strcmp(all.v[i - 1].name, all.v[i].name) < 0);
	env_set_all(&all, NULL, 0);
	assert_same_env(&one, &all);
	env_release(&one);
	env_release(&all);
}

static char *repeat(char c, size_t n)
{
	char *s = xcalloc(n + 1, 1);
	memset(s, c, n);
	return s;
}

static void test_exec_size(void **state)
{
	(void)state;
	struct pos tc_pos = { "toolchains/cpu.json", 1, 3 }, r_pos = { "recipes/r.json", 4, 5 };
	char *inherited[] = { "PATH=/usr/bin", "SECRET=not-allow-listed", NULL };
	struct exec_need need = { .inherited = inherited, .argv_bytes = 100, .arg_max = 64 * 1024,
				  .recipe = "r", .variant = "cpu-py3.11", .toolchain_env = &tc_pos,
				  .recipe_env = &r_pos };
	struct env e;
	env_init(&e);
	struct diags d;
	diags_init(&d);
	env_set(&e, "CC", "gcc", &tc_pos, ENV_TOOLCHAIN);
	env_set(&e, "SMALL", "1", &r_pos, ENV_RECIPE);
	assert_int_equal(env_check_exec_size(&e, &need, &d), 0);
	assert_int_equal(d.n, 0);

	/* 60 KiB of recipe variables and the 16 KiB reserve: over 64 KiB, at the recipe */
	char *value = repeat('x', 1000);
	for (int i = 0; i < 60; i++) {
		char name[16];
		snprintf(name, sizeof(name), "BIG_%02d", i);
		env_set(&e, name, value, &r_pos, ENV_RECIPE);
	}
	free(value);
	assert_int_equal(env_check_exec_size(&e, &need, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "recipes/r.json:4:5: error: recipe \"r\" (cpu-py3.11): the build's "
			      "environment and command line would take 76 KiB, more than the 64 KiB "
			      "(ARG_MAX)");
	assert_contains(text, "the recipe's \"env\" 61 variables");
	assert_contains(text, "inherited 1 variable (");
	free(text);
	diags_release(&d);

	/* no total limit known: only one string over MAX_ARG_STRLEN counts, at its place */
	need.arg_max = -1;
	char *huge = repeat('y', EXEC_STRING_MAX);
	struct pos at = { "recipes/r.json", 9, 12 };
	env_set(&e, "HUGE", huge, &at, ENV_RECIPE);
	free(huge);
	diags_init(&d);
	assert_int_equal(env_check_exec_size(&e, &need, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "recipes/r.json:9:12: error: recipe \"r\" (cpu-py3.11): \"HUGE\" is "
			      "128 KiB, more than the 128 KiB the kernel passes as one variable "
			      "(MAX_ARG_STRLEN)");
	assert_int_equal(d.nerrors, 1);
	free(text);
	diags_release(&d);
	env_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_all_matches_set),
		cmocka_unit_test(test_exec_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
