#include "session/fleet_config.h"

#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/settings.h"
#include "util/strutil.h"
#include "util/xalloc.h"

char *fleet_config_user_path(void)
{
	struct buf b = BUF_INIT;
	const char *xdg = setting_xdg_config_home();
	const char *home = setting_home();
	if (xdg)
		buf_addf(&b, "%s/ptbuild/config.json", xdg);
	else
		buf_addf(&b, "%s/.config/ptbuild/config.json", home ? home : ".");
	return buf_detach(&b);
}

static void set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = value && *value ? xstrdup(value) : NULL;
}

/* One section: {"url"|"remote": string, "read_only": bool}. */
static void read_section(struct fields *top, const char *name, const char *url_key,
			 char **url, bool *read_only)
{
	const struct jnode *sec = fields_get(top, name, JSON_OBJECT, false);
	if (!sec)
		return;
	struct buf what = BUF_INIT;
	buf_addf(&what, "\"%s\" of %s", name, top->what);
	struct fields f;
	fields_init(&f, top->doc, sec, what.data, top->d);
	const char *const keys[] = { url_key, "read_only" };
	fields_known(&f, keys, ARRAY_SIZE(keys));
	const struct jnode *u = fields_get(&f, url_key, JSON_STRING, false);
	if (u)
		set_string(url, u->str);
	const struct jnode *ro = fields_get(&f, "read_only", JSON_BOOL, false);
	if (ro)
		*read_only = ro->boolean;
	top->errors += f.errors;
	buf_release(&what);
}

int fleet_config_read_file(struct fleet_config *c, const char *path, struct diags *d)
{
	if (!path_exists(path))
		return 0;
	if (c->ndocs >= ARRAY_SIZE(c->docs))
		return diag_error(d, NULL, "%s: too many config files", path);
	struct jdoc *doc = &c->docs[c->ndocs++];
	size_t before = d->nerrors;
	if (jdoc_load(doc, path, d) < 0) {
		diag_hint(d, "fix the file (JSON with comments), or remove it");
		return -1;
	}
	if (doc->root.type != JSON_OBJECT) {
		diag_error(d, &doc->root.pos, "the ptbuild config file %s must hold an object, not %s",
			   path, jtype_name(doc->root.type));
		diag_hint(d, "{ \"remote_cache\": { \"url\": \"...\" } } (docs/building.md)");
		return -1;
	}
	struct fields f;
	fields_init(&f, doc, &doc->root, "the ptbuild config file", d);
	const char *const keys[] = { "remote_cache", "ccache" };
	fields_known(&f, keys, ARRAY_SIZE(keys));
	read_section(&f, "remote_cache", "url", &c->remote_cache_url, &c->remote_read_only);
	read_section(&f, "ccache", "remote", &c->ccache_remote, &c->ccache_read_only);
	return d->nerrors > before || f.errors ? -1 : 0;
}

void fleet_config_apply_env(struct fleet_config *c)
{
	if (setting_remote_cache())
		set_string(&c->remote_cache_url, setting_remote_cache());
	if (setting_ccache_remote())
		set_string(&c->ccache_remote, setting_ccache_remote());
	const char *ro = setting_remote_read_only();
	if (ro) {
		bool on = strcmp(ro, "0") && strcmp(ro, "false") && strcmp(ro, "no");
		c->remote_read_only = on;
		c->ccache_read_only = on;
	}
}

void fleet_config_apply_flags(struct fleet_config *c, const char *remote_cache_url,
			      bool read_only)
{
	if (remote_cache_url)
		set_string(&c->remote_cache_url, remote_cache_url);
	if (read_only) {
		c->remote_read_only = true;
		c->ccache_read_only = true;
	}
}

int fleet_config_load(struct fleet_config *c, const char *project_dir, struct diags *d)
{
	char *user = fleet_config_user_path();
	char *project = path_join(project_dir, "ptbuild.config.json");
	int rc = fleet_config_read_file(c, user, d);
	if (rc == 0)
		rc = fleet_config_read_file(c, project, d);
	if (rc == 0)
		fleet_config_apply_env(c);
	free(user);
	free(project);
	return rc;
}

const char *fleet_config_ccache_remote(const struct fleet_config *c, bool *read_only)
{
	if (read_only)
		*read_only = c->ccache_read_only;
	return c->ccache_remote;
}

void fleet_config_release(struct fleet_config *c)
{
	free(c->remote_cache_url);
	free(c->ccache_remote);
	for (size_t i = 0; i < c->ndocs; i++)
		jdoc_release(&c->docs[i]);
	memset(c, 0, sizeof(*c));
}
