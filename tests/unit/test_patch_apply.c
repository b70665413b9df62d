/*
 * Applying patch series: offsets, new, deleted, renamed and mode-changed files, missing
 * final newlines, traditional `diff -u` input, binary literals and deltas made by git, and
 * every refusal with its message — with the tree left exactly as it was whenever a series
 * does not apply.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/patch_apply.h"
#include "sources/patch_parse.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/os.h"
#include "util/xalloc.h"

static char *dir;  /* per test: dir/tree is patched, dir/p holds the patches */
static char *tree;
static char **paths; /* of the patches written, alive until teardown: messages point in */
static size_t npaths;

static int setup(void **state)
{
	(void)state;
	dir = tmpdir_make("patch");
	tree = path_join(dir, "tree");
	make_dirs(tree, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tmpdir_remove(dir);
	free(dir);
	free(tree);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	paths = NULL;
	npaths = 0;
	return 0;
}

static char *slurp(const char *rel)
{
	char *p = path_join(tree, rel);
	struct buf b = BUF_INIT;
	int rc = read_file(p, &b);
	free(p);
	if (rc < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void assert_file(const char *rel, const char *want)
{
	char *have = slurp(rel);
	if (!have)
		fail_msg("%s is missing", rel);
	if (strcmp(have, want))
		fail_msg("%s is\n---\n%s\n--- expected\n%s\n---", rel, have, want);
	free(have);
}

/* Applies the patches texts[0..n) (written as p/NAME-i.patch); returns patches_apply's
 * result and leaves the messages in `d`. */
static int apply_texts(const char *const *texts, size_t n, struct patch_stats *st,
		       struct diags *d)
{
	struct patch_ref *refs = xcalloc(n, sizeof(*refs));
	paths = xrealloc(paths, (npaths + n) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "p/%zu-change.patch", i + 1);
		write_text(dir, rel, texts[i]);
		char *path = paths[npaths++] = path_join(dir, rel);
		refs[i] = (struct patch_ref){ path + strlen(dir) + 1, path, NULL };
	}
	int rc = patches_apply(tree, refs, n, st, d);
	free(refs);
	return rc;
}

static char *numbered(size_t from, size_t to, const char *prefix)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, prefix);
	for (size_t i = from; i <= to; i++)
		buf_addf(&b, "line %zu\n", i);
	return buf_detach(&b);
}

static void test_hunk_found_at_an_offset(void **state)
{
	(void)state;
	char *text = numbered(1, 20, "new 1\nnew 2\nnew 3\n");
	write_text(tree, "src/a.c", text);
	static const char *const p[] = {
		"diff --git a/src/a.c b/src/a.c\n"
		"--- a/src/a.c\n+++ b/src/a.c\n"
		"@@ -9,5 +9,5 @@\n line 9\n line 10\n-line 11\n+LINE 11\n line 12\n line 13\n"
		"@@ -17,4 +17,5 @@\n line 17\n line 18\n line 19\n+line 19.5\n line 20\n",
	};
	struct diags d;
	diags_init(&d);
	struct patch_stats st;
	if (apply_texts(p, 1, &st, &d) != 0) { char *m = diags_text(&d); fail_msg("%s", m); }
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(st.hunks, 2);
	assert_int_equal(st.offset_hunks, 2);
	assert_int_equal(st.files, 1);
	char *want = numbered(1, 20, "new 1\nnew 2\nnew 3\n");
	char *at = strstr(want, "line 11\n");
	memcpy(at, "LINE", 4);
	struct buf w = BUF_INIT;
	at = strstr(want, "line 20\n");
	buf_add(&w, want, (size_t)(at - want));
	buf_adds(&w, "line 19.5\nline 20\n");
	assert_file("src/a.c", w.data);
	buf_release(&w);
	free(want);
	free(text);
	diags_release(&d);
}

static void test_add_delete_rename_and_mode(void **state)
{
	(void)state;
	write_text(tree, "old/gone.txt", "bye\n");
	write_text(tree, "keep/moved.py", "a\nb\nc\n");
	write_text(tree, "run.sh", "echo hi\n");
	static const char *const p[] = {
		"diff --git a/new/dir/added.h b/new/dir/added.h\n"
		"new file mode 100644\n"
		"--- /dev/null\n+++ b/new/dir/added.h\n@@ -0,0 +1,2 @@\n+#pragma once\n+int x;\n"
		"diff --git a/old/gone.txt b/old/gone.txt\n"
		"deleted file mode 100644\n"
		"--- a/old/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
		"diff --git a/keep/moved.py b/keep/renamed.py\n"
		"similarity index 80%\nrename from keep/moved.py\nrename to keep/renamed.py\n"
		"index de98044..1f4a4b6 100644\n"
		"--- a/keep/moved.py\n+++ b/keep/renamed.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
		"diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n",
	};
	struct diags d;
	diags_init(&d);
	struct patch_stats st;
	if (apply_texts(p, 1, &st, &d) != 0) { char *m = diags_text(&d); fail_msg("%s", m); }
	assert_int_equal(d.nerrors, 0);
	assert_file("new/dir/added.h", "#pragma once\nint x;\n");
	char *gone = path_join(tree, "old");
	assert_false(path_exists(gone)); /* the emptied directory goes too, as with git apply */
	free(gone);
	assert_null(slurp("keep/moved.py"));
	assert_file("keep/renamed.py", "a\nB\nc\n");
	char *sh = path_join(tree, "run.sh");
	struct stat sb;
	assert_int_equal(stat(sh, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0755);
	free(sh);
	assert_file("run.sh", "echo hi\n");
	assert_int_equal(st.files, 5);
	diags_release(&d);
}

static void test_missing_newline_at_end(void **state)
{
	(void)state;
	write_text(tree, "f", "l1\nl2\n");
	static const char *const p[] = {
		"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n l1\n-l2\n+L2\n"
		"\\ No newline at end of file\n",
		"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n l1\n-L2\n"
		"\\ No newline at end of file\n+L2\n+l3\n",
	};
	struct diags d;
	diags_init(&d);
	assert_int_equal(apply_texts(p, 1, NULL, &d), 0);
	assert_file("f", "l1\nL2");
	assert_int_equal(apply_texts(p + 1, 1, NULL, &d), 0);
	assert_file("f", "l1\nL2\nl3\n");
	assert_int_equal(d.nerrors, 0);
	diags_release(&d);
}

static void test_traditional_unified_diff(void **state)
{
	(void)state;
	write_text(tree, "lib/x.c", "int a;\nint b;\n");
	static const char *const p[] = {
		"Only in b: something\n"
		"--- orig/lib/x.c\t2024-01-01 10:00:00.000000000 +0000\n"
		"+++ new/lib/x.c\t2024-01-02 10:00:00.000000000 +0000\n"
		"@@ -1,2 +1,2 @@\n int a;\n-int b;\n+long b;\n"
		"--- /dev/null\t1970-01-01 00:00:00.000000000 +0000\n"
		"+++ new/lib/y.c\t2024-01-02 10:00:00.000000000 +0000\n"
		"@@ -0,0 +1 @@\n+int y;\n",
	};
	struct diags d;
	diags_init(&d);
	assert_int_equal(apply_texts(p, 1, NULL, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_file("lib/x.c", "int a;\nlong b;\n");
	assert_file("lib/y.c", "int y;\n");
	diags_release(&d);
}

static void test_format_patch_mail(void **state)
{
	(void)state;
	write_text(tree, "README", "hello\n");
	static const char *const p[] = {
		"From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
		"From: Dev <dev@example.invalid>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
		"Subject: [PATCH] greet louder\n\n---\n README | 2 +-\n 1 file changed\n\n"
		"diff --git a/README b/README\nindex ce01362..e965047 100644\n"
		"--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hello\n+HELLO\n-- \n2.39.2\n\n",
	};
	struct diags d;
	diags_init(&d);
	assert_int_equal(apply_texts(p, 1, NULL, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_file("README", "HELLO\n");
	diags_release(&d);
}

/* A series whose third patch conflicts: nothing is written, and the message names the
 * patch and the line of the hunk header, the file, the hunk and the differing line. */
static void test_conflict_leaves_the_tree_as_it_was(void **state)
{
	(void)state;
	write_text(tree, "core.c", "int main(void)\n{\n\treturn 0;\n}\n");
	write_text(tree, "util.c", "a\nb\nc\nd\ne\nf\ng\n");
	static const char *const p[] = {
		"diff --git a/core.c b/core.c\n--- a/core.c\n+++ b/core.c\n"
		"@@ -1,4 +1,4 @@\n int main(void)\n {\n-\treturn 0;\n+\treturn 1;\n }\n",
		"diff --git a/added.c b/added.c\nnew file mode 100644\n--- /dev/null\n"
		"+++ b/added.c\n@@ -0,0 +1 @@\n+new\n",
		"diff --git a/util.c b/util.c\n--- a/util.c\n+++ b/util.c\n"
		"@@ -2,5 +2,5 @@ fn\n b\n c\n-D\n+dd\n e\n f\n",
	};
	struct diags d;
	diags_init(&d);
	struct patch_stats st;
	assert_int_equal(apply_texts(p, 3, &st, &d), -1);
	char *msg = diags_text(&d);
	assert_contains(msg, "p/3-change.patch:4:1: error: patch \"p/3-change.patch\" does not "
			     "apply: hunk @@ -2,5 +2,5 @@ fn of \"util.c\" matches nowhere");
	assert_contains(msg, "closest match at line 2 (4 of 5 lines agree)");
	assert_contains(msg, "line 4: patch expects \"D\"");
	assert_contains(msg, "the file has  \"d\"");
	assert_contains(msg, "nothing was changed");
	free(msg);
	assert_file("core.c", "int main(void)\n{\n\treturn 0;\n}\n");
	assert_null(slurp("added.c"));
	assert_file("util.c", "a\nb\nc\nd\ne\nf\ng\n");
	diags_release(&d);
}

/* Later patches see earlier ones: a file created, then changed, then deleted; a change to
 * a file deleted earlier is refused. A hunk may not match lines an earlier hunk wrote. */
static void test_series_builds_on_itself(void **state)
{
	(void)state;
	static const char *const p[] = {
		"diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n"
		"@@ -0,0 +1,2 @@\n+one\n+two\n",
		"diff --git a/n.txt b/n.txt\n--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n one\n-two\n"
		"+2\n",
		"diff --git a/n.txt b/n.txt\ndeleted file mode 100644\n--- a/n.txt\n+++ /dev/null\n"
		"@@ -1,2 +0,0 @@\n-one\n-2\n",
		"diff --git a/n.txt b/n.txt\n--- a/n.txt\n+++ b/n.txt\n@@ -1 +1 @@\n-one\n+1\n",
	};
	struct diags d;
	diags_init(&d);
	assert_int_equal(apply_texts(p, 3, NULL, &d), 0);
	assert_null(slurp("n.txt"));
	assert_int_equal(apply_texts(p, 4, NULL, &d), -1);
	char *msg = diags_text(&d);
	assert_contains(msg, "patch \"p/4-change.patch\" changes \"n.txt\", which does not exist");
	free(msg);
	diags_release(&d);

	write_text(tree, "dup.txt", "x\ny\n");
	static const char *const twice[] = {
		"diff --git a/dup.txt b/dup.txt\n--- a/dup.txt\n+++ b/dup.txt\n"
		"@@ -1,2 +1,4 @@\n x\n+x\n+y\n y\n"
		"@@ -1,2 +3,3 @@\n x\n y\n+z\n",
	};
	diags_init(&d);
	assert_int_equal(apply_texts(twice, 1, NULL, &d), -1);
	msg = diags_text(&d);
	assert_contains(msg, "hunk @@ -1,2 +3,3 @@ of \"dup.txt\" matches nowhere");
	free(msg);
	assert_file("dup.txt", "x\ny\n");
	diags_release(&d);
}

struct refusal {
	const char *setup_file, *setup_text;
	const char *patch;
	const char *message;
};

static void test_refusals(void **state)
{
	(void)state;
	char *outside = path_join(dir, "outside");
	make_dirs(outside, 0755);
	char *link = path_join(tree, "linked");
	assert_int_equal(symlink(outside, link), 0);
	free(link);
	free(outside);
	static const struct refusal cases[] = {
		{ NULL, NULL,
		  "diff --git a/../evil b/../evil\nnew file mode 100644\n--- /dev/null\n+++ b/../evil\n"
		  "@@ -0,0 +1 @@\n+x\n",
		  "touches \"../evil\", which is outside the source tree" },
		{ NULL, NULL,
		  "diff --git a/.git/config b/.git/config\nnew file mode 100644\n--- /dev/null\n"
		  "+++ b/.git/config\n@@ -0,0 +1 @@\n+x\n",
		  "touches \".git/config\", which is outside the source tree" },
		{ NULL, NULL,
		  "diff --git a/linked/x b/linked/x\nnew file mode 100644\n--- /dev/null\n"
		  "+++ b/linked/x\n@@ -0,0 +1 @@\n+x\n",
		  "touches \"linked/x\" through the symbolic link \"linked\"" },
		{ "there.txt", "1\n",
		  "diff --git a/there.txt b/there.txt\nnew file mode 100644\n--- /dev/null\n"
		  "+++ b/there.txt\n@@ -0,0 +1 @@\n+x\n",
		  "creates \"there.txt\", which already exists" },
		{ "long.txt", "1\n2\n",
		  "diff --git a/long.txt b/long.txt\ndeleted file mode 100644\n--- a/long.txt\n"
		  "+++ /dev/null\n@@ -1 +0,0 @@\n-1\n",
		  "does not apply: hunk @@ -1 +0,0 @@ of \"long.txt\" matches nowhere in the file "
		  "(it must match at the start and the end of the file)" },
		{ "tail.txt", "1\n2\n3\n",
		  "diff --git a/tail.txt b/tail.txt\n--- a/tail.txt\n+++ b/tail.txt\n"
		  "@@ -2 +2,2 @@\n 2\n+2.5\n",
		  "its lines are there, but a hunk without trailing context must end the file" },
		{ NULL, NULL, "", "the patch \"p/1-change.patch\" holds no change" },
		{ NULL, NULL, "just some words\n",
		  "cannot read the patch \"p/1-change.patch\": no patch found" },
		{ NULL, NULL, "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n",
		  "cannot read the patch \"p/1-change.patch\": invalid patch hunk, expected 3 old "
		  "lines and 3 new lines" },
		{ NULL, NULL,
		  "diff --git a/sub b/sub\nindex 1111111..2222222 160000\n--- a/sub\n+++ b/sub\n"
		  "@@ -1 +1 @@\n-Subproject commit 1111111111111111111111111111111111111111\n"
		  "+Subproject commit 2222222222222222222222222222222222222222\n",
		  "changes \"sub\" as a submodule commit" },
		{ "bin.dat", "x",
		  "diff --git a/bin.dat b/bin.dat\nindex 1111111..2222222 100644\n"
		  "Binary files a/bin.dat and b/bin.dat differ\n",
		  "changes the binary file \"bin.dat\" without its contents" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].setup_file)
			write_text(tree, cases[i].setup_file, cases[i].setup_text);
		struct diags d;
		diags_init(&d);
		const char *p[] = { cases[i].patch };
		int rc = apply_texts(p, 1, NULL, &d);
		char *msg = diags_text(&d);
		if (rc != -1)
			fail_msg("case %zu: rc %d, messages:\n%s", i, rc, msg);
		assert_contains(msg, cases[i].message);
		free(msg);
		diags_release(&d);
	}
	char *evil = path_join(dir, "evil");
	assert_false(path_exists(evil));
	free(evil);
	assert_file("there.txt", "1\n");
	assert_file("long.txt", "1\n2\n");
}

/* A NUL byte in a text patch is refused at its line:col (libgit2 1.5 read past its copy of
 * such a hunk line: tests/fuzz/regressions/patch/nul-in-hunk.patch). */
static void test_nul_byte_refused(void **state)
{
	(void)state;
	static const char text[] = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n"
				   "@@ -1,2 +1,2 @@\n one\n-t\xc3\xa9o\n+th\0ee\n";
	struct diags d;
	diags_init(&d);
	struct patch p;
	assert_int_equal(patch_parse(&p, "p.patch", text, sizeof(text) - 1, &d), -1);
	char *msg = diags_text(&d);
	assert_contains(msg, "p.patch:7:4: error: the patch \"p.patch\" holds a NUL byte: a text "
			     "patch cannot");
	assert_contains(msg, "hint: a file with NUL bytes is binary: make the patch with `git diff "
			     "--binary`");
	free(msg);
	patch_release(&p);
	diags_release(&d);
}

static void test_digest_checked_before_use(void **state)
{
	(void)state;
	write_text(dir, "p/x.patch", "diff --git a/f b/f\nnew file mode 100644\n--- /dev/null\n"
				     "+++ b/f\n@@ -0,0 +1 @@\n+x\n");
	char *path = path_join(dir, "p/x.patch");
	char good[SHA256_HEX_SIZE];
	assert_int_equal(sha256_file_hex(path, good), 0);
	struct patch_ref ref = { "${src:backend}/x.patch", path,
				 "0000000000000000000000000000000000000000000000000000000000000000" };
	struct diags d;
	diags_init(&d);
	assert_int_equal(patches_apply(tree, &ref, 1, NULL, &d), -1);
	char *msg = diags_text(&d);
	assert_contains(msg, "the patch \"${src:backend}/x.patch\" changed since the plan was "
			     "made");
	free(msg);
	assert_null(slurp("f"));
	ref.sha256 = good;
	assert_int_equal(patches_apply(tree, &ref, 1, NULL, &d), 0);
	assert_file("f", "x\n");
	ref.path = "/nonexistent/x.patch";
	assert_int_equal(patches_apply(tree, &ref, 1, NULL, &d), -2);
	free(path);
	diags_release(&d);
}

/* Binary patches as git writes them (`git diff --binary`): a literal for a new file and a
 * delta for a change, checked against the blob ids of the index line. */
static void test_binary_patches_from_git(void **state)
{
	(void)state;
	char *repo = path_join(dir, "repo");
	struct buf sh = BUF_INIT;
	buf_addf(&sh,
		 "set -e; git init -q '%s'; cd '%s'; git config user.email t@t; git config user.name t\n"
		 "python3 -c \"import sys; sys.stdout.buffer.write(bytes(range(256))*64)\" > blob.bin\n"
		 "git add blob.bin; git commit -qm one\n"
		 "cp blob.bin '%s/blob.bin'\n"
		 "python3 -c \"import sys; d=bytearray(range(256))*64; d[5000:5004]=b'WXYZ'; "
		 "sys.stdout.buffer.write(bytes(d))\" > blob.bin\n"
		 "python3 -c \"import sys; sys.stdout.buffer.write(bytes([0,1,2,0,255]))\" > new.bin\n"
		 "git add -A; git diff --cached --binary > '%s/bin.patch'\n"
		 "cp blob.bin '%s/want-blob.bin'; cp new.bin '%s/want-new.bin'\n",
		 repo, repo, tree, dir, dir, dir);
	const char *argv[] = { "sh", "-c", sh.data, NULL };
	struct buf out = BUF_INIT;
	if (run_capture(argv, &out, 60000) != 0)
		fail_msg("git failed: %s", out.data);
	buf_release(&out);
	buf_release(&sh);
	char *patch = path_join(dir, "bin.patch");
	struct patch_ref ref = { "bin.patch", patch, NULL };
	struct diags d;
	diags_init(&d);
	assert_int_equal(patches_apply(tree, &ref, 1, NULL, &d), 0);
	for (int i = 0; i < 2; i++) {
		char *want_path = path_join(dir, i ? "want-new.bin" : "want-blob.bin");
		char *have_path = path_join(tree, i ? "new.bin" : "blob.bin");
		struct buf want = BUF_INIT, have = BUF_INIT;
		assert_int_equal(read_file(want_path, &want), 0);
		assert_int_equal(read_file(have_path, &have), 0);
		assert_int_equal(want.len, have.len);
		assert_memory_equal(want.data, have.data, want.len);
		buf_release(&want);
		buf_release(&have);
		free(want_path);
		free(have_path);
	}
	/* Applied again, the delta's base no longer matches: named by blob id. */
	assert_int_equal(patches_apply(tree, &ref, 1, NULL, &d), -1);
	char *msg = diags_text(&d);
	assert_contains(msg, "does not apply: the binary file \"blob.bin\" is blob ");
	assert_contains(msg, ", the patch was made against ");
	free(msg);
	free(patch);
	free(repo);
	diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hunk_found_at_an_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_delete_rename_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_newline_at_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traditional_unified_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_patch_mail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_leaves_the_tree_as_it_was, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_series_builds_on_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_checked_before_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_patches_from_git, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
