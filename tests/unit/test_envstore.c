/* The environment store's pieces: sealing a venv (read-only files, a manifest, the files
 * naming its path), the manifest read back, the checks that find a write through a link,
 * and the rewrite that never writes into the store's file. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/envstore.h"
#include "util/buf.h"
#include "util/os.h"

/* A little venv at dir/entry/venv and a build venv dir/venv linked from it. */
static char *make_store(const char *dir, struct env_manifest *m)
{
	char *venv = path_join(dir, "entry/venv");
	struct buf t = BUF_INIT;
	buf_addf(&t, "home = /usr/bin\ncommand = python -m venv %s\n", venv);
	write_text(dir, "entry/venv/pyvenv.cfg", t.data);
	buf_reset(&t);
	buf_addf(&t, "#!%s/bin/python\nimport pip\n", venv);
	write_text(dir, "entry/venv/bin/pip", t.data);
	buf_release(&t);
	write_text(dir, "entry/venv/bin/tool", "#!/bin/sh\n");
	write_text(dir, "entry/venv/lib/python3.11/site-packages/dep/__init__.py", "ANSWER = 42\n");
	assert_int_equal(envstore_seal(venv, m), 0);
	assert_int_equal(shell_run(NULL, "cp -al '%s' '%s/venv'", venv, dir), 0);
	return venv;
}

static const struct env_file *find(const struct env_manifest *m, const char *rel)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->files[i].rel, rel))
			return &m->files[i];
	return NULL;
}

static void test_seal_and_round_trip(void **state)
{
	(void)state;
	char *dir = tmpdir_make("envstore");
	struct env_manifest m;
	char *venv = make_store(dir, &m);
	assert_int_equal(m.n, 4);
	assert_string_equal(m.made_at, venv);
	assert_int_equal(m.nrewrite, 2); /* pyvenv.cfg and bin/pip name the path; bin/tool not */
	char *dep = path_join(venv, "lib/python3.11/site-packages/dep/__init__.py");
	struct stat st;
	assert_int_equal(stat(dep, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	m.entry = strdup("abc");
	m.linked = true;
	struct buf text = BUF_INIT;
	envstore_manifest_write(&m, &text);
	write_text(dir, "manifest", text.data);
	char *path = path_join(dir, "manifest");
	struct env_manifest back;
	assert_int_equal(envstore_manifest_load(path, &back), 0);
	assert_int_equal(back.n, m.n);
	assert_int_equal(back.nrewrite, 2);
	assert_string_equal(back.entry, "abc");
	assert_true(back.linked);
	const struct env_file *f = find(&back, "lib/python3.11/site-packages/dep/__init__.py");
	assert_non_null(f);
	assert_int_equal(f->size, 12);
	assert_int_equal(f->ino, (unsigned long long)st.st_ino);
	envstore_manifest_release(&back);
	write_text(dir, "bad", "ptbuild-env 1\nfile x\n");
	char *bad = path_join(dir, "bad");
	assert_int_equal(envstore_manifest_load(bad, &back), -1);
	free(bad);
	buf_release(&text);
	free(path);
	free(dep);
	envstore_manifest_release(&m);
	free(venv);
	tmpdir_remove(dir);
	free(dir);
}

static void test_rewrite_leaves_the_store(void **state)
{
	(void)state;
	char *dir = tmpdir_make("envstore");
	struct env_manifest m;
	char *venv = make_store(dir, &m);
	char *own = path_join(dir, "venv");
	assert_int_equal(envstore_rewrite(own, &m, own), 0);
	char *cfg = path_join(own, "pyvenv.cfg");
	char *store_cfg = path_join(venv, "pyvenv.cfg");
	struct buf a = BUF_INIT, b = BUF_INIT;
	assert_int_equal(read_file(cfg, &a), 0);
	assert_int_equal(read_file(store_cfg, &b), 0);
	assert_contains(a.data, own);
	assert_not_contains(a.data, venv);
	assert_contains(b.data, venv); /* the store's file is as it was */
	char *bad;
	const char *why;
	assert_int_equal(envstore_check(venv, &m, ENV_CHECK_ENTRY, &bad, &why), 0);
	m.linked = true;
	assert_int_equal(envstore_check(own, &m, ENV_CHECK_REUSE, &bad, &why), 0);
	buf_release(&a);
	buf_release(&b);
	free(cfg);
	free(store_cfg);
	free(own);
	envstore_manifest_release(&m);
	free(venv);
	tmpdir_remove(dir);
	free(dir);
}

static void test_checks_find_a_write_through_a_link(void **state)
{
	(void)state;
	char *dir = tmpdir_make("envstore");
	struct env_manifest m;
	char *venv = make_store(dir, &m);
	m.linked = true;
	char *own = path_join(dir, "venv");
	char *dep = path_join(own, "lib/python3.11/site-packages/dep/__init__.py");
	/* replaced in the venv (temp + rename): nothing shared changed, but no reuse */
	char *tool = path_join(own, "bin/tool");
	assert_int_equal(write_file_replace(tool, "#!/bin/sh\n", 10), 0);
	char *bad;
	const char *why;
	assert_int_equal(envstore_check(own, &m, ENV_CHECK_SHARED, &bad, &why), 0);
	assert_int_equal(envstore_check(venv, &m, ENV_CHECK_ENTRY, &bad, &why), 0);
	assert_int_equal(envstore_check(own, &m, ENV_CHECK_REUSE, &bad, &why), -1);
	assert_string_equal(why, "was replaced");
	free(bad);
	/* written in place (root ignores the 0444 mode; chmod stands in for it here) */
	assert_int_equal(chmod(dep, 0644), 0);
	assert_int_equal(shell_run(NULL, "echo '# written' >>'%s'", dep), 0);
	assert_int_equal(envstore_check(own, &m, ENV_CHECK_SHARED, &bad, &why), -1);
	assert_string_equal(bad, dep);
	assert_string_equal(why, "was written after the entry was made");
	free(bad);
	assert_int_equal(envstore_check(venv, &m, ENV_CHECK_ENTRY, &bad, &why), -1);
	assert_contains(bad, "entry/venv/lib/python3.11/site-packages/dep/__init__.py");
	free(bad);
	char *entry = path_join(dir, "entry");
	assert_int_equal(envstore_drop(entry), 0);
	assert_false(path_exists(entry));
	assert_int_equal(envstore_drop(entry), 0); /* dropped already: nothing to do */
	free(entry);
	free(tool);
	free(dep);
	free(own);
	envstore_manifest_release(&m);
	free(venv);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_and_round_trip),
		cmocka_unit_test(test_rewrite_leaves_the_store),
		cmocka_unit_test(test_checks_find_a_write_through_a_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
