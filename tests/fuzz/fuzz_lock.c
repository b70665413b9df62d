/*
 * The bytes as ptbuild.lock, read by lockfile_load (session/lockfile.c). A lock that reads
 * without an error is written back with lockfile_write and must read back to the same
 * bytes: what the writer writes, the reader takes, and writing is canonical.
 */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

#include "session/lockfile.h"
#include "util/os.h"

static char *in_path, *out_path;

static void release(void)
{
	free(in_path);
	free(out_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	in_path = fuzz_path("in.lock");
	out_path = fuzz_path("out.lock");
	atexit(release);
	return 0;
}

static void render_and_release(struct diags *d)
{
	struct buf text = BUF_INIT;
	diags_render(d, &text, true);
	buf_release(&text);
	diags_release(d);
}

static void check_roundtrip(const struct lockfile *l)
{
	struct diags d;
	diags_init(&d);
	if (lockfile_write(l, out_path, &d) < 0)
		fuzz_fail("a lock that was read cannot be written", NULL);
	struct buf first = BUF_INIT, second = BUF_INIT;
	if (read_file(out_path, &first) < 0)
		fuzz_fail("the written lock cannot be read as a file", NULL);
	fuzz_check_utf8(first.data, "the written lock is not UTF-8");
	struct lockfile again;
	if (lockfile_load(&again, out_path, &d) != 1 || d.nerrors) {
		buf_addf(&first, "\n");
		diags_render(&d, &first, true);
		fuzz_fail("the lock the writer wrote does not read back", first.data);
	}
	if (lockfile_write(&again, out_path, &d) < 0 || read_file(out_path, &second) < 0)
		fuzz_fail("the lock read back cannot be written", NULL);
	if (first.len != second.len || memcmp(first.data, second.data, first.len))
		fuzz_fail("writing the lock read back changes it", second.data);
	lockfile_release(&again);
	buf_release(&first);
	buf_release(&second);
	diags_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write(in_path, data, size);
	struct diags d;
	diags_init(&d);
	struct lockfile l;
	if (lockfile_load(&l, in_path, &d) == 1 && !d.nerrors)
		check_roundtrip(&l);
	render_and_release(&d); /* first: the diagnostics point into the lock's document */
	lockfile_release(&l);
	return 0;
}
