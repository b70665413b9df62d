#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PTBUILD_SOURCE_DIR
#define PTBUILD_SOURCE_DIR "."
#endif

#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

char *tmpdir_make(const char *tag)
{
	const char *base = getenv("TMPDIR");
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/ptbuild-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	if (!mkdtemp(b.data))
		fail_msg("mkdtemp %s: %s", b.data, strerror(errno));
	return buf_detach(&b);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tmpdir_remove(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void write_text(const char *dir, const char *rel, const char *text)
{
	char *path = path_join(dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	free(path);
}

int shell_run(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	const char *argv[] = { "bash", "-c", cmd.data, NULL };
	struct buf scratch = BUF_INIT;
	int status = run_capture(argv, out ? out : &scratch, 120000);
	buf_release(&scratch);
	buf_release(&cmd);
	return status;
}

long loopback_server_start(const char *dir, const char *args, char **base_url)
{
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "python3 %s/tests/integration/fixtures/loopback_server.py %s --port-file %s/port "
		       ">/dev/null 2>&1 & echo $!", PTBUILD_SOURCE_DIR, args, dir);
	const char *argv[] = { "sh", "-c", cmd.data, NULL };
	struct buf out = BUF_INIT;
	if (run_capture(argv, &out, 10000) != 0)
		fail_msg("cannot start the loopback server: %s", out.data);
	long pid = strtol(out.data, NULL, 10);
	char *port_file = path_join(dir, "port");
	struct buf port = BUF_INIT;
	for (int i = 0; i < 400 && read_file(port_file, &port) < 0; i++)
		usleep(25000);
	if (!port.len)
		fail_msg("the loopback server did not start");
	struct buf url = BUF_INIT;
	buf_addf(&url, "http://127.0.0.1:%s", port.data);
	*base_url = buf_detach(&url);
	buf_release(&port);
	buf_release(&out);
	buf_release(&cmd);
	free(port_file);
	return pid;
}

char *diags_text(const struct diags *d)
{
	struct buf b = BUF_INIT;
	diags_render(d, &b, true);
	return buf_detach(&b);
}

void assert_contains_impl(const char *haystack, const char *needle, const char *file, int line)
{
	if (haystack && strstr(haystack, needle))
		return;
	print_error("%s:%d: expected to find:\n  %s\nin:\n%s\n", file, line, needle,
		    haystack ? haystack : "(null)");
	fail();
}

void assert_not_contains_impl(const char *haystack, const char *needle, const char *file, int line)
{
	if (!haystack || !strstr(haystack, needle))
		return;
	print_error("%s:%d: did not expect to find:\n  %s\nin:\n%s\n", file, line, needle, haystack);
	fail();
}
