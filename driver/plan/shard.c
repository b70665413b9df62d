#include "plan/shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/xalloc.h"

static int parse_int(const char *s, const char **end, long *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *e;
	long v = strtol(s, &e, 10);
	if (errno)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

int shard_parse(const char *text, const char *option, struct shard_spec *out, struct diags *d)
{
	const char *p;
	long k, n;
	if (parse_int(text, &p, &k) < 0 || *p != '/' || parse_int(p + 1, &p, &n) < 0 || *p) {
		diag_error(d, NULL, "%s \"%s\" is not K/N", option, text);
		diag_hint(d, "name one shard of N as K/N with 1 <= K <= N, e.g. %s 1/4", option);
		return -1;
	}
	if (n < 1 || n > SHARD_MAX || k < 1 || k > n) {
		diag_error(d, NULL, "%s \"%s\" is out of range: K must be 1..N and N 1..%d", option,
			   text, SHARD_MAX);
		diag_hint(d, "shards are numbered from 1: the shards of 4 are 1/4, 2/4, 3/4 and 4/4");
		return -1;
	}
	out->k = (int)k;
	out->n = (int)n;
	return 0;
}

int shard_count_parse(const char *text, const char *option, int *out, struct diags *d)
{
	const char *p;
	long n;
	if (parse_int(text, &p, &n) < 0 || *p || n < 1 || n > SHARD_MAX) {
		diag_error(d, NULL, "%s \"%s\" is not a shard count from 1 to %d", option, text,
			   SHARD_MAX);
		diag_hint(d, "give the number of runners, e.g. %s 4", option);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static size_t find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

/* Orders variants by "recipe/variant", the id the lock uses. */
static int id_cmp(const struct variant *a, const struct variant *b)
{
	int c = strcmp(a->recipe->name, b->recipe->name);
	return c ? c : strcmp(a->label, b->label);
}

struct component {
	size_t root;
	size_t first;   /* the variant with the smallest id */
	long long ms;
};

static const struct plan *sort_plan; /* qsort has no context argument in C11 */

static int component_cmp(const void *pa, const void *pb)
{
	const struct component *a = pa, *b = pb;
	if (a->ms != b->ms)
		return a->ms > b->ms ? -1 : 1;
	return id_cmp(&sort_plan->v[a->first], &sort_plan->v[b->first]);
}

static int index_cmp(const void *pa, const void *pb)
{
	return id_cmp(&sort_plan->v[*(const size_t *)pa], &sort_plan->v[*(const size_t *)pb]);
}

/* sha256 of "recipe/variant key shard" lines in id order, cut to 12 digits. */
static void split_id(struct shard_split *s, const struct plan *plan)
{
	size_t *order = xcalloc(plan->n + 1, sizeof(size_t));
	size_t n = 0;
	for (size_t i = 0; i < plan->n; i++)
		if (s->shard_of[i])
			order[n++] = i;
	sort_plan = plan;
	qsort(order, n, sizeof(*order), index_cmp);
	struct sha256 h;
	sha256_init(&h);
	char line[96];
	snprintf(line, sizeof(line), "shards %d\n", s->nshards);
	sha256_update(&h, line, strlen(line));
	for (size_t k = 0; k < n; k++) {
		const struct variant *v = &plan->v[order[k]];
		sha256_update(&h, v->recipe->name, strlen(v->recipe->name));
		sha256_update(&h, "/", 1);
		sha256_update(&h, v->label, strlen(v->label));
		snprintf(line, sizeof(line), " %s %d\n", v->key, s->shard_of[order[k]]);
		sha256_update(&h, line, strlen(line));
	}
	char hex[SHA256_HEX_SIZE];
	sha256_final_hex(&h, hex);
	memcpy(s->id, hex, SHARD_ID_SIZE - 1);
	s->id[SHARD_ID_SIZE - 1] = '\0';
	free(order);
}

static bool buildable(const struct variant *v)
{
	return v->recipe->source.kind != SOURCE_WHEEL;
}

void shard_split_make(struct shard_split *s, const struct plan *plan, const double *seconds,
		      int nshards)
{
	memset(s, 0, sizeof(*s));
	s->nshards = nshards;
	s->shard_of = xcalloc(plan->n + 1, sizeof(int));
	s->ms = xcalloc((size_t)nshards + 1, sizeof(long long));
	s->count = xcalloc((size_t)nshards + 1, sizeof(size_t));
	size_t *parent = xcalloc(plan->n + 1, sizeof(size_t));
	for (size_t i = 0; i < plan->n; i++)
		parent[i] = i;
	for (size_t i = 0; i < plan->n; i++) {
		if (!buildable(&plan->v[i]))
			continue;
		for (size_t k = 0; k < plan->v[i].ndeps; k++) {
			size_t dep = plan->v[i].deps[k];
			if (buildable(&plan->v[dep])) {
				size_t a = find(parent, i), b = find(parent, dep);
				parent[a > b ? a : b] = a > b ? b : a;
			}
		}
	}
	struct component *c = xcalloc(plan->n + 1, sizeof(*c));
	size_t nc = 0;
	for (size_t i = 0; i < plan->n; i++) {
		if (!buildable(&plan->v[i]))
			continue;
		size_t r = find(parent, i);
		size_t j = 0;
		while (j < nc && c[j].root != r)
			j++;
		if (j == nc)
			c[nc++] = (struct component){ .root = r, .first = i };
		else if (id_cmp(&plan->v[i], &plan->v[c[j].first]) < 0)
			c[j].first = i;
		/* whole milliseconds: the same sums on every machine */
		long long ms = seconds[i] > 0 ? (long long)(seconds[i] * 1000 + 0.5) : 1000;
		c[j].ms += ms > 0 ? ms : 1;
	}
	sort_plan = plan;
	qsort(c, nc, sizeof(*c), component_cmp);
	int *shard_of_comp = xcalloc(nc + 1, sizeof(int));
	for (size_t j = 0; j < nc; j++) {
		int best = 1;
		for (int k = 2; k <= nshards; k++)
			if (s->ms[k] < s->ms[best])
				best = k;
		s->ms[best] += c[j].ms;
		shard_of_comp[j] = best;
	}
	for (size_t i = 0; i < plan->n; i++) {
		if (!buildable(&plan->v[i]))
			continue;
		size_t r = find(parent, i);
		for (size_t j = 0; j < nc; j++)
			if (c[j].root == r) {
				s->shard_of[i] = shard_of_comp[j];
				s->count[shard_of_comp[j]]++;
				break;
			}
	}
	split_id(s, plan);
	free(shard_of_comp);
	free(c);
	free(parent);
}

void shard_split_release(struct shard_split *s)
{
	free(s->shard_of);
	free(s->ms);
	free(s->count);
	memset(s, 0, sizeof(*s));
}
