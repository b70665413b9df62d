/* Tests for driver/model/archlist.c: the two TORCH_CUDA_ARCH_LIST grammars with their hints,
 * and the device code a list asks for (more grammar cases are in test_envflags.c). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "model/archlist.h"
#include "util/buf.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct hint_case {
	const char *value;
	enum arch_grammar grammar;
	const char *torch;
	const char *why;  /* NULL when valid; else the whole reason */
	const char *hint; /* the whole hint */
};

static const struct hint_case hint_cases[] = {
	{ "", ARCH_GRAMMAR_CMAKE, NULL, NULL, NULL },
	{ "", ARCH_GRAMMAR_CPP_EXTENSION, "2.9.1", NULL, NULL },
	{ "10.0f", ARCH_GRAMMAR_CMAKE, "2.9.0", NULL, NULL },
	{ "sm_86", ARCH_GRAMMAR_CMAKE, NULL, "\"sm_86\" is nvcc's spelling", "write \"8.6\"" },
	{ "10.0f", ARCH_GRAMMAR_CMAKE, "2.8.0",
	  "\"10.0f\": the \"f\" suffix needs torch 2.9 or later, not 2.8.0",
	  "write \"10.0\" or \"10.0a\"" },
	{ "Amper", ARCH_GRAMMAR_CMAKE, NULL, "\"Amper\" is neither MAJ.MIN nor an arch name",
	  "did you mean \"Ampere\"?" },
	{ "7.5,8.0", ARCH_GRAMMAR_CPP_EXTENSION, "2.9.1", "\"7.5,8.0\" contains a comma",
	  "separate arches with \";\" or spaces: \"7.5;8.0\"" },
	{ "7.5;;8.0", ARCH_GRAMMAR_CPP_EXTENSION, "2.9.1",
	  "it has an empty entry (a leading, trailing or doubled separator)",
	  "write \"7.5;8.0\"" },
	{ "Ampere+PTX", ARCH_GRAMMAR_CPP_EXTENSION, "2.9.1",
	  "\"Ampere+PTX\" expands to \"8.0;8.6+PTX+PTX\"",
	  "write \"Ampere\": its last arch already has +PTX" },
	{ "11.0a+PTX", ARCH_GRAMMAR_CPP_EXTENSION, "2.8.0",
	  "\"11.0a+PTX\" is only known from torch 2.9 on; torch 2.8.0 calls it \"10.1a\"",
	  "write \"10.1a+PTX\"" },
	{ "ampere", ARCH_GRAMMAR_CMAKE, NULL,
	  "\"ampere\" is not an arch name: names are case-sensitive", "write \"Ampere\"" },
};

static void test_grammar_reasons_and_hints(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(hint_cases); i++) {
		const struct hint_case *c = &hint_cases[i];
		struct buf why = BUF_INIT, hint = BUF_INIT;
		int rc = arch_list_check_grammar(c->value, c->grammar, c->torch, &why, &hint);
		if (rc != (c->why ? -1 : 0))
			fail_msg("case %zu \"%s\": rc %d, why: %s", i, c->value, rc, why.data);
		assert_string_equal(why.data, c->why ? c->why : "");
		assert_string_equal(hint.data, c->hint ? c->hint : "");
		buf_release(&why);
		buf_release(&hint);
	}
}

/* Without a hint buffer the reason is the same. */
static void test_grammar_without_hint(void **state)
{
	(void)state;
	struct buf why = BUF_INIT;
	assert_int_equal(arch_list_check_grammar("sm_86", ARCH_GRAMMAR_CPP_EXTENSION, NULL, &why,
						 NULL), -1);
	assert_string_equal(why.data, "\"sm_86\" is nvcc's spelling");
	buf_release(&why);
}

static void test_grammar_accepts(void **state)
{
	(void)state;
	assert_contains(arch_grammar_accepts(ARCH_GRAMMAR_CMAKE), "All, Common or Auto alone");
	assert_contains(arch_grammar_accepts(ARCH_GRAMMAR_CPP_EXTENSION), "(3.5 to 12.1a)");
}

struct target_case {
	const char *value;
	const char *torch;
	const char *sass; /* NULL: -1, nothing exact to expect */
	const char *ptx;
};

static const struct target_case target_cases[] = {
	{ "7.5;8.0;8.6;9.0;10.0;12.0+PTX", NULL, "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120", "sm_120" },
	{ "Ampere 9.0a", NULL, "sm_80 sm_86 sm_90a", "sm_86" },
	{ "Blackwell", "2.9.1", "sm_100 sm_103 sm_120 sm_121", "sm_121" },
	{ "Blackwell+Tegra", "2.9.1", "sm_110", "" },
	{ "Blackwell+Tegra", "2.8.0", "sm_101", "" },
	{ "10.0;9.0a;9.0", NULL, "sm_90 sm_90a sm_100", "" },
	{ "8.6;8.6+PTX;8.6", NULL, "sm_86", "sm_86" },
	{ "8.0,8.6", NULL, "sm_80 sm_86", "" },
	{ "", NULL, NULL, NULL },
	{ "native", NULL, NULL, NULL },
	{ "All", NULL, NULL, NULL },
	{ "8.0;Common", NULL, NULL, NULL },
};

static void test_targets(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(target_cases); i++) {
		const struct target_case *c = &target_cases[i];
		struct buf sass = BUF_INIT, ptx = BUF_INIT;
		int rc = arch_list_targets(c->value, c->torch, &sass, &ptx);
		if (rc != (c->sass ? 0 : -1))
			fail_msg("case %zu \"%s\": rc %d", i, c->value, rc);
		assert_string_equal(sass.data, c->sass ? c->sass : "");
		assert_string_equal(ptx.data, c->ptx ? c->ptx : "");
		buf_release(&sass);
		buf_release(&ptx);
	}
	struct buf sass = BUF_INIT, ptx = BUF_INIT;
	assert_int_equal(arch_list_targets(NULL, NULL, &sass, &ptx), -1);
	assert_int_equal(sass.len + ptx.len, 0);
}

/* Appended, not replaced. */
static void test_targets_append(void **state)
{
	(void)state;
	struct buf sass = BUF_INIT, ptx = BUF_INIT;
	buf_adds(&sass, "x:");
	assert_int_equal(arch_list_targets("8.0", NULL, &sass, &ptx), 0);
	assert_string_equal(sass.data, "x:sm_80");
	buf_release(&sass);
	buf_release(&ptx);
}

static void test_word_order(void **state)
{
	(void)state;
	const char *words[] = { "sm_120", "sm_90a", "sm_100", "sm_90", "sm_75", "sm_100a" };
	qsort(words, COUNT(words), sizeof(words[0]), arch_word_cmp);
	static const char *const want[] = { "sm_75", "sm_90", "sm_90a", "sm_100", "sm_100a",
					    "sm_120" };
	for (size_t i = 0; i < COUNT(want); i++)
		assert_string_equal(words[i], want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar_reasons_and_hints),
		cmocka_unit_test(test_grammar_without_hint),
		cmocka_unit_test(test_grammar_accepts),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_append),
		cmocka_unit_test(test_word_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
