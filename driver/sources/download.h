/*
 * Downloads with libcurl into the cache, by digest: retries with backoff on transient
 * failures, a connect and a transfer timeout, the sha256 checked before anything is kept
 * (cache/dist/<sha256>/<file name>). This module is the only one that includes <curl/curl.h>.
 */
#ifndef PTBUILD_DOWNLOAD_H
#define PTBUILD_DOWNLOAD_H

#include <stdbool.h>

#include "sources/mirrors.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/hash.h"

struct download_opts {
	const char *cache_dir;          /* files go to cache_dir/dist/<sha256>/ */
	bool offline;                   /* --frozen or --offline: the cache only */
	const char *offline_flag;       /* which of them, for messages; NULL: "--frozen" */
	const struct mirrors *mirrors;  /* URL rewrites, or NULL */
	int retries;                    /* extra attempts after a transient failure (default 3) */
	long connect_timeout_s;         /* default 30 */
	long low_speed_timeout_s;       /* abort below 1 KiB/s for this long (default 60) */
};

/*
 * Makes sure the file at `url` with digest `sha256` is in the cache; *path gets its path
 * (caller frees). A digest mismatch, HTTP error, timeout or refused connection is an
 * error naming the URL (credentials redacted), and nothing is kept.
 */
int download_verified(const struct download_opts *o, const char *url, const char *sha256,
		      char **path, struct diags *d);

/* The name a download of `url` is kept under: its last path component, without query. */
char *download_file_name(const char *url);

/* Reads a small document (an index page) into `out`, with the same retries and errors. */
int download_page(const struct download_opts *o, const char *url, struct buf *out,
		  struct diags *d);

/* ---- plain HTTP requests, for the remote output cache (build/remote_cache.h) ------------- */

struct http_opts {
	long timeout_s;            /* connect timeout, and a stall (under 1 byte/s) this long
				      aborts the transfer; 0: 30 */
	int retries;               /* extra attempts after a transient failure */
	const char *bearer_token;  /* "Authorization: Bearer <token>", or NULL */
	const char *netrc_file;    /* credentials from this netrc ($NETRC), NULL: ~/.netrc;
				      used when the URL has none (optional) */
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_PUT };

/*
 * One request with bounded retries (0.2 s, 0.4 s, ... between attempts; connection errors,
 * timeouts and 5xx are transient): GET into the file `file` (its sha256 into `hex`) or into
 * `mem`, HEAD, or PUT of the file `file`. Returns 0 on 2xx, 1 on 404 or 410 (nothing there),
 * -1 on any other failure with `*why` saying what (credentials redacted; caller frees).
 * *status gets the last HTTP status (0 when there was no answer).
 */
int http_request(const struct http_opts *o, enum http_method m, const char *url,
		 const char *file, struct buf *mem, char hex[SHA256_HEX_SIZE], long *status,
		 char **why);

#endif
