#define _GNU_SOURCE /* pipe2 */
#include "sources/git_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/os.h"
#include "util/settings.h"
#include "util/strutil.h"
#include "util/url.h"
#include "util/xalloc.h"

static bool is_local(const char *url)
{
	return url[0] == '/' || starts_with(url, "file://");
}

int git_cli_check(struct diags *d)
{
	const char *v = setting_git_cli();
	if (!v || !strcmp(v, "0") || !strcmp(v, "1"))
		return 0;
	diag_error(d, NULL, "PTBUILD_GIT_CLI is \"%s\": it must be 0 (libgit2 fetches mirrors) "
			    "or 1 (git's CLI does)", v);
	diag_hint(d, "unset it to let ptbuild choose: git's CLI for local paths and file:// URLs "
		     "when git is on PATH");
	return -1;
}

int git_cli_choose(const char *url, char **git, struct diags *d)
{
	*git = NULL;
	const char *v = setting_git_cli();
	if (git_cli_check(d) < 0)
		return -1;
	if (v && !strcmp(v, "0"))
		return 0;
	if (!v && !is_local(url))
		return 0;
	*git = find_in_path("git", setting_path());
	if (!*git && v) {
		size_t since = d->n;
		diag_error(d, NULL, "PTBUILD_GIT_CLI=1 asks for git's CLI, and there is no git on PATH");
		diag_hint(d, "install git, or unset PTBUILD_GIT_CLI to fetch with libgit2");
		diags_classify(d, since, DIAG_ENVIRONMENT);
		return -1;
	}
	return 0;
}

/* What of this process's environment a fetch may see: where programs are, temporary files,
 * proxies and TLS trust, as libgit2 would read them. Nothing of git's own. */
static bool passed_on(const char *entry)
{
	static const char *const names[] = { "PATH", "TMPDIR", "http_proxy", "https_proxy",
					     "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
					     "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(entry, names[i], n) && entry[n] == '=')
			return true;
	}
	return false;
}

/* git's complaint in one line: its fatal:/error: lines, or all of it. */
static void summarize(const struct buf *raw, struct buf *out)
{
	struct buf all = BUF_INIT, marked = BUF_INIT;
	const char *p = raw->data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n) {
			buf_addf(&all, "%s%.*s", all.len ? "; " : "", (int)n, p);
			const char *prefix = !strncmp(p, "fatal: ", 7) ? "fatal: "
					   : !strncmp(p, "error: ", 7) ? "error: " : NULL;
			if (prefix)
				buf_addf(&marked, "%s%.*s", marked.len ? "; " : "", (int)(n - 7), p + 7);
		}
		p = nl ? nl + 1 : p + strlen(p);
	}
	const struct buf *pick = marked.len ? &marked : &all;
	char *red = text_redact(pick->len ? pick->data : "git printed nothing");
	buf_adds(out, red);
	free(red);
	buf_release(&all);
	buf_release(&marked);
}

int git_cli_fetch(const char *git, const char *repo, const char *url, const char *const *specs,
		  size_t nspecs, bool prune, struct buf *out)
{
	/* A fresh environment: no GIT_DIR, GIT_CONFIG_*, GIT_ALTERNATE_OBJECT_DIRECTORIES... of the
	 * user; no global or system config (credential helpers, url.insteadOf, fetch.*). */
	const char **envp = NULL;
	size_t nenv = 0, cap = 0;
	char *const *env = setting_environ();
	for (size_t i = 0; env && env[i]; i++) {
		if (!passed_on(env[i]))
			continue;
		GROW(envp, cap, nenv + 1);
		envp[nenv++] = env[i];
	}
	static const char *const fixed[] = { "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
					     "GIT_TERMINAL_PROMPT=0", "LC_ALL=C" };
	GROW(envp, cap, nenv + sizeof(fixed) / sizeof(fixed[0]) + 1);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		envp[nenv++] = fixed[i];
	envp[nenv] = NULL;

	/* Settings, not options, where a git older than 2.29 lacks them: it ignores them. */
	const char *head[] = { git, "-C", repo, "-c", "gc.auto=0", "-c", "maintenance.auto=0",
			       "-c", "fetch.writeFetchHEAD=false", "-c", "fetch.recurseSubmodules=false",
			       "fetch", "--quiet", "--no-tags" };
	size_t nhead = sizeof(head) / sizeof(head[0]);
	const char **argv = xcalloc(nhead + nspecs + 4, sizeof(char *));
	size_t argc = 0;
	for (size_t i = 0; i < nhead; i++)
		argv[argc++] = head[i];
	if (prune)
		argv[argc++] = "--prune";
	argv[argc++] = "--";
	argv[argc++] = url;
	for (size_t i = 0; i < nspecs; i++)
		argv[argc++] = specs[i];

	int status = -1;
	int fds[2];
	struct buf raw = BUF_INIT;
	if (pipe2(fds, O_CLOEXEC) == 0) {
		struct spawn_req req = { .path = git, .argv = (char *const *)argv,
					 .envp = (char *const *)envp, .out_fd = fds[1] };
		pid_t pid;
		int rc = spawn_child(&req, &pid);
		int e = errno;
		close(fds[1]);
		if (rc == 0) {
			char chunk[4096];
			ssize_t got;
			while ((got = read(fds[0], chunk, sizeof(chunk))) != 0) {
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0)
					break;
				if (raw.len < 64 * 1024)
					buf_add(&raw, chunk, (size_t)got);
			}
			int ws;
			while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
				;
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		}
		close(fds[0]);
		errno = e;
	}
	if (status != 0 && status != -1)
		summarize(&raw, out);
	else if (status == -1)
		buf_addf(out, "cannot run %s: %s", git, strerror(errno));
	buf_release(&raw);
	free(argv);
	free(envp);
	return status;
}
