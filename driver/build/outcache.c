#include "build/outcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/json.h"
#include "util/os.h"
#include "util/xalloc.h"

void build_record_release(struct build_record *r)
{
	free(r->key);
	free(r->recipe);
	free(r->variant);
	free(r->inputs);
	for (size_t i = 0; i < r->nwheels; i++)
		free(r->wheels[i].file);
	free(r->wheels);
	memset(r, 0, sizeof(*r));
}

void build_record_write(const struct build_record *r, struct buf *out)
{
	struct jdoc inputs;
	struct diags d;
	diags_init(&d);
	bool parsed = r->inputs &&
		      jdoc_parse(&inputs, "(inputs)", r->inputs, strlen(r->inputs), &d) == 0;
	struct jw w;
	jw_init(&w, out, true);
	jw_object_begin(&w);
	jw_key(&w, "ccache");
	jw_object_begin(&w);
	ccache_stats_write_compilers(&w, &r->cc);
	jw_kint(&w, "hits", r->ccache_hits);
	jw_kint(&w, "misses", r->ccache_misses);
	jw_kint(&w, "uncacheable", r->cc.uncacheable);
	jw_object_end(&w);
	jw_kint(&w, "finished", r->finished);
	jw_kint(&w, "format", 1);
	jw_key(&w, "inputs");
	if (parsed)
		jw_node(&w, &inputs.root);
	else
		jw_null(&w);
	jw_kstring(&w, "key", r->key);
	jw_kint(&w, "milliseconds", (long long)(r->seconds * 1000 + 0.5));
	jw_kstring(&w, "recipe", r->recipe);
	jw_kstring(&w, "variant", r->variant);
	jw_key(&w, "wheels");
	jw_array_begin(&w);
	for (size_t i = 0; i < r->nwheels; i++) {
		jw_object_begin(&w);
		jw_kstring(&w, "file", r->wheels[i].file);
		jw_kstring(&w, "sha256", r->wheels[i].sha256);
		jw_kint(&w, "size", (long long)r->wheels[i].size);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	buf_addch(out, '\n');
	if (parsed)
		jdoc_release(&inputs);
	diags_release(&d);
}

static char *string_of(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jnode_get(obj, key);
	return n && n->type == JSON_STRING ? xstrdup(n->str) : NULL;
}

static double number_of(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jnode_get(obj, key);
	return n && n->type == JSON_NUMBER ? n->num : 0;
}

int build_record_load(const char *path, struct build_record *r, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	if (!path_exists(path)) {
		errno = ENOENT;
		return -1;
	}
	struct jdoc doc;
	struct diags parse;
	diags_init(&parse);
	if (jdoc_load(&doc, path, &parse) < 0) {
		/* the positions point into `doc`: keep the text, not the records */
		struct buf text = BUF_INIT;
		diags_render(&parse, &text, false);
		buf_rtrim(&text);
		diag_error(d, NULL, "%s", text.data);
		diag_hint(d, "delete %s; the next build writes it again", path);
		buf_release(&text);
		diags_release(&parse);
		jdoc_release(&doc);
		return -1;
	}
	diags_release(&parse);
	const struct jnode *root = &doc.root;
	int rc = 0;
	if (root->type != JSON_OBJECT || number_of(root, "format") != 1) {
		rc = diag_error(d, NULL, "%s is not a build record ptbuild can read", path);
		diag_hint(d, "delete it; the next build writes it again");
		goto out;
	}
	r->key = string_of(root, "key");
	r->recipe = string_of(root, "recipe");
	r->variant = string_of(root, "variant");
	const struct jnode *inputs = jnode_get(root, "inputs");
	if (inputs && inputs->type == JSON_OBJECT)
		r->inputs = jnode_compact(inputs);
	r->seconds = number_of(root, "milliseconds") / 1000.0;
	r->finished = (long long)number_of(root, "finished");
	const struct jnode *cc = jnode_get(root, "ccache");
	if (cc) {
		r->ccache_hits = (long)number_of(cc, "hits");
		r->ccache_misses = (long)number_of(cc, "misses");
		r->cc.hits = r->ccache_hits;
		r->cc.misses = r->ccache_misses;
		r->cc.uncacheable = (long)number_of(cc, "uncacheable");
		ccache_stats_read_compilers(cc, &r->cc);
	}
	const struct jnode *wheels = jnode_get(root, "wheels");
	if (wheels && wheels->type == JSON_ARRAY) {
		r->wheels = xcalloc(wheels->n + 1, sizeof(*r->wheels));
		for (size_t i = 0; i < wheels->n; i++) {
			const struct jnode *w = &wheels->child[i];
			char *sha = string_of(w, "sha256");
			r->wheels[r->nwheels].file = string_of(w, "file");
			snprintf(r->wheels[r->nwheels].sha256, SHA256_HEX_SIZE, "%s", sha ? sha : "");
			r->wheels[r->nwheels].size = (uint64_t)number_of(w, "size");
			r->nwheels++;
			free(sha);
		}
	}
	if (!r->key || !r->inputs) {
		rc = diag_error(d, NULL, "%s lacks its key or inputs", path);
		diag_hint(d, "delete it; the next build writes it again");
	}
out:
	jdoc_release(&doc);
	if (rc)
		build_record_release(r);
	return rc;
}

char *out_entry_dir(const char *cache_dir, const char *key)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/out/%s", cache_dir, key);
	return buf_detach(&b);
}

bool out_entry_exists(const char *cache_dir, const char *key)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/out/%s/manifest.json", cache_dir, key);
	bool ok = path_exists(b.data);
	buf_release(&b);
	return ok;
}

bool out_entry_whole(const char *dir, const struct build_record *r, char **why)
{
	*why = NULL;
	if (!r->nwheels) {
		*why = xstrdup("its manifest lists no wheel");
		return false;
	}
	for (size_t i = 0; i < r->nwheels && !*why; i++) {
		const struct out_wheel *w = &r->wheels[i];
		char *path = w->file && !strchr(w->file, '/') ? path_join(dir, w->file) : NULL;
		struct stat st;
		struct buf b = BUF_INIT;
		if (!path)
			buf_addf(&b, "its manifest names a wheel that is not a file name");
		else if (stat(path, &st) < 0)
			buf_addf(&b, "%s: %s", path, strerror(errno));
		else if ((uint64_t)st.st_size != w->size)
			buf_addf(&b, "%s has %lld bytes, its manifest says %llu", path,
				 (long long)st.st_size, (unsigned long long)w->size);
		if (b.len)
			*why = buf_detach(&b);
		buf_release(&b);
		free(path);
	}
	if (!*why) /* a hit: the entry's last use, for `cache gc --max-size` (LRU) */
		utimensat(AT_FDCWD, dir, NULL, 0);
	return !*why;
}

int out_list_wheels(const char *dir, struct build_record *r, struct diags *d)
{
	char **names = NULL;
	size_t n = 0;
	if (list_dir(dir, ".whl", &names, &n) < 0)
		return diag_error(d, NULL, "cannot list \"%s\": %s", dir, strerror(errno));
	r->wheels = xcalloc(n + 1, sizeof(*r->wheels));
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char *path = path_join(dir, names[i]);
		struct out_wheel *w = &r->wheels[r->nwheels];
		struct stat st;
		if (stat(path, &st) < 0 || sha256_file_hex(path, w->sha256) < 0) {
			rc = diag_error(d, NULL, "cannot read \"%s\": %s", path, strerror(errno));
		} else {
			w->file = xstrdup(names[i]);
			w->size = (uint64_t)st.st_size;
			r->nwheels++;
		}
		free(path);
	}
	free_names(names, n);
	return rc;
}

char *state_record_path(const char *work_dir, const char *recipe, const char *variant)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/state/%s/%s.json", work_dir, recipe, variant);
	return buf_detach(&b);
}
