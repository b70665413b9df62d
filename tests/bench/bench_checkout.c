/*
 * Benchmark: checking out another tag of a superproject with nested submodules from warm
 * mirrors, against `git clone --recursive` of the same tag, and an incremental mirror
 * update when nothing changed. Prints figures; asserts only that the work succeeded.
 * usage: bench_checkout FIXTURES_SCRIPT [--http]
 *   file:// by default; --http serves the fixtures over smart HTTP on loopback
 *   (tests/integration/fixtures/loopback_server.py, beside the fixtures script).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/git_source.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

#define RUNS 5

static int sh(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct buf out = BUF_INIT;
	int status = run_capture(argv, &out, 300000);
	if (status != 0)
		fprintf(stderr, "`%s` exited %d:\n%s\n", cmd, status, out.data);
	buf_release(&out);
	return status;
}

static long server; /* pid of the loopback server, or 0 */

static void stop_server(void)
{
	if (server > 0)
		kill((pid_t)server, SIGTERM);
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
			double t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return v[n / 2];
}

int main(int argc, char **argv)
{
	if (argc < 2 || (argc > 2 && strcmp(argv[2], "--http"))) {
		fprintf(stderr, "usage: bench_checkout FIXTURES_SCRIPT [--http]\n");
		return 2;
	}
	bool http = argc > 2;
	char tmpl[] = "/tmp/ptbuild-bench-checkout-XXXXXX";
	char *root = mkdtemp(tmpl);
	if (!root)
		return 3;
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/repos", root);
	char *repos = buf_detach(&b);
	make_dirs(repos, 0755);
	if (http) {
		char *dir = xstrdup(argv[1]);
		*strrchr(dir, '/') = '\0';
		buf_addf(&b, "python3 %s/loopback_server.py --git-root %s --port-file %s/port "
			  ">/dev/null 2>&1 & echo $!", dir, repos, root);
		const char *sargv[] = { "sh", "-c", b.data, NULL };
		struct buf pid = BUF_INIT;
		run_capture(sargv, &pid, 10000);
		server = strtol(pid.data, NULL, 10);
		atexit(stop_server); /* on every exit path, failures included */
		buf_release(&pid);
		free(dir);
		buf_reset(&b);
		buf_addf(&b, "%s/port", root);
		struct buf port = BUF_INIT;
		for (int i = 0; i < 200 && read_file(b.data, &port) < 0; i++)
			usleep(25000);
		buf_reset(&b);
		buf_addf(&b, "http://127.0.0.1:%s/git", port.data);
		buf_release(&port);
	} else {
		buf_addf(&b, "file://%s", repos);
	}
	char *base = buf_detach(&b);
	buf_addf(&b, "%s %s %s >/dev/null", argv[1], repos, base);
	if (sh(b.data))
		return 1;
	buf_reset(&b);
	buf_addf(&b, "%s/top.git", base);
	char *url = buf_detach(&b);
	char *cache = path_join(root, "cache");
	struct git_opts online = { .cache_dir = cache }, offline = { .cache_dir = cache, .offline = true };
	struct diags d;
	diags_init(&d);
	struct git_tree_result r;
	char *warm = path_join(root, "warm");
	if (git_fetch_tree(&online, url, "v1.0", true, NULL, 0, warm, &r, &d) < 0) {
		diags_print(&d, stderr, false);
		return 1;
	}
	git_tree_result_release(&r);

	double t_offline[RUNS], t_online[RUNS], t_clone[RUNS], t_update[RUNS];
	for (int i = 0; i < RUNS; i++) {
		struct buf dest = BUF_INIT;
		buf_addf(&dest, "%s/off-%d", root, i);
		double t0 = monotonic_seconds();
		int rc = git_fetch_tree(&offline, url, "v1.1", true, NULL, 0, dest.data, &r, &d);
		t_offline[i] = monotonic_seconds() - t0;
		git_tree_result_release(&r);
		buf_reset(&dest);
		buf_addf(&dest, "%s/on-%d", root, i);
		t0 = monotonic_seconds();
		rc |= git_fetch_tree(&online, url, "v1.1", true, NULL, 0, dest.data, &r, &d);
		t_online[i] = monotonic_seconds() - t0;
		git_tree_result_release(&r);
		char *mirror = NULL;
		t0 = monotonic_seconds();
		rc |= git_mirror_update(&online, url, &mirror, &d);
		t_update[i] = monotonic_seconds() - t0;
		free(mirror);
		buf_reset(&dest);
		buf_addf(&dest, "cd %s && GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=protocol.file.allow "
			  "GIT_CONFIG_VALUE_0=always GIT_CONFIG_KEY_1=advice.detachedHead "
			  "GIT_CONFIG_VALUE_1=false git clone -q --recursive -b v1.1 %s clone-%d",
			  root, url, i);
		t0 = monotonic_seconds();
		rc |= sh(dest.data);
		t_clone[i] = monotonic_seconds() - t0;
		buf_release(&dest);
		if (rc) {
			diags_print(&d, stderr, false);
			return 1;
		}
	}
	double off = median(t_offline, RUNS), on = median(t_online, RUNS);
	double clone = median(t_clone, RUNS), upd = median(t_update, RUNS);
	printf("checkout bench: superproject + 5 submodules (2 levels), tag v1.1, %s, median of %d\n",
	       strncmp(url, "http", 4) ? "file://" : "smart HTTP on loopback", RUNS);
	printf("  ptbuild, warm mirrors, no network:         %.4f s\n", off);
	printf("  ptbuild, warm mirrors, each one updated:   %.4f s\n", on);
	printf("  git clone --recursive:                     %.4f s\n", clone);
	printf("  ratio clone / ptbuild: %.1fx (no network), %.1fx (with updates); target >= 5x\n",
	       clone / off, clone / on);
	printf("  incremental mirror update, nothing new:    %.4f s\n", upd);
	buf_reset(&b);
	buf_addf(&b, "rm -rf %s", root);
	sh(b.data);
	free(warm);
	free(cache);
	free(url);
	free(base);
	free(repos);
	diags_release(&d);
	return 0;
}
