/*
 * The fleet settings: where the shared caches of several machines are. Read from the user's
 * file ($XDG_CONFIG_HOME/ptbuild/config.json, default ~/.config/ptbuild/config.json), then
 * the project's (<project>/ptbuild.config.json), then the environment, then the command
 * line; each later one wins for what it sets (docs/building.md, "Sharing caches between
 * machines"):
 *
 *   { "remote_cache": { "url": "https://cache.example/ptbuild", "read_only": false },
 *     "ccache": { "remote": "http://cache.example/ccache", "read_only": false } }
 *
 * JSON with comments like the recipes; an unknown key is an error at its file:line:col.
 * None of it is a build input: no key, lock or manifest holds it.
 */
#ifndef PTBUILD_FLEET_CONFIG_H
#define PTBUILD_FLEET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"
#include "util/json.h"

struct fleet_config {
	char *remote_cache_url;  /* owned, NULL: no remote output cache */
	bool remote_read_only;   /* downloads only, never a PUT */
	char *ccache_remote;     /* owned: ccache's remote storage, NULL: none */
	bool ccache_read_only;
	struct jdoc docs[2];     /* the files read: diagnostics point into them */
	size_t ndocs;
};

/* The user's config file path (caller frees). */
char *fleet_config_user_path(void);
/* Reads the user file, the project file of `project_dir` and the environment into `c`.
 * A missing file is fine; 0, or -1 with input errors in `d` (release `c` after printing). */
int fleet_config_load(struct fleet_config *c, const char *project_dir, struct diags *d);
/* One file over what `c` has (absent: 0, nothing changes). */
int fleet_config_read_file(struct fleet_config *c, const char *path, struct diags *d);
/* The environment over what `c` has: PTBUILD_REMOTE_CACHE, PTBUILD_REMOTE_READ_ONLY (both
 * caches), PTBUILD_CCACHE_REMOTE. */
void fleet_config_apply_env(struct fleet_config *c);
/* The command line over all: --remote-cache URL (NULL: not given), --remote-read-only. */
void fleet_config_apply_flags(struct fleet_config *c, const char *remote_cache_url,
			      bool read_only);
/* ccache's remote storage in effect, or NULL; and whether it is read-only. */
const char *fleet_config_ccache_remote(const struct fleet_config *c, bool *read_only);
void fleet_config_release(struct fleet_config *c);

#endif
