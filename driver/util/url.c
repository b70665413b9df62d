#include "util/url.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/xalloc.h"

/* Length of the part of `url` that "../" never removes: "scheme://host" or "host:". */
static size_t root_len(const char *url)
{
	const char *scheme = strstr(url, "://");
	if (scheme) {
		const char *path = strchr(scheme + 3, '/');
		return path ? (size_t)(path - url) : strlen(url);
	}
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash)) /* scp-like: git@host:org/x.git */
		return (size_t)(colon - url) + 1;
	return 0;
}

static bool is_absolute(const char *url)
{
	if (url[0] == '/' || strstr(url, "://"))
		return true;
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	return colon && (!slash || colon < slash);
}

char *url_resolve(const char *base, const char *rel)
{
	if (is_absolute(rel) || (strncmp(rel, "./", 2) && strncmp(rel, "../", 3)))
		return xstrdup(rel);
	struct buf b = BUF_INIT;
	buf_adds(&b, base);
	while (b.len && b.data[b.len - 1] == '/')
		buf_truncate(&b, b.len - 1);
	size_t root = root_len(b.data);
	for (;;) {
		if (!strncmp(rel, "./", 2)) {
			rel += 2;
		} else if (!strncmp(rel, "../", 3)) {
			rel += 3;
			size_t cut = b.len;
			while (cut > root && b.data[cut - 1] != '/')
				cut--;
			/* keep "host:" of scp-like URLs and "/" of paths; drop the slash itself */
			while (cut > root && b.data[cut - 1] == '/')
				cut--;
			buf_truncate(&b, cut);
		} else {
			break;
		}
	}
	if (b.len && b.data[b.len - 1] != ':')
		buf_addch(&b, '/');
	buf_adds(&b, rel);
	return buf_detach(&b);
}

char *url_redact(const char *url)
{
	const char *scheme = strstr(url, "://");
	if (!scheme)
		return xstrdup(url);
	const char *host = scheme + 3;
	/* the userinfo ends at the authority's last "@" (a password may hold an "@", and a
	 * raw one "?" or "#": redact up to the path rather than leak) */
	size_t span = strcspn(host, "/");
	const char *at = NULL;
	for (size_t i = 0; i < span; i++)
		if (host[i] == '@')
			at = host + i;
	if (!at)
		return xstrdup(url);
	struct buf b = BUF_INIT;
	buf_add(&b, url, (size_t)(host - url));
	buf_adds(&b, "***");
	buf_adds(&b, at);
	return buf_detach(&b);
}

char *text_redact(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text;
	for (;;) {
		const char *scheme = strstr(p, "://");
		if (!scheme) {
			buf_adds(&b, p);
			break;
		}
		const char *host = scheme + 3;
		size_t span = strcspn(host, "/ \t\n'\"");
		const char *at = NULL;
		for (size_t i = 0; i < span; i++)
			if (host[i] == '@')
				at = host + i;
		buf_add(&b, p, (size_t)(host - p));
		if (at) {
			buf_adds(&b, "***");
			p = at;
		} else {
			p = host;
		}
	}
	return buf_detach(&b);
}

char *url_mirror_name(const char *url)
{
	char hex[SHA256_HEX_SIZE];
	sha256_hex(url, strlen(url), hex);
	size_t end = strlen(url);
	while (end && url[end - 1] == '/')
		end--;
	size_t start = end;
	while (start && url[start - 1] != '/' && url[start - 1] != ':')
		start--;
	struct buf b = BUF_INIT;
	for (size_t i = start; i < end; i++) {
		char c = url[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_' || c == '.';
		buf_addch(&b, ok ? c : '_');
	}
	if (b.len > 4 && !strcmp(b.data + b.len - 4, ".git"))
		buf_truncate(&b, b.len - 4);
	if (!b.len)
		buf_adds(&b, "repo");
	buf_addf(&b, "-%.12s", hex);
	return buf_detach(&b);
}

char *url_join(const char *base, const char *href)
{
	if (strstr(href, "://") && strcspn(href, "/") > strcspn(href, ":"))
		return xstrdup(href);
	const char *scheme = strstr(base, "://");
	struct buf b = BUF_INIT;
	if (!strncmp(href, "//", 2) && scheme) {
		buf_add(&b, base, (size_t)(scheme - base) + 1);
		buf_adds(&b, href);
		return buf_detach(&b);
	}
	if (href[0] == '/' && scheme) {
		const char *path = strchr(scheme + 3, '/');
		buf_add(&b, base, path ? (size_t)(path - base) : strlen(base));
		buf_adds(&b, href);
		return buf_detach(&b);
	}
	size_t end = strcspn(base, "?#");
	while (end && base[end - 1] != '/')
		end--;
	char *dir = xstrndup(base, end);
	buf_adds(&b, "./");
	buf_adds(&b, href);
	char *joined = url_resolve(dir, b.data);
	free(dir);
	buf_release(&b);
	return joined;
}
