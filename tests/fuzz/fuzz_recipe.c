/* The bytes as a recipe file: the JSON reader, then recipe_load (model/recipe_load.c). */
#include "fuzz_util.h"

#include "model/recipe_load.h"
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
	if (jdoc_parse(&doc, "recipes/fuzz.json", (const char *)data, size, &d) == 0) {
		fuzz_check_roundtrip(&doc);
		struct recipe r;
		if (recipe_load(&r, &doc, &d) == 0)
			recipe_release(&r);
	}
	struct buf text = BUF_INIT;
	diags_render(&d, &text, true); /* messages quote the input: render them too */
	buf_release(&text);
	jdoc_release(&doc);
	diags_release(&d);
	return 0;
}
