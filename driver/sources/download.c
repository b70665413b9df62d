#include "sources/download.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/url.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/hash.h"
#include "util/os.h"
#include "util/xalloc.h"

/* Where a transfer goes: a file (hashed on the way) or memory. */
struct sink {
	FILE *f;
	struct buf *mem;
	struct sha256 h;
	int write_errno; /* why the file could not be written (ENOSPC), 0 when it could */
	size_t written;
};

static size_t write_cb(char *data, size_t size, size_t n, void *user)
{
	struct sink *s = user;
	size_t len = size * n;
	if (s->mem) {
		buf_add(s->mem, data, len);
		return len;
	}
	sha256_update(&s->h, data, len);
	size_t put = fwrite(data, 1, len, s->f);
	/* stdio buffers: a full disk may show only at the flush, so flush each block */
	if (put < len || fflush(s->f) != 0) {
		s->write_errno = errno ? errno : EIO;
		return 0;
	}
	if (!s->written)
		fault_point("download");
	s->written += len;
	return len;
}

/* The last path component of the URL, without query: the file name pip and tools expect. */
char *download_file_name(const char *url)
{
	size_t end = strcspn(url, "?#");
	size_t start = end;
	while (start && url[start - 1] != '/')
		start--;
	if (start == end)
		return xstrdup("download");
	return xstrndup(url + start, end - start);
}

static bool transient(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 408 || status == 429 || status >= 500;
	return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE ||
	       rc == CURLE_GOT_NOTHING;
}

/* One attempt into `tmp` (or into `mem` when it is not NULL); fills *status and `hex`. */
static CURLcode attempt(const struct download_opts *o, const char *url, const char *tmp,
			struct buf *mem, long *status, char hex[SHA256_HEX_SIZE], char *errbuf,
			int *write_errno)
{
	struct sink s = { NULL, mem, { 0 }, 0, 0 };
	*write_errno = 0;
	if (mem) {
		buf_reset(mem);
	} else {
		s.f = fopen(tmp, "wb");
		if (!s.f) {
			*write_errno = errno;
			return CURLE_WRITE_ERROR;
		}
		sha256_init(&s.h);
	}
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s ? o->connect_timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_timeout_s ? o->low_speed_timeout_s : 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ptbuild/" PTBUILD_VERSION);
	errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (s.f) {
		/* kept only when whole: on disk before the rename that makes it the cache's */
		if (rc == CURLE_OK && (fflush(s.f) != 0 || fsync(fileno(s.f)) != 0))
			s.write_errno = errno;
		if (fclose(s.f) != 0 && !s.write_errno)
			s.write_errno = errno;
		if (s.write_errno && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR))
			rc = CURLE_WRITE_ERROR;
		sha256_final_hex(&s.h, hex);
	}
	*write_errno = s.write_errno;
	return rc;
}

static void global_init(void)
{
	static bool initialised;
	if (!initialised) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		initialised = true;
	}
}

/* Attempts with backoff while failures are transient; reports the last failure in `d`. */
static int transfer(const struct download_opts *o, const char *fetch_url, const char *shown,
		    const char *tmp, struct buf *mem, char hex[SHA256_HEX_SIZE], struct diags *d)
{
	global_init();
	int tries = 1 + (o->retries ? o->retries : 3);
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc = CURLE_OK;
	long status = 0;
	int write_errno = 0;
	for (int i = 0; i < tries; i++) {
		if (i) {
			struct timespec wait = { 0, 200000000L << (i - 1) }; /* 0.2 s, 0.4 s, 0.8 s */
			if (wait.tv_nsec >= 1000000000L) {
				wait.tv_sec = wait.tv_nsec / 1000000000L;
				wait.tv_nsec %= 1000000000L;
			}
			nanosleep(&wait, NULL);
		}
		cc = attempt(o, fetch_url, tmp, mem, &status, hex, errbuf, &write_errno);
		if (!transient(cc, status))
			break;
	}
	if (cc == CURLE_WRITE_ERROR && write_errno) {
		diag_error(d, NULL, "cannot download \"%s\": cannot write %s: %s", shown, tmp,
			   strerror(write_errno));
		if (write_errno == ENOSPC || write_errno == EDQUOT)
			diag_hint(d, "the disk is full: free space on the filesystem of the cache "
				     "(or point PTBUILD_CACHE elsewhere) and run again; nothing was "
				     "kept");
		else
			diag_hint(d, "nothing was kept; fix the cause and run again");
		return -1;
	}
	if (cc != CURLE_OK) {
		char *why = text_redact(errbuf[0] ? errbuf : curl_easy_strerror(cc));
		diag_error(d, NULL, "cannot download \"%s\": %s", shown, why);
		if (cc == CURLE_COULDNT_CONNECT)
			diag_hint(d, "the server refused the connection; check the URL, or the site's "
				     "mirrors.json");
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			diag_hint(d, "the transfer timed out after %d attempts", tries);
		else if (cc == CURLE_PARTIAL_FILE)
			diag_hint(d, "the server closed the connection before the end of the file "
				     "(%d attempts); nothing was kept", tries);
		free(why);
		return -1;
	}
	if (status >= 400) {
		diag_error(d, NULL, "cannot download \"%s\": HTTP %ld", shown, status);
		diag_hint(d, status == 404 ? "the file is not there: check the URL and version in the "
					     "recipe"
					   : "the server refused the request");
		return -1;
	}
	return 0;
}

int download_page(const struct download_opts *o, const char *url, struct buf *out,
		  struct diags *d)
{
	char *shown = url_redact(url);
	int rc = -1;
	if (o->offline) {
		diag_error(d, NULL, "cannot read \"%s\": %s forbids the network", shown,
			   o->offline_flag ? o->offline_flag : "--frozen");
	} else {
		char *fetch_url = mirrors_rewrite(o->mirrors, url);
		char hex[SHA256_HEX_SIZE];
		rc = transfer(o, fetch_url, shown, NULL, out, hex, d);
		free(fetch_url);
	}
	free(shown);
	return rc;
}

int download_verified(const struct download_opts *o, const char *url, const char *sha256,
		      char **path, struct diags *d)
{
	*path = NULL;
	char *name = download_file_name(url);
	struct buf dir = BUF_INIT, final = BUF_INIT, tmp = BUF_INIT;
	buf_addf(&dir, "%s/dist/%s", o->cache_dir, sha256);
	buf_addf(&final, "%s/%s", dir.data, name);
	buf_addf(&tmp, "%s.tmp-%ld", final.data, (long)getpid());
	char *shown = url_redact(url);
	char *fetch_url = mirrors_rewrite(o->mirrors, url);
	int rc = -1;
	if (path_exists(final.data)) { /* stored by digest, verified when it was kept */
		rc = 0;
		goto out;
	}
	if (o->offline) {
		diag_error(d, NULL, "\"%s\" is not in the cache (%s), and %s forbids the network",
			   shown, final.data, o->offline_flag ? o->offline_flag : "--frozen");
		diag_hint(d, "run `ptbuild fetch` once with the network to fill the cache");
		goto out;
	}
	if (make_dirs(dir.data, 0755) < 0) {
		diag_error(d, NULL, "cannot create %s: %s", dir.data, strerror(errno));
		goto out;
	}
	remove_stale_temps(final.data);
	char hex[SHA256_HEX_SIZE];
	if (transfer(o, fetch_url, shown, tmp.data, NULL, hex, d) < 0)
		goto out;
	if (strcmp(hex, sha256)) {
		diag_error(d, NULL, "sha256 of \"%s\" does not match: expected %s, got %s", shown,
			   sha256, hex);
		diag_hint(d, "the file changed upstream or in transit; it was not kept. If the new "
			     "file is right, put its digest in the recipe");
		goto out;
	}
	if (rename(tmp.data, final.data) < 0) {
		diag_error(d, NULL, "cannot keep the download in %s: %s", final.data, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		unlink(tmp.data);
		rmdir(dir.data); /* only if empty */
	} else {
		*path = buf_detach(&final);
	}
	buf_release(&dir);
	buf_release(&final);
	buf_release(&tmp);
	free(fetch_url);
	free(shown);
	free(name);
	return rc;
}

/* ---- plain HTTP requests ----------------------------------------------------------------- */

static size_t read_cb(char *data, size_t size, size_t n, void *user)
{
	return fread(data, 1, size * n, (FILE *)user);
}

/* One attempt of http_request(); the curl code, with *status and the body in `s`. */
static CURLcode http_attempt(const struct http_opts *o, enum http_method m, const char *url,
			     const char *file, struct sink *s, long *status, char *errbuf)
{
	FILE *in = NULL;
	curl_off_t size = 0;
	if (m == HTTP_PUT) {
		in = fopen(file, "rb");
		if (!in) {
			snprintf(errbuf, CURL_ERROR_SIZE, "cannot read %s: %s", file, strerror(errno));
			return CURLE_READ_ERROR;
		}
		fseeko(in, 0, SEEK_END);
		size = (curl_off_t)ftello(in);
		rewind(in);
	}
	CURL *c = curl_easy_init();
	long timeout = o->timeout_s > 0 ? o->timeout_s : 30L;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ptbuild/" PTBUILD_VERSION);
	curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
	if (o->netrc_file)
		curl_easy_setopt(c, CURLOPT_NETRC_FILE, o->netrc_file);
	struct curl_slist *headers = NULL;
	if (o->bearer_token) {
		struct buf h = BUF_INIT;
		buf_addf(&h, "Authorization: Bearer %s", o->bearer_token);
		headers = curl_slist_append(headers, h.data);
		buf_release(&h);
	}
	if (m == HTTP_HEAD)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (m == HTTP_PUT) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, in);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
		headers = curl_slist_append(headers, "Expect:"); /* no 1 s wait for 100-continue */
	}
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (in)
		fclose(in);
	return rc;
}

int http_request(const struct http_opts *o, enum http_method m, const char *url,
		 const char *file, struct buf *mem, char hex[SHA256_HEX_SIZE], long *status,
		 char **why)
{
	global_init();
	*why = NULL;
	*status = 0;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc = CURLE_OK;
	int tries = 1 + (o->retries > 0 ? o->retries : 0);
	int attempts = 0;
	for (int i = 0; i < tries; i++) {
		if (i) {
			struct timespec wait = { 0, 200000000L << (i - 1) };
			if (wait.tv_nsec >= 1000000000L) {
				wait.tv_sec = wait.tv_nsec / 1000000000L;
				wait.tv_nsec %= 1000000000L;
			}
			nanosleep(&wait, NULL);
		}
		struct sink s = { NULL, mem, { 0 }, 0, 0 };
		if (m == HTTP_GET && !mem) {
			s.f = fopen(file, "wb");
			if (!s.f) {
				struct buf b = BUF_INIT;
				buf_addf(&b, "cannot write %s: %s", file, strerror(errno));
				*why = buf_detach(&b);
				return -1;
			}
			sha256_init(&s.h);
		} else if (mem) {
			buf_reset(mem);
		}
		attempts++;
		cc = http_attempt(o, m, url, file, &s, status, errbuf);
		if (s.f) {
			if (cc == CURLE_OK && (fflush(s.f) != 0 || fsync(fileno(s.f)) != 0))
				s.write_errno = errno;
			if (fclose(s.f) != 0 && !s.write_errno)
				s.write_errno = errno;
			sha256_final_hex(&s.h, hex);
			if (s.write_errno) {
				struct buf b = BUF_INIT;
				buf_addf(&b, "cannot write %s: %s", file, strerror(s.write_errno));
				*why = buf_detach(&b);
				return -1;
			}
		}
		if (cc == CURLE_READ_ERROR && m == HTTP_PUT && errbuf[0] == 'c')
			break; /* our own file: not the server's fault */
		if (!transient(cc, *status))
			break;
	}
	if (cc == CURLE_OK && *status >= 200 && *status < 300)
		return 0;
	if (cc == CURLE_OK && (*status == 404 || *status == 410))
		return 1;
	struct buf b = BUF_INIT;
	if (cc != CURLE_OK) {
		char *text = text_redact(errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (cc == CURLE_OPERATION_TIMEDOUT)
			buf_addf(&b, "timed out (%ld s without an answer): ",
				 o->timeout_s > 0 ? o->timeout_s : 30L);
		else if (cc == CURLE_COULDNT_CONNECT)
			buf_adds(&b, "the connection was refused: ");
		buf_adds(&b, text);
		free(text);
	} else {
		buf_addf(&b, "HTTP %ld", *status);
	}
	buf_addf(&b, " (%d attempt%s)", attempts, attempts == 1 ? "" : "s");
	*why = buf_detach(&b);
	return -1;
}
