#include "wheels/zip_times.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

enum {
	SIG_LOCAL = 0x04034b50,
	SIG_CENTRAL = 0x02014b50,
	SIG_END = 0x06054b50,
	SIG_END64 = 0x06064b50,
	SIG_END64_LOCATOR = 0x07064b50,
	END_SIZE = 22,
	CENTRAL_SIZE = 46,
};

uint32_t zip_dos_time_utc(long long epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year < 1980 - 1900)
		return 0x00210000U; /* 1980-01-01 00:00:00 */
	if (tm.tm_year > 2107 - 1900)
		return 0xff9fbf7dU; /* 2107-12-31 23:59:58 */
	uint32_t date = (uint32_t)(((tm.tm_year - 80) & 0x7f) << 9 | ((tm.tm_mon + 1) & 0x0f) << 5 |
				   (tm.tm_mday & 0x1f));
	uint32_t time = (uint32_t)((tm.tm_hour & 0x1f) << 11 | (tm.tm_min & 0x3f) << 5 |
				   (tm.tm_sec & 0x3e) >> 1);
	return date << 16 | time;
}

static uint64_t le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void le32_put(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

static bool write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* Where the central directory is and how long: from the end record, or its zip64 one. */
static bool find_central(int fd, uint64_t size, uint64_t *offset, uint64_t *len)
{
	size_t tail = size < END_SIZE + 0xffff ? (size_t)size : END_SIZE + 0xffff;
	if (tail < END_SIZE)
		return false;
	unsigned char *b = xmalloc(tail);
	bool ok = read_at(fd, b, tail, size - tail);
	size_t at = tail - END_SIZE + 1;
	while (ok && at-- > 0)
		if (le(b + at, 4) == SIG_END && at + END_SIZE + le(b + at + 20, 2) == tail)
			break;
	ok = ok && at != (size_t)-1;
	if (ok) {
		*len = le(b + at + 12, 4);
		*offset = le(b + at + 16, 4);
	}
	if (ok && (*offset == 0xffffffff || *len == 0xffffffff || le(b + at + 10, 2) == 0xffff)) {
		unsigned char loc[20], end64[56];
		uint64_t loc_at = size - tail + at - sizeof(loc);
		ok = at >= sizeof(loc) && read_at(fd, loc, sizeof(loc), loc_at) &&
		     le(loc, 4) == SIG_END64_LOCATOR &&
		     read_at(fd, end64, sizeof(end64), le(loc + 8, 8)) && le(end64, 4) == SIG_END64;
		if (ok) {
			*len = le(end64 + 40, 8);
			*offset = le(end64 + 48, 8);
		}
	}
	free(b);
	return ok && *offset + *len <= size;
}

/* The local header's offset of the central header `h`: its field, or the zip64 extra's. */
static uint64_t local_offset(const unsigned char *h, size_t extra_len)
{
	uint64_t off = le(h + 42, 4);
	if (off != 0xffffffff)
		return off;
	const unsigned char *x = h + CENTRAL_SIZE + le(h + 28, 2);
	for (size_t i = 0; i + 4 <= extra_len;) {
		size_t id = (size_t)le(x + i, 2), n = (size_t)le(x + i + 2, 2);
		if (i + 4 + n > extra_len)
			break;
		if (id == 0x0001) { /* sizes first, each only when its field is saturated */
			size_t k = (le(h + 24, 4) == 0xffffffff ? 8 : 0) +
				   (le(h + 20, 4) == 0xffffffff ? 8 : 0);
			return k + 8 <= n ? le(x + i + 4 + k, 8) : UINT64_MAX;
		}
		i += 4 + n;
	}
	return UINT64_MAX;
}

/* Patches each entry of the central directory `cd` and the local header it points at. */
static bool patch_entries(int fd, unsigned char *cd, uint64_t len, uint32_t dos)
{
	unsigned char dt[4];
	le32_put(dt, dos);
	for (uint64_t at = 0; at < len;) {
		unsigned char *h = cd + at;
		if (len - at < CENTRAL_SIZE || le(h, 4) != SIG_CENTRAL)
			return false;
		size_t name = (size_t)le(h + 28, 2), extra = (size_t)le(h + 30, 2);
		size_t entry = CENTRAL_SIZE + name + extra + (size_t)le(h + 32, 2);
		if (entry > len - at)
			return false;
		memcpy(h + 12, dt, 4);
		uint64_t local = local_offset(h, extra);
		unsigned char sig[4];
		if (local == UINT64_MAX || !read_at(fd, sig, 4, local) || le(sig, 4) != SIG_LOCAL ||
		    !write_at(fd, dt, 4, local + 10))
			return false;
		at += entry;
	}
	return true;
}

int zip_set_dos_time(const char *path, long long epoch, struct diags *d)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return diag_error(d, NULL, "cannot set the times of %s: %s", path, strerror(e));
	}
	uint64_t offset = 0, len = 0;
	unsigned char *cd = NULL;
	errno = 0;
	bool ok = find_central(fd, (uint64_t)st.st_size, &offset, &len);
	if (ok) {
		cd = xmalloc(len + 1);
		ok = read_at(fd, cd, len, offset) &&
		     patch_entries(fd, cd, len, zip_dos_time_utc(epoch)) &&
		     write_at(fd, cd, len, offset);
	}
	free(cd);
	int e = errno;
	if (close(fd) < 0 && ok) {
		e = errno;
		ok = false;
	}
	if (!ok)
		return diag_error(d, NULL, "cannot set the times of %s: %s", path,
				  e ? strerror(e) : "not a zip archive");
	return 0;
}
