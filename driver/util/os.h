/* The system calls ptbuild needs, behind one small interface. */
#ifndef PTBUILD_OS_H
#define PTBUILD_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"

/* Reads a whole file; returns -1 with errno set. */
int read_file(const char *path, struct buf *out);
/* Writes `path` through a temporary file in the same directory, fsync(2) and rename(2), then
 * fsyncs the directory: once it returns 0 the file is whole and stays whole. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* Writes `path` through a temporary file and rename(2), without fsync: for files of a tree
 * that is flushed as a whole (flush_filesystem) before its marker is written. */
int write_file_replace(const char *path, const void *data, size_t len);
/* fsync(2) of the directory holding `path` (after a rename into it). */
int fsync_parent(const char *path);
/* fsync(2) of one file. */
int fsync_file(const char *path);
/* syncfs(2) of the filesystem holding `path`: everything written there is on disk after. One
 * call instead of one fsync per file of a tree of thousands. */
int flush_filesystem(const char *path);
bool path_exists(const char *path);
bool is_directory(const char *path);
bool is_executable_file(const char *path);

/*
 * Lists the entries of `dir` whose names end with `suffix` (NULL: all but dot files), sorted.
 * The caller frees each name and the array. Returns -1 with errno set.
 */
int list_dir(const char *dir, const char *suffix, char ***names, size_t *n);
void free_names(char **names, size_t n);

/* The directory of the running binary (/proc/self/exe); NULL if unknown. Caller frees. */
char *self_dir(void);
/* The running binary itself (/proc/self/exe); NULL if unknown. Caller frees. */
char *self_exe(void);
/* The first executable `name` in the colon-separated `path` list; NULL if none. Caller frees. */
char *find_in_path(const char *name, const char *path);
/* Takes an exclusive lock on `path` (created if missing) without waiting: the open file
 * descriptor, which holds the lock until closed (or the process ends); -1 with errno
 * EWOULDBLOCK when another process holds it, or another errno. */
int lock_file_try(const char *path);
/* mkdir -p; returns -1 with errno set. */
int make_dirs(const char *path, int mode);
/* mkdir -p of the directory `path` is in (0755); nothing for a path without a '/'. Returns -1
 * with errno set. */
int make_parents(const char *path);
/* A new file `dest` (it must not exist) with the bytes of `src` and permission bits `mode`.
 * -1 with errno set (a partial `dest` may be left: the caller's temp tree is removed). */
int copy_file(const char *src, const char *dest, mode_t mode);
/* Both paths (existing) on one filesystem, so link(2) between them cannot fail with EXDEV. */
bool same_filesystem(const char *a, const char *b);
/* Sets the mtime of `path` to now, creating it (empty) when missing. -1 with errno set. */
int touch_file(const char *path);
/* rm -rf; a missing path is success. Returns -1 with errno set. */
int remove_tree(const char *path);
/* `path` made absolute against the current directory (not resolving links; "." and a
 * leading "./" are dropped). Caller frees. */
char *absolute_path(const char *path);

/*
 * Removes "<path>.tmp-<pid>" siblings left by runs that died (their pid no longer exists),
 * so an interrupted run leaves nothing the next one trips over.
 */
void remove_stale_temps(const char *path);

/* "dir/name" in a new string. */
char *path_join(const char *dir, const char *name);
/* What follows the last '/' of `path` (all of it without one); points into `path`. */
const char *path_base(const char *path);

/*
 * A child process as ptbuild starts every one: in its own process group (signals go to the
 * group), standard input /dev/null, stdout and stderr on `out_fd`, SIGINT, SIGTERM, SIGCHLD
 * and SIGPIPE at their defaults and no signal blocked. Every string is borrowed.
 */
struct spawn_req {
	const char *path;         /* the program; NULL: argv[0] looked up in PATH as execvp does */
	char *const *argv;
	char *const *envp;        /* NULL: this process's environment */
	const char *cwd;          /* NULL: the current directory */
	int out_fd;
};

/* Starts the child (posix_spawn: when it returns, the child runs the program, so a missing
 * cwd or program fails here, not in the child). Returns 0 with *pid, or -1 with errno. */
int spawn_child(const struct spawn_req *req, pid_t *pid);

/* One command to run with its output (stdout and stderr together) captured. */
struct capture {
	const char *const *argv; /* borrowed; argv[0] is looked up in PATH */
	struct buf out;          /* owned; at most 64 KiB are kept */
	int status;              /* exit code; 128+signal; -1 when it could not start */
	int start_errno;         /* why it could not start */
};

/*
 * Runs every command at once and waits for all of them, killing those still running after
 * `timeout_ms` (status 124). Standard input is /dev/null.
 */
void run_capture_all(struct capture *caps, size_t n, int timeout_ms);
/* Convenience for one command. */
int run_capture(const char *const *argv, struct buf *out, int timeout_ms);

long cpu_count(void);
/* MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
uint64_t mem_available_bytes(void);
uint64_t mem_total_bytes(void);
/* Free bytes for unprivileged users on the filesystem holding `path`; 0 when unknown. */
uint64_t disk_free_bytes(const char *path);
/* Seconds since an arbitrary start, monotonic. */
double monotonic_seconds(void);
/* Peak resident set size of this process in KiB. */
long peak_rss_kib(void);

/* Writes all `len` bytes of `data` to `fd`, retrying on EINTR and short writes. 0, or -1 with
 * errno. */
int write_all(int fd, const void *data, size_t len);

#endif
