#include "wheels/verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "model/archlist.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"
#include "wheels/wheel.h"

const char *verify_host_machine(void)
{
	static char machine[65];
	if (!machine[0]) {
		struct utsname u;
		snprintf(machine, sizeof(machine), "%s", uname(&u) == 0 ? u.machine : "unknown");
	}
	return machine;
}

struct ctx {
	const char *path;       /* the wheel */
	const char *file;       /* its file name */
	const char *dir;        /* where it is unpacked */
	const struct verify_expect *x;
	struct wheel_members members;
	struct wheel_name name;
	bool named;             /* `name` parsed */
	char *dist_info;
	struct verify_stats *st;
	struct diags *d;
	size_t findings;
};

static void finding(struct ctx *c, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct ctx *c, const char *member, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (member)
		diag_error(c->d, NULL, "%s: %s: %s", c->file, member, b.data);
	else
		diag_error(c->d, NULL, "%s: %s", c->file, b.data);
	buf_release(&b);
	c->findings++;
}

static char *read_member(struct ctx *c, const char *name)
{
	char *p = path_join(c->dir, name);
	struct buf b = BUF_INIT;
	char *text = read_file(p, &b) == 0 ? buf_detach(&b) : NULL;
	buf_release(&b);
	free(p);
	return text;
}

static const struct wheel_member *find_member(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->members.n; i++)
		if (!strcmp(c->members.v[i].name, name))
			return &c->members.v[i];
	return NULL;
}

/* ---- RECORD ------------------------------------------------------------------------------ */

/* Splits one CSV line into up to 3 fields (quotes as Python's csv module writes them). */
static size_t csv_fields(const char *line, char *out[3])
{
	size_t n = 0;
	const char *p = line;
	while (n < 3) {
		struct buf f = BUF_INIT;
		if (*p == '"') {
			for (p++; *p; p++) {
				if (*p == '"' && p[1] == '"') {
					buf_addch(&f, '"');
					p++;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					buf_addch(&f, *p);
				}
			}
		}
		while (*p && *p != ',')
			buf_addch(&f, *p++);
		out[n++] = buf_detach(&f);
		if (*p != ',')
			break;
		p++;
	}
	return n;
}

static void check_record(struct ctx *c)
{
	struct buf rname = BUF_INIT;
	buf_addf(&rname, "%s/RECORD", c->dist_info);
	char *text = find_member(c, rname.data) ? read_member(c, rname.data) : NULL;
	if (!text) {
		finding(c, rname.data, "missing: a wheel must list its files with their digests");
		buf_release(&rname);
		return;
	}
	bool *listed = xcalloc(c->members.n + 1, sizeof(bool));
	const char *cur = text;
	char *line;
	while ((line = next_line(&cur))) {
		if (!line[0]) {
			free(line);
			continue;
		}
		char *f[3] = { NULL, NULL, NULL };
		size_t nf = csv_fields(line, f);
		const char *name = f[0];
		size_t idx = c->members.n;
		for (size_t i = 0; i < c->members.n; i++)
			if (!strcmp(c->members.v[i].name, name))
				idx = i;
		bool is_record = !strcmp(name, rname.data) || ends_with(name, ".dist-info/RECORD.jws") ||
				 ends_with(name, ".dist-info/RECORD.p7s");
		if (idx == c->members.n) {
			finding(c, name, "listed in RECORD but not in the wheel");
		} else if (listed[idx]) {
			finding(c, name, "listed twice in RECORD");
		} else {
			listed[idx] = true;
			const struct wheel_member *m = &c->members.v[idx];
			const char *hash = nf >= 2 ? f[1] : "";
			const char *size = nf >= 3 ? f[2] : "";
			if (is_record) {
				/* RECORD cannot hold its own digest */
			} else if (!starts_with(hash, "sha256=")) {
				finding(c, name, "RECORD has %s where a sha256= digest was expected",
					hash[0] ? hash : "no digest");
			} else if (strcmp(hash + 7, m->sha256)) {
				finding(c, name, "sha256 is %s, RECORD says %s: the member was changed "
						 "after the wheel was built", m->sha256, hash + 7);
			} else if (strtoull(size, NULL, 10) != m->size || !size[0]) {
				finding(c, name, "size is %llu bytes, RECORD says %s",
					(unsigned long long)m->size, size[0] ? size : "nothing");
			}
		}
		for (size_t i = 0; i < nf; i++)
			free(f[i]);
		free(line);
	}
	for (size_t i = 0; i < c->members.n; i++) {
		const char *name = c->members.v[i].name;
		if (!listed[i] && strcmp(name, rname.data))
			finding(c, name, "in the wheel but not listed in RECORD");
	}
	free(listed);
	free(text);
	buf_release(&rname);
}

/* ---- names and tags ------------------------------------------------------------------------ */

/* Appends every tag of the file name (the expanded compressed tag sets), sorted. */
static void expand_tags(const struct wheel_name *n, struct buf *out)
{
	char **tags = NULL;
	size_t k = 0;
	char *py = xstrdup(n->python);
	char *s1 = NULL, *s2 = NULL, *s3 = NULL;
	for (char *a = strtok_r(py, ".", &s1); a; a = strtok_r(NULL, ".", &s1)) {
		char *abis = xstrdup(n->abi);
		for (char *b = strtok_r(abis, ".", &s2); b; b = strtok_r(NULL, ".", &s2)) {
			char *plats = xstrdup(n->platform);
			for (char *p = strtok_r(plats, ".", &s3); p; p = strtok_r(NULL, ".", &s3)) {
				struct buf t = BUF_INIT;
				buf_addf(&t, "%s-%s-%s", a, b, p);
				tags = xrealloc(tags, (k + 1) * sizeof(char *));
				tags[k++] = buf_detach(&t);
			}
			free(plats);
		}
		free(abis);
	}
	qsort(tags, k, sizeof(char *), strv_cmp);
	for (size_t i = 0; i < k; i++) {
		buf_addf(out, "%s\n", tags[i]);
		free(tags[i]);
	}
	free(tags);
	free(py);
}

static bool has_word(const char *set, const char *word)
{
	char *copy = xstrdup(set);
	bool found = false;
	char *save = NULL;
	for (char *w = strtok_r(copy, ".", &save); w && !found; w = strtok_r(NULL, ".", &save))
		found = !strcmp(w, word);
	free(copy);
	return found;
}

/* Whether a platform tag is for `machine`: any, linux_M, manylinux*_M, musllinux_*_M. */
static bool platform_fits(const char *plat, const char *machine)
{
	if (!strcmp(plat, "any"))
		return true;
	if (!starts_with(plat, "linux_") && !starts_with(plat, "manylinux") &&
	    !starts_with(plat, "musllinux_"))
		return false;
	return ends_with(plat, machine) && plat[strlen(plat) - strlen(machine) - 1] == '_';
}

static bool is_shared_object(const char *name)
{
	const char *base = path_base(name);
	return ends_with(base, ".so") || strstr(base, ".so.");
}

static void check_names(struct ctx *c)
{
	char *meta_name = NULL, *meta_version = NULL;
	struct buf m = BUF_INIT, w = BUF_INIT;
	buf_addf(&m, "%s/METADATA", c->dist_info);
	buf_addf(&w, "%s/WHEEL", c->dist_info);
	char *meta = find_member(c, m.data) ? read_member(c, m.data) : NULL;
	char *wheel = find_member(c, w.data) ? read_member(c, w.data) : NULL;
	if (!meta) {
		finding(c, m.data, "missing");
	} else {
		meta_name = metadata_get(meta, "Name");
		meta_version = metadata_get(meta, "Version");
		char *a = meta_name ? dist_normalize(meta_name) : NULL;
		char *b = dist_normalize(c->name.dist);
		if (!a || strcmp(a, b))
			finding(c, m.data, "Name is \"%s\" but the file name says \"%s\"",
				meta_name ? meta_name : "(none)", c->name.dist);
		if (!meta_version || strcmp(meta_version, c->name.version))
			finding(c, m.data, "Version is \"%s\" but the file name says \"%s\"",
				meta_version ? meta_version : "(none)", c->name.version);
		free(a);
		free(b);
	}
	struct buf expect_di = BUF_INIT;
	char *esc = dist_escape(c->name.dist);
	buf_addf(&expect_di, "%s-%s.dist-info", esc, c->name.version);
	free(esc);
	if (strcmp(c->dist_info, expect_di.data))
		finding(c, c->dist_info, "the metadata directory should be %s (the file name's name "
					  "and version)", expect_di.data);
	if (!wheel) {
		finding(c, w.data, "missing");
	} else {
		struct buf have = BUF_INIT, want = BUF_INIT;
		metadata_get_all(wheel, "Tag", &have);
		expand_tags(&c->name, &want);
		/* sort what WHEEL says the same way */
		const char *cur = have.data;
		char **tags = NULL, *line;
		size_t k = 0;
		while ((line = next_line(&cur))) {
			tags = xrealloc(tags, (k + 1) * sizeof(char *));
			tags[k++] = line;
		}
		qsort(tags, k, sizeof(char *), strv_cmp);
		struct buf sorted = BUF_INIT;
		for (size_t i = 0; i < k; i++) {
			buf_addf(&sorted, "%s\n", tags[i]);
			free(tags[i]);
		}
		free(tags);
		if (strcmp(sorted.data, want.data)) {
			buf_rtrim(&sorted);
			buf_rtrim(&want);
			for (char *p = sorted.data; *p; p++)
				if (*p == '\n')
					*p = ' ';
			for (char *p = want.data; *p; p++)
				if (*p == '\n')
					*p = ' ';
			/* pip reads the file name's tags only; PyPI's torch 2.1.2 manylinux1 wheel
			 * says linux_x86_64 here: a warning, not a finding */
			diag_warn(c->d, NULL, "%s: %s: Tag is \"%s\" but the file name says \"%s\" "
					      "(pip goes by the file name)", c->file, w.data,
				  sorted.len ? sorted.data : "(none)", want.data);
		}
		buf_release(&sorted);
		buf_release(&have);
		buf_release(&want);
	}
	free(meta);
	free(wheel);
	free(meta_name);
	free(meta_version);
	buf_release(&m);
	buf_release(&w);
	buf_release(&expect_di);
}

/* The tags against the Python and machine of the build, and the compiled members. */
static void check_tags(struct ctx *c)
{
	const struct verify_expect *x = c->x;
	const struct wheel_name *n = &c->name;
	size_t compiled = 0;
	const char *first_so = NULL;
	for (size_t i = 0; i < c->members.n; i++)
		if (is_shared_object(c->members.v[i].name) && !compiled++)
			first_so = c->members.v[i].name;
	if (compiled && !strcmp(n->platform, "any"))
		finding(c, first_so, "compiled code in a wheel tagged for any platform (%s-%s-%s): "
				     "pip would install it anywhere", n->python, n->abi, n->platform);
	if (compiled && !strcmp(n->abi, "none") && strcmp(n->platform, "any"))
		finding(c, first_so, "compiled code in a wheel tagged for no Python ABI (abi tag "
				     "\"none\")");
	if (x->machine) {
		bool fits = false;
		char *plats = xstrdup(n->platform), *save = NULL;
		for (char *p = strtok_r(plats, ".", &save); p && !fits; p = strtok_r(NULL, ".", &save))
			fits = platform_fits(p, x->machine);
		free(plats);
		if (!fits)
			finding(c, NULL, "platform tag \"%s\" is not for this machine (%s)", n->platform,
				x->machine);
	}
	if (x->python) {
		char digits[16];
		size_t k = 0;
		for (const char *p = x->python; *p && k < sizeof(digits) - 1; p++)
			if (*p != '.')
				digits[k++] = *p;
		digits[k] = '\0';
		struct buf cp = BUF_INIT, py = BUF_INIT, pymajor = BUF_INIT;
		buf_addf(&cp, "cp%s", digits);
		buf_addf(&py, "py%s", digits);
		buf_addf(&pymajor, "py%c", x->python[0]);
		bool fits = has_word(n->python, cp.data) ||
			    (!compiled && (has_word(n->python, py.data) ||
					   has_word(n->python, pymajor.data)));
		if (!fits && has_word(n->abi, "abi3")) {
			/* cp3N-abi3 runs on 3.N and later */
			char *tags = xstrdup(n->python), *save = NULL;
			long minor = strtol(strchr(x->python, '.') ? strchr(x->python, '.') + 1 : "0",
					    NULL, 10);
			for (char *t = strtok_r(tags, ".", &save); t && !fits;
			     t = strtok_r(NULL, ".", &save))
				fits = starts_with(t, "cp3") && strtol(t + 3, NULL, 10) <= minor;
			free(tags);
		}
		if (!fits)
			finding(c, NULL, "Python tag \"%s\" does not fit Python %s (expected %s%s)",
				n->python, x->python, cp.data, compiled ? "" : " or py3");
		bool abi_fits = has_word(n->abi, cp.data) || has_word(n->abi, "abi3") ||
				(!compiled && has_word(n->abi, "none"));
		if (fits && !abi_fits)
			finding(c, NULL, "ABI tag \"%s\" does not fit Python %s (expected %s)", n->abi,
				x->python, cp.data);
		/* extension modules: name.cpython-311-x86_64-linux-gnu.so */
		struct buf suffix = BUF_INIT;
		buf_addf(&suffix, ".cpython-%s-", digits);
		for (size_t i = 0; i < c->members.n; i++) {
			const char *name = c->members.v[i].name;
			const char *cpy = strstr(name, ".cpython-");
			if (cpy && ends_with(name, ".so") && !starts_with(cpy, suffix.data))
				finding(c, name, "an extension module for another Python (expected "
						 "*%s*.so)", suffix.data);
		}
		buf_release(&suffix);
		buf_release(&cp);
		buf_release(&py);
		buf_release(&pymajor);
	}
}

/* ---- shared objects --------------------------------------------------------------------------- */

/* The arch words ("sm_80") in cuobjdump's listing of `kind` ("cubin" or "ptx"), sorted. */
static void listed_arches(const char *text, const char *kind, struct buf *out)
{
	char **words = NULL;
	size_t n = 0;
	const char *cur = text;
	char *line;
	while ((line = next_line(&cur))) {
		char *sm = strstr(line, ".sm_");
		char *end = sm ? strchr(sm + 1, '.') : NULL;
		if (sm && end && !strcmp(end + 1, kind)) {
			char *w = xstrndup(sm + 1, (size_t)(end - sm - 1));
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = !strcmp(words[i], w);
			if (dup) {
				free(w);
			} else {
				words = xrealloc(words, (n + 1) * sizeof(char *));
				words[n++] = w;
			}
		}
		free(line);
	}
	if (n) /* qsort of NULL is undefined even for 0 members: a cubin without PTX lists none */
		qsort(words, n, sizeof(char *), arch_word_cmp); /* arch_list_targets' order */
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s%s", i ? " " : "", words[i]);
		free(words[i]);
	}
	free(words);
}

static void check_cuda(struct ctx *c, const char *member, const char *file, const char *tool,
		       const char *want_sass, const char *want_ptx)
{
	const char *elf_argv[] = { tool, "--list-elf", file, NULL };
	const char *ptx_argv[] = { tool, "--list-ptx", file, NULL };
	struct buf elf = BUF_INIT, ptx = BUF_INIT;
	run_capture(elf_argv, &elf, 600000);
	run_capture(ptx_argv, &ptx, 600000);
	struct buf sass = BUF_INIT, ptxs = BUF_INIT;
	listed_arches(elf.data, "cubin", &sass);
	listed_arches(ptx.data, "ptx", &ptxs);
	if (sass.len || ptxs.len) {
		c->st->cuda_objects++;
		if (strcmp(sass.data, want_sass))
			finding(c, member, "device code for %s, expected %s (TORCH_CUDA_ARCH_LIST=%s): "
					   "GPUs of the missing arches fail with \"no kernel image is "
					   "available\"", sass.len ? sass.data : "no arch",
				want_sass, c->x->arch_list);
		if (strcmp(ptxs.data, want_ptx))
			finding(c, member, "PTX for %s, expected %s (TORCH_CUDA_ARCH_LIST=%s)",
				ptxs.len ? ptxs.data : "no arch", want_ptx[0] ? want_ptx : "none",
				c->x->arch_list);
	}
	buf_release(&elf);
	buf_release(&ptx);
	buf_release(&sass);
	buf_release(&ptxs);
}

static void check_shared_objects(struct ctx *c)
{
	const struct verify_expect *x = c->x;
	struct buf sass = BUF_INIT, ptx = BUF_INIT;
	char *tool = NULL;
	bool cuda = false;
	if (x->arch_list) {
		if (arch_list_targets(x->arch_list, x->torch_version, &sass, &ptx) < 0) {
			diag_warn(c->d, NULL, "%s: TORCH_CUDA_ARCH_LIST=\"%s\" leaves the arches to "
					      "detection: the device code is not checked", c->file,
				  x->arch_list);
		} else {
			tool = x->cuobjdump ? xstrdup(x->cuobjdump)
					    : find_in_path("cuobjdump", setting_path());
			if (!tool || !is_executable_file(tool))
				diag_warn(c->d, NULL, "%s: no cuobjdump (%s): the CUDA arches are not "
						      "checked", c->file, tool ? tool : "not in PATH");
			else
				cuda = true;
		}
	}
	bool torch_libs = false, needs_nccl = false;
	for (size_t i = 0; i < c->members.n; i++) {
		const char *name = c->members.v[i].name;
		const char *base = path_base(name);
		if (!is_shared_object(name))
			continue;
		char *file = path_join(c->dir, name);
		if (!elf_is_elf(file)) {
			free(file);
			continue;
		}
		c->st->shared_objects++;
		struct elf_info e;
		struct diags ed;
		diags_init(&ed);
		if (elf_read(file, &e, &ed) < 0) {
			finding(c, name, "not a readable shared object (%s)",
				ed.n ? ed.v[0].msg : "unknown");
		} else {
			if (x->machine && strcmp(e.machine, x->machine))
				finding(c, name, "built for %s, expected %s", e.machine, x->machine);
			if (starts_with(base, "libnccl") && x->system_nccl)
				finding(c, name, "carries its own NCCL, but the build asked for the "
						 "system's (USE_SYSTEM_NCCL=1)");
			if (starts_with(base, "libtorch")) {
				torch_libs = true;
				for (size_t k = 0; k < e.nneeded; k++)
					needs_nccl |= starts_with(e.needed[k], "libnccl.so");
			}
			if (x->torch_abi != CXX_ABI_UNKNOWN && e.abi != CXX_ABI_UNKNOWN &&
			    e.abi != x->torch_abi)
				finding(c, name, "built with _GLIBCXX_USE_CXX11_ABI=%d but torch uses "
						 "%d: loading it fails with undefined symbols", (int)e.abi,
					(int)x->torch_abi);
			if (cuda)
				check_cuda(c, name, file, tool, sass.data, ptx.data);
		}
		elf_info_release(&e);
		diags_release(&ed);
		free(file);
	}
	if (x->system_nccl && torch_libs && !needs_nccl)
		finding(c, NULL, "no torch library (torch/lib/libtorch*.so) needs libnccl.so.2, but "
				 "the build asked for the system NCCL (USE_SYSTEM_NCCL=1): NCCL was "
				 "left out or linked statically");
	free(tool);
	buf_release(&sass);
	buf_release(&ptx);
}

int verify_wheel(const char *path, const struct verify_expect *x, struct verify_stats *st,
		 struct diags *d)
{
	struct verify_stats ignored;
	if (!st)
		st = &ignored;
	memset(st, 0, sizeof(*st));
	const char *file = path_base(path);
	struct ctx c = { .path = path, .file = file, .x = x, .st = st, .d = d };
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/verify-%ld", x->tmp_dir, (long)getpid());
	remove_tree(dir.data);
	if (make_dirs(x->tmp_dir, 0755) < 0) {
		buf_release(&dir);
		return diag_error(d, NULL, "cannot create %s: %s", x->tmp_dir, strerror(errno));
	}
	c.dir = dir.data;
	c.named = wheel_name_parse(file, &c.name) == 0;
	if (!c.named) {
		finding(&c, NULL, "not a wheel file name (name-version-python-abi-platform.whl)");
		goto out;
	}
	struct diags ud;
	diags_init(&ud);
	if (wheel_unpack_threads(path, c.dir, x->threads, &c.members, &ud) < 0) {
		for (size_t i = 0; i < ud.n; i++)
			finding(&c, NULL, "%s", ud.v[i].msg);
		diags_release(&ud);
		goto out;
	}
	diags_release(&ud);
	st->members = c.members.n;
	struct diags dd;
	diags_init(&dd);
	c.dist_info = wheel_dist_info(c.dir, &dd);
	if (!c.dist_info) {
		finding(&c, NULL, "needs exactly one .dist-info directory");
		diags_release(&dd);
		goto out;
	}
	diags_release(&dd);
	check_record(&c);
	check_names(&c);
	check_tags(&c);
	check_shared_objects(&c);
out:
	remove_tree(dir.data);
	buf_release(&dir);
	wheel_members_release(&c.members);
	if (c.named)
		wheel_name_release(&c.name);
	free(c.dist_info);
	return (int)c.findings;
}
