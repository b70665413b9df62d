#include "util/settings.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* The variable's value, NULL when it is unset or empty. */
static const char *nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

const char *setting_path(void)
{
	return nonempty("PATH");
}

const char *setting_home(void)
{
	return nonempty("HOME");
}

const char *setting_ptbuild_cache(void)
{
	return nonempty("PTBUILD_CACHE");
}

const char *setting_xdg_cache_home(void)
{
	return nonempty("XDG_CACHE_HOME");
}

const char *setting_ptbuild_mirrors(void)
{
	return nonempty("PTBUILD_MIRRORS");
}

const char *setting_python_override(const char *version)
{
	struct buf var = BUF_INIT;
	buf_adds(&var, "PTBUILD_PYTHON_");
	for (const char *c = version; *c; c++)
		buf_addch(&var, *c == '.' ? '_' : *c);
	const char *v = nonempty(var.data);
	buf_release(&var);
	return v;
}

const char *setting_pyenv_root(void)
{
	return nonempty("PYENV_ROOT");
}

const char *setting_pip_index_url(void)
{
	return nonempty("PIP_INDEX_URL");
}

const char *setting_cuda_home(void)
{
	return nonempty("CUDA_HOME");
}

const char *setting_tmpdir(void)
{
	return nonempty("TMPDIR");
}

bool setting_no_color(void)
{
	return getenv("NO_COLOR") != NULL;
}

const char *setting_fault(void)
{
	return nonempty("PTBUILD_FAULT");
}

extern char **environ;

char *const *setting_environ(void)
{
	return environ;
}

const char *setting_xdg_config_home(void)
{
	return nonempty("XDG_CONFIG_HOME");
}

const char *setting_remote_cache(void)
{
	return nonempty("PTBUILD_REMOTE_CACHE");
}

const char *setting_remote_read_only(void)
{
	return nonempty("PTBUILD_REMOTE_READ_ONLY");
}

const char *setting_remote_cache_token(void)
{
	return nonempty("PTBUILD_REMOTE_CACHE_TOKEN");
}

const char *setting_remote_timeout(void)
{
	return nonempty("PTBUILD_REMOTE_TIMEOUT");
}

const char *setting_netrc(void)
{
	return nonempty("NETRC");
}

const char *setting_ccache_remote(void)
{
	return nonempty("PTBUILD_CCACHE_REMOTE");
}

const char *setting_ptbuild_ccache(void)
{
	return nonempty("PTBUILD_CCACHE");
}

const char *setting_git_cli(void)
{
	return nonempty("PTBUILD_GIT_CLI");
}
