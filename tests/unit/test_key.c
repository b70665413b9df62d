/* Build keys: the key input's schema, its source/flag split, and the diff of two inputs. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/key.h"
#include "plan/plan.h"
#include "util/xalloc.h"

static const char base_json[] =
	"{ \"name\": \"base\", \"version\": \"1.0\", \"builder\": \"python\",\n"
	"  \"source\": { \"pypi\": \"base==1.0\" } }\n";
static const char ext_json[] =
	"{ \"name\": \"ext\", \"version\": \"2.0\", \"builder\": \"cpp_extension\",\n"
	"  \"source\": { \"git\": \"https://user:secret@example.invalid/ext.git\", \"ref\": \"v2\" },\n"
	"  \"depends\": [\"base\"], \"env\": { \"TAG\": \"${python.tag}\" },\n"
	"  \"build_requires\": [\"setuptools\"],\n"
	"  \"submodule_overrides\": { \"third_party/x\": { \"git\": \"https://example.invalid/x.git\",\n"
	"                                                \"ref\": \"v1\" } },\n"
	"  \"patches\": [ { \"series\": \"patches/ext/*.patch\" } ] }\n";
static const char cpu_json[] =
	"{ \"name\": \"cpu\", \"tag\": \"cpu\", \"env\": { \"USE_CUDA\": \"0\" } }\n";

struct fixture {
	char *dir;
	struct project p;
	struct plan plan;
	struct fingerprints fp; /* fixed, unlike the plan's own */
	struct diags d;
};

static void fixture_make_with(struct fixture *f, const char *ext)
{
	f->dir = tmpdir_make("key");
	write_text(f->dir, "recipes/base.json", base_json);
	write_text(f->dir, "recipes/ext.json", ext);
	write_text(f->dir, "toolchains/cpu.json", cpu_json);
	write_text(f->dir, "patches/ext/0001-a.patch", "--- a/x\n+++ b/x\n");
	diags_init(&f->d);
	assert_int_equal(project_load(&f->p, f->dir, &f->d), 0);
	const char *targets[] = { "ext" }, *tcs[] = { "cpu" }, *pys[] = { "3.11" };
	struct plan_request req = { .project = &f->p, .targets = targets, .ntargets = 1,
				    .toolchains = tcs, .ntoolchains = 1, .pythons = pys, .npythons = 1 };
	assert_int_equal(plan_make(&f->plan, &req, &f->d), 0);
	assert_int_equal(f->plan.n, 2);
	memset(&f->fp, 0, sizeof(f->fp));
	f->fp.platform = xstrdup("x86_64-linux");
	f->fp.tc = xcalloc(1, sizeof(*f->fp.tc));
	f->fp.ntc = 1;
	f->fp.tc[0] = (struct toolchain_fp){ .tc = f->plan.v[0].tc, .cc = xstrdup("gcc 13"),
					     .cxx = xstrdup("g++ 13"), .complete = true };
	f->fp.py = xcalloc(1, sizeof(*f->fp.py));
	f->fp.npy = 1;
	f->fp.py[0] = (struct python_fp){ .version = xstrdup("3.11"), .full = xstrdup("Python 3.11.7") };
}

static void fixture_make(struct fixture *f)
{
	fixture_make_with(f, ext_json);
}

static void fixture_release(struct fixture *f)
{
	fingerprints_release(&f->fp);
	plan_release(&f->plan);
	project_release(&f->p);
	diags_release(&f->d);
	tmpdir_remove(f->dir);
	free(f->dir);
}

/* Computes every key of the fixture's plan with its fixed fingerprints and `pins`. */
static void fixture_rekey(struct fixture *f, const struct pins *pins)
{
	struct key_context kc = { .project = &f->p, .variants = f->plan.v, .pins = pins, .fp = &f->fp };
	for (size_t i = 0; i < f->plan.n; i++)
		key_compute(&f->plan.v[i], &kc);
}

/* The whole schema, member by member: every byte of it is in the lock files. */
static void test_key_input_schema(void **state)
{
	(void)state;
	struct fixture f;
	fixture_make(&f);
	fixture_rekey(&f, NULL);
	const struct variant *ext = &f.plan.v[1];
	assert_string_equal(ext->recipe->name, "ext");
	assert_string_equal(f.plan.v[0].key,
			    "fa2eabd9176d33ed54751820e29ce78a02ae693a5a8f3914920b12034c1fa063");
	struct buf want = BUF_INIT;
	buf_addf(&want,
		 "{\"deps\":{\"base\":\"%s\"}," /* dependencies' keys by name */
		 "\"env\":{\"CC\":\"gcc\",\"CXX\":\"g++\",\"TAG\":\"cp311\",\"USE_CUDA\":\"0\"},"
		 "\"format\":1,"
		 "\"patches\":[{\"exclude\":[],\"series\":\"patches/ext/*.patch\"}],"
		 "\"patch_files\":[{\"path\":\"patches/ext/0001-a.patch\",\"sha256\":"
		 "\"922dd52a81ff1c3d456cb861de7ad959496295c809971e848d414d3cdfe3fb23\"}],"
		 "\"source_deps\":{},"
		 "\"platform\":\"x86_64-linux\","
		 "\"python\":{\"fingerprint\":\"Python 3.11.7\",\"version\":\"3.11\"},"
		 "\"recipe\":{\"build\":[],\"build_requires\":[\"setuptools\"],"
		 "\"builder\":\"cpp_extension\",\"local_version\":null,\"name\":\"ext\","
		 "\"source\":{\"kind\":\"git\",\"location\":\"https://***@example.invalid/ext.git\","
		 "\"pinned\":null,\"ref\":\"v2\",\"submodules\":true},"
		 "\"submodule_overrides\":{\"third_party/x\":"
		 "{\"git\":\"https://example.invalid/x.git\",\"ref\":\"v1\"}},"
		 "\"version\":\"2.0\"},"
		 "\"toolchain\":{\"cc\":\"gcc\",\"cuda\":null,\"cxx\":\"g++\","
		 "\"fingerprint\":{\"cc\":\"gcc 13\",\"cxx\":\"g++ 13\",\"mcc\":null,\"nccl\":null,"
		 "\"nvcc\":null},"
		 "\"musa\":null,\"name\":\"cpu\",\"nccl\":{\"root\":null,\"system\":false},"
		 "\"tag\":\"cpu\"}}",
		 f.plan.v[0].key);
	assert_string_equal(ext->key_input, want.data);
	char hex[SHA256_HEX_SIZE];
	sha256_hex(ext->key_input, strlen(ext->key_input), hex);
	assert_string_equal(ext->key, hex);
	buf_release(&want);
	fixture_release(&f);
}

/* A pin enters the key of its recipe and, through "deps", of its dependents. */
static void test_pins_move_keys(void **state)
{
	(void)state;
	struct fixture f;
	fixture_make(&f);
	fixture_rekey(&f, NULL);
	char base[SHA256_HEX_SIZE], ext[SHA256_HEX_SIZE];
	memcpy(base, f.plan.v[0].key, sizeof(base));
	memcpy(ext, f.plan.v[1].key, sizeof(ext));
	struct pins pins = { 0 };
	struct pin *pin = pins_add(&pins, "base");
	pin->kind = SOURCE_PYPI;
	pin_add_file(pin, NULL, "base-1.0.tar.gz",
		     "2222222222222222222222222222222222222222222222222222222222222222");
	fixture_rekey(&f, &pins);
	assert_string_not_equal(f.plan.v[0].key, base);
	assert_string_not_equal(f.plan.v[1].key, ext);
	assert_contains(f.plan.v[0].key_input, "\"pinned\":{\"commit\":null,\"files\":"
					       "{\"base-1.0.tar.gz\":\"2222");
	pins_release(&pins);
	fixture_rekey(&f, NULL);
	assert_string_equal(f.plan.v[0].key, base);
	assert_string_equal(f.plan.v[1].key, ext);
	fixture_release(&f);
}

static void hash_of(const char *text, char hex[SHA256_HEX_SIZE])
{
	sha256_hex(text, strlen(text), hex);
}

/* The source part is what a build directory survives; the rest is the flag part. */
static void test_split_source_and_flags(void **state)
{
	(void)state;
	char flags[SHA256_HEX_SIZE], source[SHA256_HEX_SIZE], want[SHA256_HEX_SIZE];
	key_split("{\"deps\":{\"a\":\"k\"},\"env\":{\"X\":\"1\"},\"format\":1,\"patches\":[],"
		  "\"patch_files\":[{\"path\":\"p\",\"sha256\":\"s\"}],\"source_deps\":{},"
		  "\"recipe\":{\"build\":[],\"name\":\"r\",\"source\":{\"location\":\"l\",\"kind\":\"pypi\"},"
		  "\"submodule_overrides\":{}},\"toolchain\":{\"name\":\"cpu\"}}",
		  flags, source);
	/* members in the input's order; values canonical (sorted members) */
	hash_of("{\"deps\":{\"a\":\"k\"},\"env\":{\"X\":\"1\"},\"format\":1,"
		"\"recipe\":{\"build\":[],\"name\":\"r\"},\"toolchain\":{\"name\":\"cpu\"}}", want);
	assert_string_equal(flags, want);
	hash_of("{\"patches\":[],\"patch_files\":[{\"path\":\"p\",\"sha256\":\"s\"}],"
		"\"source_deps\":{},\"source\":{\"kind\":\"pypi\",\"location\":\"l\"},"
		"\"submodule_overrides\":{}}", want);
	assert_string_equal(source, want);

	/* not JSON: two empty parts */
	key_split("{", flags, source);
	hash_of("", want);
	assert_string_equal(flags, want);
	assert_string_equal(source, want);
}

/* A key computed here splits so that a patch moves the source part only, and an
 * environment variable the flag part only. */
static void test_split_of_computed_keys(void **state)
{
	(void)state;
	struct fixture f;
	fixture_make(&f);
	fixture_rekey(&f, NULL);
	struct variant *ext = &f.plan.v[1];
	char flags[SHA256_HEX_SIZE], source[SHA256_HEX_SIZE];
	char flags2[SHA256_HEX_SIZE], source2[SHA256_HEX_SIZE];
	key_split(ext->key_input, flags, source);
	assert_string_not_equal(flags, source);
	ext->patches.v[0].sha256[0] = ext->patches.v[0].sha256[0] == '0' ? '1' : '0';
	fixture_rekey(&f, NULL);
	key_split(ext->key_input, flags2, source2);
	assert_string_equal(flags, flags2);
	assert_string_not_equal(source, source2);
	env_set(&ext->env, "TAG", "cp312", NULL, ENV_RECIPE);
	fixture_rekey(&f, NULL);
	key_split(ext->key_input, flags, source);
	assert_string_not_equal(flags, flags2);
	assert_string_equal(source, source2);
	fixture_release(&f);
}

/* Each kind of change, by where it sits; values as explain shows them. */
static void test_diff_kinds(void **state)
{
	(void)state;
	static const char old[] =
		"{\"deps\":{\"base\":\"k1\",\"gone\":\"k2\"},\"env\":{\"A\":\"a\",\"B\":\"b\"},"
		"\"patch_files\":[{\"path\":\"p\",\"sha256\":\"s\"}],"
		"\"python\":{\"fingerprint\":\"Python 3.11.7\",\"version\":\"3.11\"},"
		"\"recipe\":{\"source\":{\"pinned\":{\"commit\":\"c1\",\"files\":{\"x.tar.gz\":\"d1\"}},"
		"\"ref\":\"v1\"},\"version\":\"1\"},"
		"\"toolchain\":{\"fingerprint\":{\"cc\":\"gcc 13\",\"nvcc\":null}}}";
	static const char now[] =
		"{\"deps\":{\"base\":\"k3\",\"new\":\"k4\"},\"env\":{\"A\":\"a2\",\"C\":\"c\"},"
		"\"patch_files\":[],"
		"\"python\":{\"fingerprint\":\"Python 3.11.9\",\"version\":\"3.11\"},"
		"\"recipe\":{\"source\":{\"pinned\":{\"commit\":\"c2\",\"files\":{\"x.tar.gz\":\"d2\"}},"
		"\"ref\":\"v2\"},\"version\":2},"
		"\"toolchain\":{\"fingerprint\":{\"cc\":\"gcc 14\",\"nvcc\":\"V13\"}}}";
	static const struct {
		enum key_change_kind kind;
		const char *path, *name, *old_value, *new_value;
	} want[] = {
		{ KEY_CHANGE_DEPENDENCY, "deps.base", "base", "'k1'", "'k3'" },
		{ KEY_CHANGE_DEPENDENCY, "deps.gone", "gone", "'k2'", NULL },
		{ KEY_CHANGE_DEPENDENCY, "deps.new", "new", NULL, "'k4'" },
		{ KEY_CHANGE_ENV, "env.A", "A", "'a'", "'a2'" },
		{ KEY_CHANGE_ENV, "env.B", "B", "'b'", NULL },
		{ KEY_CHANGE_ENV, "env.C", "C", NULL, "'c'" },
		{ KEY_CHANGE_PATCHES, "patch_files", "", "[{\"path\":\"p\",\"sha256\":\"s\"}]", "[]" },
		{ KEY_CHANGE_PYTHON, "python.fingerprint", "fingerprint", "'Python 3.11.7'",
		  "'Python 3.11.9'" },
		{ KEY_CHANGE_SOURCE_PIN, "recipe.source.pinned.commit", "commit", "'c1'", "'c2'" },
		/* a member name with a dot is not found again by its path: no values */
		{ KEY_CHANGE_SOURCE_PIN, "recipe.source.pinned.files.x.tar.gz", "files.x.tar.gz",
		  NULL, NULL },
		{ KEY_CHANGE_SOURCE_REF, "recipe.source.ref", "", "'v1'", "'v2'" },
		{ KEY_CHANGE_OTHER, "recipe.version", "recipe.version", "'1'", "2" },
		{ KEY_CHANGE_FINGERPRINT, "toolchain.fingerprint.cc", "cc", "'gcc 13'", "'gcc 14'" },
		{ KEY_CHANGE_FINGERPRINT, "toolchain.fingerprint.nvcc", "nvcc", "null", "'V13'" },
	};
	struct diags d;
	diags_init(&d);
	struct key_changes c = { 0 };
	assert_int_equal(key_diff(old, now, &c, &d), 0);
	assert_int_equal(c.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c.n; i++) {
		const struct key_change *k = &c.v[i];
		assert_string_equal(k->path, want[i].path);
		assert_int_equal(k->kind, want[i].kind);
		assert_string_equal(k->name, want[i].name);
		if (want[i].old_value)
			assert_string_equal(k->old_value, want[i].old_value);
		else
			assert_null(k->old_value);
		if (want[i].new_value)
			assert_string_equal(k->new_value, want[i].new_value);
		else
			assert_null(k->new_value);
	}
	/* the text of strings, and the lengths of arrays */
	assert_string_equal(c.v[10].old_text, "v1");
	assert_string_equal(c.v[10].new_text, "v2");
	assert_null(c.v[11].new_text);
	assert_int_equal(c.v[6].old_count, 1);
	assert_int_equal(c.v[6].new_count, 0);
	key_changes_release(&c);
	diags_release(&d);
}

/* Equal inputs have no changes; a pin appearing is one change of the whole "pinned". */
static void test_diff_equal_and_whole_values(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct key_changes c = { 0 };
	assert_int_equal(key_diff("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}", &c, &d), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(key_diff("{\"recipe\":{\"source\":{\"pinned\":null}}}",
				  "{\"recipe\":{\"source\":{\"pinned\":{\"commit\":\"c\"}}}}", &c, &d), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].kind, KEY_CHANGE_SOURCE_PIN);
	assert_string_equal(c.v[0].name, "");
	assert_string_equal(c.v[0].old_value, "null");
	assert_string_equal(c.v[0].new_value, "{\"commit\":\"c\"}");
	key_changes_release(&c);
	assert_int_equal(d.n, 0);
	diags_release(&d);
}

/* Not JSON: an error, and no changes. */
static void test_diff_bad_input(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct key_changes c = { 0 };
	assert_int_equal(key_diff("{", "{}", &c, &d), -1);
	assert_int_equal(c.n, 0);
	assert_int_equal(key_diff("{}", "[", &c, &d), -1);
	assert_int_equal(c.n, 0);
	char *text = diags_text(&d);
	assert_contains(text, "error: the old key input is not JSON");
	assert_contains(text, "error: the new key input is not JSON");
	free(text);
	key_changes_release(&c);
	diags_release(&d);
}

/* Issue 14, item 14: the submodule selection is part of the key and of the lock's source
 * declaration, paths sorted; "recursive" and "none" keep the keys they had. */
static void test_submodule_selection_in_key(void **state)
{
	(void)state;
	static const char *const sels[] = {
		"\"recursive\"", "\"none\"",
		"{ \"exclude\": [\"third_party/y\", \"third_party/x/z\"] }",
		"{ \"exclude\": [\"third_party/x/z\", \"third_party/y\"] }",
		"{ \"only\": [\"third_party/y\", \"third_party/x/z\"] }",
	};
	static const char *const want[] = {
		"\"submodules\":true", "\"submodules\":false",
		"\"submodules\":{\"exclude\":[\"third_party/x/z\",\"third_party/y\"]}",
		"\"submodules\":{\"exclude\":[\"third_party/x/z\",\"third_party/y\"]}",
		"\"submodules\":{\"only\":[\"third_party/x/z\",\"third_party/y\"]}",
	};
	char keys[5][SHA256_HEX_SIZE];
	for (size_t i = 0; i < 5; i++) {
		struct buf ext = BUF_INIT;
		buf_addf(&ext, "{ \"name\": \"ext\", \"version\": \"2.0\", \"builder\": \"cpp_extension\",\n"
			 "  \"source\": { \"git\": \"https://example.invalid/ext.git\", \"ref\": \"v2\",\n"
			 "              \"submodules\": %s },\n  \"depends\": [\"base\"] }\n", sels[i]);
		struct fixture f;
		fixture_make_with(&f, ext.data);
		fixture_rekey(&f, NULL);
		assert_contains(f.plan.v[1].key_input, want[i]);
		char *spec = source_spec(f.plan.v[1].recipe);
		assert_contains(spec, want[i]);
		free(spec);
		memcpy(keys[i], f.plan.v[1].key, SHA256_HEX_SIZE);
		fixture_release(&f);
		buf_release(&ext);
	}
	assert_string_not_equal(keys[0], keys[1]);
	assert_string_not_equal(keys[0], keys[2]);
	assert_string_equal(keys[2], keys[3]); /* the order written does not matter */
	assert_string_not_equal(keys[2], keys[4]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submodule_selection_in_key),
		cmocka_unit_test(test_key_input_schema),
		cmocka_unit_test(test_pins_move_keys),
		cmocka_unit_test(test_split_source_and_flags),
		cmocka_unit_test(test_split_of_computed_keys),
		cmocka_unit_test(test_diff_kinds),
		cmocka_unit_test(test_diff_equal_and_whole_values),
		cmocka_unit_test(test_diff_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
