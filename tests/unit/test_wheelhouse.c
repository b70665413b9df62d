/* A wheelhouse assembled from plain data: wheels placed once, simple/, SHA256SUMS,
 * manifest.json, requirements/, Dockerfiles; wrong inputs and a directory that is not a
 * wheelhouse. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "wheels/wheelhouse.h"

/* A real (tiny) wheel: its core metadata, with Requires-Python when `requires_python`. */
static void input(struct house_input *w, const char *dir, const char *file, size_t variant,
		  bool main, const char *requires_python)
{
	w->src = path_join(dir, file);
	w->file = strdup(file);
	char *dash = strchr(file, '-');
	const char *ver = dash + 1;
	size_t vlen = strcspn(ver, "-");
	struct buf out = BUF_INIT;
	assert_int_equal(shell_run(&out, "python3 -c 'import sys, zipfile\n"
				   "z = zipfile.ZipFile(sys.argv[1], \"w\")\n"
				   "i = zipfile.ZipInfo(sys.argv[2] + \".dist-info/METADATA\", (1980, 1, 1, 0, 0, 0))\n"
				   "z.writestr(i, \"Metadata-Version: 2.1\\nName: \" + sys.argv[3] + ((\"\\n"
				   "Requires-Python: \" + sys.argv[4]) if sys.argv[4] else \"\") + \"\\n\")\n"
				   "z.close()' %s %.*s-%.*s %.*s '%s'",
				   w->src, (int)(dash - file), file, (int)vlen, ver,
				   (int)(dash - file), file,
				   requires_python ? requires_python : ""), 0);
	buf_release(&out);
	assert_int_equal(sha256_file_hex(w->src, w->sha256), 0);
	struct stat st;
	assert_int_equal(stat(w->src, &st), 0);
	w->size = (uint64_t)st.st_size;
	w->variant = variant;
	w->main = main;
}

static char *slurp(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct buf b = BUF_INIT;
	assert_int_equal(read_file(p, &b), 0);
	free(p);
	return buf_detach(&b);
}

static void test_collect(void **state)
{
	(void)state;
	char *dir = tmpdir_make("house");
	char *cache = path_join(dir, "cache");
	make_dirs(cache, 0755);
	char *out = path_join(dir, "out");
	struct toolchain tc = { .name = "cpu", .image = "debian:12-${python}" };
	struct house_variant v[2] = {
		{ "ext", "cpu-py3.11", &tc, "3.11", "k1", true, NULL, 0 },
		{ "dep", "cpu-py3.11", &tc, "3.11", "k2", false, NULL, 0 },
	};
	struct house_input w[3];
	input(&w[0], cache, "ext-1.0-cp311-cp311-linux_x86_64.whl", 0, true,
	      ">=3.9,<3.14");
	input(&w[1], cache, "dep-2.0-py3-none-any.whl", 1, true, NULL);
	input(&w[2], cache, "dep-2.0-py3-none-any.whl", 0, false, NULL); /* the same file again */
	struct house_spec spec = { .dir = out, .variants = v, .nvariants = 2, .wheels = w,
				   .nwheels = 3, .epoch = 1700000000, .set_name = "default",
				   .tmp_dir = dir };
	struct house_result r;
	struct diags d;
	diags_init(&d);
	assert_int_equal(house_collect(&spec, &r, &d), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].file, "dep-2.0-py3-none-any.whl"); /* sorted */
	assert_int_equal(r.ntargets, 1);
	assert_string_equal(r.targets[0].image, "debian:12-3.11");
	char *req = slurp(out, "requirements/cpu-py3.11.txt");
	/* every wheel of the label, pinned by digest for --require-hashes */
	struct buf want = BUF_INIT;
	buf_addf(&want, "dep==2.0 --hash=sha256:%s\next==1.0 --hash=sha256:%s\n", w[1].sha256,
		 w[0].sha256);
	assert_string_equal(req, want.data);
	buf_release(&want);
	char *sums = slurp(out, "SHA256SUMS");
	assert_contains(sums, "  dep-2.0-py3-none-any.whl\n");
	char *manifest = slurp(out, "manifest.json");
	assert_contains(manifest, "\"dependency_of_source\": true");
	assert_contains(manifest, "\"source_date_epoch\": 1700000000");
	char *simple = slurp(out, "simple/ext/index.html");
	assert_contains(simple, "ext-1.0-cp311-cp311-linux_x86_64.whl#sha256=");
	/* PEP 658/714: the core metadata beside each wheel, its digest and Requires-Python in
	 * the link, so pip resolves without downloading the wheel */
	char *meta = slurp(out, "ext-1.0-cp311-cp311-linux_x86_64.whl.metadata");
	assert_string_equal(meta, "Metadata-Version: 2.1\nName: ext\nRequires-Python: >=3.9,<3.14\n");
	char meta_sha[SHA256_HEX_SIZE];
	char *meta_path = path_join(out, "ext-1.0-cp311-cp311-linux_x86_64.whl.metadata");
	assert_int_equal(sha256_file_hex(meta_path, meta_sha), 0);
	struct buf attr = BUF_INIT;
	buf_addf(&attr, "\" data-dist-info-metadata=\"sha256=%s\" data-core-metadata=\"sha256=%s\" "
			"data-requires-python=\"&gt;=3.9,&lt;3.14\">", meta_sha, meta_sha);
	assert_contains(simple, attr.data);
	buf_release(&attr);
	free(meta_path);
	free(meta);
	char *dep_page = slurp(out, "simple/dep/index.html");
	assert_contains(dep_page, "data-core-metadata=\"sha256=");
	assert_not_contains(dep_page, "data-requires-python");
	free(dep_page);
	free(simple);
	free(manifest);
	free(sums);
	free(req);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", out, (long)getpid());
	assert_false(path_exists(tmp.data)); /* renamed into place */
	buf_release(&tmp);
	house_result_release(&r);

	/* collecting again replaces the wheelhouse; a directory that is not one is kept */
	assert_int_equal(house_collect(&spec, &r, &d), 0);
	house_result_release(&r);
	char *other = path_join(dir, "other");
	make_dirs(other, 0755);
	write_text(other, "keep", "x");
	spec.dir = other;
	assert_int_equal(house_collect(&spec, &r, &d), -1);
	assert_false(r.bad_input);
	house_result_release(&r);
	assert_true(path_exists(other));
	struct buf text = BUF_INIT;
	diags_render(&d, &text, false);
	assert_contains(text.data, "exists and is not a wheelhouse (no manifest.json): nothing "
				   "was replaced");
	buf_release(&text);
	diags_release(&d);

	/* a file name that is not a wheel's is a wrong input, and nothing is written */
	diags_init(&d);
	char *fresh = path_join(dir, "fresh");
	spec.dir = fresh;
	free(w[0].file);
	w[0].file = strdup("not-a-wheel.zip");
	assert_int_equal(house_collect(&spec, &r, &d), -1);
	assert_true(r.bad_input);
	house_result_release(&r);
	assert_false(path_exists(fresh));
	diags_render(&d, &text, false);
	assert_contains(text.data, "not-a-wheel.zip is not a wheel file name");
	buf_release(&text);
	diags_release(&d);
	for (size_t i = 0; i < 3; i++) {
		free(w[i].src);
		free(w[i].file);
	}
	free(fresh);
	free(other);
	free(out);
	free(cache);
	tmpdir_remove(dir);
	free(dir);
}

/* The names in `dir`, sorted, joined with spaces. */
static char *names_in(const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(list_dir(dir, NULL, &names, &n), 0);
	qsort(names, n, sizeof(char *), strv_cmp);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? " " : "", names[i]);
	free_names(names, n);
	return buf_detach(&b);
}

static ino_t inode_of(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_ino;
}

/* variants/<label>/: exactly that label's wheels and requirements, linked (issue 15, item 3:
 * Dockerfile.release mounts only it, so other variants' wheels leave its layer CACHED) */
static void test_variant_dirs(void **state)
{
	(void)state;
	char *dir = tmpdir_make("house-variants");
	char *cache = path_join(dir, "cache");
	make_dirs(cache, 0755);
	char *out = path_join(dir, "out");
	struct toolchain cpu = { .name = "cpu", .image = "debian:12" };
	struct toolchain other = { .name = "other", .image = "debian:12" };
	struct house_variant v[3] = {
		{ "ext", "cpu-py3.11", &cpu, "3.11", "k1", true, NULL, 1600000000 },
		{ "dep", "cpu-py3.11", &cpu, "3.11", "k2", false, NULL, 1500000000 },
		{ "oth", "other-py3.11", &other, "3.11", "k3", true, NULL, 1700000000 },
	};
	struct house_input w[5];
	input(&w[0], cache, "ext-1.0-cp311-cp311-linux_x86_64.whl", 0, true, NULL);
	input(&w[1], cache, "dep-2.0-py3-none-any.whl", 1, true, NULL);
	input(&w[2], cache, "dep-2.0-py3-none-any.whl", 0, false, NULL); /* twice in one label */
	input(&w[3], cache, "oth-3.0-py3-none-any.whl", 2, true, NULL);
	input(&w[4], cache, "dep-2.0-py3-none-any.whl", 2, false, NULL); /* in both labels */
	struct house_spec spec = { .dir = out, .variants = v, .nvariants = 3, .wheels = w,
				   .nwheels = 5, .epoch = 1700000000, .set_name = "default",
				   .tmp_dir = dir };
	struct house_result r;
	struct diags d;
	diags_init(&d);
	assert_int_equal(house_collect(&spec, &r, &d), 0);
	house_result_release(&r);
	char *vdir = path_join(out, "variants");
	char *names = names_in(vdir);
	assert_string_equal(names, "cpu-py3.11 other-py3.11");
	free(names);
	char *cpu_dir = path_join(vdir, "cpu-py3.11"), *other_dir = path_join(vdir, "other-py3.11");
	names = names_in(cpu_dir);
	assert_string_equal(names, "dep-2.0-py3-none-any.whl ext-1.0-cp311-cp311-linux_x86_64.whl "
				   "requirements");
	free(names);
	names = names_in(other_dir);
	assert_string_equal(names, "dep-2.0-py3-none-any.whl oth-3.0-py3-none-any.whl requirements");
	free(names);
	char *req = path_join(cpu_dir, "requirements");
	names = names_in(req);
	assert_string_equal(names, "cpu-py3.11.txt"); /* only its own */
	free(names);
	free(req);
	char *text = slurp(cpu_dir, "requirements/cpu-py3.11.txt");
	char *top = slurp(out, "requirements/cpu-py3.11.txt");
	assert_string_equal(text, top);
	free(text);
	free(top);
	/* links to the wheelhouse's files, not copies */
	assert_true(inode_of(cpu_dir, "ext-1.0-cp311-cp311-linux_x86_64.whl") ==
		    inode_of(out, "ext-1.0-cp311-cp311-linux_x86_64.whl"));
	assert_true(inode_of(other_dir, "dep-2.0-py3-none-any.whl") ==
		    inode_of(out, "dep-2.0-py3-none-any.whl"));
	/* each label's images take the newest source date of its own variants, so a newer
	 * source of another variant leaves their layers cached; the wheelhouse's stays the
	 * newest of all */
	char *manifest = slurp(out, "manifest.json");
	assert_contains(manifest, "\"source_date_epoch\": 1700000000");
	assert_contains(manifest, "\"source_date_epochs\": {\n    \"cpu-py3.11\": 1600000000,\n"
				  "    \"other-py3.11\": 1700000000\n  }");
	free(manifest);
	char *release = slurp(out, "Dockerfile.release");
	assert_contains(release, "--build-arg VARIANT=cpu-py3.11 --build-arg SOURCE_DATE_EPOCH=1600000000 ");
	assert_contains(release, "--build-arg VARIANT=other-py3.11 --build-arg SOURCE_DATE_EPOCH=1700000000 ");
	free(release);
	/* the index and SHA256SUMS describe the top of the wheelhouse only */
	char *sums = slurp(out, "SHA256SUMS");
	assert_not_contains(sums, "variants/");
	assert_int_equal(strlen(sums), 3 * (64 + 2 + 1) + strlen("dep-2.0-py3-none-any.whl") +
					       strlen("ext-1.0-cp311-cp311-linux_x86_64.whl") +
					       strlen("oth-3.0-py3-none-any.whl"));
	free(sums);
	/* collecting again gives the same tree */
	assert_int_equal(house_collect(&spec, &r, &d), 0);
	house_result_release(&r);
	names = names_in(cpu_dir);
	assert_string_equal(names, "dep-2.0-py3-none-any.whl ext-1.0-cp311-cp311-linux_x86_64.whl "
				   "requirements");
	free(names);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	for (size_t i = 0; i < 5; i++) {
		free(w[i].src);
		free(w[i].file);
	}
	free(cpu_dir);
	free(other_dir);
	free(vdir);
	free(out);
	free(cache);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_variant_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
