#define _GNU_SOURCE /* pipe2 */
#include "util/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

extern char **environ;

#define CAPTURE_LIMIT (64 * 1024)

int read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

/* `op` (fsync, syncfs) on `path` opened with `flags`; errno from whichever step failed. */
static int sync_path(const char *path, int flags, int (*op)(int))
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = op(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* fsync(2) of a directory: what makes a rename in it survive a crash of the machine. */
static int fsync_dir(const char *dir)
{
	return sync_path(dir, O_RDONLY | O_DIRECTORY, fsync);
}

int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return fsync_dir(".");
	if (slash == path)
		return fsync_dir("/");
	char *dir = xstrndup(path, (size_t)(slash - path));
	int rc = fsync_dir(dir);
	free(dir);
	return rc;
}

int flush_filesystem(const char *path)
{
	return sync_path(path, O_RDONLY, syncfs);
}

int fsync_file(const char *path)
{
	return sync_path(path, O_RDONLY, fsync);
}

/* The file through "<path>.tmp.<pid>" and rename(2); fsync'd (file and directory) if `durable`. */
static int write_via_temp(const char *path, const void *data, size_t len, bool durable)
{
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		buf_release(&tmp);
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		left -= (size_t)n;
	}
	if ((durable && fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0)
		goto fail;
	buf_release(&tmp);
	return durable ? fsync_parent(path) : 0;
fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp.data);
	buf_release(&tmp);
	errno = saved;
	return -1;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	return write_via_temp(path, data, len, true);
}

int write_file_replace(const char *path, const void *data, size_t len)
{
	return write_via_temp(path, data, len, false);
}

bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

bool is_directory(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool same_filesystem(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

int touch_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = futimens(fd, NULL);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int list_dir(const char *dir, const char *suffix, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t len = strlen(e->d_name);
		if (suffix && (len <= strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix)))
			continue;
		GROW(*names, cap, *n + 1);
		(*names)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return 0;
}

void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int make_dirs(const char *path, int mode)
{
	char *copy = xstrdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = mkdir(copy, (mode_t)mode);
	free(copy);
	return rc < 0 && errno != EEXIST ? -1 : 0;
}

int make_parents(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char *parent = xstrndup(path, (size_t)(slash - path));
	int rc = make_dirs(parent, 0755);
	free(parent);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 ? -1 : 0;
}

void remove_stale_temps(const char *path)
{
	char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	const char *dir = ".";
	const char *base = copy;
	if (slash) {
		*slash = '\0';
		dir = *copy ? copy : "/";
		base = slash + 1;
	}
	struct buf prefix = BUF_INIT;
	buf_addf(&prefix, "%s.tmp-", base);
	char **names;
	size_t n;
	if (list_dir(dir, NULL, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strncmp(names[i], prefix.data, prefix.len))
				continue;
			char *end;
			long pid = strtol(names[i] + prefix.len, &end, 10);
			if ((*end && *end != '.') || pid <= 0)
				continue; /* "<base>.tmp-PID" and what was staged in it ("….tmp-PID.tmp-PID") */
			bool alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
			if (alive && pid != (long)getpid())
				continue; /* another run is still writing it */
			char *stale = path_join(dir, names[i]);
			remove_tree(stale);
			free(stale);
		}
		free_names(names, n);
	}
	buf_release(&prefix);
	free(copy);
}

int copy_file(const char *src, const char *dest, mode_t mode)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		int e = errno;
		close(in);
		errno = e;
		return -1;
	}
	char chunk[1 << 16];
	ssize_t n;
	while ((n = read(in, chunk, sizeof(chunk))) > 0) {
		ssize_t w = write(out, chunk, (size_t)n);
		if (w != n) {
			if (w >= 0)
				errno = ENOSPC; /* a short write: the disk is full */
			n = -1;
			break;
		}
	}
	int e = errno;
	int closed = close(out);
	if (n == 0 && closed < 0)
		e = errno;
	close(in);
	errno = e;
	return n < 0 || closed < 0 ? -1 : 0;
}

char *absolute_path(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return !strcmp(path, ".") || !*path ? xstrdup(cwd) : path_join(cwd, path);
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

char *path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, dir);
	if (b.len && b.data[b.len - 1] != '/')
		buf_addch(&b, '/');
	buf_adds(&b, name);
	return buf_detach(&b);
}

char *self_exe(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	return xstrdup(exe);
}

char *self_dir(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(exe);
}

char *find_in_path(const char *name, const char *path)
{
	if (strchr(name, '/'))
		return is_executable_file(name) ? xstrdup(name) : NULL;
	if (!path)
		return NULL;
	const char *p = path;
	while (*p) {
		size_t len = strcspn(p, ":");
		struct buf cand = BUF_INIT;
		if (len)
			buf_add(&cand, p, len);
		else
			buf_addch(&cand, '.');
		buf_addch(&cand, '/');
		buf_adds(&cand, name);
		if (is_executable_file(cand.data))
			return buf_detach(&cand);
		buf_release(&cand);
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

struct running {
	pid_t pid;
	int fd;
};

int spawn_child(const struct spawn_req *req, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, req->out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, req->out_fd, 2);
	if (req->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, req->cwd); /* glibc 2.29 */
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	sigset_t dfl, none;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSIGMASK);
	char *const *envp = req->envp ? req->envp : environ;
	int rc = req->path ? posix_spawn(pid, req->path, &fa, &attr, req->argv, envp)
			   : posix_spawnp(pid, req->argv[0], &fa, &attr, req->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

static int spawn_captured(struct capture *c, struct running *r)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	struct spawn_req req = { .argv = (char *const *)c->argv, .out_fd = fds[1] };
	int rc = spawn_child(&req, &r->pid);
	int e = errno;
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		errno = e;
		return -1;
	}
	r->fd = fds[0];
	return 0;
}

static int decode_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

void run_capture_all(struct capture *caps, size_t n, int timeout_ms)
{
	struct running *run = xcalloc(n, sizeof(*run));
	struct pollfd *pfd = xcalloc(n, sizeof(*pfd));
	size_t open_fds = 0;
	for (size_t i = 0; i < n; i++) {
		buf_init(&caps[i].out);
		caps[i].status = -1;
		caps[i].start_errno = 0;
		run[i].fd = -1;
		run[i].pid = -1;
		if (spawn_captured(&caps[i], &run[i]) < 0)
			caps[i].start_errno = errno;
		else
			open_fds++;
	}
	double deadline = monotonic_seconds() + timeout_ms / 1000.0;
	bool timed_out = false;
	while (open_fds) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (run[i].fd >= 0)
				pfd[np++] = (struct pollfd){ .fd = run[i].fd, .events = POLLIN };
		int wait_ms = (int)((deadline - monotonic_seconds()) * 1000);
		if (wait_ms <= 0) {
			timed_out = true;
			break;
		}
		int rc = poll(pfd, np, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			timed_out = rc == 0;
			break;
		}
		for (size_t k = 0; k < np; k++) {
			if (!pfd[k].revents)
				continue;
			for (size_t i = 0; i < n; i++) {
				if (run[i].fd != pfd[k].fd)
					continue;
				char chunk[4096];
				ssize_t got = read(run[i].fd, chunk, sizeof(chunk));
				if (got < 0 && errno == EINTR)
					break;
				if (got <= 0) {
					close(run[i].fd);
					run[i].fd = -1;
					open_fds--;
				} else if (caps[i].out.len < CAPTURE_LIMIT) {
					buf_add(&caps[i].out, chunk, (size_t)got);
				}
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (run[i].pid < 0)
			continue;
		if (run[i].fd >= 0) {
			close(run[i].fd);
			if (timed_out)
				kill(-run[i].pid, SIGKILL);
		}
		int wstatus;
		while (waitpid(run[i].pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		caps[i].status = (timed_out && run[i].fd >= 0) ? 124 : decode_status(wstatus);
	}
	free(run);
	free(pfd);
}

int run_capture(const char *const *argv, struct buf *out, int timeout_ms)
{
	struct capture c = { .argv = argv };
	run_capture_all(&c, 1, timeout_ms);
	buf_add(out, c.out.data, c.out.len);
	buf_release(&c.out);
	if (c.status < 0)
		errno = c.start_errno;
	return c.status;
}

long cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

static uint64_t meminfo_field(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char line[256];
	uint64_t kib = 0;
	size_t flen = strlen(field);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kib = strtoull(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib * 1024;
}

uint64_t mem_available_bytes(void)
{
	return meminfo_field("MemAvailable");
}

uint64_t mem_total_bytes(void)
{
	return meminfo_field("MemTotal");
}

uint64_t disk_free_bytes(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

long peak_rss_kib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ru.ru_maxrss;
}

int lock_file_try(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}
