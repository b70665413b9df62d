/*
 * A PEP 503 simple page, as pypi_sdist reads it (sources/pypi_source.c,
 * pypi_find_sdist), and the links on it made absolute (util/url.c, url_join). The first
 * line of the input is the page's URL, the rest the page; the sdist looked for is
 * pkg 1.0. A link found must be an absolute URL, its file name a file name, and its
 * sha256 empty or 64 hex digits (the cache keeps files under dist/<sha256>/).
 */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

#include "sources/pypi_source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *nl = strchr(text, '\n');
	const char *page_url = "https://pypi.org/simple/pkg/";
	const char *page = text;
	if (nl) {
		*nl = '\0';
		page_url = text;
		page = nl + 1;
	}
	struct pypi_link link = { 0 };
	struct buf seen = BUF_INIT;
	if (pypi_find_sdist(page, page_url, "pkg", "1.0", &link, &seen)) {
		if (!link.url || !link.file)
			fuzz_fail("a link found without its URL or file name", NULL);
		if (strchr(link.file, '/'))
			fuzz_fail("the file name of a link holds a '/'", link.file);
		size_t n = strlen(link.sha256);
		if (n && (n != 64 || strspn(link.sha256, "0123456789abcdef") != 64))
			fuzz_fail("the sha256 of a link is not 64 hex digits", link.sha256);
	}
	free(link.url);
	free(link.file);
	buf_release(&seen);
	free(text);
	return 0;
}
