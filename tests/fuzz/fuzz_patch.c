/* The bytes as a patch file, read by patch_parse (sources/patch_parse.c: libgit2's diff
 * parser behind ours, traditional unified diffs given git headers first). */
#include "fuzz_util.h"

#include "sources/patch_parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d;
	diags_init(&d);
	struct patch p;
	if (patch_parse(&p, "patches/fuzz.patch", (const char *)data, size, &d) == 0) {
		/* Touch every line, as patch_apply does. */
		size_t bytes = 0;
		for (size_t i = 0; i < p.ndeltas; i++) {
			const struct patch_delta *delta = &p.deltas[i];
			if (!delta->old_path || !delta->new_path)
				fuzz_fail("a delta without its paths", NULL);
			for (size_t h = 0; h < delta->nhunks; h++)
				for (size_t k = 0; k < delta->hunks[h].nlines; k++) {
					const struct patch_line *line = &delta->hunks[h].lines[k];
					for (size_t c = 0; c < line->len; c++)
						bytes += (unsigned char)line->text[c];
				}
			for (size_t c = 0; c < delta->binary_data.len; c++)
				bytes += (unsigned char)delta->binary_data.data[c];
		}
		(void)bytes;
	}
	patch_release(&p);
	struct buf text = BUF_INIT;
	diags_render(&d, &text, true);
	buf_release(&text);
	diags_release(&d);
	return 0;
}
