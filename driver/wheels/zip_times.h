/*
 * The DOS date and time of a zip's headers, set after the fact. libarchive's zip writer
 * converts an entry's mtime to DOS time with localtime_r(), so the bytes of a wheel would
 * depend on TZ; wheel_pack writes the archive and then overwrites those fields (APPNOTE
 * 4.4.6: a local and a central header per entry) with SOURCE_DATE_EPOCH in UTC. The fields
 * are not covered by any CRC, and the extended-timestamp field ("UT") libarchive writes is
 * already the epoch itself, so TZ is never read or changed.
 */
#ifndef PTBUILD_ZIP_TIMES_H
#define PTBUILD_ZIP_TIMES_H

#include <stdint.h>

#include "util/diag.h"

/* The DOS date (high 16 bits) and time (low 16 bits) of `epoch` in UTC, clamped to
 * 1980-01-01..2107-12-31 as libarchive clamps. */
uint32_t zip_dos_time_utc(long long epoch);

/* Sets the date and time of every local and central header of the zip file `path` (zip64
 * too) to zip_dos_time_utc(epoch), in place. Returns 0, or -1 with an error naming the file
 * when it cannot be read or is not a zip. */
int zip_set_dos_time(const char *path, long long epoch, struct diags *d);

#endif
