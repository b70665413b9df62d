/*
 * The shared output cache over HTTP: URL/<key>/manifest.json and URL/<key>/<wheel>, the
 * same files as a local entry (<cache>/out/<key>/, build/outcache.h). A writer PUTs the
 * wheels first and the manifest last, so a reader that finds a manifest finds its wheels;
 * wheels without a manifest are a miss. A reader checks each wheel's size and sha256
 * against the manifest and enters the entry locally (staged directory + rename, and the
 * state record), as if it had been built here.
 *
 * The remote is an optimisation, never a requirement: a refused connection, a timeout or an
 * HTTP error is a warning naming the URL (credentials redacted), after which the cache is
 * not asked again in this run (one warning, not one per variant), and the build goes on
 * locally. Read-only: downloads only, never a PUT (untrusted runners).
 */
#ifndef PTBUILD_REMOTE_CACHE_H
#define PTBUILD_REMOTE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "build/outcache.h"
#include "session/fleet_config.h"
#include "sources/download.h"
#include "util/diag.h"

struct remote_cache {
	char *url;            /* owned, no trailing "/"; NULL: no remote cache */
	char *shown;          /* owned: `url` redacted, for every message */
	bool read_only;
	struct http_opts http;
	bool down;            /* a request failed: not asked again in this run */
	size_t hits, uploads, failures;
};

/* From the fleet config (and PTBUILD_REMOTE_CACHE_TOKEN, PTBUILD_REMOTE_TIMEOUT, $NETRC).
 * A URL that is not http(s) is an error (-1, input); none configured: 0 and url NULL. */
int remote_cache_init(struct remote_cache *rc, const struct fleet_config *fc, struct diags *d);
void remote_cache_release(struct remote_cache *rc);

/* URL/<key>/<file> (file NULL: URL/<key>/); caller frees. */
char *remote_cache_url_of(const char *base, const char *key, const char *file);

/*
 * Looks `key` up; on a hit downloads and checks its wheels, enters the entry into
 * <cache_dir>/out/<key>/ and (with `work_dir`) its state record, fills `rec` and returns 1.
 * 0 on a miss or a refused entry (a warning in `d` says which; *refused set when the remote
 * entry was bad and should be replaced), never an error.
 */
int remote_cache_fetch(struct remote_cache *rc, const char *cache_dir, const char *work_dir,
		       const char *key, struct build_record *rec, bool *refused, struct diags *d);

/*
 * Uploads the local entry of `key` unless the remote has its manifest already (`replace`:
 * upload anyway, over a refused one). 1 uploaded, 0 nothing to do (read-only, down, there
 * already), -1 failed (a warning in `d`).
 */
int remote_cache_publish(struct remote_cache *rc, const char *cache_dir, const char *key,
			 bool replace, struct diags *d);

#endif
