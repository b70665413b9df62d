/* Versions, specifiers, "did you mean", interpolation and the buffer. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/interp.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/os.h"
#include "util/strutil.h"

static void test_replace_and_absolute(void **state)
{
	(void)state;
	char *r = str_replace_all("a\nb\nc", "\n", ", ");
	assert_string_equal(r, "a, b, c");
	free(r);
	r = str_replace_all("/tmp/x/y and /tmp/x", "/tmp/x", "<w>");
	assert_string_equal(r, "<w>/y and <w>");
	free(r);
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *a = absolute_path("."), *b = absolute_path("./build"), *c = absolute_path("/x/.");
	char *want = path_join(cwd, "build");
	assert_string_equal(a, cwd); /* not "cwd/." in paths ptbuild prints */
	assert_string_equal(b, want);
	assert_string_equal(c, "/x/.");
	free(a);
	free(b);
	free(c);
	free(want);
}

static void test_version_cmp(void **state)
{
	(void)state;
	assert_true(version_cmp("2.10.0", "2.9.1") > 0);
	assert_true(version_cmp("2.9", "2.9.0") == 0);
	assert_true(version_cmp("2.9.0rc1", "2.9.0") < 0);
	assert_true(version_cmp("2.9.1+cu130", "2.9.1") == 0);
	assert_true(version_cmp("0.24.1", "0.24.10") < 0);
	/* a component past LONG_MAX is still greater (it overflowed to a negative number) */
	assert_true(version_cmp("1.10000000000000000000", "1.3") > 0);
	assert_true(version_cmp("1.3", "1.99999999999999999999999") < 0);
	assert_true(version_valid("2.1.2"));
	assert_false(version_valid("latest"));
	assert_false(version_valid("2."));
}

static void test_version_matches(void **state)
{
	(void)state;
	assert_int_equal(version_matches("2.9.1", ">=2.0,<2.10"), 1);
	assert_int_equal(version_matches("2.10.0", ">=2.0,<2.10"), 0);
	assert_int_equal(version_matches("2.9.1", "==2.9.*"), 1);
	assert_int_equal(version_matches("2.90.1", "==2.9.*"), 0);
	assert_int_equal(version_matches("2.9.1", "!=2.9.1"), 0);
	assert_int_equal(version_matches("2.9.3", "~=2.9.1"), 1);
	assert_int_equal(version_matches("2.10.0", "~=2.9.1"), 0);
	assert_int_equal(version_matches("3.11", ">=3.10"), 1);
	assert_int_equal(version_matches("2.9", "2.9"), -1);
	assert_int_equal(version_matches("2.9", ">=x"), -1);
	assert_int_equal(version_matches("2.9", ""), -1);
}

static void test_closest_match(void **state)
{
	(void)state;
	const char *keys[] = { "depends", "version", "build_requires", "cuda.arch_list", "cuda.home" };
	assert_string_equal(closest_match("dependz", keys, 5), "depends");
	assert_string_equal(closest_match("verison", keys, 5), "version");
	assert_string_equal(closest_match("cuda.arch", keys, 5), "cuda.arch_list");
	assert_null(closest_match("zzz", keys, 5));
	assert_null(closest_match("cuda", keys, 5)); /* two candidates start with it */
	assert_int_equal(edit_distance("USE_CUDNNN", "USE_CUDNN"), 1);
	assert_int_equal(edit_distance("ab", "ba"), 1);
}

static const char *lookup(const struct interp_ref *ref, void *ctx)
{
	(void)ctx;
	if (ref->id == INTERP_PYTHON_VERSION)
		return "3.11";
	if (ref->id == INTERP_ENV)
		return ref->var;
	if (ref->id == INTERP_DEP_VERSION_SHORT)
		return ref->recipe;
	return NULL;
}

static void test_interp(void **state)
{
	(void)state;
	struct interp_ref *refs;
	size_t n, bad;
	const char *why, *suggest;
	assert_int_equal(interp_scan("a${python.version}b${src:torch_musa}$${x}", &refs, &n, &bad, &why,
				     &suggest), 0);
	assert_int_equal(n, 2);
	assert_int_equal(refs[0].start, 1);
	assert_int_equal(refs[0].cls, INTERP_PLAN);
	assert_int_equal(refs[1].cls, INTERP_BUILD);
	assert_string_equal(refs[1].recipe, "torch_musa");
	assert_int_equal(refs[0].id, INTERP_PYTHON_VERSION);
	assert_int_equal(refs[1].id, INTERP_SRC_OF);
	interp_refs_free(refs, n);
	assert_int_equal(interp_scan("x${pyhton.version}", &refs, &n, &bad, &why, &suggest), -1);
	assert_int_equal(bad, 1);
	assert_string_equal(suggest, "python.version");
	assert_int_equal(interp_scan("${dep.torch.vers}", &refs, &n, &bad, &why, &suggest), -1);
	assert_int_equal(interp_scan("${", &refs, &n, &bad, &why, &suggest), -1);
	assert_int_equal(interp_scan("${}", &refs, &n, &bad, &why, &suggest), -1);
	struct buf out = BUF_INIT;
	interp_expand(&out, "py${python.version} ${out} $$5", lookup, NULL);
	assert_string_equal(out.data, "py3.11 ${out} $5");
	buf_release(&out);
	/* the lookup gets the parts of a name, not its spelling */
	interp_expand(&out, "${env.CC}/${dep.torch.version_short}/${no.such}", lookup, NULL);
	assert_string_equal(out.data, "CC/torch/${no.such}");
	buf_release(&out);
}

static void test_buf_and_hash(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_string_equal(b.data, "");
	buf_addf(&b, "%d-%s", 42, "x");
	buf_adds(&b, "  \n");
	buf_rtrim(&b);
	assert_string_equal(b.data, "42-x");
	char *s = buf_detach(&b);
	assert_string_equal(s, "42-x");
	assert_int_equal(b.len, 0);
	free(s);
	char hex[SHA256_HEX_SIZE];
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_and_absolute),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_version_matches),
		cmocka_unit_test(test_closest_match),
		cmocka_unit_test(test_interp),
		cmocka_unit_test(test_buf_and_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
