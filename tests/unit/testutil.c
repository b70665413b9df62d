#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
