/*
 * Applying a patch series: ptbuild's applier against `git apply`, run once per patch as
 * vendor build scripts do (torch_musa's build.sh: `git apply --check` then `git apply`).
 * A synthetic tree of FILES files of 2000 lines gets one patch per file with four hunks,
 * every hunk 3 lines off its header (an offset). Both results must be equal; prints the
 * times. usage: bench_patch [FILES]   (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/patch_apply.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

static void die(const char *what)
{
	fprintf(stderr, "bench_patch: %s\n", what);
	exit(1);
}

static void write_or_die(const char *path, const struct buf *b)
{
	if (write_file_atomic(path, b->data, b->len) < 0)
		die(path);
}

int main(int argc, char **argv)
{
	int files = argc > 1 ? atoi(argv[1]) : 200;
	char tmpl[] = "/tmp/ptbuild-bench-patch-XXXXXX";
	if (!mkdtemp(tmpl))
		die("mkdtemp");
	char *ours = path_join(tmpl, "ours"), *theirs = path_join(tmpl, "theirs");
	char *pdir = path_join(tmpl, "patches");
	make_dirs(pdir, 0755);
	struct patch_ref *refs = xcalloc((size_t)files, sizeof(*refs));
	for (int f = 0; f < files; f++) {
		struct buf text = BUF_INIT, patch = BUF_INIT, path = BUF_INIT;
		/* the tree has 3 lines the patch's author did not have */
		buf_adds(&text, "// added upstream 1\n// added upstream 2\n// added upstream 3\n");
		for (int l = 1; l <= 2000; l++)
			buf_addf(&text, "int f%d_line%d = %d;\n", f, l, l);
		buf_addf(&patch, "diff --git a/src/d%d/f%d.c b/src/d%d/f%d.c\n--- a/src/d%d/f%d.c\n"
			 "+++ b/src/d%d/f%d.c\n", f % 10, f, f % 10, f, f % 10, f, f % 10, f);
		for (int h = 0; h < 4; h++) {
			int at = 100 + h * 450;
			buf_addf(&patch, "@@ -%d,7 +%d,8 @@\n", at, at + h);
			for (int l = at; l < at + 7; l++) {
				if (l == at + 3) {
					buf_addf(&patch, "-int f%d_line%d = %d;\n", f, l, l);
					buf_addf(&patch, "+int f%d_line%d = %d; /* musa */\n", f, l, l);
					buf_addf(&patch, "+int f%d_extra%d;\n", f, l);
				} else {
					buf_addf(&patch, " int f%d_line%d = %d;\n", f, l, l);
				}
			}
		}
		for (int side = 0; side < 2; side++) {
			buf_reset(&path);
			buf_addf(&path, "%s/src/d%d", side ? theirs : ours, f % 10);
			make_dirs(path.data, 0755);
			buf_addf(&path, "/f%d.c", f);
			write_or_die(path.data, &text);
		}
		buf_reset(&path);
		buf_addf(&path, "%s/%04d.patch", pdir, f);
		write_or_die(path.data, &patch);
		refs[f] = (struct patch_ref){ xstrdup(path.data + strlen(pdir) + 1),
					      buf_detach(&path), NULL };
		buf_release(&text);
		buf_release(&patch);
	}
	struct diags d;
	diags_init(&d);
	struct patch_stats st;
	double t0 = monotonic_seconds();
	if (patches_apply(ours, refs, (size_t)files, &st, &d) != 0) {
		diags_print(&d, stderr, false);
		die("ptbuild's applier failed");
	}
	double t_ours = monotonic_seconds() - t0;
	struct buf sh = BUF_INIT;
	buf_addf(&sh, "cd '%s' && for p in '%s'/*.patch; do git apply --check \"$p\" && "
		      "git apply \"$p\" || exit 1; done", theirs, pdir);
	const char *git_argv[] = { "sh", "-c", sh.data, NULL };
	struct buf out = BUF_INIT;
	t0 = monotonic_seconds();
	if (run_capture(git_argv, &out, 600000) != 0) {
		fprintf(stderr, "%s\n", out.data);
		die("git apply failed");
	}
	double t_git = monotonic_seconds() - t0;
	buf_reset(&sh);
	buf_addf(&sh, "diff -r '%s' '%s'", ours, theirs);
	const char *diff_argv[] = { "sh", "-c", sh.data, NULL };
	if (run_capture(diff_argv, &out, 600000) != 0) {
		fprintf(stderr, "%s\n", out.data);
		die("the trees differ");
	}
	printf("patch series: %d patches, %zu hunks (%zu at an offset), %zu files\n", files,
	       st.hunks, st.offset_hunks, st.files);
	printf("  ptbuild (check all, then write): %.3f s\n", t_ours);
	printf("  git apply --check + git apply, per patch: %.3f s (%.1fx)\n", t_git,
	       t_git / (t_ours > 0 ? t_ours : 1e-9));
	printf("  trees identical\n");
	buf_reset(&sh);
	buf_addf(&sh, "rm -rf '%s'", tmpl);
	const char *rm_argv[] = { "sh", "-c", sh.data, NULL };
	run_capture(rm_argv, &out, 60000);
	for (int f = 0; f < files; f++) {
		free((char *)refs[f].name);
		free((char *)refs[f].path);
	}
	free(refs);
	buf_release(&sh);
	buf_release(&out);
	diags_release(&d);
	free(ours);
	free(theirs);
	free(pdir);
	return 0;
}
