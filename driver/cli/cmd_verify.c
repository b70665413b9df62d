/* ptbuild verify: checks wheels for what would fail at run time (verify.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/answer.h"
#include "cli/cli.h"
#include "util/json.h"
#include "session/session.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/settings.h"
#include "wheels/verify.h"

static const char verify_help[] =
	"usage: ptbuild verify WHEEL... [--python X.Y] [--machine M] [--arch-list L]\n"
	"                      [--cuobjdump PATH] [--system-nccl] [--cxx11-abi 0|1]\n"
	"\n"
	"Checks each wheel for what would fail at run time, and names the wheel, the member\n"
	"and what was expected for each finding:\n"
	"  - the zip is well-formed, and RECORD lists every member with its sha256 and size;\n"
	"  - the file name, METADATA and WHEEL agree; compiled code is not tagged \"any\";\n"
	"  - with --python, the tags (cpXY) and extension module suffixes fit that Python;\n"
	"  - the platform tag and every shared object fit --machine (default: this one);\n"
	"  - with --arch-list (TORCH_CUDA_ARCH_LIST), `cuobjdump --list-elf/--list-ptx` shows\n"
	"    exactly those arches in every shared object with device code;\n"
	"  - with --system-nccl, the torch libraries need libnccl.so.2 and carry no libnccl;\n"
	"  - with --cxx11-abi, every shared object uses that C++ ABI (torch's).\n"
	"`ptbuild build` runs the same checks on every wheel it builds, with the variant's\n"
	"Python, arch list, NCCL setting and its torch's ABI.\n"
	"\n"
	"options:\n"
	"  --python X.Y       the Python the wheels are for\n"
	"  --machine M        the machine (\"x86_64\", \"aarch64\"; default: this one)\n"
	"  --arch-list L      the CUDA arches asked for, as TORCH_CUDA_ARCH_LIST writes them\n"
	"  --cuobjdump PATH   the cuobjdump to use (default: in PATH)\n"
	"  --system-nccl      the build used USE_SYSTEM_NCCL=1\n"
	"  --cxx11-abi 0|1    torch's _GLIBCXX_USE_CXX11_ABI\n"
	"  --json             the findings as JSON on stdout\n"
	"\n"
	"exit status: 0 every wheel passed, 1 a finding, 2 usage error, 3 the check could not run.\n";

enum { OPT_PY = 3000, OPT_MACHINE, OPT_ARCH, OPT_CUOBJDUMP, OPT_NCCL, OPT_ABI };

static const struct option verify_long[] = {
	{ "python", required_argument, NULL, OPT_PY },
	{ "machine", required_argument, NULL, OPT_MACHINE },
	{ "arch-list", required_argument, NULL, OPT_ARCH },
	{ "cuobjdump", required_argument, NULL, OPT_CUOBJDUMP },
	{ "system-nccl", no_argument, NULL, OPT_NCCL },
	{ "cxx11-abi", required_argument, NULL, OPT_ABI },
	{ NULL, 0, NULL, 0 },
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	struct verify_expect *x = ctx;
	switch (opt) {
	case OPT_PY:
		if (!version_valid(arg) || !strchr(arg, '.'))
			return diag_error(&cli->diags, NULL, "--python wants a version like 3.11, "
							     "not \"%s\"", arg);
		x->python = arg;
		return 0;
	case OPT_MACHINE: x->machine = arg; return 0;
	case OPT_ARCH: x->arch_list = arg; return 0;
	case OPT_CUOBJDUMP: x->cuobjdump = arg; return 0;
	case OPT_NCCL: x->system_nccl = true; return 0;
	case OPT_ABI:
		if (strcmp(arg, "0") && strcmp(arg, "1"))
			return diag_error(&cli->diags, NULL, "--cxx11-abi wants 0 or 1, not \"%s\"",
					  arg);
		x->torch_abi = arg[0] == '1' ? CXX_ABI_CXX11 : CXX_ABI_OLD;
		return 0;
	}
	return -1;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct verify_expect x = { .machine = verify_host_machine(), .torch_abi = CXX_ABI_UNKNOWN };
	int first = cli_parse(cli, argc, argv, "", verify_long, on_option, &x, verify_help);
	if (first == -2)
		return cli_finish(cli, EXIT_OK);
	if (first < 0 || first == argc) {
		if (first == argc)
			diag_error(&cli->diags, NULL, "verify needs a WHEEL: the wheel files to check");
		return cli_end(cli, EXIT_USAGE);
	}
	if (x.cuobjdump && !is_executable_file(x.cuobjdump)) {
		diag_error(&cli->diags, NULL, "--cuobjdump %s is not an executable file", x.cuobjdump);
		return cli_end(cli, EXIT_USAGE);
	}
	const char *tmp_root = setting_tmpdir() ? setting_tmpdir() : "/tmp";
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s/ptbuild-verify-%ld", tmp_root, (long)getpid());
	x.tmp_dir = tmp.data;
	int code = EXIT_OK;
	struct buf out = BUF_INIT;
	struct jw w;
	if (cli->json) {
		json_result_begin(&w, &out, true);
		jw_key(&w, "wheels");
		jw_array_begin(&w);
	}
	for (int i = first; i < argc; i++) {
		struct diags d;
		diags_init(&d);
		struct verify_stats st;
		int findings = -1;
		if (!path_exists(argv[i]))
			diag_error(&d, NULL, "%s: no such file", argv[i]);
		else
			findings = verify_wheel(argv[i], &x, &st, &d);
		if (findings < 0 && path_exists(argv[i]))
			code = EXIT_ENVIRONMENT;
		else if ((findings != 0 || d.nerrors) && code == EXIT_OK)
			code = EXIT_BUILD_FAILED;
		if (cli->json) {
			jw_object_begin(&w);
			jw_kstring(&w, "wheel", argv[i]);
			jw_kbool(&w, "ok", findings == 0 && !d.nerrors);
			jw_key(&w, "findings");
			write_diags_json(&w, &d);
			jw_object_end(&w);
		} else if (findings == 0 && !d.nerrors) {
			if (!cli->quiet)
				fprintf(cli->out, "ok  %s (%zu members, %zu shared objects, %zu with CUDA "
						  "code)\n", argv[i], st.members, st.shared_objects,
					st.cuda_objects);
		} else if (!cli->quiet) {
			fprintf(cli->out, "FAIL %s (%d finding%s)\n", argv[i], findings < 0 ? 0 : findings,
				findings == 1 ? "" : "s");
		}
		diags_take(&cli->diags, &d);
		diags_release(&d);
	}
	if (cli->json) {
		jw_array_end(&w);
		json_result_end(cli, &w, &out);
	}
	remove_tree(tmp.data);
	buf_release(&tmp);
	return cli_finish(cli, code);
}
