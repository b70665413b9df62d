#include "wheels/zip_write.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"
#include "wheels/zip_times.h"

enum {
	CHUNK = 1 << 18,          /* bytes read and deflated at a time */
	OUT_BUF = 1 << 20,        /* the output file's write buffer */
	SPILL = 8 << 20,          /* a compressed member past this goes to a temp file */
	WINDOW_PER_THREAD = 4,    /* members compressed ahead of the one being written */
	ZIP_FLAG_LENGTH_AT_END = 0x0008,
	COMPRESSION_DEFLATE = 8,
};

static const char DISK_FULL_HINT[] =
	"the disk is full: free space on the filesystem of the cache and run again; nothing was "
	"kept";

/* ---- the output file ------------------------------------------------------------------------ */

struct cd_entry {
	char *name;
	uint16_t version_needed;
	uint32_t crc;
	uint64_t csize, usize, offset;
	uint32_t mode;
};

struct zip_writer {
	char *path;
	int fd;
	uint32_t dos_time;
	uint32_t mtime;
	unsigned char *buf;
	size_t buflen;
	uint64_t written;
	struct cd_entry *cd;
	size_t ncd, cdcap;
	int error;                /* errno of the first failed write */
};

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int out_flush(struct zip_writer *w)
{
	if (w->error)
		return -1;
	if (w->buflen && write_all(w->fd, w->buf, w->buflen) < 0) {
		w->error = errno ? errno : EIO;
		return -1;
	}
	w->buflen = 0;
	return 0;
}

static int out_add(struct zip_writer *w, const void *data, size_t len)
{
	w->written += len;
	if (w->error)
		return -1;
	if (w->buflen + len > OUT_BUF && out_flush(w) < 0)
		return -1;
	if (len >= OUT_BUF) {
		if (write_all(w->fd, data, len) < 0) {
			w->error = errno ? errno : EIO;
			return -1;
		}
		return 0;
	}
	memcpy(w->buf + w->buflen, data, len);
	w->buflen += len;
	return 0;
}

struct zip_writer *zip_writer_open(const char *path, long long epoch, struct diags *d)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	struct zip_writer *w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(path);
	w->fd = fd;
	w->dos_time = zip_dos_time_utc(epoch);
	w->mtime = (uint32_t)epoch;
	w->buf = xmalloc(OUT_BUF);
	return w;
}

static void writer_free(struct zip_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->ncd; i++)
		free(w->cd[i].name);
	free(w->cd);
	free(w->buf);
	free(w->path);
	free(w);
}

void zip_writer_abort(struct zip_writer *w)
{
	if (w)
		writer_free(w);
}

/* A failed write of the output: what, why, and the hint when the disk is full. */
static int write_error(struct zip_writer *w, const char *what, struct diags *d)
{
	int err = w->error ? w->error : EIO;
	diag_error(d, NULL, "cannot add %s to the wheel %s: %s", what, w->path, strerror(err));
	if (err == ENOSPC || err == EDQUOT)
		diag_hint(d, DISK_FULL_HINT);
	return -1;
}

/* ---- one member, compressed --------------------------------------------------------------- */

/* A member's deflate stream: in memory, then (past SPILL) in an unlinked temp file. */
struct blob {
	unsigned char *mem;
	size_t len, cap;
	int fd;                   /* -1 until spilled */
	uint64_t total;
};

struct member {
	struct zip_file *f;       /* NULL: from memory */
	const void *data;
	size_t datalen;
	const char *name;
	bool executable;
	struct blob b;
	uint32_t crc;
	uint64_t usize;           /* declared (the file's size when opened) */
	char *err;                /* owned: the first error */
	bool disk_full;
	bool done;
};

static int spill_fd(const char *dir)
{
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	struct buf t = BUF_INIT;
	buf_addf(&t, "%s/.zip-member-XXXXXX", dir);
	fd = mkstemp(t.data);
	if (fd >= 0) {
		unlink(t.data);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	buf_release(&t);
	return fd;
}

static int blob_add(struct blob *b, const void *data, size_t len, const char *spill_dir)
{
	b->total += len;
	if (b->fd < 0 && b->len + len > SPILL) {
		b->fd = spill_fd(spill_dir);
		if (b->fd < 0 || write_all(b->fd, b->mem, b->len) < 0)
			return -1;
		free(b->mem);
		b->mem = NULL;
		b->len = b->cap = 0;
	}
	if (b->fd >= 0)
		return write_all(b->fd, data, len);
	if (b->len + len > b->cap) {
		b->cap = b->cap ? b->cap : 1 << 12;
		while (b->len + len > b->cap)
			b->cap *= 2;
		b->mem = xrealloc(b->mem, b->cap);
	}
	memcpy(b->mem + b->len, data, len);
	b->len += len;
	return 0;
}

static void blob_release(struct blob *b)
{
	free(b->mem);
	if (b->fd >= 0)
		close(b->fd);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

/* "<doing> <what>: <why>" */
static void member_fail(struct member *m, int err, const char *doing, const char *what)
{
	if (m->err)
		return;
	struct buf e = BUF_INIT;
	buf_addf(&e, "%s %s: %s", doing, what, strerror(err));
	m->err = buf_detach(&e);
	m->disk_full = err == ENOSPC || err == EDQUOT;
}

/* Deflates `len` bytes (Z_FINISH when `last`) into the member's blob. */
static int deflate_into(z_stream *zs, struct member *m, const void *in, size_t len, bool last,
			unsigned char *out, const char *spill_dir)
{
	zs->next_in = (Bytef *)(uintptr_t)in;
	zs->avail_in = (uInt)len;
	for (;;) {
		zs->next_out = out;
		zs->avail_out = CHUNK;
		int r = deflate(zs, last ? Z_FINISH : Z_NO_FLUSH);
		if (r == Z_STREAM_ERROR) {
			member_fail(m, EINVAL, "cannot compress", m->name);
			return -1;
		}
		size_t have = CHUNK - zs->avail_out;
		if (have && blob_add(&m->b, out, have, spill_dir) < 0) {
			member_fail(m, errno ? errno : EIO, "cannot write a temp file in",
				    spill_dir);
			return -1;
		}
		if (last ? r == Z_STREAM_END : zs->avail_out != 0)
			return 0;
	}
}

/* Reads, hashes and deflates one member; errors go into m->err. */
static void compress_member(struct member *m, const char *spill_dir)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* what libarchive's zip writer uses */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		member_fail(m, ENOMEM, "cannot compress", m->name);
		return;
	}
	unsigned char *in = xmalloc(CHUNK), *out = xmalloc(CHUNK);
	struct sha256 h;
	uLong crc = crc32(0L, Z_NULL, 0);
	uint64_t seen = 0;
	int fd = -1;
	if (!m->f) {
		crc = crc32(crc, m->data, (uInt)m->datalen);
		m->usize = m->datalen;
		deflate_into(&zs, m, m->data, m->datalen, true, out, spill_dir);
		goto done;
	}
	struct stat st;
	fd = open(m->f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		member_fail(m, errno, "cannot read", m->f->path);
		goto done;
	}
	m->usize = (uint64_t)st.st_size;
	sha256_init(&h); /* finalized below, whatever happens */
	for (;;) {
		ssize_t n = read(fd, in, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			member_fail(m, errno, "cannot read", m->f->path);
			break;
		}
		seen += (uint64_t)n;
		if (n > 0) {
			sha256_update(&h, in, (size_t)n);
			crc = crc32(crc, in, (uInt)n);
		}
		if (deflate_into(&zs, m, in, (size_t)n, n == 0, out, spill_dir) < 0 || n == 0)
			break;
	}
	if (!m->err && seen != m->usize) {
		struct buf e = BUF_INIT;
		buf_addf(&e, "%s changed while it was packed", m->f->path);
		m->err = buf_detach(&e);
	}
	sha256_final_b64(&h, m->f->sha256);
	m->f->size = seen;
done:
	if (fd >= 0)
		close(fd);
	m->crc = (uint32_t)crc;
	deflateEnd(&zs);
	free(in);
	free(out);
}

/* ---- writing a compressed member ----------------------------------------------------------- */

static int copy_blob(struct zip_writer *w, struct blob *b)
{
	if (b->fd < 0)
		return out_add(w, b->mem, b->len);
	if (out_flush(w) < 0)
		return -1;
	unsigned char *chunk = xmalloc(CHUNK);
	int rc = 0;
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(b->fd, chunk, CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 || (uint64_t)off != b->total) {
				w->error = n < 0 ? errno : EIO;
				rc = -1;
			}
			break;
		}
		off += n;
		w->written += (uint64_t)n;
		if (write_all(w->fd, chunk, (size_t)n) < 0) {
			w->error = errno ? errno : EIO;
			rc = -1;
			break;
		}
	}
	free(chunk);
	return rc;
}

/* The local header, the deflate stream and the data descriptor, as libarchive writes them. */
static int write_member(struct zip_writer *w, struct member *m)
{
	size_t namelen = strlen(m->name);
	bool zip64 = m->usize > 0xf0000000ULL; /* deflate: "might grow past 4 GiB" */
	uint16_t version = zip64 ? 45 : 20;
	uint64_t offset = w->written;
	unsigned char hdr[30] = { 'P', 'K', 3, 4 };
	put16(hdr + 4, version);
	put16(hdr + 6, ZIP_FLAG_LENGTH_AT_END);
	put16(hdr + 8, COMPRESSION_DEFLATE);
	put32(hdr + 10, w->dos_time);
	put32(hdr + 14, 0);
	put32(hdr + 18, zip64 ? 0xffffffffU : 0);
	put32(hdr + 22, zip64 ? 0xffffffffU : (uint32_t)m->usize);
	put16(hdr + 26, (uint16_t)namelen);
	unsigned char extra[24 + 20];
	size_t nextra = 0;
	memcpy(extra, "UT\005\000\001", 5); /* extended timestamp: mtime only */
	put32(extra + 5, w->mtime);
	memcpy(extra + 9, "ux\013\000\001\004", 6); /* Info-ZIP Unix, uid and gid 0 */
	put32(extra + 15, 0);
	extra[19] = 4;
	put32(extra + 20, 0);
	nextra = 24;
	if (zip64) {
		memcpy(extra + nextra, "\001\000\020\000", 4);
		put64(extra + nextra + 4, m->usize);
		put64(extra + nextra + 12, 0); /* libarchive's compressed size: unknown, 0 */
		nextra += 20;
	}
	put16(hdr + 28, (uint16_t)nextra);
	out_add(w, hdr, sizeof(hdr));
	out_add(w, m->name, namelen);
	out_add(w, extra, nextra);
	copy_blob(w, &m->b);
	unsigned char dd[24] = { 'P', 'K', 7, 8 };
	put32(dd + 4, m->crc);
	if (zip64) {
		put64(dd + 8, m->b.total);
		put64(dd + 16, m->usize);
		out_add(w, dd, 24);
	} else {
		put32(dd + 8, (uint32_t)m->b.total);
		put32(dd + 12, (uint32_t)m->usize);
		out_add(w, dd, 16);
	}
	if (w->error)
		return -1;
	if (w->ncd == w->cdcap) {
		w->cdcap = w->cdcap ? 2 * w->cdcap : 256;
		w->cd = xrealloc(w->cd, w->cdcap * sizeof(*w->cd));
	}
	w->cd[w->ncd++] = (struct cd_entry){
		.name = xstrdup(m->name), .version_needed = version, .crc = m->crc,
		.csize = m->b.total, .usize = m->usize, .offset = offset,
		.mode = 0100000u | (m->executable ? 0755u : 0644u),
	};
	return 0;
}

/* Reports a member's error into `d`. */
static int member_error(struct member *m, struct diags *d)
{
	diag_error(d, NULL, "%s", m->err);
	if (m->disk_full)
		diag_hint(d, DISK_FULL_HINT);
	return -1;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
}

int zip_writer_add_data(struct zip_writer *w, const char *name, const void *data, size_t len,
			bool executable, struct diags *d)
{
	struct member m = { .data = data, .datalen = len, .name = name,
			    .executable = executable, .b = { .fd = -1 } };
	char *dir = dir_of(w->path);
	compress_member(&m, dir);
	free(dir);
	int rc = m.err ? member_error(&m, d) : 0;
	if (rc == 0 && write_member(w, &m) < 0)
		rc = write_error(w, name, d);
	blob_release(&m.b);
	free(m.err);
	return rc;
}

/* ---- in parallel ---------------------------------------------------------------------------- */

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t done, room;
	struct member *m;
	size_t n, next, written, window;
	bool stop;
	const char *spill_dir;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next < p->n && p->next >= p->written + p->window)
			pthread_cond_wait(&p->room, &p->mu);
		if (p->stop || p->next >= p->n)
			break;
		size_t i = p->next++;
		pthread_mutex_unlock(&p->mu);
		compress_member(&p->m[i], p->spill_dir);
		pthread_mutex_lock(&p->mu);
		p->m[i].done = true;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int zip_writer_add_files(struct zip_writer *w, struct zip_file *files, size_t n,
			 unsigned threads, struct diags *d)
{
	if (!n)
		return 0;
	if (threads < 1)
		threads = 1;
	if (threads > n)
		threads = (unsigned)n;
	struct member *m = xcalloc(n, sizeof(*m));
	for (size_t i = 0; i < n; i++)
		m[i] = (struct member){ .f = &files[i], .name = files[i].name,
					.executable = files[i].executable, .b = { .fd = -1 } };
	char *dir = dir_of(w->path);
	struct pool p = { .m = m, .n = n, .window = (size_t)threads * WINDOW_PER_THREAD,
			  .spill_dir = dir };
	pthread_t *tids = NULL;
	unsigned started = 0;
	if (threads > 1) {
		pthread_mutex_init(&p.mu, NULL);
		pthread_cond_init(&p.done, NULL);
		pthread_cond_init(&p.room, NULL);
		tids = xcalloc(threads, sizeof(*tids));
		for (unsigned t = 0; t < threads; t++)
			if (pthread_create(&tids[t], NULL, worker, &p) == 0)
				started++;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (started) {
			pthread_mutex_lock(&p.mu);
			while (!m[i].done)
				pthread_cond_wait(&p.done, &p.mu);
			pthread_mutex_unlock(&p.mu);
		} else {
			compress_member(&m[i], dir);
		}
		if (m[i].err)
			rc = member_error(&m[i], d);
		else if (write_member(w, &m[i]) < 0)
			rc = write_error(w, m[i].name, d);
		blob_release(&m[i].b);
		if (started) {
			pthread_mutex_lock(&p.mu);
			p.written = i + 1;
			p.stop = rc < 0;
			pthread_cond_broadcast(&p.room);
			pthread_mutex_unlock(&p.mu);
		}
	}
	if (threads > 1) {
		for (unsigned t = 0; t < started; t++)
			pthread_join(tids[t], NULL);
		pthread_mutex_destroy(&p.mu);
		pthread_cond_destroy(&p.done);
		pthread_cond_destroy(&p.room);
	}
	for (size_t i = 0; i < n; i++) {
		blob_release(&m[i].b);
		free(m[i].err);
	}
	free(tids);
	free(m);
	free(dir);
	return rc;
}

/* ---- the central directory ---------------------------------------------------------------- */

int zip_writer_close(struct zip_writer *w, struct diags *d)
{
	uint64_t start = w->written;
	for (size_t i = 0; i < w->ncd; i++) {
		const struct cd_entry *e = &w->cd[i];
		size_t namelen = strlen(e->name);
		unsigned char extra[24 + 28];
		memcpy(extra, "UT\005\000\001", 5);
		put32(extra + 5, w->mtime);
		memcpy(extra + 9, "ux\013\000\001\004", 6);
		put32(extra + 15, 0);
		extra[19] = 4;
		put32(extra + 20, 0);
		size_t nextra = 24;
		uint16_t needed = e->version_needed;
		if (e->csize > 0xffffffffULL || e->usize > 0xffffffffULL ||
		    e->offset > 0xffffffffULL) {
			unsigned char *z = extra + nextra;
			memcpy(z, "\001\000\000\000", 4);
			size_t k = 4;
			if (e->usize >= 0xffffffffULL) {
				put64(z + k, e->usize);
				k += 8;
			}
			if (e->csize >= 0xffffffffULL) {
				put64(z + k, e->csize);
				k += 8;
			}
			if (e->offset >= 0xffffffffULL) {
				put64(z + k, e->offset);
				k += 8;
			}
			put16(z + 2, (uint16_t)(k - 4));
			nextra += k;
			if (needed < 45)
				needed = 45;
		}
		unsigned char h[46] = { 'P', 'K', 1, 2 };
		put16(h + 4, (uint16_t)(3 * 256 + e->version_needed)); /* made by: Unix */
		put16(h + 6, needed);
		put16(h + 8, ZIP_FLAG_LENGTH_AT_END);
		put16(h + 10, COMPRESSION_DEFLATE);
		put32(h + 12, w->dos_time);
		put32(h + 16, e->crc);
		put32(h + 20, e->csize > 0xffffffffULL ? 0xffffffffU : (uint32_t)e->csize);
		put32(h + 24, e->usize > 0xffffffffULL ? 0xffffffffU : (uint32_t)e->usize);
		put16(h + 28, (uint16_t)namelen);
		put16(h + 30, (uint16_t)nextra);
		put32(h + 38, e->mode << 16);
		put32(h + 42, e->offset > 0xffffffffULL ? 0xffffffffU : (uint32_t)e->offset);
		out_add(w, h, sizeof(h));
		out_add(w, e->name, namelen);
		out_add(w, extra, nextra);
	}
	uint64_t end = w->written, size = end - start;
	if (size > 0xffffffffULL || start > 0xffffffffULL || w->ncd > 0xffff) {
		unsigned char z[56] = { 'P', 'K', 6, 6 };
		put64(z + 4, 44);
		put16(z + 12, 45);
		put16(z + 14, 45);
		put64(z + 24, w->ncd);
		put64(z + 32, w->ncd);
		put64(z + 40, size);
		put64(z + 48, start);
		out_add(w, z, sizeof(z));
		unsigned char l[20] = { 'P', 'K', 6, 7 };
		put64(l + 8, end);
		put32(l + 16, 1);
		out_add(w, l, sizeof(l));
	}
	unsigned char e[22] = { 'P', 'K', 5, 6 };
	uint16_t count = w->ncd > 0xffff ? 0xffff : (uint16_t)w->ncd;
	put16(e + 8, count);
	put16(e + 10, count);
	put32(e + 12, size > 0xffffffffULL ? 0xffffffffU : (uint32_t)size);
	put32(e + 16, start > 0xffffffffULL ? 0xffffffffU : (uint32_t)start);
	out_add(w, e, sizeof(e));
	int rc = 0;
	if (out_flush(w) < 0)
		rc = write_error(w, "the central directory", d);
	if (close(w->fd) < 0 && rc == 0) {
		w->error = errno;
		rc = write_error(w, "the central directory", d);
	}
	w->fd = -1;
	writer_free(w);
	return rc;
}
