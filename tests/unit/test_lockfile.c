/* ptbuild.lock: written sorted and stable, read back exactly, bad locks named precisely. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "session/lockfile.h"
#include "util/buf.h"
#include "util/os.h"

#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"
#define S1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void fill(struct lockfile *l)
{
	memset(l, 0, sizeof(*l));
	struct pin *w = pins_add(&l->pins, "torch_wheel");
	w->kind = SOURCE_WHEEL;
	w->spec = strdup("{\"kind\":\"wheel\",\"location\":\"torch==2.9.1\"}");
	pin_add_file(w, "3.12", "torch-2.9.1-cp312.whl", S2);
	pin_add_file(w, "3.11", "torch-2.9.1-cp311.whl", S1);
	/* a floating (nightly) wheel source: its resolved version is kept next to its files */
	struct pin *n = pins_add(&l->pins, "torch_nightly");
	n->kind = SOURCE_WHEEL;
	n->spec = strdup("{\"index\":\"https://h/whl/nightly/cpu\",\"kind\":\"wheel\","
			 "\"location\":\"torch\",\"pre\":true}");
	n->version = strdup("2.10.0.dev20261130+cpu");
	pin_add_file(n, "3.11", "torch-2.10.0.dev20261130+cpu-cp311.whl", S1);
	struct pin *g = pins_add(&l->pins, "a_git");
	g->kind = SOURCE_GIT;
	g->spec = strdup("{\"kind\":\"git\",\"location\":\"https://***@h/x.git\",\"ref\":\"v1\"}");
	memcpy(g->commit, C1, sizeof(g->commit));
	pin_add_sub(g, "third_party/z", "https://u:secret@h/z.git", C2, false);
	pin_add_sub(g, "third_party/a", "https://h/a.git", C1, true);
	lockfile_set_variant(l, "torch_wheel/cpu-py3.11", S1, "{\"b\":1,\"a\":[\"x\"]}");
	lockfile_set_variant(l, "a_git/cpu-py3.11", S2, "{\"env\":{\"X\":\"1\"}}");
	struct pinned_file rt[2] = { { NULL, "scipy-1.0-cp311.whl", S1 },
				     { NULL, "numpy-2.0-cp311.whl", S2 } };
	lockfile_set_runtime(l, "a_git/cpu-py3.11", "numpy\nscipy>=1; python_version >= \"3.9\"",
			     rt, 2);
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = tmpdir_make("lockfile");
	char *path = path_join(dir, "ptbuild.lock");
	struct diags d;
	diags_init(&d);
	struct lockfile l;
	fill(&l);
	assert_int_equal(lockfile_write(&l, path, &d), 0);
	lockfile_release(&l);
	struct buf first = BUF_INIT;
	assert_int_equal(read_file(path, &first), 0);
	/* sorted: a_git before torch_wheel, a before z, 3.11 before 3.12; no credentials */
	assert_true(strstr(first.data, "\"a_git\"") < strstr(first.data, "\"torch_wheel\""));
	assert_true(strstr(first.data, "third_party/a") < strstr(first.data, "third_party/z"));
	assert_true(strstr(first.data, "cp311") < strstr(first.data, "cp312"));
	assert_not_contains(first.data, "secret");
	assert_contains(first.data, "\"overridden\": true");
	assert_contains(first.data, "\"version\": \"2.10.0.dev20261130+cpu\"");

	assert_int_equal(lockfile_load(&l, path, &d), 1);
	assert_int_equal(d.nerrors, 0);
	const struct pin *g = pins_find(&l.pins, "a_git");
	assert_non_null(g);
	assert_string_equal(g->commit, C1);
	assert_int_equal(g->nsubs, 2);
	const struct pin *w = pins_find(&l.pins, "torch_wheel");
	assert_string_equal(pin_file(w, "3.12")->sha256, S2);
	assert_string_equal(pin_file(w, "3.11")->name, "torch-2.9.1-cp311.whl");
	assert_null(pin_file(w, "3.13"));
	assert_null(w->version); /* only floating sources record one */
	const struct pin *n = pins_find(&l.pins, "torch_nightly");
	assert_non_null(n);
	assert_string_equal(n->version, "2.10.0.dev20261130+cpu");
	assert_string_equal(pin_file(n, "3.11")->name, "torch-2.10.0.dev20261130+cpu-cp311.whl");
	assert_contains(n->spec, "\"pre\":true");
	const struct lock_variant *v = lockfile_variant(&l, "torch_wheel/cpu-py3.11");
	assert_string_equal(v->inputs, "{\"a\":[\"x\"],\"b\":1}");
	assert_string_equal(v->key, S1);
	/* the runtime closure: its lines and files (sorted by name) */
	v = lockfile_variant(&l, "a_git/cpu-py3.11");
	assert_string_equal(v->runtime_requires, "numpy\nscipy>=1; python_version >= \"3.9\"");
	assert_int_equal(v->nruntime, 2);
	assert_string_equal(v->runtime[0].name, "numpy-2.0-cp311.whl");
	assert_string_equal(v->runtime[1].sha256, S1);
	assert_null(lockfile_variant(&l, "torch_wheel/cpu-py3.11")->runtime_requires);
	/* written again from what was read: the same bytes */
	assert_int_equal(lockfile_write(&l, path, &d), 0);
	struct buf second = BUF_INIT;
	assert_int_equal(read_file(path, &second), 0);
	assert_string_equal(first.data, second.data);
	lockfile_release(&l);
	buf_release(&first);
	buf_release(&second);

	/* no lock at all is not an error */
	char *none = path_join(dir, "none.lock");
	assert_int_equal(lockfile_load(&l, none, &d), 0);
	lockfile_release(&l);
	free(none);
	diags_release(&d);
	tmpdir_remove(dir);
	free(path);
	free(dir);
}

static void test_bad_locks(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *expect;
	} rows[] = {
		{ "{\"format\": 2, \"sources\": {}, \"variants\": {}}",
		  "ptbuild.lock:1:12: error: lock format 2 is not one this ptbuild reads" },
		{ "{\"format\": 1, \"sources\": {\"t\": {\"kind\": \"git\", \"source\": {}, \"commit\": \"abc\"}},"
		  " \"variants\": {}}",
		  "ptbuild.lock:1:72: error: \"commit\" in the lock's source \"t\" must be 40 lowercase hex digits" },
		{ "{\"format\": 1, \"sources\": {\"t\": {\"kind\": \"svn\", \"source\": {}}}, \"variants\": {}}",
		  "error: unknown source kind \"svn\"" },
		{ "{\"format\": 1, \"sources\": {}, \"variants\": {}, \"extra\": 1}",
		  "unknown key \"extra\" in the lock file" },
		{ "{\"format\": 1, \"sources\": {}, \"variants\": {\"x/y\": {\"key\": \"00\", \"inputs\": {}}}}",
		  "\"key\" in a locked variant must be 64 lowercase hex digits" },
		{ "{\"format\": 1, \"sources\": {}, \"variants\": {\"x/y\": {\"key\": \"" S1 "\", "
		  "\"inputs\": {}, \"runtime\": {\"requires\": [], \"files\": [{\"name\": \"a.whl\", "
		  "\"sha256\": \"00\"}]}}}}",
		  "\"sha256\" in a pinned runtime wheel must be 64 lowercase hex digits" },
		{ "{\"format\": 1, \"sources\": {}, \"variants\": {\"x/y\": {\"key\": \"" S1 "\", "
		  "\"inputs\": {}, \"runtime\": {\"files\": []}}}}",
		  "\"requires\"" },
		{ "{\"format\": 1, \"sources\": {\"t\": {\"kind\": \"wheel\", \"source\": {}, "
		  "\"files\": [], \"version\": 2}}, \"variants\": {}}",
		  "ptbuild.lock:1:88: error: \"version\" in the lock's source \"t\" must be a string, "
		  "not a number" },
		{ "{\"format\": 1, \"sources\": {}",
		  "ptbuild.lock:1:29: error: invalid JSON: unexpected end of file" },
	};
	char *dir = tmpdir_make("lockfile-bad");
	char *path = path_join(dir, "ptbuild.lock");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		write_text(dir, "ptbuild.lock", rows[i].text);
		struct diags d;
		diags_init(&d);
		struct lockfile l;
		assert_int_equal(lockfile_load(&l, path, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].expect);
		free(t);
		lockfile_release(&l);
		diags_release(&d);
	}
	tmpdir_remove(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_locks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
