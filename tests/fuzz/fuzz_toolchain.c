/* The bytes as a toolchain file: the JSON reader, then toolchain_load. */
#include "fuzz_util.h"

#include "model/toolchain_load.h"
#include "util/json.h"

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
	struct jdoc doc;
	if (jdoc_parse(&doc, "toolchains/fuzz.json", (const char *)data, size, &d) == 0) {
		fuzz_check_roundtrip(&doc);
		struct toolchain t;
		size_t before = d.nerrors;
		if (toolchain_load(&t, &doc, &d) == 0) {
			/* kept (maybe with errors recorded): always with its name, and an
			 * empty one is an error */
			if (!t.name)
				fuzz_fail("toolchain_load kept a toolchain without a name", NULL);
			if (!*t.name && d.nerrors == before)
				fuzz_fail("toolchain_load took an empty name without an error", NULL);
			toolchain_release(&t);
		} else if (d.nerrors == before) {
			/* refused: every bad input gets a message that says what is wrong */
			fuzz_fail("toolchain_load refused the input without an error", NULL);
		}
	}
	struct buf text = BUF_INIT;
	diags_render(&d, &text, true); /* messages quote the input: render them too */
	buf_release(&text);
	jdoc_release(&doc);
	diags_release(&d);
	return 0;
}
