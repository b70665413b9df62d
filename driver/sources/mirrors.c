#include "sources/mirrors.h"

#include <stdlib.h>
#include <string.h>

#include "sources/git_cli.h"
#include "util/json.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"
#include "util/settings.h"

static void add_rule(struct mirrors *m, const char *prefix, const char *replacement)
{
	for (size_t i = 0; i < m->n; i++) {
		if (!strcmp(m->v[i].prefix, prefix)) {
			free(m->v[i].replacement);
			m->v[i].replacement = xstrdup(replacement);
			return;
		}
	}
	GROW(m->v, m->cap, m->n + 1);
	m->v[m->n].prefix = xstrdup(prefix);
	m->v[m->n].replacement = xstrdup(replacement);
	m->n++;
}

int mirrors_load_file(struct mirrors *m, const char *path, struct diags *d)
{
	struct jdoc doc;
	size_t before = d->nerrors;
	if (jdoc_load(&doc, path, d) == 0) {
		if (doc.root.type != JSON_OBJECT) {
			diag_error(d, &doc.root.pos, "a mirrors file must be a JSON object of URL "
						     "prefix -> replacement, not %s", jtype_name(doc.root.type));
			diag_hint(d, "{\"https://github.com/\": \"https://git.example.internal/github/\"}");
		}
		for (size_t i = 0; doc.root.type == JSON_OBJECT && i < doc.root.n; i++) {
			const struct jnode *r = &doc.root.child[i];
			if (r->type != JSON_STRING) {
				diag_error(d, &r->pos, "the mirror for \"%s\" must be a string, not %s", r->key,
					   jtype_name(r->type));
				continue;
			}
			if (!*r->key) {
				diag_error(d, &r->key_pos, "an empty prefix would rewrite every URL");
				continue;
			}
			add_rule(m, r->key, r->str);
		}
	}
	/* positions in diagnostics point at the path: keep it */
	m->files = xrealloc(m->files, (m->nfiles + 1) * sizeof(char *));
	m->files[m->nfiles++] = doc.path;
	doc.path = NULL;
	jdoc_release(&doc);
	return d->nerrors == before ? 0 : -1;
}

int mirrors_load(struct mirrors *m, const char *project_dir, struct diags *d)
{
	memset(m, 0, sizeof(*m));
	int rc = 0;
	char *local = strcmp(project_dir, ".") ? path_join(project_dir, "mirrors.json")
					       : xstrdup("mirrors.json");
	if (path_exists(local) && mirrors_load_file(m, local, d) < 0)
		rc = -1;
	free(local);
	if (git_cli_check(d) < 0) /* how mirrors are fetched: wrong before any fetch */
		rc = -1;
	const char *env = setting_ptbuild_mirrors();
	if (env) {
		if (!path_exists(env)) {
			diag_error(d, NULL, "PTBUILD_MIRRORS names \"%s\", which does not exist", env);
			diag_hint(d, "point it at a JSON file of URL prefix -> replacement, or unset it");
			rc = -1;
		} else if (mirrors_load_file(m, env, d) < 0) {
			rc = -1;
		}
	}
	return rc;
}

void mirrors_release(struct mirrors *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].prefix);
		free(m->v[i].replacement);
	}
	free(m->v);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->files);
	memset(m, 0, sizeof(*m));
}

char *mirrors_rewrite(const struct mirrors *m, const char *url)
{
	const struct mirror_rule *best = NULL;
	for (size_t i = 0; m && i < m->n; i++) {
		size_t len = strlen(m->v[i].prefix);
		if (strncmp(url, m->v[i].prefix, len))
			continue;
		if (!best || len > strlen(best->prefix))
			best = &m->v[i];
	}
	if (!best)
		return xstrdup(url);
	struct buf b = BUF_INIT;
	buf_adds(&b, best->replacement);
	buf_adds(&b, url + strlen(best->prefix));
	return buf_detach(&b);
}
