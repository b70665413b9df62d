#include "model/envflags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/archlist.h"
#include "model/envflags_catalog.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- the variable set ---------------------------------------------------------------- */

void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
}

void env_release(struct env *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
	}
	free(e->v);
	env_init(e);
}

/* The index of `name`, or where it would be inserted. */
static size_t env_lower_bound(const struct env *e, const char *name)
{
	size_t lo = 0, hi = e->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(e->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void env_set(struct env *e, const char *name, const char *value, const struct pos *pos,
	     enum env_origin origin)
{
	/* Copy first: `value` and `pos` may point into this set. */
	char *copy = xstrdup(value);
	struct pos where = pos ? *pos : (struct pos){ 0 };
	size_t i = env_lower_bound(e, name);
	if (i < e->n && strcmp(e->v[i].name, name) == 0) {
		free(e->v[i].value);
	} else {
		char *name_copy = xstrdup(name);
		GROW(e->v, e->cap, e->n + 1);
		memmove(&e->v[i + 1], &e->v[i], (e->n - i) * sizeof(e->v[0]));
		e->n++;
		e->v[i].name = name_copy;
	}
	e->v[i].value = copy;
	e->v[i].pos = where;
	e->v[i].origin = origin;
}

static int cmp_name_then_place(const void *a, const void *b)
{
	const struct envvar *x = *(const struct envvar *const *)a;
	const struct envvar *y = *(const struct envvar *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

void env_set_all(struct env *e, struct envvar *add, size_t n)
{
	if (!n)
		return;
	/* The additions sorted by name (in their order among equals), the last of each kept. */
	struct envvar **sorted = xcalloc(n, sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = &add[i];
	qsort(sorted, n, sizeof(*sorted), cmp_name_then_place);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(sorted[i]->name, sorted[i + 1]->name)) {
			free(sorted[i]->name);
			free(sorted[i]->value);
			continue;
		}
		sorted[m++] = sorted[i];
	}
	/* Merged with the set, from the back, in place: an addition replaces its namesake. */
	size_t same = 0;
	for (size_t i = 0, j = 0; i < e->n && j < m;) {
		int c = strcmp(e->v[i].name, sorted[j]->name);
		same += c == 0;
		i += c <= 0;
		j += c >= 0;
	}
	size_t total = e->n + m - same;
	GROW(e->v, e->cap, total);
	size_t i = e->n, j = m, k = total;
	while (j > 0) {
		struct envvar *a = sorted[j - 1];
		int c = i > 0 ? strcmp(e->v[i - 1].name, a->name) : -1;
		if (c > 0) {
			e->v[--k] = e->v[--i];
			continue;
		}
		if (c == 0) {
			free(e->v[i - 1].name);
			free(e->v[i - 1].value);
			i--;
		}
		e->v[--k] = *a;
		j--;
	}
	e->n = total;
	free(sorted);
}

const struct envvar *env_find(const struct env *e, const char *name)
{
	size_t i = env_lower_bound(e, name);
	return i < e->n && strcmp(e->v[i].name, name) == 0 ? &e->v[i] : NULL;
}

const char *env_get(const struct env *e, const char *name)
{
	const struct envvar *v = env_find(e, name);
	return v ? v->value : NULL;
}

void env_unset(struct env *e, const char *name)
{
	size_t i = env_lower_bound(e, name);
	if (i == e->n || strcmp(e->v[i].name, name) != 0)
		return;
	free(e->v[i].name);
	free(e->v[i].value);
	memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof(e->v[0]));
	e->n--;
}

const char *const env_inherited_names[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
	/* certificates and package indexes, for pip in the build venv */
	"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_INDEX_URL",
	"PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_CONFIG_FILE", "PIP_TRUSTED_HOST",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"SOURCE_DATE_EPOCH",
	NULL,
};

static const char *inherited_name(const char *entry, size_t len)
{
	for (const char *const *n = env_inherited_names; *n; n++)
		if (strlen(*n) == len && strncmp(*n, entry, len) == 0)
			return *n;
	return NULL;
}

void env_prepend_path(struct env *e, const char *dir)
{
	const char *path = env_get(e, "PATH");
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s%s%s", dir, path && *path ? ":" : "", path ? path : "");
	env_set(e, "PATH", p.data, NULL, ENV_PTBUILD);
	buf_release(&p);
}

void env_inherit(struct env *e, char *const *envp)
{
	if (!envp)
		return;
	size_t n = 0;
	while (envp[n])
		n++;
	/* Backwards, so that the first of duplicate entries wins, as with getenv(). */
	for (size_t i = n; i-- > 0;) {
		const char *eq = strchr(envp[i], '=');
		if (!eq)
			continue;
		const char *name = inherited_name(envp[i], (size_t)(eq - envp[i]));
		if (name)
			env_set(e, name, eq + 1, NULL, ENV_INHERITED);
	}
}

/* ---- validation ---------------------------------------------------------------------- */

struct check {
	struct env *e;
	const struct flag_context *ctx;
	struct diags *d;
	struct buf who;     /* `recipe "NAME": `, or empty */
	char **translated;  /* owned: names written by translate_legacy(), not the user */
	size_t ntranslated, translated_cap;
	bool failed;
};

/* Only what a toolchain or recipe wrote is checked; inherited and ptbuild's own are not. */
static bool user_written(const struct envvar *v)
{
	return v->origin == ENV_TOOLCHAIN || v->origin == ENV_RECIPE;
}

static const char *origin_owner(const struct envvar *v)
{
	return v->origin == ENV_TOOLCHAIN ? "toolchain" : "recipe";
}

/* The project, as messages name it. */
static const char *project(const struct check *c)
{
	switch (c->ctx->builder) {
	case BUILDER_PYTORCH:
		return "PyTorch";
	case BUILDER_TORCH_MUSA:
		return "torch_musa";
	default:
		return c->ctx->recipe ? c->ctx->recipe : "this project";
	}
}

static bool is_pytorch(const struct check *c)
{
	return c->ctx->builder == BUILDER_PYTORCH || c->ctx->builder == BUILDER_TORCH_MUSA;
}

/* Rule: the scheduler owns the parallelism variables. */
static void check_scheduler_variables(struct check *c)
{
	static const char *const owned[] = { "MAX_JOBS", "CMAKE_BUILD_PARALLEL_LEVEL" };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		const struct envvar *v = env_find(c->e, owned[i]);
		if (!v || !user_written(v))
			continue;
		c->failed = true;
		diag_error(c->d, &v->pos,
			   "%s\"%s\" is set by ptbuild's scheduler from the job budget; the %s "
			   "cannot set it",
			   c->who.data, v->name, origin_owner(v));
		diag_hint(c->d, "remove it; use -j N for the whole job budget and --mem-per-job "
				"to cap each build's jobs by memory");
	}
}

/* Rule: what PyTorch's setup.py refuses or asserts on. */
static void check_pytorch_setup(struct check *c)
{
	const struct envvar *v = env_find(c->e, "CMAKE_INSTALL_PREFIX");
	if (c->ctx->builder == BUILDER_PYTORCH && v && user_written(v)) {
		c->failed = true;
		diag_error(c->d, &v->pos,
			   "%s\"CMAKE_INSTALL_PREFIX\" must not be set for PyTorch: its setup.py "
			   "stops with an error when the environment has it",
			   c->who.data);
		diag_hint(c->d, "remove it; pip decides where the wheel is installed");
	}
	v = env_find(c->e, "PYTORCH_BUILD_VERSION");
	if (is_pytorch(c) && v && user_written(v) && !env_find(c->e, "PYTORCH_BUILD_NUMBER")) {
		c->failed = true;
		diag_error(c->d, &v->pos,
			   "%s\"PYTORCH_BUILD_VERSION=%s\" is set without \"PYTORCH_BUILD_NUMBER\", "
			   "and PyTorch asserts that both are",
			   c->who.data, v->value);
		diag_hint(c->d, "add \"PYTORCH_BUILD_NUMBER\": \"1\" next to it (a number above 1 "
				"appends .postN to the version)");
	}
}

enum truth { TRUTH_FALSE, TRUTH_TRUE, TRUTH_NEITHER };

/* PyTorch's check_env_flag / check_negative_env_flag sets, in any case. */
static enum truth parse_truth(const char *value)
{
	static const char *const yes[] = { "1", "ON", "TRUE", "YES", "Y" };
	static const char *const no[] = { "0", "OFF", "FALSE", "NO", "N" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return TRUTH_TRUE;
		if (strcasecmp(value, no[i]) == 0)
			return TRUTH_FALSE;
	}
	return TRUTH_NEITHER;
}

static bool torchaudio_knows(const char *value, enum truth t)
{
	static const char *const yes[] = { "1", "true", "TRUE", "on", "ON", "yes", "YES" };
	static const char *const no[] = { "0", "false", "FALSE", "off", "OFF", "no", "NO" };
	const char *const *set = t == TRUTH_TRUE ? yes : no;
	for (size_t i = 0; i < 7; i++)
		if (strcmp(value, set[i]) == 0)
			return true;
	return false;
}

static void remember_translation(struct check *c, const char *name)
{
	GROW(c->translated, c->translated_cap, c->ntranslated + 1);
	c->translated[c->ntranslated++] = xstrdup(name);
}

static bool was_translated(const struct check *c, const char *name)
{
	for (size_t i = 0; i < c->ntranslated; i++)
		if (strcmp(c->translated[i], name) == 0)
			return true;
	return false;
}

/* Rule: NO_X / WITH_X, which PyTorch stopped translating around 1.5, become USE_X / BUILD_X. */
static void translate_legacy(struct check *c)
{
	/* Collect the names first: translating reorders the set. */
	char **old_names = NULL;
	size_t nold = 0, old_cap = 0;
	struct buf target = BUF_INIT;
	bool inverted;
	for (size_t i = 0; i < c->e->n; i++) {
		const struct envvar *v = &c->e->v[i];
		buf_reset(&target);
		if (user_written(v) && catalog_legacy_spelling(v->name, &target, &inverted)) {
			GROW(old_names, old_cap, nold + 1);
			old_names[nold++] = xstrdup(v->name);
		}
	}
	for (size_t i = 0; i < nold; i++) {
		const struct envvar *old = env_find(c->e, old_names[i]);
		buf_reset(&target);
		catalog_legacy_spelling(old->name, &target, &inverted);
		enum truth t = parse_truth(old->value);
		if (inverted && t == TRUTH_NEITHER) {
			c->failed = true;
			diag_error(c->d, &old->pos,
				   "%s\"%s=%s\" is an old spelling current PyTorch ignores, and \"%s\" "
				   "is not a boolean",
				   c->who.data, old->name, old->value, old->value);
			diag_hint(c->d, "write \"%s\": \"0\" or \"1\" instead", target.data);
			continue;
		}
		const char *value = !inverted ? old->value : t == TRUTH_TRUE ? "0" : "1";
		const struct envvar *current = env_find(c->e, target.data);
		if (current) {
			diag_warn(c->d, &old->pos,
				  "%s\"%s=%s\" is an old spelling current PyTorch ignores; \"%s=%s\" is "
				  "set too and wins",
				  c->who.data, old->name, old->value, current->name, current->value);
			diag_hint(c->d, "remove \"%s\"", old->name);
			continue;
		}
		diag_warn(c->d, &old->pos,
			  "%s\"%s=%s\" is an old spelling current PyTorch ignores; using \"%s=%s\"",
			  c->who.data, old->name, old->value, target.data, value);
		diag_hint(c->d, "write \"%s\": \"%s\" in the %s", target.data, value,
			  origin_owner(old));
		char *value_copy = xstrdup(value);
		struct pos pos = old->pos;
		enum env_origin origin = old->origin;
		env_unset(c->e, old_names[i]);
		env_set(c->e, target.data, value_copy, &pos, origin);
		remember_translation(c, target.data);
		free(value_copy);
	}
	for (size_t i = 0; i < nold; i++)
		free(old_names[i]);
	free(old_names);
	buf_release(&target);
}

/* Rule: USE_* / BUILD_* names PyTorch would forward to CMake and CMake would ignore. */
static void check_option_names(struct check *c)
{
	if (!is_pytorch(c))
		return;
	for (size_t i = 0; i < c->e->n; i++) {
		const struct envvar *v = &c->e->v[i];
		bool option = starts_with(v->name, "USE_") || starts_with(v->name, "BUILD_") ||
			      (c->ctx->builder == BUILDER_TORCH_MUSA && starts_with(v->name, "ENABLE_"));
		if (!option || !user_written(v) || was_translated(c, v->name) ||
		    catalog_option_known(c->ctx->builder, v->name))
			continue;
		diag_warn(c->d, &v->pos,
			  "%sunknown %s option \"%s\": %s passes it to CMake, which ignores it",
			  c->who.data, project(c), v->name, project(c));
		const char *near = catalog_option_suggest(c->ctx->builder, v->name);
		if (near)
			diag_hint(c->d, "did you mean \"%s\"?", near);
		else
			diag_hint(c->d, "%s does not check these names; the options are in its "
					"CMakeLists.txt (see docs/flags.md)",
				  project(c));
	}
}

/* How the project would take a value that is not a boolean, for the error message. */
static void describe_non_boolean(const struct check *c, const struct envvar *v,
				 enum switch_reader reader, struct buf *out)
{
	switch (reader) {
	case READ_PYTORCH:
		if (is_pytorch(c) && (starts_with(v->name, "USE_") || starts_with(v->name, "BUILD_") ||
				      starts_with(v->name, "ENABLE_"))) {
			bool cmake_false = !*v->value || strcasecmp(v->value, "IGNORE") == 0 ||
					   strcasecmp(v->value, "NOTFOUND") == 0 ||
					   ends_with(v->value, "-NOTFOUND");
			buf_addf(out,
				 "%s passes it to CMake as -D%s=%s, whose if() reads it as %s, while "
				 "setup.py's own checks treat it as neither",
				 project(c), v->name, v->value, cmake_false ? "false" : "true");
		} else {
			buf_addf(out,
				 "%s reads only 1/ON/YES/TRUE/Y and 0/OFF/NO/FALSE/N (in any case) and "
				 "would take it as false%s",
				 project(c), is_pytorch(c) ? ", or stop on it" : "");
		}
		break;
	case READ_EQUALS_ONE:
		buf_addf(out, "%s only treats \"1\" as true, so it would read as false", project(c));
		break;
	case READ_INT:
		buf_addf(out, "%s parses it with int(), which %s", project(c),
			 strspn(v->value, "0123456789") == strlen(v->value) && *v->value
				 ? "reads any number but 0 as true"
				 : "stops the build with ValueError");
		break;
	case READ_PRESENCE:
		buf_addf(out, "%s only checks whether it is set%s", project(c),
			 *v->value ? ", so it would turn it on" : "");
		break;
	case READ_TORCHAUDIO:
		buf_addf(out, "%s warns about it and reads it as false", project(c));
		break;
	case READ_NOT_A_SWITCH:
		break;
	}
}

/*
 * Whether the project would read `value` (a boolean meaning `t`) as something else. On
 * true, `out` says how.
 */
static bool misread(const struct check *c, enum switch_reader reader, const char *value,
		    enum truth t, struct buf *out)
{
	switch (reader) {
	case READ_EQUALS_ONE:
		if (t == TRUTH_TRUE && strcmp(value, "1") != 0) {
			buf_addf(out, "would read as false in %s, which only treats \"1\" as true",
				 project(c));
			return true;
		}
		return false;
	case READ_INT:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
			buf_addf(out, "would stop %s's build, which parses it with int()", project(c));
			return true;
		}
		return false;
	case READ_PRESENCE:
		if (t == TRUTH_FALSE) {
			buf_addf(out, "would read as true in %s, which only checks whether it is set",
				 project(c));
			return true;
		}
		return false;
	case READ_TORCHAUDIO:
		if (t == TRUTH_TRUE && !torchaudio_knows(value, t)) {
			buf_addf(out,
				 "would read as false in %s, which only takes 1/true/TRUE/on/ON/yes/YES "
				 "as true",
				 project(c));
			return true;
		}
		return false;
	case READ_PYTORCH:
	case READ_NOT_A_SWITCH:
		break;
	}
	return false;
}

/* Normalizes one switch; returns true when it removed the variable. */
static bool normalize_switch(struct check *c, struct envvar *v, enum switch_reader reader)
{
	struct buf how = BUF_INIT;
	enum truth t = parse_truth(v->value);
	bool removed = false;
	if (t == TRUTH_NEITHER) {
		c->failed = true;
		describe_non_boolean(c, v, reader, &how);
		diag_error(c->d, &v->pos, "%s\"%s=%s\" is not a boolean: %s", c->who.data, v->name,
			   v->value, how.data);
		diag_hint(c->d, "write \"1\" or \"0\"");
	} else if (misread(c, reader, v->value, t, &how)) {
		if (reader == READ_PRESENCE) {
			diag_warn(c->d, &v->pos, "%s\"%s=%s\" %s; removing it", c->who.data, v->name,
				  v->value, how.data);
			diag_hint(c->d, "leave \"%s\" out to turn it off", v->name);
			env_unset(c->e, v->name);
			removed = true;
		} else {
			const char *canonical = t == TRUTH_TRUE ? "1" : "0";
			diag_warn(c->d, &v->pos, "%s\"%s=%s\" %s; using %s", c->who.data, v->name,
				  v->value, how.data, canonical);
			diag_hint(c->d, "write \"%s\": \"%s\"", v->name, canonical);
			free(v->value);
			v->value = xstrdup(canonical);
		}
	} else {
		const char *canonical = t == TRUTH_TRUE ? "1" : "0";
		if (strcmp(v->value, canonical) != 0) {
			diag_note(c->d, &v->pos, "%s\"%s=%s\" normalized to %s", c->who.data, v->name,
				  v->value, canonical);
			free(v->value);
			v->value = xstrdup(canonical);
		}
	}
	buf_release(&how);
	return removed;
}

/* Rule: boolean switches become "1" or "0", the only spelling every project parses. */
static void normalize_switches(struct check *c)
{
	for (size_t i = 0; i < c->e->n;) {
		struct envvar *v = &c->e->v[i];
		enum switch_reader reader = catalog_switch_reader(c->ctx->builder, v->name);
		if (user_written(v) && reader != READ_NOT_A_SWITCH && normalize_switch(c, v, reader))
			continue;
		i++;
	}
}

/* What happens when the arch list is left to detection, per builder. */
static void describe_detection(const struct check *c, struct buf *out)
{
	switch (c->ctx->builder) {
	case BUILDER_PYTORCH:
	case BUILDER_TORCH_MUSA:
		buf_addf(out, "%s's CMake then detects the build machine's GPUs and silently "
			      "builds for \"Common\" when it finds none",
			 c->ctx->builder == BUILDER_PYTORCH ? "PyTorch" : "torch_musa");
		break;
	case BUILDER_PYG_LIB:
		buf_addf(out, "%s then builds for the arches the installed torch was built for "
			      "(torch._C._cuda_getArchFlags()), not for this toolchain",
			 project(c));
		break;
	case BUILDER_TORCHAUDIO:
		buf_addf(out, "the arches %s builds for then depend on the build machine, not on "
			      "the toolchain",
			 project(c));
		break;
	default:
		buf_addf(out, "torch.utils.cpp_extension, used by %s, then detects the build "
			      "machine's GPUs and fails with IndexError when it finds none",
			 project(c));
		break;
	}
}

static bool only_blanks(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* Rule: TORCH_CUDA_ARCH_LIST is present for CUDA builds and in its consumer's grammar. */
static void check_arch_list(struct check *c)
{
	enum arch_grammar grammar;
	switch (c->ctx->builder) {
	case BUILDER_PYTORCH:
	case BUILDER_TORCH_MUSA:
		grammar = ARCH_GRAMMAR_CMAKE;
		break;
	case BUILDER_CPP_EXTENSION:
	case BUILDER_PYG_LIB:
	case BUILDER_TORCHAUDIO:
		grammar = ARCH_GRAMMAR_CPP_EXTENSION;
		break;
	default:
		return;
	}
	const struct envvar *v = env_find(c->e, "TORCH_CUDA_ARCH_LIST");
	if (v && !user_written(v))
		return;
	struct buf how = BUF_INIT, why = BUF_INIT, hint = BUF_INIT;
	bool detect = !v || only_blanks(v->value) ||
		      (grammar == ARCH_GRAMMAR_CPP_EXTENSION && strcmp(v->value, "native") == 0);
	if (detect && c->ctx->cuda) {
		c->failed = true;
		describe_detection(c, &how);
		if (!v)
			diag_error(c->d, NULL, "%s\"TORCH_CUDA_ARCH_LIST\" is not set for a CUDA build: %s",
				   c->who.data, how.data);
		else
			diag_error(c->d, &v->pos,
				   "%s\"TORCH_CUDA_ARCH_LIST=%s\" leaves the arches to detection in a "
				   "CUDA build: %s",
				   c->who.data, v->value, how.data);
		if (v && v->origin == ENV_RECIPE)
			diag_hint(c->d, "give the recipe a list such as \"7.5;8.0;8.6;9.0+PTX\", or "
					"drop its TORCH_CUDA_ARCH_LIST to use the toolchain's "
					"cuda.arch_list");
		else
			diag_hint(c->d, "set cuda.arch_list in the toolchain, such as "
					"\"7.5;8.0;8.6;9.0;10.0;12.0+PTX\"");
	} else if (v && !detect &&
		   arch_list_check_grammar(v->value, grammar, c->ctx->torch_version, &why, &hint)) {
		c->failed = true;
		if (grammar == ARCH_GRAMMAR_CMAKE)
			buf_addf(&how, "%s's CMake", c->ctx->builder == BUILDER_PYTORCH ? "PyTorch"
											: "torch_musa");
		else
			buf_addf(&how, "torch.utils.cpp_extension, used by %s,", project(c));
		diag_error(c->d, &v->pos, "%sinvalid TORCH_CUDA_ARCH_LIST \"%s\": %s; %s accepts %s",
			   c->who.data, v->value, why.data, how.data, arch_grammar_accepts(grammar));
		if (hint.len)
			diag_hint(c->d, "%s", hint.data);
	}
	buf_release(&how);
	buf_release(&why);
	buf_release(&hint);
}

int envflags_check(struct env *e, const struct flag_context *ctx, struct diags *d)
{
	struct check c = { .e = e, .ctx = ctx, .d = d, .who = BUF_INIT };
	if (ctx->recipe)
		buf_addf(&c.who, "recipe \"%s\": ", ctx->recipe);
	check_scheduler_variables(&c);
	if (ctx->builder == BUILDER_PYTORCH)
		translate_legacy(&c);
	check_pytorch_setup(&c);
	check_option_names(&c);
	normalize_switches(&c);
	check_arch_list(&c);
	for (size_t i = 0; i < c.ntranslated; i++)
		free(c.translated[i]);
	free(c.translated);
	buf_release(&c.who);
	return c.failed ? -1 : 0;
}

/* ---- what the kernel can pass ---------------------------------------------------------- */

size_t env_exec_bytes(const char *name, const char *value)
{
	return strlen(name) + 1 + strlen(value) + 1 + sizeof(char *);
}

int env_check_exec_size(const struct env *e, const struct exec_need *need, struct diags *d)
{
	char a[32], b[32];
	size_t part[3] = { 0 }, count[3] = { 0 }; /* toolchain, recipe, inherited */
	int errors = 0;
	for (size_t i = 0; i < e->n; i++) {
		const struct envvar *v = &e->v[i];
		size_t bytes = env_exec_bytes(v->name, v->value);
		int k = v->origin == ENV_TOOLCHAIN ? 0 : v->origin == ENV_RECIPE ? 1 : 2;
		part[k] += bytes;
		count[k]++;
		if (bytes - sizeof(char *) <= EXEC_STRING_MAX || !user_written(v))
			continue;
		errors++;
		diag_error(d, &v->pos, "recipe \"%s\" (%s): \"%s\" is %s, more than the %s the "
			   "kernel passes as one variable (MAX_ARG_STRLEN): the build would fail with "
			   "\"Argument list too long\"", need->recipe, need->variant, v->name,
			   size_format(bytes - sizeof(char *), a, sizeof(a)),
			   size_format(EXEC_STRING_MAX, b, sizeof(b)));
		diag_hint(d, "put the value in a file the build reads (in the source tree or a "
			     "patch) and pass its path in \"%s\"", v->name);
	}
	for (char *const *p = need->inherited; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		if (!eq)
			continue;
		for (const char *const *n = env_inherited_names; *n; n++) {
			size_t len = (size_t)(eq - *p);
			if (strlen(*n) == len && !strncmp(*n, *p, len) && !env_find(e, *n)) {
				part[2] += env_exec_bytes(*n, eq + 1);
				count[2]++;
			}
		}
	}
	size_t total = part[0] + part[1] + part[2] + need->argv_bytes + EXEC_PTBUILD_RESERVE;
	if (need->arg_max <= 0 || total <= (size_t)need->arg_max)
		return errors ? -1 : 0;
	errors++;
	diag_error(d, part[0] > part[1] ? need->toolchain_env : need->recipe_env, "recipe \"%s\" (%s): the build's environment and command line "
		   "would take %s, more than the %s (ARG_MAX) the kernel passes to a program: the "
		   "build would fail with \"Argument list too long\"", need->recipe, need->variant,
		   size_format(total, a, sizeof(a)), size_format((uint64_t)need->arg_max, b, sizeof(b)));
	struct buf parts = BUF_INIT;
	static const char *const names[] = { "the toolchain's \"env\"", "the recipe's \"env\"",
					     "inherited" };
	for (int k = 0; k < 3; k++)
		buf_addf(&parts, "%s %zu variable%s (%s), ", names[k], count[k], count[k] == 1 ? "" : "s",
			 size_format(part[k], a, sizeof(a)));
	buf_addf(&parts, "the command line %s, ptbuild's own variables %s",
		 size_format(need->argv_bytes, a, sizeof(a)),
		 size_format(EXEC_PTBUILD_RESERVE, b, sizeof(b)));
	diag_hint(d, "%s (each counts \"NAME=VALUE\", its NUL and a pointer); remove variables the "
		     "build does not read, or put large values in a file the build reads",
		  parts.data);
	buf_release(&parts);
	return -1;
}
