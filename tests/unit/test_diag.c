/* Diagnostics: the class of a failure travels on its errors and marks; the CLI maps it. */
#include "testutil.h"

#include <stdlib.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "util/diag.h"

static void test_default_class_is_input(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	assert_int_equal(diags_failure(&d), DIAG_NO_FAILURE);
	diag_warn(&d, NULL, "only a warning");
	assert_int_equal(diags_failure(&d), DIAG_NO_FAILURE);
	assert_int_equal(diag_error(&d, NULL, "bad recipe"), -1);
	assert_int_equal(d.v[1].cls, DIAG_INPUT);
	assert_int_equal(diags_failure(&d), DIAG_INPUT);
	diags_release(&d);
}

static void test_classify_since(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	diag_error(&d, NULL, "before");
	size_t since = d.n;
	diag_error(&d, NULL, "unreachable host");
	diag_note(&d, NULL, "a note stays a note");
	assert_int_equal(diags_classify(&d, since, DIAG_ENVIRONMENT), -1);
	assert_int_equal(d.v[0].cls, DIAG_INPUT);
	assert_int_equal(d.v[1].cls, DIAG_ENVIRONMENT);
	/* a wrong input wins over a missing tool, as `input_errors ? 2 : 3` did */
	assert_int_equal(diags_failure(&d), DIAG_INPUT);
	diags_release(&d);

	diags_init(&d);
	diag_error(&d, NULL, "unreachable host");
	diags_classify(&d, 0, DIAG_ENVIRONMENT);
	assert_int_equal(diags_failure(&d), DIAG_ENVIRONMENT);
	diags_release(&d);
}

static void test_marks_without_message(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	assert_int_equal(diag_fail(&d, DIAG_BUILD_FAILED), -1);
	assert_int_equal(d.n, 0);
	assert_int_equal(diags_failure(&d), DIAG_BUILD_FAILED);
	diag_fail(&d, DIAG_INTERRUPTED);
	diag_fail(&d, DIAG_ENVIRONMENT); /* lower: does not replace the interrupt */
	assert_int_equal(diags_failure(&d), DIAG_INTERRUPTED);

	/* diags_take carries records and marks */
	struct diags to;
	diags_init(&to);
	diags_take(&to, &d);
	assert_int_equal(diags_failure(&to), DIAG_INTERRUPTED);
	assert_int_equal(diags_failure(&d), DIAG_NO_FAILURE);
	diags_release(&to);
	diags_release(&d);
}

static void test_cli_exit_codes(void **state)
{
	(void)state;
	static const struct {
		enum diag_class cls;
		int code;
	} cases[] = {
		{ DIAG_NO_FAILURE, EXIT_OK },        { DIAG_BUILD_FAILED, EXIT_BUILD_FAILED },
		{ DIAG_ENVIRONMENT, EXIT_ENVIRONMENT }, { DIAG_INPUT, EXIT_USAGE },
		{ DIAG_INTERRUPTED, EXIT_INTERRUPTED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli cli = { 0 };
		diags_init(&cli.diags);
		diag_fail(&cli.diags, cases[i].cls);
		assert_int_equal(cli_exit_code(&cli), cases[i].code);
		diags_release(&cli.diags);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_class_is_input),
		cmocka_unit_test(test_classify_since),
		cmocka_unit_test(test_marks_without_message),
		cmocka_unit_test(test_cli_exit_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
