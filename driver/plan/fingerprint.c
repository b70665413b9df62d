#include "plan/fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"

#define FINGERPRINT_TIMEOUT_MS 20000

static char *first_line(const char *s)
{
	return xstrndup(s, strcspn(s, "\n"));
}

/* nvcc prints a copyright banner; the release and build lines identify it. */
static char *nvcc_identity(const char *out)
{
	struct buf b = BUF_INIT;
	for (const char *line = out; *line;) {
		size_t len = strcspn(line, "\n");
		if (!strncmp(line, "Cuda compilation tools", 22) || !strncmp(line, "Build ", 6)) {
			if (b.len)
				buf_adds(&b, "; ");
			buf_add(&b, line, len);
		}
		line += len + (line[len] == '\n');
	}
	if (!b.len)
		buf_adds(&b, out);
	buf_rtrim(&b);
	return buf_detach(&b);
}

char *nvcc_release(const char *output)
{
	const char *r = strstr(output, "release ");
	if (!r)
		return NULL;
	r += 8;
	size_t n = strspn(r, "0123456789.");
	return n ? xstrndup(r, n) : NULL;
}

char *nccl_version_from_header(const char *path)
{
	struct buf text = BUF_INIT;
	if (read_file(path, &text) < 0) {
		buf_release(&text);
		return NULL;
	}
	static const char *const names[] = { "NCCL_MAJOR", "NCCL_MINOR", "NCCL_PATCH" };
	long v[3];
	for (int i = 0; i < 3; i++) {
		struct buf pat = BUF_INIT;
		buf_addf(&pat, "#define %s ", names[i]);
		const char *at = strstr(text.data, pat.data);
		buf_release(&pat);
		if (!at) {
			buf_release(&text);
			return NULL;
		}
		v[i] = strtol(at + strlen("#define ") + strlen(names[i]), NULL, 10);
	}
	buf_release(&text);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%ld.%ld.%ld", v[0], v[1], v[2]);
	return buf_detach(&b);
}

static bool is_pyenv_shims(const char *dir)
{
	return ends_with(dir, "/shims") || ends_with(dir, "/shims/");
}

static char *find_skipping_shims(const char *name)
{
	const char *path = setting_path();
	if (!path)
		return NULL;
	struct buf kept = BUF_INIT;
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, ":");
		char *dir = xstrndup(p, len);
		if (!is_pyenv_shims(dir)) {
			if (kept.len)
				buf_addch(&kept, ':');
			buf_adds(&kept, dir);
		}
		free(dir);
		p += len + (p[len] == ':');
	}
	char *found = find_in_path(name, kept.data);
	buf_release(&kept);
	return found;
}

char *python_find(const char *version)
{
	const char *forced = setting_python_override(version);
	if (forced)
		return is_executable_file(forced) ? xstrdup(forced) : NULL;

	struct buf exe = BUF_INIT;
	buf_addf(&exe, "python%s", version);
	char *found = find_skipping_shims(exe.data);
	if (found) {
		buf_release(&exe);
		return found;
	}
	const char *root = setting_pyenv_root();
	char *home_root = NULL;
	if (!root && setting_home()) {
		home_root = path_join(setting_home(), ".pyenv");
		root = home_root;
	}
	if (root) {
		char *versions = path_join(root, "versions");
		char **names;
		size_t n;
		if (list_dir(versions, NULL, &names, &n) == 0) {
			const char *best = NULL;
			for (size_t i = 0; i < n; i++) {
				size_t vl = strlen(version);
				if (strncmp(names[i], version, vl) || (names[i][vl] != '.' && names[i][vl]))
					continue;
				if (!best || version_cmp(names[i], best) > 0)
					best = names[i];
			}
			if (best) {
				struct buf cand = BUF_INIT;
				buf_addf(&cand, "%s/%s/bin/%s", versions, best, exe.data);
				if (is_executable_file(cand.data))
					found = buf_detach(&cand);
				buf_release(&cand);
			}
			free_names(names, n);
		}
		free(versions);
	}
	free(home_root);
	buf_release(&exe);
	return found;
}

/* ---- collection ---------------------------------------------------------------------- */

enum probe_kind { PROBE_CC, PROBE_CXX, PROBE_NVCC, PROBE_PYTHON };

struct probe {
	enum probe_kind kind;
	size_t index;      /* toolchain or python index */
	const char *argv[3];
	char *exe;         /* owned */
};

/* nvcc for CUDA, mcc for MUSA, NULL otherwise. Caller frees. */
static char *accelerator_compiler(const struct toolchain *tc)
{
	if (tc->cuda.enabled)
		return path_join(tc->cuda.home, "bin/nvcc");
	if (tc->musa.enabled)
		return path_join(tc->musa.home, "bin/mcc");
	return NULL;
}

/* Commands shared by several toolchains (gcc) run once. */
static struct probe *find_probe(struct probe *probes, size_t n, const char *exe)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(probes[i].exe, exe))
			return &probes[i];
	return NULL;
}

/* "x86_64-linux": the machine and the system, lowercase. Caller frees. */
static char *platform_name(void)
{
	struct utsname u;
	struct buf plat = BUF_INIT;
	if (uname(&u) == 0)
		buf_addf(&plat, "%s-%s", u.machine, u.sysname);
	for (char *c = plat.data; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return buf_detach(&plat);
}

/* The commands of one collection and, once they ran, their answers. */
struct probes {
	struct probe *v;      /* owned */
	size_t n;
	struct capture *caps; /* owned, one per probe: filled by probes_run */
};

static void probes_add(struct probes *ps, enum probe_kind kind, size_t index, const char *exe)
{
	struct probe *pr = &ps->v[ps->n++];
	*pr = (struct probe){ .kind = kind, .index = index, .exe = xstrdup(exe) };
	pr->argv[0] = pr->exe;
	pr->argv[1] = "--version";
}

/* `--version` of each toolchain's compilers (once for those several share), and of each
 * Python that has an interpreter here (found now, into fp->py). */
static void probes_list(struct probes *ps, struct fingerprints *fp,
			const struct toolchain *const *tcs, const char *const *pythons)
{
	size_t cap = 3 * fp->ntc + fp->npy;
	ps->v = xcalloc(cap ? cap : 1, sizeof(*ps->v));
	for (size_t i = 0; i < fp->ntc; i++) {
		fp->tc[i].tc = tcs[i];
		char *accel = accelerator_compiler(tcs[i]);
		const char *exes[3] = { tcs[i]->cc, tcs[i]->cxx, accel };
		for (int k = 0; k < 3; k++)
			if (exes[k] && !find_probe(ps->v, ps->n, exes[k]))
				probes_add(ps, (enum probe_kind)k, i, exes[k]);
		free(accel);
	}
	for (size_t i = 0; i < fp->npy; i++) {
		fp->py[i].version = xstrdup(pythons[i]);
		fp->py[i].interpreter = python_find(pythons[i]);
		if (fp->py[i].interpreter)
			probes_add(ps, PROBE_PYTHON, i, fp->py[i].interpreter);
	}
}

static void probes_run(struct probes *ps)
{
	ps->caps = xcalloc(ps->n ? ps->n : 1, sizeof(*ps->caps));
	for (size_t i = 0; i < ps->n; i++)
		ps->caps[i].argv = ps->v[i].argv;
	run_capture_all(ps->caps, ps->n, FINGERPRINT_TIMEOUT_MS);
}

static void probes_release(struct probes *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].exe);
		buf_release(&ps->caps[i].out);
	}
	free(ps->v);
	free(ps->caps);
}

/* The identity of tool `k` (0 cc, 1 cxx, 2 nvcc or mcc) of `tc` from its answer `c`, or
 * "not found: EXE" with a warning. */
static char *tool_identity(struct toolchain_fp *t, const struct toolchain *tc, int k,
			   const char *exe, const struct capture *c, struct diags *d)
{
	struct buf v = BUF_INIT;
	t->status[k] = c->status;
	t->start_errno[k] = c->start_errno;
	if (c->status == 0) {
		bool nvcc = k == 2 && tc->cuda.enabled;
		char *id = nvcc ? nvcc_identity(c->out.data) : first_line(c->out.data);
		buf_adds(&v, id);
		free(id);
		if (nvcc)
			t->nvcc_release = nvcc_release(c->out.data);
	} else {
		buf_addf(&v, "not found: %s", exe);
		t->complete = false;
		diag_warn(d, &tc->pos, "toolchain \"%s\": %s \"%s\" %s", tc->name,
			  k == 2 ? (tc->cuda.enabled ? "nvcc" : "mcc") : "compiler", exe,
			  c->status < 0 ? "was not found" : "did not answer --version");
		diag_hint(d, "the plan's keys will change once it is installed; "
			     "`ptbuild doctor` shows what this machine has");
	}
	return buf_detach(&v);
}

/* NCCL's version from nccl.h, where the toolchain uses NCCL: "not found: PATH" (a warning
 * when the toolchain asks for the system's) when the header has none. */
static void read_nccl(struct toolchain_fp *t, const struct toolchain *tc, struct diags *d)
{
	if (!tc->nccl_system && !tc->cuda.enabled)
		return;
	char *header = path_join(tc->nccl_root ? tc->nccl_root : "/usr", "include/nccl.h");
	char *version = nccl_version_from_header(header);
	if (!version && tc->nccl_system) {
		diag_warn(d, &tc->pos, "toolchain \"%s\": no NCCL version in %s", tc->name, header);
		diag_hint(d, "install NCCL there or set \"nccl\": {\"root\": ...}");
		t->complete = false;
	}
	if (!version) {
		struct buf v = BUF_INIT;
		buf_addf(&v, "not found: %s", header);
		version = buf_detach(&v);
	}
	t->nccl = version;
	free(header);
}

/* Each toolchain reads its tools' answers, shared ones included. */
static void read_toolchain(struct toolchain_fp *t, const struct probes *ps, struct diags *d)
{
	const struct toolchain *tc = t->tc;
	t->complete = true;
	for (int k = 0; k < 3; k++)
		t->status[k] = NOT_ASKED;
	char *accel = accelerator_compiler(tc);
	const char *exes[3] = { tc->cc, tc->cxx, accel };
	char **slots[3] = { &t->cc, &t->cxx, tc->cuda.enabled ? &t->nvcc : &t->mcc };
	for (int k = 0; k < 3; k++) {
		if (!exes[k])
			continue;
		const struct probe *pr = find_probe(ps->v, ps->n, exes[k]);
		*slots[k] = tool_identity(t, tc, k, exes[k], &ps->caps[pr - ps->v], d);
	}
	free(accel);
	read_nccl(t, tc, d);
}

/* "Python 3.11.7" from each interpreter that answered; "not found: pythonX.Y" with a
 * warning for the others. */
static void read_pythons(struct fingerprints *fp, const struct probes *ps, struct diags *d)
{
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].kind != PROBE_PYTHON)
			continue;
		struct python_fp *py = &fp->py[ps->v[i].index];
		if (ps->caps[i].status == 0) {
			struct buf v = BUF_INIT;
			buf_adds(&v, ps->caps[i].out.data);
			buf_rtrim(&v);
			py->full = buf_detach(&v);
		} else {
			free(py->interpreter);
			py->interpreter = NULL;
		}
	}
	for (size_t i = 0; i < fp->npy; i++) {
		struct python_fp *py = &fp->py[i];
		if (py->full)
			continue;
		struct buf v = BUF_INIT;
		buf_addf(&v, "not found: python%s", py->version);
		py->full = buf_detach(&v);
		diag_warn(d, NULL, "no interpreter for Python %s on this machine", py->version);
		diag_hint(d, "install python%s, or point PTBUILD_PYTHON_%c_%s at one; the plan's keys "
			     "will change once it is found", py->version, py->version[0],
			  py->version + 2);
	}
}

void fingerprints_collect(struct fingerprints *fp, const struct toolchain *const *tcs, size_t ntc,
			  const char *const *pythons, size_t npy, struct diags *d)
{
	memset(fp, 0, sizeof(*fp));
	fp->tc = xcalloc(ntc, sizeof(*fp->tc));
	fp->ntc = ntc;
	fp->py = xcalloc(npy, sizeof(*fp->py));
	fp->npy = npy;
	fp->platform = platform_name();
	struct probes ps = { 0 };
	probes_list(&ps, fp, tcs, pythons);
	probes_run(&ps);
	for (size_t i = 0; i < ntc; i++)
		read_toolchain(&fp->tc[i], &ps, d);
	read_pythons(fp, &ps, d);
	probes_release(&ps);
}

void fingerprints_release(struct fingerprints *fp)
{
	for (size_t i = 0; i < fp->ntc; i++) {
		free(fp->tc[i].cc);
		free(fp->tc[i].cxx);
		free(fp->tc[i].nvcc);
		free(fp->tc[i].nvcc_release);
		free(fp->tc[i].mcc);
		free(fp->tc[i].nccl);
	}
	free(fp->tc);
	for (size_t i = 0; i < fp->npy; i++) {
		free(fp->py[i].version);
		free(fp->py[i].interpreter);
		free(fp->py[i].full);
	}
	free(fp->py);
	free(fp->platform);
	memset(fp, 0, sizeof(*fp));
}

const struct toolchain_fp *fingerprints_toolchain(const struct fingerprints *fp,
						  const struct toolchain *tc)
{
	for (size_t i = 0; i < fp->ntc; i++)
		if (fp->tc[i].tc == tc)
			return &fp->tc[i];
	return NULL;
}

const struct python_fp *fingerprints_python(const struct fingerprints *fp, const char *version)
{
	for (size_t i = 0; i < fp->npy; i++)
		if (!strcmp(fp->py[i].version, version))
			return &fp->py[i];
	return NULL;
}

int fingerprint_check_tools(const struct toolchain_fp *t, const char *needed_by, struct diags *d)
{
	const struct toolchain *tc = t->tc;
	char *accel = accelerator_compiler(tc);
	const char *exes[3] = { tc->cc, tc->cxx, accel };
	const char *keys[3] = { "cc", "cxx", tc->cuda.enabled ? "cuda" : "musa" };
	const char *tools[3] = { "C compiler", "C++ compiler", tc->cuda.enabled ? "nvcc" : "mcc" };
	const struct pos *where[3] = { &tc->cc_pos, &tc->cxx_pos,
				       tc->cuda.enabled ? &tc->cuda.pos : &tc->musa.pos };
	int errors = 0;
	for (int k = 0; k < 3; k++) {
		if (!exes[k] || t->status[k] == 0 || t->status[k] == NOT_ASKED)
			continue;
		errors++;
		bool path = strchr(exes[k], '/') != NULL;
		if (t->status[k] < 0)
			diag_error(d, where[k], "%s \"%s\" of toolchain \"%s\", needed to build %s, %s%s%s",
				   tools[k], exes[k], tc->name, needed_by,
				   path ? "cannot be run" : "is not on PATH",
				   t->start_errno[k] ? ": " : "",
				   t->start_errno[k] ? strerror(t->start_errno[k]) : "");
		else
			diag_error(d, where[k], "%s \"%s\" of toolchain \"%s\", needed to build %s, did "
				   "not answer --version (exit status %d)", tools[k], exes[k], tc->name,
				   needed_by, t->status[k]);
		if (k == 2)
			diag_hint(d, "install %s under %s, or set \"%s\": {\"home\": ...} to where it is; "
				     "`ptbuild doctor` shows what this machine has", tools[k],
				  tc->cuda.enabled ? tc->cuda.home : tc->musa.home, keys[k]);
		else
			diag_hint(d, "install %s, or set \"%s\" in the toolchain to a compiler this machine "
				     "has (a name on PATH or an absolute path); `ptbuild doctor` shows "
				     "what it has", exes[k], keys[k]);
	}
	free(accel);
	return errors;
}
