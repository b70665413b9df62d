#include "plan/fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

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
	const char *path = getenv("PATH");
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
	struct buf var = BUF_INIT;
	buf_adds(&var, "PTBUILD_PYTHON_");
	for (const char *c = version; *c; c++)
		buf_addch(&var, *c == '.' ? '_' : *c);
	const char *forced = getenv(var.data);
	buf_release(&var);
	if (forced && *forced)
		return is_executable_file(forced) ? xstrdup(forced) : NULL;

	struct buf exe = BUF_INIT;
	buf_addf(&exe, "python%s", version);
	char *found = find_skipping_shims(exe.data);
	if (found) {
		buf_release(&exe);
		return found;
	}
	const char *root = getenv("PYENV_ROOT");
	char *home_root = NULL;
	if (!root && getenv("HOME")) {
		home_root = path_join(getenv("HOME"), ".pyenv");
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

void fingerprints_collect(struct fingerprints *fp, const struct toolchain *const *tcs, size_t ntc,
			  const char *const *pythons, size_t npy, struct diags *d)
{
	memset(fp, 0, sizeof(*fp));
	fp->tc = xcalloc(ntc, sizeof(*fp->tc));
	fp->ntc = ntc;
	fp->py = xcalloc(npy, sizeof(*fp->py));
	fp->npy = npy;
	struct utsname u;
	struct buf plat = BUF_INIT;
	if (uname(&u) == 0)
		buf_addf(&plat, "%s-%s", u.machine, u.sysname);
	for (char *c = plat.data; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	fp->platform = buf_detach(&plat);

	size_t cap = 3 * ntc + npy;
	struct probe *probes = xcalloc(cap ? cap : 1, sizeof(*probes));
	size_t np = 0;
	for (size_t i = 0; i < ntc; i++) {
		fp->tc[i].tc = tcs[i];
		char *accel = accelerator_compiler(tcs[i]);
		const char *exes[3] = { tcs[i]->cc, tcs[i]->cxx, accel };
		for (int k = 0; k < 3; k++) {
			if (!exes[k] || find_probe(probes, np, exes[k]))
				continue;
			probes[np] = (struct probe){ .kind = (enum probe_kind)k, .index = i,
						     .exe = xstrdup(exes[k]) };
			probes[np].argv[0] = probes[np].exe;
			probes[np].argv[1] = "--version";
			np++;
		}
		free(accel);
	}
	for (size_t i = 0; i < npy; i++) {
		fp->py[i].version = xstrdup(pythons[i]);
		fp->py[i].interpreter = python_find(pythons[i]);
		if (!fp->py[i].interpreter)
			continue;
		probes[np] = (struct probe){ .kind = PROBE_PYTHON, .index = i,
					     .exe = xstrdup(fp->py[i].interpreter) };
		probes[np].argv[0] = probes[np].exe;
		probes[np].argv[1] = "--version";
		np++;
	}

	struct capture *caps = xcalloc(np ? np : 1, sizeof(*caps));
	for (size_t i = 0; i < np; i++)
		caps[i].argv = probes[i].argv;
	run_capture_all(caps, np, FINGERPRINT_TIMEOUT_MS);

	/* Each toolchain reads its tools' answers, shared ones included. */
	for (size_t i = 0; i < ntc; i++) {
		struct toolchain_fp *t = &fp->tc[i];
		const struct toolchain *tc = tcs[i];
		t->complete = true;
		char *accel = accelerator_compiler(tc);
		const char *exes[3] = { tc->cc, tc->cxx, accel };
		const char *accel_name = tc->cuda.enabled ? "nvcc" : "mcc";
		char **slots[3] = { &t->cc, &t->cxx, tc->cuda.enabled ? &t->nvcc : &t->mcc };
		for (int k = 0; k < 3; k++) {
			if (!exes[k])
				continue;
			struct probe *pr = find_probe(probes, np, exes[k]);
			struct capture *c = &caps[pr - probes];
			struct buf v = BUF_INIT;
			if (c->status == 0) {
				bool nvcc = k == 2 && tc->cuda.enabled;
				char *id = nvcc ? nvcc_identity(c->out.data) : first_line(c->out.data);
				buf_adds(&v, id);
				free(id);
				if (nvcc)
					t->nvcc_release = nvcc_release(c->out.data);
			} else {
				buf_addf(&v, "not found: %s", exes[k]);
				t->complete = false;
				diag_warn(d, &tc->pos, "toolchain \"%s\": %s \"%s\" %s", tc->name,
					  k == 2 ? accel_name : "compiler", exes[k],
					  c->status < 0 ? "was not found" : "did not answer --version");
				diag_hint(d, "the plan's keys will change once it is installed; "
					     "`ptbuild doctor` shows what this machine has");
			}
			*slots[k] = buf_detach(&v);
		}
		free(accel);
		if (tc->nccl_system || tc->cuda.enabled) {
			char *header = path_join(tc->nccl_root ? tc->nccl_root : "/usr",
						 "include/nccl.h");
			char *version = nccl_version_from_header(header);
			if (!version && tc->nccl_system) {
				diag_warn(d, &tc->pos, "toolchain \"%s\": no NCCL version in %s", tc->name,
					  header);
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
	}
	for (size_t i = 0; i < np; i++) {
		if (probes[i].kind != PROBE_PYTHON)
			continue;
		struct python_fp *py = &fp->py[probes[i].index];
		if (caps[i].status == 0) {
			struct buf v = BUF_INIT;
			buf_adds(&v, caps[i].out.data);
			buf_rtrim(&v);
			py->full = buf_detach(&v);
		} else {
			free(py->interpreter);
			py->interpreter = NULL;
		}
	}
	for (size_t i = 0; i < npy; i++) {
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
	for (size_t i = 0; i < np; i++) {
		free(probes[i].exe);
		buf_release(&caps[i].out);
	}
	free(probes);
	free(caps);
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
