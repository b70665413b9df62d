/*
 * URL resolution (util/url.c): the first line of the input is a base URL, the second a
 * relative one; both resolved as a submodule URL (url_resolve) and as a link on a page
 * (url_join), redacted (url_redact, text_redact) and named (url_mirror_name). Checked:
 * redaction leaves no "user:password@" of the input, and a mirror name is safe as a
 * file name.
 */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

#include "util/url.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *whole = fuzz_strndup(data, size);
	char *nl = strchr(text, '\n');
	const char *base = text, *rel = "";
	if (nl) {
		*nl = '\0';
		rel = nl + 1;
		char *nl2 = strchr(nl + 1, '\n');
		if (nl2)
			*nl2 = '\0';
	}
	free(url_resolve(base, rel));
	free(url_join(base, rel));
	char *redacted = url_redact(base);
	const char *scheme = strstr(redacted, "://");
	if (scheme) {
		const char *host = scheme + 3;
		const char *at = strchr(host, '@');
		const char *slash = strchr(host, '/');
		if (at && (!slash || at < slash) && strncmp(host, "***@", 4))
			fuzz_fail("url_redact left credentials", redacted);
	}
	free(redacted);
	free(text_redact(whole));
	char *name = url_mirror_name(base);
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		fuzz_fail("url_mirror_name is not a file name", name);
	free(name);
	free(text);
	free(whole);
	return 0;
}
