/* Source URLs: relative submodule URLs resolved as git does, and credentials redacted. */
#ifndef PTBUILD_URL_H
#define PTBUILD_URL_H

/*
 * Resolves a submodule URL against its superproject's URL the way git does: each leading
 * "../" drops one path component of `base` (the superproject's own name first), "./" none.
 * Works for scheme URLs (https://, file://, git://), scp-like (git@host:org/x.git) and plain
 * paths; libgit2 1.5 gets file:// and scp-like bases wrong, hence this. An absolute `rel`
 * is returned as it is. Caller frees.
 */
char *url_resolve(const char *base, const char *rel);

/* A link `href` found on the page at `base` made absolute, as a browser would (RFC 3986
 * reference resolution for the forms index pages use). Caller frees. */
char *url_join(const char *base, const char *href);

/* `url` with any "user:password@" replaced by "***@", for messages, logs and the lock (the
 * userinfo ends at the authority's last "@": a password may hold one). */
char *url_redact(const char *url);

/* `text` (a message that may quote URLs) with every URL's credentials replaced by "***". */
char *text_redact(const char *text);

/* A filesystem-safe name for the mirror of `url`: "<last component>-<12 hex of sha256>". */
char *url_mirror_name(const char *url);

#endif
