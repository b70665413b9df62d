/* Leaf-by-leaf differences of two parsed JSON values (what `explain` prints). */
#include "util/json_diff.h"

#include <stdlib.h>
#include <string.h>

#include "util/json_write.h"

static void diff_line(struct buf *out, const char *path, const struct jnode *a,
		      const struct jnode *b)
{
	char *x = a ? jnode_compact(a) : NULL;
	char *y = b ? jnode_compact(b) : NULL;
	buf_addf(out, "%s: %s -> %s\n", *path ? path : "(document)", x ? x : "(absent)",
		 y ? y : "(absent)");
	free(x);
	free(y);
}

static void diff_at(struct buf *out, struct buf *path, const struct jnode *a, const struct jnode *b)
{
	if (!a || !b || a->type != b->type) {
		diff_line(out, path->data, a, b);
		return;
	}
	if (a->type == JSON_OBJECT) {
		size_t mark = path->len;
		const struct jnode **ma = jnode_sorted_members(a), **mb = jnode_sorted_members(b);
		size_t i = 0, k = 0;
		while (i < a->n || k < b->n) {
			int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(ma[i]->key, mb[k]->key);
			const char *key = c <= 0 ? ma[i]->key : mb[k]->key;
			buf_addf(path, "%s%s", mark ? "." : "", key);
			diff_at(out, path, c <= 0 ? ma[i] : NULL, c >= 0 ? mb[k] : NULL);
			buf_truncate(path, mark);
			i += c <= 0;
			k += c >= 0;
		}
		free(ma);
		free(mb);
		return;
	}
	char *x = jnode_compact(a), *y = jnode_compact(b);
	if (strcmp(x, y))
		diff_line(out, path->data, a, b);
	free(x);
	free(y);
}

void jnode_diff(const struct jnode *a, const struct jnode *b, struct buf *out)
{
	struct buf path = BUF_INIT;
	diff_at(out, &path, a, b);
	buf_release(&path);
}
