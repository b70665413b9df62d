#include "build/remote_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/settings.h"
#include "util/staged.h"
#include "util/strutil.h"
#include "util/url.h"
#include "util/xalloc.h"

#define REMOTE_RETRIES 2 /* extra attempts after a transient failure */

int remote_cache_init(struct remote_cache *rc, const struct fleet_config *fc, struct diags *d)
{
	memset(rc, 0, sizeof(*rc));
	const char *url = fc->remote_cache_url;
	if (!url)
		return 0;
	if (!starts_with(url, "http://") && !starts_with(url, "https://")) {
		char *shown = url_redact(url);
		diag_error(d, NULL, "the remote cache URL \"%s\" is not http:// or https://", shown);
		diag_hint(d, "set PTBUILD_REMOTE_CACHE, --remote-cache or \"remote_cache\".\"url\" "
			     "of the config file to the server's URL (docs/building.md)");
		free(shown);
		return -1;
	}
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	rc->url = xstrndup(url, n);
	rc->shown = url_redact(rc->url);
	rc->read_only = fc->remote_read_only;
	rc->http.retries = REMOTE_RETRIES;
	const char *t = setting_remote_timeout();
	rc->http.timeout_s = t && atol(t) > 0 ? atol(t) : 30;
	rc->http.bearer_token = setting_remote_cache_token();
	rc->http.netrc_file = setting_netrc();
	return 0;
}

void remote_cache_release(struct remote_cache *rc)
{
	free(rc->url);
	free(rc->shown);
	memset(rc, 0, sizeof(*rc));
}

char *remote_cache_url_of(const char *base, const char *key, const char *file)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	buf_add(&b, base, n);
	buf_addf(&b, "/%s/%s", key, file ? file : "");
	return buf_detach(&b);
}

/* The first failure of a run: said once, and the remote is not asked again. */
static void went_down(struct remote_cache *rc, const char *what, const char *url,
		      const char *why, struct diags *d)
{
	char *shown = url_redact(url);
	rc->failures++;
	rc->down = true;
	diag_warn(d, NULL, "remote cache: cannot %s %s: %s", what, shown, why);
	diag_hint(d, "the remote cache %s is not used for the rest of this run; the build goes "
		     "on with the local cache", rc->shown);
	free(shown);
}

static bool plain_name(const char *f)
{
	return f && *f && !strchr(f, '/') && strcmp(f, ".") && strcmp(f, "..") &&
	       strcmp(f, "manifest.json");
}

/* A refused entry: a warning, and the variant is built (and published over it). */
static int refuse(struct remote_cache *rc, bool *refused, const char *url, const char *key,
		  const char *why, struct diags *d)
{
	char *shown = url_redact(url);
	rc->failures++;
	*refused = true;
	diag_warn(d, NULL, "remote cache: refused %s: %s", shown, why);
	diag_hint(d, "nothing of it was kept; the variant of key %.16s is built here (and its "
		     "entry uploaded again unless read-only)", key);
	free(shown);
	return 0;
}

int remote_cache_fetch(struct remote_cache *rc, const char *cache_dir, const char *work_dir,
		       const char *key, struct build_record *rec, bool *refused, struct diags *d)
{
	memset(rec, 0, sizeof(*rec));
	*refused = false;
	if (!rc->url || rc->down)
		return 0;
	char *murl = remote_cache_url_of(rc->url, key, "manifest.json");
	char *final = out_entry_dir(cache_dir, key);
	struct staged_dir sd = { 0 };
	struct buf text = BUF_INIT;
	char hex[SHA256_HEX_SIZE];
	long status;
	char *why = NULL;
	int hit = 0;
	int r = http_request(&rc->http, HTTP_GET, murl, NULL, &text, hex, &status, &why);
	if (r != 0) {
		if (r < 0)
			went_down(rc, "read", murl, why, d);
		goto out; /* 404: a miss (wheels without a manifest are one too) */
	}
	struct diags pd;
	diags_init(&pd);
	make_dirs(cache_dir, 0755);
	char *out_root = path_join(cache_dir, "out");
	make_dirs(out_root, 0755);
	free(out_root);
	if (staged_dir_begin(&sd, final, "remote cache entry", &pd) < 0) {
		diags_release(&pd);
		goto out; /* there already (another process): the caller's next look finds it */
	}
	char *mtmp = path_join(sd.tmp, "manifest.remote");
	int lrc = write_file_atomic(mtmp, text.data, text.len) < 0 ? -1
		  : build_record_load(mtmp, rec, &pd);
	unlink(mtmp);
	free(mtmp);
	if (lrc < 0) {
		refuse(rc, refused, murl, key, pd.n ? pd.v[0].msg : "it cannot be read", d);
		diags_release(&pd);
		goto out;
	}
	diags_release(&pd);
	if (strcmp(rec->key, key) || !rec->nwheels) {
		refuse(rc, refused, murl, key, strcmp(rec->key, key) ? "it is the manifest of another key"
			: "it lists no wheel", d);
		goto out;
	}
	bool ok = true;
	for (size_t i = 0; i < rec->nwheels && ok; i++) {
		const struct out_wheel *w = &rec->wheels[i];
		if (!plain_name(w->file) || strlen(w->sha256) != 64) {
			refuse(rc, refused, murl, key, "it names a wheel that is not a file name or "
			       "lacks a sha256", d);
			ok = false;
			break;
		}
		char *wurl = remote_cache_url_of(rc->url, key, w->file);
		char *path = path_join(sd.tmp, w->file);
		free(why);
		why = NULL;
		r = http_request(&rc->http, HTTP_GET, wurl, path, NULL, hex, &status, &why);
		struct stat st = { 0 };
		if (r < 0) {
			went_down(rc, "download", wurl, why, d);
			ok = false;
		} else if (r > 0) {
			refuse(rc, refused, wurl, key, "the manifest lists it, the server has no such "
			       "file (HTTP 404)", d);
			ok = false;
		} else if (stat(path, &st) < 0 || (uint64_t)st.st_size != w->size) {
			struct buf b = BUF_INIT;
			buf_addf(&b, "it has %lld bytes, the manifest says %llu",
				 (long long)st.st_size, (unsigned long long)w->size);
			refuse(rc, refused, wurl, key, b.data, d);
			buf_release(&b);
			ok = false;
		} else if (strcmp(hex, w->sha256)) {
			struct buf b = BUF_INIT;
			buf_addf(&b, "its sha256 is %s, the manifest says %s", hex, w->sha256);
			refuse(rc, refused, wurl, key, b.data, d);
			buf_release(&b);
			ok = false;
		}
		free(wurl);
		free(path);
	}
	if (!ok)
		goto out;
	/* the manifest last, then the whole entry by rename: as a local build enters one */
	char *manifest = path_join(sd.tmp, "manifest.json");
	struct diags cd;
	diags_init(&cd);
	if (write_file_atomic(manifest, text.data, text.len) == 0 &&
	    staged_dir_commit(&sd, "remote cache entry", &cd) == 0) {
		hit = 1;
		rc->hits++;
	}
	diags_release(&cd);
	free(manifest);
	if (hit && work_dir) {
		/* the state record, where explain and report read the last build */
		char *state = state_record_path(work_dir, rec->recipe, rec->variant);
		make_parents(state);
		write_file_atomic(state, text.data, text.len);
		free(state);
	}
out:
	if (!hit)
		build_record_release(rec);
	staged_dir_abort(&sd);
	buf_release(&text);
	free(why);
	free(final);
	free(murl);
	return hit;
}

int remote_cache_publish(struct remote_cache *rc, const char *cache_dir, const char *key,
			 bool replace, struct diags *d)
{
	if (!rc->url || rc->down || rc->read_only)
		return 0;
	char *murl = remote_cache_url_of(rc->url, key, "manifest.json");
	char *dir = out_entry_dir(cache_dir, key);
	char *manifest = path_join(dir, "manifest.json");
	struct build_record rec = { 0 };
	char hex[SHA256_HEX_SIZE];
	long status;
	char *why = NULL;
	int result = 0;
	struct diags ld;
	diags_init(&ld);
	if (build_record_load(manifest, &rec, &ld) < 0)
		goto out; /* no whole local entry: nothing to share */
	int r = replace ? 1 : http_request(&rc->http, HTTP_HEAD, murl, NULL, NULL, hex, &status,
					   &why);
	if (r < 0) {
		went_down(rc, "read", murl, why, d);
		result = -1;
		goto out;
	}
	if (r == 0)
		goto out; /* the remote has it */
	/* the wheels first, the manifest last: it is the commit marker */
	for (size_t i = 0; i <= rec.nwheels; i++) {
		const char *file = i < rec.nwheels ? rec.wheels[i].file : "manifest.json";
		char *url = remote_cache_url_of(rc->url, key, file);
		char *path = path_join(dir, file);
		free(why);
		why = NULL;
		r = http_request(&rc->http, HTTP_PUT, url, path, NULL, hex, &status, &why);
		if (r != 0)
			went_down(rc, "upload to", url, why ? why : "HTTP 404", d);
		free(url);
		free(path);
		if (r != 0) {
			result = -1;
			goto out;
		}
	}
	rc->uploads++;
	result = 1;
out:
	diags_release(&ld);
	build_record_release(&rec);
	free(why);
	free(manifest);
	free(dir);
	free(murl);
	return result;
}
