#include "build/failure_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/json.h"
#include "util/os.h"
#include "util/xalloc.h"

void failure_record_release(struct failure_record *f)
{
	free(f->key);
	free(f->recipe);
	free(f->variant);
	free(f->phase);
	free(f->message);
	free(f->log);
	memset(f, 0, sizeof(*f));
}

char *failure_record_path(const char *work_dir, const char *recipe, const char *variant)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/state/%s/%s.failed.json", work_dir, recipe, variant);
	return buf_detach(&b);
}

void failure_record_format(const struct failure_record *f, struct buf *out)
{
	struct jw w;
	jw_init(&w, out, true);
	jw_object_begin(&w);
	jw_kint(&w, "finished", f->finished);
	jw_kint(&w, "format", 1);
	jw_kstring(&w, "key", f->key);
	jw_kstring(&w, "log", f->log);
	jw_kstring(&w, "message", f->message);
	jw_kstring(&w, "phase", f->phase);
	jw_kstring(&w, "recipe", f->recipe);
	jw_kstring(&w, "variant", f->variant);
	jw_object_end(&w);
	buf_addch(out, '\n');
}

int failure_record_write(const char *work_dir, const struct failure_record *f, struct diags *d)
{
	if (!f->key || !f->recipe || !f->variant || !f->phase)
		return diag_error(d, NULL, "a failure record needs its key, recipe, variant and "
				  "phase");
	char *path = failure_record_path(work_dir, f->recipe, f->variant);
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	struct buf text = BUF_INIT;
	failure_record_format(f, &text);
	int rc = 0;
	if (make_dirs(dir, 0755) < 0 || write_file_atomic(path, text.data, text.len) < 0)
		rc = diag_error(d, NULL, "cannot write the failure record \"%s\": %s", path,
				strerror(errno));
	buf_release(&text);
	free(dir);
	free(path);
	return rc;
}

/* A string member, copied; NULL when absent or null. -1 when it is there but no string. */
static int take_string(const struct jnode *obj, const char *key, char **out)
{
	const struct jnode *n = jnode_get(obj, key);
	*out = NULL;
	if (!n || n->type == JSON_NULL)
		return 0;
	if (n->type != JSON_STRING)
		return -1;
	*out = xstrdup(n->str);
	return 0;
}

/* The parse errors of `from`, which point into a document about to be released, as
 * position-free errors in `to` (their positions rendered into the message). */
static void move_parse_errors(struct diags *to, const struct diags *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct buf where = BUF_INIT;
		pos_render(&from->v[i].pos, &where);
		diag_error(to, NULL, "%s%s%s", where.data, where.len ? ": " : "", from->v[i].msg);
		buf_release(&where);
	}
}

int failure_record_load(const char *path, struct failure_record *f, struct diags *d)
{
	memset(f, 0, sizeof(*f));
	if (!path_exists(path)) {
		errno = ENOENT;
		return -1;
	}
	struct diags parse;
	diags_init(&parse);
	struct jdoc doc;
	int rc = jdoc_load(&doc, path, &parse);
	move_parse_errors(d, &parse);
	diags_release(&parse);
	if (rc < 0) {
		jdoc_release(&doc);
		diag_hint(d, "delete it; the next failed build writes it again");
		return -1;
	}
	const struct jnode *root = &doc.root;
	const struct jnode *format = root->type == JSON_OBJECT ? jnode_get(root, "format") : NULL;
	const struct jnode *finished = format ? jnode_get(root, "finished") : NULL;
	if (!format || format->type != JSON_NUMBER || format->num != 1 || !finished ||
	    finished->type != JSON_NUMBER || take_string(root, "key", &f->key) < 0 ||
	    take_string(root, "recipe", &f->recipe) < 0 ||
	    take_string(root, "variant", &f->variant) < 0 ||
	    take_string(root, "phase", &f->phase) < 0 ||
	    take_string(root, "message", &f->message) < 0 ||
	    take_string(root, "log", &f->log) < 0 || !f->key || !f->recipe || !f->variant ||
	    !f->phase) {
		rc = diag_error(d, NULL, "%s is not a failure record ptbuild can read", path);
		diag_hint(d, "delete it; the next failed build writes it again");
		failure_record_release(f);
	} else {
		f->finished = (long long)finished->num;
	}
	jdoc_release(&doc);
	return rc;
}

int failure_record_remove(const char *work_dir, const char *recipe, const char *variant)
{
	char *path = failure_record_path(work_dir, recipe, variant);
	int rc = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	int saved = errno;
	free(path);
	errno = saved;
	return rc;
}
