/* Shards (plan/shard): K/N parsing, chains kept whole, balance, and the same split whatever
 * the order of the plan. Plans are built by hand: the split reads only names, labels,
 * source kinds and dependency edges. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "plan/shard.h"
#include "util/xalloc.h"

/* ---- parsing ------------------------------------------------------------------------------ */

static void test_parse_good(void **state)
{
	(void)state;
	static const struct { const char *text; int k, n; } cases[] = {
		{ "1/1", 1, 1 }, { "1/4", 1, 4 }, { "4/4", 4, 4 }, { "12/256", 12, 256 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diags d;
		diags_init(&d);
		struct shard_spec s;
		assert_int_equal(shard_parse(cases[i].text, "--shard", &s, &d), 0);
		assert_int_equal(s.k, cases[i].k);
		assert_int_equal(s.n, cases[i].n);
		assert_int_equal(d.n, 0);
		diags_release(&d);
	}
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const struct { const char *text, *msg; } cases[] = {
		{ "", "--shard \"\" is not K/N" },
		{ "3", "--shard \"3\" is not K/N" },
		{ "1/", "is not K/N" }, { "/2", "is not K/N" }, { "a/b", "is not K/N" },
		{ "1/2/3", "is not K/N" }, { "1 /2", "is not K/N" }, { "-1/2", "is not K/N" },
		{ "+1/2", "is not K/N" }, { "1/2x", "is not K/N" },
		{ "0/2", "--shard \"0/2\" is out of range" }, { "3/2", "is out of range" },
		{ "1/0", "is out of range" }, { "1/257", "is out of range" },
		{ "99999999999999999999/2", "is not K/N" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diags d;
		diags_init(&d);
		struct shard_spec s = { 0, 0 };
		assert_int_equal(shard_parse(cases[i].text, "--shard", &s, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, cases[i].msg);
		assert_contains(t, "hint:");
		assert_int_equal(s.k, 0);
		free(t);
		diags_release(&d);
	}
}

static void test_count_parse(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	int n = 0;
	assert_int_equal(shard_count_parse("4", "--matrix", &n, &d), 0);
	assert_int_equal(n, 4);
	static const char *const bad[] = { "0", "257", "x", "", "2/2", "-3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shard_count_parse(bad[i], "--matrix", &n, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, "is not a shard count from 1 to 256");
		free(t);
	}
	assert_int_equal(n, 4);
	diags_release(&d);
}

/* ---- a hand-made plan ----------------------------------------------------------------------- */

struct fake {
	const char *name;
	double seconds;
	const char *dep1, *dep2; /* names of dependencies, or NULL */
	bool wheel;
};

struct fake_plan {
	struct plan plan;
	struct recipe *recipes;
	double *seconds;
};

/* The plan of `f` (n of them) in the order `order` gives (indices into f). */
static void fake_plan_make(struct fake_plan *fp, const struct fake *f, size_t n, const size_t *order)
{
	memset(fp, 0, sizeof(*fp));
	fp->recipes = xcalloc(n, sizeof(struct recipe));
	fp->seconds = xcalloc(n, sizeof(double));
	fp->plan.v = xcalloc(n, sizeof(struct variant));
	fp->plan.n = n;
	for (size_t i = 0; i < n; i++) {
		const struct fake *x = &f[order[i]];
		fp->recipes[i].name = (char *)x->name;
		fp->recipes[i].source.kind = x->wheel ? SOURCE_WHEEL : SOURCE_GIT;
		fp->plan.v[i].recipe = &fp->recipes[i];
		fp->plan.v[i].label = (char *)"cpu-py3.11";
		fp->seconds[i] = x->seconds;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fake *x = &f[order[i]];
		struct variant *v = &fp->plan.v[i];
		v->deps = xcalloc(2, sizeof(size_t));
		for (size_t j = 0; j < n; j++) {
			const char *name = fp->recipes[j].name;
			if ((x->dep1 && !strcmp(name, x->dep1)) || (x->dep2 && !strcmp(name, x->dep2)))
				v->deps[v->ndeps++] = j;
		}
	}
}

static void fake_plan_release(struct fake_plan *fp)
{
	for (size_t i = 0; i < fp->plan.n; i++)
		free(fp->plan.v[i].deps);
	free(fp->plan.v);
	free(fp->recipes);
	free(fp->seconds);
}

/* The shard of recipe `name`. */
static int shard_of(const struct fake_plan *fp, const struct shard_split *s, const char *name)
{
	for (size_t i = 0; i < fp->plan.n; i++)
		if (!strcmp(fp->recipes[i].name, name))
			return s->shard_of[i];
	fail_msg("no recipe %s", name);
	return -1;
}

/* shard_project.sh's matrix, with its sleeps plus 3 s of overhead each */
static const struct fake matrix[] = {
	{ "a1", 5, NULL, NULL, false }, { "a2", 4, "a1", NULL, false }, { "a3", 4, "a2", NULL, false },
	{ "b1", 4, NULL, NULL, false }, { "b2", 4, "b1", NULL, false }, { "c1", 5, NULL, NULL, false },
	{ "c2", 4, NULL, NULL, false }, { "c3", 4, NULL, NULL, false },
};
#define NMATRIX (sizeof(matrix) / sizeof(matrix[0]))

static void test_chains_whole_and_balanced(void **state)
{
	(void)state;
	size_t order[NMATRIX];
	for (size_t i = 0; i < NMATRIX; i++)
		order[i] = i;
	struct fake_plan fp;
	fake_plan_make(&fp, matrix, NMATRIX, order);
	struct shard_split s;
	shard_split_make(&s, &fp.plan, fp.seconds, 2);
	/* largest first onto the least loaded shard: a (13 s) on 1, b (8 s) on 2, c1 (5 s) on 2;
	 * then 13 s each, the tie goes to shard 1: c2 on 1, c3 on 2 */
	assert_int_equal(shard_of(&fp, &s, "a1"), 1);
	assert_int_equal(shard_of(&fp, &s, "a2"), 1);
	assert_int_equal(shard_of(&fp, &s, "a3"), 1);
	assert_int_equal(shard_of(&fp, &s, "b1"), 2);
	assert_int_equal(shard_of(&fp, &s, "b2"), 2);
	assert_int_equal(shard_of(&fp, &s, "c1"), 2);
	assert_int_equal(shard_of(&fp, &s, "c2"), 1);
	assert_int_equal(shard_of(&fp, &s, "c3"), 2);
	assert_int_equal(s.ms[1], 17000);
	assert_int_equal(s.ms[2], 17000);
	assert_int_equal(s.count[1], 4);
	assert_int_equal(s.count[2], 4);
	shard_split_release(&s);
	fake_plan_release(&fp);
}

/* The same shards whatever the order of the plan's array: ids and weights decide. */
static void test_order_independent(void **state)
{
	(void)state;
	size_t order[NMATRIX];
	for (size_t i = 0; i < NMATRIX; i++)
		order[i] = i;
	struct fake_plan ref;
	fake_plan_make(&ref, matrix, NMATRIX, order);
	struct shard_split rs;
	shard_split_make(&rs, &ref.plan, ref.seconds, 3);
	unsigned seed = 7;
	for (int round = 0; round < 20; round++) {
		for (size_t i = NMATRIX - 1; i > 0; i--) { /* a fixed shuffle */
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 16) % (i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		struct fake_plan fp;
		fake_plan_make(&fp, matrix, NMATRIX, order);
		struct shard_split s;
		shard_split_make(&s, &fp.plan, fp.seconds, 3);
		for (size_t i = 0; i < NMATRIX; i++)
			assert_int_equal(shard_of(&fp, &s, matrix[i].name),
					 shard_of(&ref, &rs, matrix[i].name));
		for (int k = 1; k <= 3; k++)
			assert_int_equal(s.ms[k], rs.ms[k]);
		assert_string_equal(s.id, rs.id);
		shard_split_release(&s);
		fake_plan_release(&fp);
	}
	/* the id names the assignment: another count, another id; other weights that place
	 * every variant alike (3 shards), the same id; that place them otherwise, another */
	struct shard_split two, other;
	shard_split_make(&two, &ref.plan, ref.seconds, 2);
	assert_string_not_equal(two.id, rs.id);
	ref.seconds[0] = 900; /* a1 */
	shard_split_make(&other, &ref.plan, ref.seconds, 3);
	assert_string_equal(other.id, rs.id);
	shard_split_release(&other);
	shard_split_make(&other, &ref.plan, ref.seconds, 2);
	assert_string_not_equal(other.id, two.id);
	assert_int_equal(strlen(other.id), SHARD_ID_SIZE - 1);
	shard_split_release(&other);
	shard_split_release(&two);
	shard_split_release(&rs);
	fake_plan_release(&ref);
}

/* A wheel source is in no shard (0: every shard fetches it) and joins nothing: two
 * extensions of one prebuilt torch may go to different shards. A variant with two built
 * dependencies joins both chains. */
static void test_wheels_join_nothing(void **state)
{
	(void)state;
	static const struct fake f[] = {
		{ "torch", 100, NULL, NULL, true }, { "x", 10, "torch", NULL, false },
		{ "y", 10, "torch", NULL, false }, { "p", 1, NULL, NULL, false },
		{ "q", 1, NULL, NULL, false }, { "pq", 1, "p", "q", false },
	};
	size_t order[] = { 0, 1, 2, 3, 4, 5 };
	struct fake_plan fp;
	fake_plan_make(&fp, f, 6, order);
	struct shard_split s;
	shard_split_make(&s, &fp.plan, fp.seconds, 2);
	assert_int_equal(shard_of(&fp, &s, "torch"), 0);
	assert_int_not_equal(shard_of(&fp, &s, "x"), shard_of(&fp, &s, "y"));
	assert_int_equal(shard_of(&fp, &s, "p"), shard_of(&fp, &s, "pq"));
	assert_int_equal(shard_of(&fp, &s, "q"), shard_of(&fp, &s, "pq"));
	assert_int_equal(s.count[1] + s.count[2], 5);
	assert_int_equal(s.ms[1] + s.ms[2], 23000);
	shard_split_release(&s);
	fake_plan_release(&fp);
}

/* More shards than components: the rest are empty; one shard takes everything. */
static void test_more_shards_than_work(void **state)
{
	(void)state;
	size_t order[NMATRIX];
	for (size_t i = 0; i < NMATRIX; i++)
		order[i] = i;
	struct fake_plan fp;
	fake_plan_make(&fp, matrix, NMATRIX, order);
	struct shard_split s;
	shard_split_make(&s, &fp.plan, fp.seconds, 8);
	size_t total = 0, empty = 0;
	for (int k = 1; k <= 8; k++) {
		total += s.count[k];
		empty += s.count[k] == 0;
		assert_true(s.count[k] == 0 || s.ms[k] > 0);
	}
	assert_int_equal(total, NMATRIX);
	assert_int_equal(empty, 3); /* 5 components */
	shard_split_release(&s);
	shard_split_make(&s, &fp.plan, fp.seconds, 1);
	for (size_t i = 0; i < NMATRIX; i++)
		assert_int_equal(s.shard_of[i], 1);
	assert_int_equal(s.ms[1], 34000);
	shard_split_release(&s);
	fake_plan_release(&fp);
}

/* Many independent variants of known weights: the longest shard is within the largest
 * single weight of the shortest (what placing largest first onto the least loaded shard
 * guarantees); weights never seen (0) count one second. */
static void test_balance_bound(void **state)
{
	(void)state;
	enum { N = 40 };
	static char names[N][8];
	struct fake f[N];
	size_t order[N];
	double max_w = 0;
	unsigned seed = 3;
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "r%02zu", i);
		seed = seed * 1103515245u + 12345u;
		double w = i == 5 ? 0 : 1 + (double)((seed >> 16) % 600) / 10;
		f[i] = (struct fake){ names[i], w, NULL, NULL, false };
		order[i] = i;
		if (w > max_w)
			max_w = w;
	}
	struct fake_plan fp;
	fake_plan_make(&fp, f, N, order);
	for (int n = 2; n <= 5; n++) {
		struct shard_split s;
		shard_split_make(&s, &fp.plan, fp.seconds, n);
		long long lo = s.ms[1], hi = s.ms[1];
		for (int k = 2; k <= n; k++) {
			lo = s.ms[k] < lo ? s.ms[k] : lo;
			hi = s.ms[k] > hi ? s.ms[k] : hi;
		}
		assert_true(hi - lo <= (long long)(max_w * 1000));
		shard_split_release(&s);
	}
	fake_plan_release(&fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_count_parse),
		cmocka_unit_test(test_chains_whole_and_balanced),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_wheels_join_nothing),
		cmocka_unit_test(test_more_shards_than_work),
		cmocka_unit_test(test_balance_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
