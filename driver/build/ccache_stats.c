#include "build/ccache_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/os.h"
#include "util/strutil.h"

const char *const ccache_kind_names[CCK_COUNT] = { "cc", "c++", "nvcc", "other" };

enum ccache_kind ccache_kind_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(slash ? slash + 1 : file, '.');
	if (!dot)
		return CCK_OTHER;
	const char *ext = dot + 1;
	if (!strcmp(ext, "cu") || !strcmp(ext, "cuh") || !strcmp(ext, "d"))
		return CCK_NVCC;
	if (!strcmp(ext, "c"))
		return CCK_CC;
	static const char *const cxx[] = { "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", NULL };
	for (const char *const *e = cxx; *e; e++)
		if (!strcmp(ext, *e))
			return CCK_CXX;
	return CCK_OTHER;
}

static int reason_order(const void *a, const void *b)
{
	const struct ccache_reason *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ccache_counts_add_reason(struct ccache_counts *c, const char *reason, long count)
{
	size_t i = 0;
	while (i < c->nreasons && strcmp(c->reasons[i].name, reason))
		i++;
	if (i == c->nreasons) {
		if (c->nreasons < CCACHE_REASONS) {
			c->nreasons++;
		} else if (c->reasons[CCACHE_REASONS - 1].count >= count) {
			return; /* rarer than every kept reason */
		} else {
			i = CCACHE_REASONS - 1; /* replaces the rarest */
		}
		snprintf(c->reasons[i].name, sizeof(c->reasons[i].name), "%s", reason);
		c->reasons[i].count = 0;
	}
	c->reasons[i].count += count;
	qsort(c->reasons, c->nreasons, sizeof(c->reasons[0]), reason_order);
}

/* Statistics that tell how a result came about, not the result. */
static bool informational(const char *name)
{
	return !strcmp(name, "direct_cache_miss") || !strcmp(name, "preprocessed_cache_miss") ||
	       starts_with(name, "local_storage") || starts_with(name, "remote_storage");
}

/* One call: its input file and its statistics. */
struct call {
	enum ccache_kind kind;
	int result;          /* 0 none yet, 1 hit, 2 miss, 3 uncacheable */
	char reason[48];
	bool open;
};

static void close_call(struct call *c, struct ccache_stats *s)
{
	if (!c->open || !c->result)
		goto out;
	struct ccache_counts *k = &s->by[c->kind];
	if (c->result == 1) {
		k->hits++;
		s->hits++;
	} else if (c->result == 2) {
		k->misses++;
		s->misses++;
	} else {
		k->uncacheable++;
		s->uncacheable++;
		ccache_counts_add_reason(k, c->reason, 1);
	}
out:
	memset(c, 0, sizeof(*c));
}

static void take_result(struct call *c, const char *name)
{
	if (!strcmp(name, "direct_cache_hit") || !strcmp(name, "preprocessed_cache_hit")) {
		c->result = 1;
	} else if (!strcmp(name, "cache_miss") || !strcmp(name, "recache")) {
		if (c->result != 1)
			c->result = 2;
	} else if (!informational(name) && !c->result) {
		c->result = 3;
		snprintf(c->reason, sizeof(c->reason), "%s", name);
	}
}

void ccache_stats_parse(const char *text, struct ccache_stats *out)
{
	bool any = out->any;
	memset(out, 0, sizeof(*out));
	out->any = any;
	struct call c = { 0 };
	const char *cur = text;
	char *line;
	while ((line = next_line(&cur))) {
		if (*line == '#') {
			close_call(&c, out);
			const char *file = line + 1;
			while (*file == ' ')
				file++;
			c.kind = ccache_kind_of(file);
			c.open = true;
		} else if (*line) {
			if (!c.open) { /* lines before any comment line: one call of no known file */
				c.open = true;
				c.kind = CCK_OTHER;
			}
			take_result(&c, line);
		}
		free(line);
	}
	close_call(&c, out);
}

int ccache_stats_read(const char *statslog, struct ccache_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct buf text = BUF_INIT;
	if (read_file(statslog, &text) < 0) {
		buf_release(&text);
		return errno == ENOENT ? 0 : -1;
	}
	out->any = true;
	ccache_stats_parse(text.data ? text.data : "", out);
	buf_release(&text);
	return 0;
}

double ccache_hit_rate(const struct ccache_stats *s)
{
	long cacheable = s->hits + s->misses;
	return cacheable ? 100.0 * (double)s->hits / (double)cacheable : -1;
}

size_t ccache_top_reasons(const struct ccache_stats *s, struct ccache_reason *out, size_t n)
{
	struct ccache_counts all = { 0 };
	for (int k = 0; k < CCK_COUNT; k++)
		for (size_t i = 0; i < s->by[k].nreasons; i++)
			ccache_counts_add_reason(&all, s->by[k].reasons[i].name,
						 s->by[k].reasons[i].count);
	size_t m = all.nreasons < n ? all.nreasons : n;
	memcpy(out, all.reasons, m * sizeof(*out));
	return m;
}

void ccache_stats_describe(const struct ccache_stats *s, struct buf *out)
{
	size_t shown = 0;
	for (int k = 0; k < CCK_COUNT; k++) {
		const struct ccache_counts *c = &s->by[k];
		if (!c->hits && !c->misses && !c->uncacheable)
			continue;
		buf_addf(out, "%s%s %ld/%ld/%ld", shown++ ? ", " : "", ccache_kind_names[k],
			 c->hits, c->misses, c->uncacheable);
	}
	if (!shown)
		return;
	buf_adds(out, " (hits/misses/uncacheable)");
	struct ccache_reason top[3];
	size_t n = ccache_top_reasons(s, top, 3);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%s %ld", i ? ", " : "; uncacheable: ", top[i].name, top[i].count);
}

static double number_of(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jnode_get(obj, key);
	return n && n->type == JSON_NUMBER ? n->num : 0;
}

void ccache_stats_write_compilers(struct jw *w, const struct ccache_stats *s)
{
	jw_key(w, "compilers");
	jw_object_begin(w);
	static const int order[] = { CCK_CXX, CCK_CC, CCK_NVCC, CCK_OTHER }; /* sorted keys */
	for (size_t o = 0; o < 4; o++) {
		const struct ccache_counts *c = &s->by[order[o]];
		if (!c->hits && !c->misses && !c->uncacheable)
			continue;
		jw_key(w, ccache_kind_names[order[o]]);
		jw_object_begin(w);
		jw_kint(w, "hits", c->hits);
		jw_kint(w, "misses", c->misses);
		jw_kint(w, "uncacheable", c->uncacheable);
		jw_key(w, "uncacheable_reasons");
		jw_array_begin(w);
		for (size_t i = 0; i < c->nreasons; i++) {
			jw_object_begin(w);
			jw_kint(w, "count", c->reasons[i].count);
			jw_kstring(w, "reason", c->reasons[i].name);
			jw_object_end(w);
		}
		jw_array_end(w);
		jw_object_end(w);
	}
	jw_object_end(w);
}

void ccache_stats_read_compilers(const struct jnode *cc, struct ccache_stats *s)
{
	const struct jnode *all = jnode_get(cc, "compilers");
	for (int k = 0; all && all->type == JSON_OBJECT && k < CCK_COUNT; k++) {
		const struct jnode *c = jnode_get(all, ccache_kind_names[k]);
		if (!c || c->type != JSON_OBJECT)
			continue;
		s->by[k].hits = (long)number_of(c, "hits");
		s->by[k].misses = (long)number_of(c, "misses");
		s->by[k].uncacheable = (long)number_of(c, "uncacheable");
		const struct jnode *rs = jnode_get(c, "uncacheable_reasons");
		for (size_t i = 0; rs && rs->type == JSON_ARRAY && i < rs->n; i++) {
			const struct jnode *name = jnode_get(&rs->child[i], "reason");
			if (name && name->type == JSON_STRING)
				ccache_counts_add_reason(&s->by[k], name->str,
							 (long)number_of(&rs->child[i], "count"));
		}
	}
}

void ccache_stats_write_top(struct jw *w, const struct ccache_stats *s)
{
	struct ccache_reason top[3];
	size_t n = ccache_top_reasons(s, top, 3);
	jw_key(w, "top_uncacheable");
	jw_array_begin(w);
	for (size_t i = 0; i < n; i++) {
		jw_object_begin(w);
		jw_kint(w, "count", top[i].count);
		jw_kstring(w, "reason", top[i].name);
		jw_object_end(w);
	}
	jw_array_end(w);
}
