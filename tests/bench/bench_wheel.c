/*
 * Figures for the post-build wheel work on a real wheel (torch from PyPI in ci/test.sh):
 * the deterministic repack (wheel_finish: unpack, stamp, pack), done twice to show the
 * bytes are the same, and verify (unpack, RECORD, tags, ELF headers of every .so).
 * usage: bench_wheel WHEEL [TMPDIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wheels/finish.h"
#include "util/hash.h"
#include "util/os.h"
#include "wheels/verify.h"
#include "wheels/wheel.h"

static int repack(const char *wheel, const char *out, const char *tmp, char hex[SHA256_HEX_SIZE],
		  double *secs)
{
	struct diags d;
	diags_init(&d);
	make_dirs(out, 0755);
	struct finish_opts o = { .epoch = 1700000000, .tmp_dir = tmp };
	struct finish_result r;
	double t0 = monotonic_seconds();
	int rc = wheel_finish(wheel, out, &o, &r, &d);
	*secs = monotonic_seconds() - t0;
	if (rc == 0) {
		char *path = path_join(out, r.file);
		sha256_file_hex(path, hex);
		printf("bench_wheel: repack %.1f s -> %.1f MiB\n", *secs, r.size_after / 1048576.0);
		free(path);
		finish_result_release(&r);
	} else {
		diags_print(&d, stderr, false);
	}
	diags_release(&d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_wheel WHEEL [TMPDIR]\n");
		return 2;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/bench-wheel-%ld", argc > 2 ? argv[2] : "/tmp", (long)getpid());
	char *a = path_join(tmp, "a"), *b = path_join(tmp, "b");
	char ha[SHA256_HEX_SIZE] = "", hb[SHA256_HEX_SIZE] = "";
	double s1 = 0, s2 = 0;
	struct stat st;
	stat(argv[1], &st);
	printf("bench_wheel: %s, %.1f MiB\n", argv[1], st.st_size / 1048576.0);
	int rc = repack(argv[1], a, tmp, ha, &s1);
	if (rc == 0)
		rc = repack(argv[1], b, tmp, hb, &s2);
	if (rc == 0)
		printf("bench_wheel: two repacks %s (%.16s...)\n",
		       strcmp(ha, hb) ? "DIFFER" : "are identical", ha);
	struct verify_expect x = { .machine = verify_host_machine(), .torch_abi = CXX_ABI_UNKNOWN,
				   .tmp_dir = tmp };
	struct verify_stats vs;
	struct diags d;
	diags_init(&d);
	double t0 = monotonic_seconds();
	int findings = verify_wheel(argv[1], &x, &vs, &d);
	printf("bench_wheel: verify %.1f s: %zu members, %zu shared objects, %d findings\n",
	       monotonic_seconds() - t0, vs.members, vs.shared_objects, findings);
	diags_print(&d, stdout, false);
	/* what collect reads of each wheel for the index (PEP 658): the METADATA member only */
	struct buf meta = BUF_INIT;
	t0 = monotonic_seconds();
	int mrc = wheel_read_metadata(argv[1], &meta, &d);
	printf("bench_wheel: core metadata %.3f s: %zu bytes%s\n", monotonic_seconds() - t0,
	       meta.len, mrc < 0 ? " (FAILED)" : "");
	buf_release(&meta);
	diags_release(&d);
	remove_tree(tmp);
	free(a);
	free(b);
	return rc == 0 && mrc == 0 && !strcmp(ha, hb) ? 0 : 1;
}
