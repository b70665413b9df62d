#include "util/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *next_line(const char **cursor)
{
	const char *s = *cursor;
	if (!*s)
		return NULL;
	size_t len = strcspn(s, "\n");
	*cursor = s + len + (s[len] == '\n');
	return xstrndup(s, len);
}

char *str_replace_all(const char *s, const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "");
	size_t n = strlen(from);
	for (const char *hit; (hit = strstr(s, from)); s = hit + n) {
		buf_add(&b, s, (size_t)(hit - s));
		buf_adds(&b, to);
	}
	buf_adds(&b, s);
	return buf_detach(&b);
}

bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool str_in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

size_t edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	size_t *prev2 = xcalloc(m + 1, sizeof(size_t));
	size_t *prev = xcalloc(m + 1, sizeof(size_t));
	size_t *cur = xcalloc(m + 1, sizeof(size_t));
	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= m; j++) {
			size_t cost = toupper((unsigned char)a[i - 1]) ==
					      toupper((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	size_t d = prev[m];
	free(prev2);
	free(prev);
	free(cur);
	return d;
}

const char *closest_match(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (!best)
		return NULL;
	size_t len = strlen(word) > strlen(best) ? strlen(word) : strlen(best);
	size_t limit = len / 3 ? len / 3 : 1;
	if (best_d <= limit)
		return best;
	/* A truncated name ("cuda.arch" for "cuda.arch_list") is a plausible slip too, when
	 * exactly one candidate starts with it. */
	const char *prefixed = NULL;
	for (size_t i = 0; i < n && strlen(word) >= 3; i++) {
		if (!starts_with(candidates[i], word))
			continue;
		if (prefixed)
			return NULL;
		prefixed = candidates[i];
	}
	return prefixed;
}

/* Reads one numeric component; returns the pointer after it. One past LONG_MAX stays
 * LONG_MAX (found by tests/fuzz/fuzz_recipe.c: the multiplication overflowed). */
static const char *read_component(const char *s, long *out)
{
	long v = 0;
	for (; isdigit((unsigned char)*s); s++)
		v = v > (LONG_MAX - 9) / 10 ? LONG_MAX : v * 10 + (*s - '0');
	*out = v;
	return s;
}

static bool at_release_end(const char *s)
{
	return *s == '\0' || *s == '+';
}

int version_cmp(const char *a, const char *b)
{
	for (;;) {
		long x = 0, y = 0;
		bool a_end = at_release_end(a) || !isdigit((unsigned char)*a);
		bool b_end = at_release_end(b) || !isdigit((unsigned char)*b);
		if (a_end && b_end)
			break;
		if (!a_end)
			a = read_component(a, &x);
		if (!b_end)
			b = read_component(b, &y);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	/* Same release numbers: a pre-release tail (rc1, a0, .dev) sorts before the release. */
	bool a_pre = !at_release_end(a), b_pre = !at_release_end(b);
	if (a_pre != b_pre)
		return a_pre ? -1 : 1;
	if (a_pre) {
		size_t na = strcspn(a, "+"), nb = strcspn(b, "+");
		int c = strncmp(a, b, na < nb ? na : nb);
		if (c)
			return c < 0 ? -1 : 1;
		return na == nb ? 0 : (na < nb ? -1 : 1);
	}
	return 0;
}

bool version_valid(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s) || *s == '.')
		s++;
	if (s[-1] == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '+' && *s != '_' && *s != '-')
			return false;
	return true;
}

/* "2.9.*" matches every version whose leading components equal "2.9". */
static bool prefix_match(const char *version, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(version, prefix, n) == 0 &&
	       (version[n] == '\0' || version[n] == '.' || version[n] == '+');
}

static int clause_matches(const char *version, const char *clause)
{
	while (isspace((unsigned char)*clause))
		clause++;
	static const char *const ops[] = { "==", "!=", ">=", "<=", "~=", ">", "<" };
	const char *op = NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (starts_with(clause, ops[i])) {
			op = ops[i];
			break;
		}
	}
	if (!op)
		return -1;
	const char *v = clause + strlen(op);
	while (isspace((unsigned char)*v))
		v++;
	char *want = xstrdup(v);
	size_t wl = strlen(want);
	while (wl && isspace((unsigned char)want[wl - 1]))
		want[--wl] = '\0';
	int result = -1;
	bool wildcard = wl > 2 && strcmp(want + wl - 2, ".*") == 0;
	if (wildcard)
		want[wl - 2] = '\0';
	if (!version_valid(want) || (wildcard && strcmp(op, "==") && strcmp(op, "!="))) {
		free(want);
		return -1;
	}
	int c = version_cmp(version, want);
	if (!strcmp(op, "=="))
		result = wildcard ? prefix_match(version, want) : c == 0;
	else if (!strcmp(op, "!="))
		result = wildcard ? !prefix_match(version, want) : c != 0;
	else if (!strcmp(op, ">="))
		result = c >= 0;
	else if (!strcmp(op, "<="))
		result = c <= 0;
	else if (!strcmp(op, ">"))
		result = c > 0;
	else if (!strcmp(op, "<"))
		result = c < 0;
	else { /* ~=X.Y.Z means >=X.Y.Z and ==X.Y.* */
		char *dot = strrchr(want, '.');
		if (!dot) {
			free(want);
			return -1;
		}
		result = c >= 0;
		*dot = '\0';
		result = result && prefix_match(version, want);
	}
	free(want);
	return result;
}

int version_matches(const char *version, const char *spec)
{
	char *copy = xstrdup(spec);
	int result = 1;
	bool any = false;
	for (char *clause = copy, *next; clause; clause = next) {
		next = strchr(clause, ',');
		if (next)
			*next++ = '\0';
		int r = clause_matches(version, clause);
		any = true;
		if (r < 0) {
			result = -1;
			break;
		}
		if (!r)
			result = 0;
	}
	free(copy);
	return any ? result : -1;
}

int size_parse(const char *s, uint64_t *bytes)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -1;
	while (*end == ' ')
		end++;
	double unit = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k': unit = 1024.0; end++; break;
	case 'm': unit = 1024.0 * 1024; end++; break;
	case 'g': unit = 1024.0 * 1024 * 1024; end++; break;
	case 't': unit = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (unit > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * unit < 1)
		return -1;
	*bytes = (uint64_t)(v * unit);
	return 0;
}

const char *size_format(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, len, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
	return out;
}

char **strv_new(size_t n)
{
	return xcalloc(n + 1, sizeof(char *));
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}
