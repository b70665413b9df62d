/*
 * Figures for the post-build wheel work on a real wheel (torch from PyPI in ci/test.sh):
 * the deterministic repack before (unpack, then libarchive's single-threaded zip writer) and
 * now (wheel_finish, members deflated on THREADS threads, default: the CPUs), whose bytes
 * must be the same, and verify (unpack, RECORD, tags, ELF headers of every .so) with 1 and
 * THREADS threads, side by side in one line.
 * usage: bench_wheel WHEEL [TMPDIR [THREADS]]
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

/* Before: unpack and libarchive's single-threaded writer (what wheel_finish did). */
static int repack_before(const char *wheel, const char *out, const char *tmp,
			 char hex[SHA256_HEX_SIZE], double *secs)
{
	struct diags d;
	diags_init(&d);
	make_dirs(out, 0755);
	make_dirs(tmp, 0755);
	char *dir = path_join(tmp, "before");
	char *dest = path_join(out, path_base(wheel));
	struct wheel_members m;
	double t0 = monotonic_seconds();
	int rc = wheel_unpack(wheel, dir, &m, &d);
	if (rc == 0)
		rc = wheel_pack_libarchive(dir, dest, 1700000000, &d);
	*secs = monotonic_seconds() - t0;
	if (rc == 0)
		sha256_file_hex(dest, hex);
	else
		diags_print(&d, stderr, false);
	wheel_members_release(&m);
	remove_tree(dir);
	free(dir);
	free(dest);
	diags_release(&d);
	return rc;
}

/* Now: wheel_finish, deflating `threads` members at a time. */
static int repack(const char *wheel, const char *out, const char *tmp, unsigned threads,
		  char hex[SHA256_HEX_SIZE], double *secs)
{
	struct diags d;
	diags_init(&d);
	make_dirs(out, 0755);
	struct finish_opts o = { .epoch = 1700000000, .tmp_dir = tmp, .threads = threads };
	struct finish_result r;
	double t0 = monotonic_seconds();
	int rc = wheel_finish(wheel, out, &o, &r, &d);
	*secs = monotonic_seconds() - t0;
	if (rc == 0) {
		char *path = path_join(out, r.file);
		sha256_file_hex(path, hex);
		printf("bench_wheel: repack with %u threads %.1f s -> %.1f MiB\n", threads, *secs,
		       r.size_after / 1048576.0);
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
		fprintf(stderr, "usage: bench_wheel WHEEL [TMPDIR [THREADS]]\n");
		return 2;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : ncpu > 1 ? (unsigned)ncpu : 2;
	if (threads < 1)
		threads = 1;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/bench-wheel-%ld", argc > 2 ? argv[2] : "/tmp", (long)getpid());
	char *a = path_join(tmp, "a"), *b = path_join(tmp, "b");
	char ha[SHA256_HEX_SIZE] = "", hb[SHA256_HEX_SIZE] = "";
	double s1 = 0, s2 = 0;
	struct stat st;
	stat(argv[1], &st);
	printf("bench_wheel: %s, %.1f MiB\n", argv[1], st.st_size / 1048576.0);
	int rc = repack_before(argv[1], a, tmp, ha, &s1);
	printf("bench_wheel: repack before (libarchive, 1 thread) %.1f s\n", s1);
	if (rc == 0)
		rc = repack(argv[1], b, tmp, threads, hb, &s2);
	if (rc == 0)
		printf("bench_wheel: the two repacks %s (%.16s...)\n",
		       strcmp(ha, hb) ? "DIFFER" : "are identical", ha);
	struct verify_expect x = { .machine = verify_host_machine(), .torch_abi = CXX_ABI_UNKNOWN,
				   .tmp_dir = tmp, .threads = 1 };
	struct verify_stats vs;
	struct diags d;
	diags_init(&d);
	double sv[2] = { 0, 0 };
	int findings = 0;
	for (int k = 0; k < 2; k++) { /* before: 1 thread; now: `threads` */
		x.threads = k ? threads : 1;
		diags_release(&d);
		diags_init(&d);
		double t0 = monotonic_seconds();
		findings = verify_wheel(argv[1], &x, &vs, &d);
		sv[k] = monotonic_seconds() - t0;
		printf("bench_wheel: verify with %u thread%s %.1f s: %zu members, %zu shared "
		       "objects, %d findings\n", x.threads, x.threads == 1 ? "" : "s", sv[k],
		       vs.members, vs.shared_objects, findings);
	}
	diags_print(&d, stdout, false);
	printf("bench wheel: repack 1 thread %.1f s, %u threads %.1f s; verify 1 thread %.1f s, "
	       "%u threads %.1f s; total before %.1f s, now %.1f s\n", s1, threads, s2, sv[0],
	       threads, sv[1], s1 + sv[0], s2 + sv[1]);
	double t0;
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
