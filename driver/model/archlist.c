/*
 * TORCH_CUDA_ARCH_LIST: its named arches and supported lists, its two grammars, and what a
 * valid list asks nvcc for. Every fact carries a tag: [V] read in the upstream source, [I]
 * inferred, [U] unverified. Sources are listed in docs/flags.md.
 */
#include "model/archlist.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- named arches and supported lists ---------------------------------------------------- */

/*
 * Named arches [V, P9 for cpp_extension; P7 for CMake]. The names are the same in both
 * parsers; in PyTorch's CMake the expansion is a list of SASS and PTX arches instead.
 * Blackwell+Tegra is 11.0 from torch 2.9 on and 10.1 before.
 */
struct arch_name {
	const char *name;
	const char *expansion; /* what cpp_extension substitutes for the name */
};

static const struct arch_name arch_names[] = {
	{ "Kepler+Tesla", "3.7" },
	{ "Kepler", "3.5+PTX" },
	{ "Maxwell+Tegra", "5.3" },
	{ "Maxwell", "5.0;5.2+PTX" },
	{ "Pascal", "6.0;6.1+PTX" },
	{ "Volta+Tegra", "7.2" },
	{ "Volta", "7.0+PTX" },
	{ "Turing", "7.5+PTX" },
	{ "Ampere+Tegra", "8.7" },
	{ "Ampere", "8.0;8.6+PTX" },
	{ "Ada", "8.9+PTX" },
	{ "Hopper", "9.0+PTX" },
	{ "Blackwell+Tegra", "11.0" },
	{ "Blackwell", "10.0;10.3;12.0;12.1+PTX" },
};

static const char *const arch_name_list[] = {
	"Kepler+Tesla", "Kepler", "Maxwell+Tegra", "Maxwell", "Pascal", "Volta+Tegra", "Volta",
	"Turing", "Ampere+Tegra", "Ampere", "Ada", "Hopper", "Blackwell+Tegra", "Blackwell",
};

/* cpp_extension's supported_arches, each also valid with "+PTX" [V, P9, torch >= 2.9]. */
static const char *const cpp_extension_arches[] = {
	"3.5", "3.7", "5.0", "5.2", "5.3", "6.0", "6.1", "6.2", "7.0", "7.2", "7.5",
	"8.0", "8.6", "8.7", "8.9", "9.0", "9.0a", "10.0", "10.0a", "10.3", "10.3a",
	"12.0", "12.0a", "12.1", "12.1a",
};
/*
 * sm_101 became sm_110 in CUDA 13 and torch 2.9.0 followed (pytorch/pytorch#166120) [V].
 * That releases before 2.9 accept 10.1/10.1a and reject 11.0/11.0a, and that their list is
 * otherwise the same, is [U].
 */
static const char *const cpp_extension_arches_since_2_9[] = { "11.0", "11.0a" };
static const char *const cpp_extension_arches_before_2_9[] = { "10.1", "10.1a" };

static const char *const cmake_keywords[] = { "All", "Common", "Auto" };

/* Whether `version` (NULL: the newest) is at least major.minor; "2.9.0rc1+cu128" is 2.9. */
static bool torch_at_least(const char *version, long major, long minor)
{
	if (!version)
		return true;
	long v[2] = { 0, 0 };
	const char *p = version;
	for (int i = 0; i < 2; i++) {
		if (!isdigit((unsigned char)*p))
			break;
		while (isdigit((unsigned char)*p))
			v[i] = v[i] * 10 + (*p++ - '0');
		if (*p == '.')
			p++;
	}
	return v[0] != major ? v[0] > major : v[1] >= minor;
}

static const struct arch_name *find_arch_name(const char *name, bool ignore_case)
{
	for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++) {
		bool same = ignore_case ? strcasecmp(name, arch_names[i].name) == 0
					: strcmp(name, arch_names[i].name) == 0;
		if (same)
			return &arch_names[i];
	}
	return NULL;
}

static const char *arch_expansion(const struct arch_name *a, bool since_2_9)
{
	if (!since_2_9 && strcmp(a->name, "Blackwell+Tegra") == 0)
		return "10.1";
	return a->expansion;
}

static bool cpp_extension_supports(const char *arch, bool since_2_9)
{
	if (str_in_list(arch, cpp_extension_arches, ARRAY_SIZE(cpp_extension_arches)))
		return true;
	if (since_2_9)
		return str_in_list(arch, cpp_extension_arches_since_2_9,
			       ARRAY_SIZE(cpp_extension_arches_since_2_9));
	return str_in_list(arch, cpp_extension_arches_before_2_9, ARRAY_SIZE(cpp_extension_arches_before_2_9));
}

/* Reads digits; returns how many. */
static size_t skip_digits(const char **s)
{
	size_t n = 0;
	while (isdigit((unsigned char)**s)) {
		(*s)++;
		n++;
	}
	return n;
}

/*
 * PyTorch CMake's number form, MAJ.MIN[a|f]["(" MAJ.MIN ")"] with a one-digit MIN.
 * Returns 0 when `s` does not match, 1 when it does, 2 when it does with an "f" suffix.
 */
static int match_cmake_number(const char *s)
{
	int result = 1;
	if (!skip_digits(&s) || *s++ != '.' || skip_digits(&s) != 1)
		return 0;
	if (*s == 'a') {
		s++;
	} else if (*s == 'f') {
		s++;
		result = 2;
	}
	if (*s == '(') {
		s++;
		if (!skip_digits(&s) || *s++ != '.' || skip_digits(&s) != 1 || *s++ != ')')
			return 0;
	}
	return *s == '\0' ? result : 0;
}

/* MAJ.MIN with a minor of two or more digits ("8.10"), with an optional suffix letter. */
static bool has_long_minor(const char *s)
{
	if (!skip_digits(&s) || *s++ != '.' || skip_digits(&s) < 2)
		return false;
	if (*s == 'a' || *s == 'f')
		s++;
	return *s == '\0';
}

/* "sm_86", "compute_90a": nvcc's spelling. Writes the TORCH_CUDA_ARCH_LIST one ("8.6"). */
static bool nvcc_spelling(const char *tok, struct buf *fixed)
{
	const char *p;
	if (strncasecmp(tok, "sm_", 3) == 0)
		p = tok + 3;
	else if (strncasecmp(tok, "compute_", 8) == 0)
		p = tok + 8;
	else
		return false;
	const char *digits = p;
	size_t n = skip_digits(&p);
	if (n < 2 || (*p && strcmp(p, "a") != 0 && strcmp(p, "f") != 0))
		return true; /* nvcc-like, but no clean translation */
	buf_add(fixed, digits, n - 1);
	buf_addch(fixed, '.');
	buf_addch(fixed, digits[n - 1]);
	buf_adds(fixed, p);
	return true;
}

/* `tok` with its "+PTX" written in the wrong case ("8.6+ptx"): the fixed spelling. */
static bool ptx_miscased(const char *tok, struct buf *fixed)
{
	size_t n = strlen(tok);
	if (n < 4 || strcasecmp(tok + n - 4, "+PTX") != 0 || strcmp(tok + n - 4, "+PTX") == 0)
		return false;
	buf_add(fixed, tok, n - 4);
	buf_adds(fixed, "+PTX");
	return true;
}

/* The value with every entry separator it should have: commas and tabs become ";". */
static void suggest_separators(const char *value, struct buf *hint)
{
	buf_adds(hint, "separate arches with \";\" or spaces: \"");
	for (const char *p = value; *p; p++)
		buf_addch(hint, (*p == ',' || *p == '\t') ? ';' : *p);
	buf_addch(hint, '"');
}

/* Appends `text` to `hint` when the caller asked for one. */
static void hint_adds(struct buf *hint, const char *text)
{
	if (hint)
		buf_adds(hint, text);
}

/* Appends `write "<what>"` to `hint` when the caller asked for one. */
static void hint_write(struct buf *hint, const char *what)
{
	if (hint)
		buf_addf(hint, "write \"%s\"", what);
}

static void hint_names(struct buf *hint, const char *tok)
{
	if (!hint)
		return;
	const char *near = closest_match(tok, arch_name_list, ARRAY_SIZE(arch_name_list));
	if (near) {
		buf_addf(hint, "did you mean \"%s\"?", near);
		return;
	}
	buf_adds(hint, "arch names are");
	for (size_t i = 0; i < ARRAY_SIZE(arch_name_list); i++)
		buf_addf(hint, " %s", arch_name_list[i]);
}

static void hint_supported(struct buf *hint, bool since_2_9)
{
	if (!hint)
		return;
	buf_adds(hint, "supported:");
	for (size_t i = 0; i < ARRAY_SIZE(cpp_extension_arches); i++) {
		buf_addf(hint, " %s", cpp_extension_arches[i]);
		if (strcmp(cpp_extension_arches[i], "10.3a") == 0) {
			const char *const *extra = since_2_9 ? cpp_extension_arches_since_2_9
							     : cpp_extension_arches_before_2_9;
			buf_addf(hint, " %s %s", extra[0], extra[1]);
		}
	}
	buf_adds(hint, ", each optionally with +PTX");
}

/* Problems both parsers share; returns true when it found and described one. */
static bool common_problem(const char *value, const char *tok, struct buf *why, struct buf *hint)
{
	struct buf fixed = BUF_INIT;
	bool found = true;
	if (strchr(tok, ',')) {
		buf_addf(why, "\"%s\" contains a comma", tok);
		if (hint)
			suggest_separators(value, hint);
	} else if (strchr(tok, '\t')) {
		buf_addf(why, "\"%s\" contains a tab", tok);
		if (hint)
			suggest_separators(value, hint);
	} else if (nvcc_spelling(tok, &fixed)) {
		buf_addf(why, "\"%s\" is nvcc's spelling", tok);
		if (fixed.len)
			hint_write(hint, fixed.data);
		else
			hint_adds(hint, "write MAJ.MIN, such as \"8.6\" for sm_86");
	} else if (ptx_miscased(tok, &fixed)) {
		buf_addf(why, "\"%s\" has \"+PTX\" in lower case", tok);
		hint_write(hint, fixed.data);
	} else if (!find_arch_name(tok, false) && find_arch_name(tok, true)) {
		buf_addf(why, "\"%s\" is not an arch name: names are case-sensitive", tok);
		hint_write(hint, find_arch_name(tok, true)->name);
	} else {
		found = false;
	}
	buf_release(&fixed);
	return found;
}

/* Splits `tok` into its arch and whether it ends in "+PTX". `base` receives the arch. */
static bool split_ptx(const char *tok, struct buf *base)
{
	size_t n = strlen(tok);
	bool ptx = n >= 4 && strcmp(tok + n - 4, "+PTX") == 0;
	buf_reset(base);
	buf_add(base, tok, ptx ? n - 4 : n);
	return ptx;
}

static int check_cmake_entry(const char *value, const char *tok, const char *torch_version,
			     struct buf *why, struct buf *hint)
{
	struct buf base = BUF_INIT;
	split_ptx(tok, &base);
	int number = match_cmake_number(base.data);
	int rc = -1;
	if (number == 1 || (number == 2 && torch_at_least(torch_version, 2, 9)) ||
	    find_arch_name(base.data, false)) {
		rc = 0;
	} else if (number == 2) {
		/* [I] the [af]? regex came with PR #157999 (July 2025), first released in 2.9 */
		buf_addf(why, "\"%s\": the \"f\" suffix needs torch 2.9 or later, not %s", tok,
			 torch_version);
		struct buf fixed = BUF_INIT;
		buf_add(&fixed, base.data, strchr(base.data, 'f') - base.data);
		if (hint)
			buf_addf(hint, "write \"%s\" or \"%sa\"", fixed.data, fixed.data);
		buf_release(&fixed);
	} else if (str_in_list(base.data, cmake_keywords, ARRAY_SIZE(cmake_keywords))) {
		buf_addf(why,
			 "\"%s\" is a keyword only as the whole value; in a list CMake reads it as "
			 "an unknown arch name",
			 base.data);
		if (hint)
			buf_addf(hint, "use \"%s\" alone, or list the arches", base.data);
	} else if (common_problem(value, tok, why, hint)) {
		/* described */
	} else if (has_long_minor(base.data)) {
		buf_addf(why, "\"%s\": the minor version is a single digit", tok);
		hint_adds(hint, "write MAJ.MIN, such as \"8.9\"");
	} else {
		buf_addf(why, "\"%s\" is neither MAJ.MIN nor an arch name", tok);
		hint_names(hint, base.data);
	}
	buf_release(&base);
	return rc;
}

static int check_cmake(const char *value, const char *torch_version, struct buf *why,
		       struct buf *hint)
{
	if (str_in_list(value, cmake_keywords, ARRAY_SIZE(cmake_keywords)))
		return 0;
	/* string(REGEX REPLACE "[ \t]+" ";"), then foreach() skips empty entries. */
	struct buf tok = BUF_INIT;
	int rc = 0;
	for (const char *p = value; *p && rc == 0;) {
		size_t n = strcspn(p, "; \t");
		if (n) {
			buf_reset(&tok);
			buf_add(&tok, p, n);
			rc = check_cmake_entry(value, tok.data, torch_version, why, hint);
		}
		p += n;
		if (*p)
			p++;
	}
	buf_release(&tok);
	return rc;
}

/* The entries of `value` with the empty ones dropped, joined with ";". */
static void hint_without_empty(const char *value, struct buf *hint)
{
	buf_adds(hint, "write \"");
	bool first = true;
	for (const char *p = value; *p;) {
		size_t n = strcspn(p, "; ");
		if (n) {
			if (!first)
				buf_addch(hint, ';');
			buf_add(hint, p, n);
			first = false;
		}
		p += n;
		if (*p)
			p++;
	}
	buf_addch(hint, '"');
}

static int check_cpp_extension_entry(const char *value, const char *tok, bool since_2_9,
				     const char *torch_version, struct buf *why, struct buf *hint)
{
	struct buf base = BUF_INIT;
	bool ptx = split_ptx(tok, &base);
	const struct arch_name *named = find_arch_name(base.data, false);
	int rc = -1;
	if (cpp_extension_supports(base.data, since_2_9)) {
		rc = 0;
	} else if (named) {
		/* Names are replaced as substrings, so "Ampere+PTX" becomes "...8.6+PTX+PTX". */
		const char *expansion = arch_expansion(named, since_2_9);
		if (!ptx || !ends_with(expansion, "+PTX")) {
			rc = 0;
		} else {
			buf_addf(why, "\"%s\" expands to \"%s+PTX\"", tok, expansion);
			if (hint)
				buf_addf(hint, "write \"%s\": its last arch already has +PTX",
					 named->name);
		}
	} else if (str_in_list(base.data, cmake_keywords, ARRAY_SIZE(cmake_keywords))) {
		buf_addf(why, "\"%s\" is a keyword of PyTorch's CMake", base.data);
		hint_adds(hint, "that is PyTorch CMake syntax; give this recipe its own "
				"TORCH_CUDA_ARCH_LIST with explicit arches");
	} else if (strchr(base.data, '(')) {
		buf_addf(why, "\"%s\" is PyTorch CMake's \"SASS(PTX)\" form", tok);
		if (hint) {
			buf_adds(hint, "that is PyTorch CMake syntax; give this recipe its own "
				       "TORCH_CUDA_ARCH_LIST");
			size_t open = strcspn(base.data, "(");
			buf_addf(hint, ", such as \"%.*s\"", (int)open, base.data);
		}
	} else if (match_cmake_number(base.data) == 2) {
		size_t f = strcspn(base.data, "f");
		buf_addf(why, "\"%s\" has the family suffix \"f\", which cpp_extension does not know",
			 tok);
		if (hint)
			buf_addf(hint,
				 "that is PyTorch CMake syntax; give this recipe its own "
				 "TORCH_CUDA_ARCH_LIST, with \"%.*s\" or \"%.*sa\"",
				 (int)f, base.data, (int)f, base.data);
	} else if (common_problem(value, tok, why, hint)) {
		/* described */
	} else if (since_2_9 && (strcmp(base.data, "10.1") == 0 || strcmp(base.data, "10.1a") == 0)) {
		buf_addf(why,
			 "\"%s\" is \"11.0%s\" from torch 2.9 on (sm_101 was renamed sm_110 in "
			 "CUDA 13)",
			 tok, base.data + 4);
		if (hint)
			buf_addf(hint, "write \"11.0%s%s\"%s%s", base.data + 4, ptx ? "+PTX" : "",
				 torch_version ? " for torch " : "", torch_version ? torch_version : "");
	} else if (!since_2_9 && (strcmp(base.data, "11.0") == 0 || strcmp(base.data, "11.0a") == 0)) {
		buf_addf(why, "\"%s\" is only known from torch 2.9 on; torch %s calls it \"10.1%s\"",
			 tok, torch_version, base.data + 4);
		if (hint)
			buf_addf(hint, "write \"10.1%s%s\"", base.data + 4, ptx ? "+PTX" : "");
	} else if (isdigit((unsigned char)base.data[0])) {
		buf_addf(why, "\"%s\" is not an arch cpp_extension supports", tok);
		hint_supported(hint, since_2_9);
	} else {
		buf_addf(why, "\"%s\" is neither a supported MAJ.MIN nor an arch name", tok);
		hint_names(hint, base.data);
	}
	buf_release(&base);
	return rc;
}

static int check_cpp_extension(const char *value, const char *torch_version, struct buf *why,
			       struct buf *hint)
{
	if (strcmp(value, "native") == 0)
		return 0;
	bool since_2_9 = torch_at_least(torch_version, 2, 9);
	/* value.replace(' ', ';').split(';'): every entry, empty ones included, must be valid. */
	struct buf tok = BUF_INIT;
	int rc = 0;
	const char *p = value;
	for (;;) {
		size_t n = strcspn(p, "; ");
		buf_reset(&tok);
		buf_add(&tok, p, n);
		if (n == 0) {
			buf_adds(why, "it has an empty entry (a leading, trailing or doubled separator)");
			if (hint)
				hint_without_empty(value, hint);
			rc = -1;
		} else {
			rc = check_cpp_extension_entry(value, tok.data, since_2_9, torch_version, why,
						       hint);
		}
		p += n;
		if (rc || !*p)
			break;
		p++;
	}
	buf_release(&tok);
	return rc;
}

int arch_list_check_grammar(const char *value, enum arch_grammar grammar,
			    const char *torch_version, struct buf *why, struct buf *hint)
{
	if (!*value)
		return 0; /* unset or empty: both parsers detect the GPUs */
	if (grammar == ARCH_GRAMMAR_CMAKE)
		return check_cmake(value, torch_version, why, hint);
	return check_cpp_extension(value, torch_version, why, hint);
}

const char *arch_grammar_accepts(enum arch_grammar grammar)
{
	if (grammar == ARCH_GRAMMAR_CMAKE)
		return "All, Common or Auto alone, or a list of MAJ.MIN[a|f] entries (one-digit "
		       "MIN) with an optional (MAJ.MIN) and +PTX, and arch names such as \"Ampere\", "
		       "separated by \";\", spaces or tabs";
	return "MAJ.MIN[a] from its supported list (3.5 to 12.1a), each optionally with +PTX, "
	       "and arch names such as \"Ampere\", separated by \";\" or single spaces";
}

static int arch_list_check_public(const char *value, enum arch_grammar grammar,
				  const char *torch_version, char *why, size_t why_len)
{
	struct buf reason = BUF_INIT;
	int rc = arch_list_check_grammar(value, grammar, torch_version, &reason, NULL);
	if (rc && why && why_len)
		snprintf(why, why_len, "%s", reason.data);
	buf_release(&reason);
	return rc;
}

int arch_list_check_cmake(const char *value, char *why, size_t why_len)
{
	return arch_list_check_public(value, ARCH_GRAMMAR_CMAKE, NULL, why, why_len);
}

int arch_list_check_cpp_extension(const char *value, const char *torch_version, char *why,
				  size_t why_len)
{
	return arch_list_check_public(value, ARCH_GRAMMAR_CPP_EXTENSION, torch_version, why,
				      why_len);
}

/* ---- what a valid list asks for ------------------------------------------------------------ */

static void add_word(char ***v, size_t *n, const char *w)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], w))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(w);
}

int arch_word_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	long nx = strtol(x + 3, NULL, 10), ny = strtol(y + 3, NULL, 10);
	return nx != ny ? (nx < ny ? -1 : 1) : strcmp(x, y);
}

static void join_words(char **v, size_t n, struct buf *out)
{
	if (n) /* v is NULL when there are none, which qsort must not get */
		qsort(v, n, sizeof(char *), arch_word_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s%s", i ? " " : "", v[i]);
		free(v[i]);
	}
	free(v);
}

static int expand_targets(const char *value, bool since_2_9, int depth, char ***sass,
			  size_t *nsass, char ***ptx, size_t *nptx)
{
	char *copy = xstrdup(value);
	int rc = 0;
	for (char *save = NULL, *tok = strtok_r(copy, "; ,", &save); tok && rc == 0;
	     tok = strtok_r(NULL, "; ,", &save)) {
		bool with_ptx = false;
		char *plus = strstr(tok, "+PTX");
		if (plus && plus[4] == '\0') {
			with_ptx = true;
			*plus = '\0';
		}
		const struct arch_name *named = find_arch_name(tok, false);
		if (named && depth == 0) {
			char *exp = xstrdup(arch_expansion(named, since_2_9));
			if (with_ptx) { /* "Ampere+PTX": PTX for the last arch of the name */
				struct buf b = BUF_INIT;
				buf_addf(&b, "%s+PTX", exp);
				free(exp);
				exp = buf_detach(&b);
			}
			rc = expand_targets(exp, since_2_9, depth + 1, sass, nsass, ptx, nptx);
			free(exp);
			continue;
		}
		char *dot = strchr(tok, '.');
		if (!dot || !isdigit((unsigned char)tok[0]) || !isdigit((unsigned char)dot[1])) {
			rc = -1; /* native, All, Common, Auto or not a number */
			break;
		}
		struct buf w = BUF_INIT;
		buf_addf(&w, "sm_%.*s%s", (int)(dot - tok), tok, dot + 1);
		add_word(sass, nsass, w.data);
		if (with_ptx)
			add_word(ptx, nptx, w.data);
		buf_release(&w);
	}
	free(copy);
	return rc;
}

int arch_list_targets(const char *value, const char *torch_version, struct buf *sass,
		      struct buf *ptx)
{
	char **s = NULL, **p = NULL;
	size_t ns = 0, np = 0;
	int rc = value ? expand_targets(value, torch_at_least(torch_version, 2, 9), 0, &s, &ns,
					&p, &np)
		       : -1;
	if (rc == 0 && ns == 0)
		rc = -1;
	if (rc < 0) {
		for (size_t i = 0; i < ns; i++)
			free(s[i]);
		for (size_t i = 0; i < np; i++)
			free(p[i]);
		free(s);
		free(p);
		return -1;
	}
	join_words(s, ns, sass);
	join_words(p, np, ptx);
	return 0;
}
