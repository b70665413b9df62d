/* Helpers of the fuzz targets: a private directory, writing inputs there, checks. */
#include "fuzz_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/os.h"
#include "util/xalloc.h"

static char *dir;

static void remove_dir(void)
{
	if (dir)
		remove_tree(dir);
	free(dir);
	dir = NULL;
}

const char *fuzz_dir(void)
{
	if (dir)
		return dir;
	const char *base = getenv("TMPDIR");
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/ptbuild-fuzz-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(b.data)) {
		fprintf(stderr, "fuzz: mkdtemp %s: %s\n", b.data, strerror(errno));
		abort();
	}
	dir = buf_detach(&b);
	atexit(remove_dir);
	return dir;
}

char *fuzz_path(const char *rel)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/%s", fuzz_dir(), rel);
	return buf_detach(&b);
}

void fuzz_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

void fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz: %s\n%s%s", what, detail ? detail : "", detail ? "\n" : "");
	abort();
}

void fuzz_check_utf8(const char *s, const char *what)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq((const unsigned char *)s + i, len - i);
		if (!n)
			fuzz_fail(what, s);
		i += n;
	}
}

void fuzz_check_roundtrip(const struct jdoc *doc)
{
	char *once = jnode_compact(&doc->root);
	fuzz_check_utf8(once, "the canonical form is not UTF-8");
	struct diags d;
	diags_init(&d);
	struct jdoc again;
	if (jdoc_parse(&again, "(canonical)", once, strlen(once), &d) < 0) {
		char *why = NULL;
		struct buf b = BUF_INIT;
		diags_render(&d, &b, true);
		buf_addf(&b, "canonical form: %s", once);
		why = buf_detach(&b);
		fuzz_fail("the canonical form does not read back", why);
	}
	char *twice = jnode_compact(&again.root);
	if (strcmp(once, twice))
		fuzz_fail("the canonical form changes when read back", twice);
	free(twice);
	jdoc_release(&again);
	diags_release(&d);
	free(once);
}
