/*
 * The environment variables ptbuild reads, each in one place. Values are read when asked
 * (a test may set one between two in-process runs); NULL when the variable is unset or
 * empty. A build's own environment is composed elsewhere (model/envflags: the allow-list).
 */
#ifndef PTBUILD_SETTINGS_H
#define PTBUILD_SETTINGS_H

#include <stdbool.h>

/* $PATH: where programs are looked up. */
const char *setting_path(void);
/* $HOME. */
const char *setting_home(void);
/* $PTBUILD_CACHE: the cache directory, unless --cache-dir says another. */
const char *setting_ptbuild_cache(void);
/* $XDG_CACHE_HOME: the cache is $XDG_CACHE_HOME/ptbuild without the two above. */
const char *setting_xdg_cache_home(void);
/* $PTBUILD_MIRRORS: a mirrors.json beside the project's. */
const char *setting_ptbuild_mirrors(void);
/* $PTBUILD_PYTHON_3_11 (for "3.11"): the interpreter of that Python, instead of a search. */
const char *setting_python_override(const char *version);
/* $PYENV_ROOT: where pyenv's versions are (default ~/.pyenv). */
const char *setting_pyenv_root(void);
/* $PIP_INDEX_URL: the index sdists are found on when the recipe names none. */
const char *setting_pip_index_url(void);
/* $CUDA_HOME: the CUDA toolkit doctor reports (default /usr/local/cuda). */
const char *setting_cuda_home(void);
/* $TMPDIR. */
const char *setting_tmpdir(void);
/* $NO_COLOR set (even empty): no colour on a terminal. */
bool setting_no_color(void);
/* $PTBUILD_FAULT: for the fault-injection tests only (util/fault.h). */
const char *setting_fault(void);
/* This process's whole environment (environ), for what a build would inherit of it. */
char *const *setting_environ(void);
/* $PTBUILD_CCACHE: the ccache builds run (a path), instead of the search. */
const char *setting_ptbuild_ccache(void);
/* $PTBUILD_GIT_CLI: "1" mirrors are fetched with git's CLI, "0" with libgit2; unset: the CLI
 * for local paths and file:// URLs when git is on PATH (sources/git_cli.h). */
const char *setting_git_cli(void);

/* ---- the fleet: shared caches (session/fleet_config.h, build/remote_cache.h) ---------- */
/* $XDG_CONFIG_HOME: the user's config file is $XDG_CONFIG_HOME/ptbuild/config.json
 * (default ~/.config/ptbuild/config.json); ccache's own is under it too. */
const char *setting_xdg_config_home(void);
/* $PTBUILD_REMOTE_CACHE: the URL of the shared output cache. */
const char *setting_remote_cache(void);
/* $PTBUILD_REMOTE_READ_ONLY: "1" (or anything but "0"): both remote caches read-only. */
const char *setting_remote_read_only(void);
/* $PTBUILD_REMOTE_CACHE_TOKEN: a bearer token for the remote output cache. */
const char *setting_remote_cache_token(void);
/* $PTBUILD_REMOTE_TIMEOUT: seconds of connect timeout and of a stalled transfer (30). */
const char *setting_remote_timeout(void);
/* $NETRC: the netrc file credentials come from (default ~/.netrc). */
const char *setting_netrc(void);
/* $PTBUILD_CCACHE_REMOTE: ccache's remote storage (CCACHE_REMOTE_STORAGE of the builds). */
const char *setting_ccache_remote(void);

#endif
