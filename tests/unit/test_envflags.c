/* Tests for driver/envflags.c: the variable set, inheritance and the flag rules. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "model/archlist.h"
#include "model/envflags.h"
#include "util/buf.h"
#include "util/diag.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char recipe_file[] = "recipes/r.json";
static const char toolchain_file[] = "toolchains/cu130.json";

/* Sets `name` as a recipe (or toolchain) would, at line `line`, column 12 of its file. */
static void put(struct env *e, const char *name, const char *value, unsigned line,
		enum env_origin origin)
{
	struct pos pos = { origin == ENV_TOOLCHAIN ? toolchain_file : recipe_file, line, 12 };
	env_set(e, name, value, &pos, origin);
}

/* The recipe name each builder's cases use in messages. */
static const char *recipe_for(enum builder b)
{
	switch (b) {
	case BUILDER_PYTORCH:
		return "torch";
	case BUILDER_TORCH_MUSA:
		return "torch_musa";
	case BUILDER_CPP_EXTENSION:
		return "torch_scatter";
	case BUILDER_PYG_LIB:
		return "pyg_lib";
	case BUILDER_TORCHAUDIO:
		return "torchaudio";
	default:
		return "thing";
	}
}

static int check(struct env *e, enum builder b, const char *torch, bool cuda, struct diags *d)
{
	struct flag_context ctx = { b, recipe_for(b), torch, cuda };
	return envflags_check(e, &ctx, d);
}

/* ---- the variable set ---------------------------------------------------------------- */

static void test_env_sorted_set_find_unset(void **state)
{
	(void)state;
	struct env e;
	env_init(&e);
	static const char *const names[] = { "USE_CUDA", "A", "PATH", "ZED", "MAX_JOBS", "B" };
	for (size_t i = 0; i < COUNT(names); i++)
		env_set(&e, names[i], names[i], NULL, ENV_RECIPE);
	assert_int_equal(e.n, COUNT(names));
	for (size_t i = 1; i < e.n; i++)
		assert_true(strcmp(e.v[i - 1].name, e.v[i].name) < 0);

	put(&e, "PATH", "/bin", 4, ENV_TOOLCHAIN);
	assert_int_equal(e.n, COUNT(names));
	const struct envvar *v = env_find(&e, "PATH");
	assert_non_null(v);
	assert_string_equal(v->value, "/bin");
	assert_string_equal(v->pos.file, toolchain_file);
	assert_int_equal(v->pos.line, 4);
	assert_int_equal(v->origin, ENV_TOOLCHAIN);
	assert_null(env_find(&e, "NOPE"));
	assert_null(env_get(&e, "PAT"));
	assert_null(env_find(&e, "ZZZ"));

	/* A NULL position is "unknown", and inherited values have no file. */
	env_set(&e, "A", "x", NULL, ENV_INHERITED);
	assert_null(env_find(&e, "A")->pos.file);
	assert_int_equal(env_find(&e, "A")->pos.line, 0);

	env_unset(&e, "MAX_JOBS");
	env_unset(&e, "MAX_JOBS");
	env_unset(&e, "NEVER_SET");
	assert_null(env_get(&e, "MAX_JOBS"));
	assert_int_equal(e.n, COUNT(names) - 1);
	env_unset(&e, "A");
	env_unset(&e, "ZED");
	assert_string_equal(e.v[0].name, "B");
	assert_string_equal(e.v[e.n - 1].name, "USE_CUDA");
	env_release(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.v);
	env_release(&e);
}

/* Setting a variable from its own value and position must not read freed memory. */
static void test_env_set_from_itself(void **state)
{
	(void)state;
	struct env e;
	env_init(&e);
	put(&e, "X", "value-of-x", 3, ENV_RECIPE);
	const struct envvar *x = env_find(&e, "X");
	env_set(&e, "X", x->value, &x->pos, ENV_TOOLCHAIN);
	assert_string_equal(env_get(&e, "X"), "value-of-x");
	assert_int_equal(env_find(&e, "X")->pos.line, 3);
	/* Inserting while pointing at an existing entry's position, across growth. */
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "V%02d", i);
		x = env_find(&e, "X");
		env_set(&e, name, x->value, &x->pos, ENV_RECIPE);
	}
	assert_int_equal(e.n, 41);
	assert_string_equal(env_get(&e, "V39"), "value-of-x");
	assert_int_equal(env_find(&e, "V00")->pos.line, 3);
	env_release(&e);
}

static void test_env_inherit_allow_list(void **state)
{
	(void)state;
	char *parent[] = {
		"PATH=/usr/bin:/bin", "HOME=/home/u", "LD_PRELOAD=/evil.so", "PYTHONPATH=/x",
		"https_proxy=http://proxy:3128", "NO_PROXY=localhost", "CUDA_HOME=/usr/local/cuda",
		"MAX_JOBS=64", "LANG=C.UTF-8", "PATH=/second/wins/not", "BROKEN", "=empty",
		"TZ=", "SOURCE_DATE_EPOCH=1700000000", NULL,
	};
	struct env e;
	env_init(&e);
	env_inherit(&e, parent);
	assert_string_equal(env_get(&e, "PATH"), "/usr/bin:/bin");
	assert_string_equal(env_get(&e, "HOME"), "/home/u");
	assert_string_equal(env_get(&e, "https_proxy"), "http://proxy:3128");
	assert_string_equal(env_get(&e, "NO_PROXY"), "localhost");
	assert_string_equal(env_get(&e, "LANG"), "C.UTF-8");
	assert_string_equal(env_get(&e, "TZ"), "");
	assert_string_equal(env_get(&e, "SOURCE_DATE_EPOCH"), "1700000000");
	assert_null(env_get(&e, "LD_PRELOAD"));
	assert_null(env_get(&e, "PYTHONPATH"));
	assert_null(env_get(&e, "CUDA_HOME"));
	assert_null(env_get(&e, "MAX_JOBS"));
	assert_int_equal(e.n, 7);
	for (size_t i = 0; i < e.n; i++) {
		assert_int_equal(e.v[i].origin, ENV_INHERITED);
		assert_null(e.v[i].pos.file);
	}
	env_inherit(&e, NULL);
	assert_int_equal(e.n, 7);
	env_release(&e);

	/* The allow-list is NULL-terminated and has no build knobs in it. */
	size_t n = 0;
	for (const char *const *p = env_inherited_names; *p; p++, n++) {
		assert_null(strstr(*p, "CUDA"));
		assert_string_not_equal(*p, "MAX_JOBS");
	}
	assert_true(n >= 10);
}

static void test_builder_names_parse(void **state)
{
	(void)state;
	for (int i = 0; i < BUILDER_COUNT; i++) {
		enum builder b = BUILDER_WHEEL;
		assert_non_null(builder_names[i]);
		assert_int_equal(builder_parse(builder_names[i], &b), 0);
		assert_int_equal(b, i);
	}
	enum builder b = BUILDER_PYG_LIB;
	assert_int_equal(builder_parse("pytorch", &b), 0);
	assert_int_equal(b, BUILDER_PYTORCH);
	assert_int_equal(builder_parse("cpp_extension", &b), 0);
	assert_int_equal(b, BUILDER_CPP_EXTENSION);
	assert_int_equal(builder_parse("PyTorch", &b), -1);
	assert_int_equal(builder_parse("", &b), -1);
	assert_int_equal(builder_parse("setuptools", &b), -1);
	assert_int_equal(b, BUILDER_CPP_EXTENSION);
}

/* ---- rules: one bad input, one message ---------------------------------------------- */

struct bad_case {
	enum builder builder;
	const char *torch; /* torch_version, or NULL */
	bool cuda;
	const char *name;  /* variable set in the recipe at 7:12; NULL for none */
	const char *value;
	bool toolchain;    /* set by the toolchain instead */
	const char *level; /* "error" or "warning" */
	const char *message; /* after `recipe "R": ` */
	const char *hint;    /* a part of the hint */
};

static const struct bad_case bad_cases[] = {
	/* the scheduler's variables */
	{ BUILDER_CPP_EXTENSION, "2.9.1", false, "MAX_JOBS", "8", false, "error",
	  "\"MAX_JOBS\" is set by ptbuild's scheduler from the job budget; the recipe cannot set it",
	  "use -j N for the whole job budget and --mem-per-job" },
	{ BUILDER_PYTORCH, NULL, false, "CMAKE_BUILD_PARALLEL_LEVEL", "4", true, "error",
	  "\"CMAKE_BUILD_PARALLEL_LEVEL\" is set by ptbuild's scheduler from the job budget; the "
	  "toolchain cannot set it",
	  "--mem-per-job" },
	{ BUILDER_GENERIC, NULL, false, "MAX_JOBS", "1", false, "error",
	  "\"MAX_JOBS\" is set by ptbuild's scheduler", "-j N" },
	/* what PyTorch's setup.py refuses */
	{ BUILDER_PYTORCH, NULL, false, "CMAKE_INSTALL_PREFIX", "/opt/torch", false, "error",
	  "\"CMAKE_INSTALL_PREFIX\" must not be set for PyTorch: its setup.py stops with an error",
	  "remove it" },
	{ BUILDER_PYTORCH, NULL, false, "PYTORCH_BUILD_VERSION", "2.9.1", false, "error",
	  "\"PYTORCH_BUILD_VERSION=2.9.1\" is set without \"PYTORCH_BUILD_NUMBER\", and PyTorch "
	  "asserts that both are",
	  "add \"PYTORCH_BUILD_NUMBER\": \"1\"" },
	{ BUILDER_TORCH_MUSA, NULL, false, "PYTORCH_BUILD_VERSION", "2.7.1", false, "error",
	  "\"PYTORCH_BUILD_VERSION=2.7.1\" is set without \"PYTORCH_BUILD_NUMBER\"", NULL },
	/* TORCH_CUDA_ARCH_LIST in PyTorch's CMake grammar */
	{ BUILDER_PYTORCH, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "7.5,8.0", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"7.5,8.0\": \"7.5,8.0\" contains a comma; PyTorch's CMake "
	  "accepts All, Common or Auto alone",
	  "separate arches with \";\" or spaces: \"7.5;8.0\"" },
	{ BUILDER_PYTORCH, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "8.0;sm_86", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"8.0;sm_86\": \"sm_86\" is nvcc's spelling",
	  "write \"8.6\"" },
	{ BUILDER_PYTORCH, "2.8.0", true, "TORCH_CUDA_ARCH_LIST", "9.0;10.0f", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"9.0;10.0f\": \"10.0f\": the \"f\" suffix needs torch 2.9 "
	  "or later, not 2.8.0",
	  "write \"10.0\" or \"10.0a\"" },
	{ BUILDER_PYTORCH, NULL, true, "TORCH_CUDA_ARCH_LIST", "All;8.0", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"All;8.0\": \"All\" is a keyword only as the whole value; "
	  "in a list CMake reads it as an unknown arch name",
	  "use \"All\" alone" },
	{ BUILDER_PYTORCH, NULL, true, "TORCH_CUDA_ARCH_LIST", "8.10", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"8.10\": \"8.10\": the minor version is a single digit",
	  NULL },
	{ BUILDER_TORCH_MUSA, NULL, true, "TORCH_CUDA_ARCH_LIST", "Amperes", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"Amperes\": \"Amperes\" is neither MAJ.MIN nor an arch "
	  "name; torch_musa's CMake accepts",
	  "did you mean \"Ampere\"?" },
	/* TORCH_CUDA_ARCH_LIST in torch.utils.cpp_extension's grammar */
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "8.6(8.0);9.0", false,
	  "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"8.6(8.0);9.0\": \"8.6(8.0)\" is PyTorch CMake's "
	  "\"SASS(PTX)\" form; torch.utils.cpp_extension, used by torch_scatter, accepts MAJ.MIN[a]",
	  "that is PyTorch CMake syntax; give this recipe its own TORCH_CUDA_ARCH_LIST, such as "
	  "\"8.6\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "9.0;10.0f", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"9.0;10.0f\": "
	  "\"10.0f\" has the family suffix \"f\", which cpp_extension does not know",
	  "that is PyTorch CMake syntax; give this recipe its own TORCH_CUDA_ARCH_LIST, with "
	  "\"10.0\" or \"10.0a\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "All", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"All\": \"All\" is a keyword of PyTorch's CMake; "
	  "torch.utils.cpp_extension, used by torch_scatter, accepts",
	  "that is PyTorch CMake syntax; give this recipe its own TORCH_CUDA_ARCH_LIST" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "7.5;8.0;", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"7.5;8.0;\": it has an empty entry", "write \"7.5;8.0\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "7.5  8.0", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"7.5  8.0\": "
	  "it has an empty entry (a leading, trailing or doubled separator)",
	  "write \"7.5;8.0\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "7.5,8.0", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"7.5,8.0\": "
	  "\"7.5,8.0\" contains a comma; torch.utils.cpp_extension, used by torch_scatter, accepts",
	  "\"7.5;8.0\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "sm_86", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"sm_86\": "
	  "\"sm_86\" is nvcc's spelling", "write \"8.6\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "sm_100a", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"sm_100a\": "
	  "\"sm_100a\" is nvcc's spelling", "write \"10.0a\"" },
	{ BUILDER_CPP_EXTENSION, "2.9.0", true, "TORCH_CUDA_ARCH_LIST", "9.0;10.1", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"9.0;10.1\": "
	  "\"10.1\" is \"11.0\" from torch 2.9 on (sm_101 was renamed sm_110 in CUDA 13)",
	  "write \"11.0\" for torch 2.9.0" },
	{ BUILDER_CPP_EXTENSION, "2.8.0", true, "TORCH_CUDA_ARCH_LIST", "11.0a+PTX", false,
	  "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"11.0a+PTX\": \"11.0a+PTX\" is only known from torch 2.9 "
	  "on; torch 2.8.0 calls it \"10.1a\"",
	  "write \"10.1a+PTX\"" },
	{ BUILDER_CPP_EXTENSION, NULL, true, "TORCH_CUDA_ARCH_LIST", "Ampere+PTX", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"Ampere+PTX\": "
	  "\"Ampere+PTX\" expands to \"8.0;8.6+PTX+PTX\"",
	  "write \"Ampere\": its last arch already has +PTX" },
	{ BUILDER_CPP_EXTENSION, NULL, true, "TORCH_CUDA_ARCH_LIST", "ampere", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"ampere\": "
	  "\"ampere\" is not an arch name: names are case-sensitive", "write \"Ampere\"" },
	{ BUILDER_CPP_EXTENSION, NULL, true, "TORCH_CUDA_ARCH_LIST", "8.6+ptx", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"8.6+ptx\": "
	  "\"8.6+ptx\" has \"+PTX\" in lower case", "write \"8.6+PTX\"" },
	{ BUILDER_PYG_LIB, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "8.0;Hoppr", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"8.0;Hoppr\": "
	  "\"Hoppr\" is neither a supported MAJ.MIN nor an arch name; torch.utils.cpp_extension, "
	  "used by pyg_lib, accepts",
	  "did you mean \"Hopper\"?" },
	{ BUILDER_TORCHAUDIO, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "7.1", false, "error",
	  "invalid TORCH_CUDA_ARCH_LIST \"7.1\": "
	  "\"7.1\" is not an arch cpp_extension supports",
	  "supported: 3.5 3.7 5.0 5.2 5.3 6.0 6.1 6.2 7.0 7.2 7.5 8.0 8.6 8.7 8.9 9.0 9.0a 10.0 "
	  "10.0a 10.3 10.3a 11.0 11.0a 12.0 12.0a 12.1 12.1a, each optionally with +PTX" },
	/* TORCH_CUDA_ARCH_LIST left to detection in a CUDA build */
	{ BUILDER_PYTORCH, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "", false, "error",
	  "\"TORCH_CUDA_ARCH_LIST=\" leaves the arches to detection in a CUDA build: PyTorch's "
	  "CMake then detects the build machine's GPUs and silently builds for \"Common\" when it "
	  "finds none",
	  "give the recipe a list such as" },
	{ BUILDER_CPP_EXTENSION, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", "native", true, "error",
	  "\"TORCH_CUDA_ARCH_LIST=native\" leaves the arches to detection in a CUDA build: "
	  "torch.utils.cpp_extension, used by torch_scatter, then detects the build machine's GPUs "
	  "and fails with IndexError when it finds none",
	  "set cuda.arch_list in the toolchain" },
	{ BUILDER_PYG_LIB, "2.9.1", true, "TORCH_CUDA_ARCH_LIST", " ", false, "error",
	  "\"TORCH_CUDA_ARCH_LIST= \" leaves the arches to detection in a CUDA build: pyg_lib then "
	  "builds for the arches the installed torch was built for",
	  NULL },
	/* switches that are not booleans */
	{ BUILDER_PYTORCH, NULL, false, "USE_CUDA", "maybe", false, "error",
	  "\"USE_CUDA=maybe\" is not a boolean: PyTorch passes it to CMake as -DUSE_CUDA=maybe, "
	  "whose if() reads it as true",
	  "write \"1\" or \"0\"" },
	{ BUILDER_PYTORCH, NULL, false, "CMAKE_FRESH", "please", false, "error",
	  "\"CMAKE_FRESH=please\" is not a boolean: PyTorch reads only 1/ON/YES/TRUE/Y and "
	  "0/OFF/NO/FALSE/N",
	  "write \"1\" or \"0\"" },
	{ BUILDER_CPP_EXTENSION, NULL, false, "FORCE_CUDA", "2", false, "error",
	  "\"FORCE_CUDA=2\" is not a boolean: torch_scatter only treats \"1\" as true, so it would "
	  "read as false",
	  "write \"1\" or \"0\"" },
	{ BUILDER_PYG_LIB, NULL, false, "FORCE_CUDA", "auto", false, "error",
	  "\"FORCE_CUDA=auto\" is not a boolean: pyg_lib parses it with int(), which stops the "
	  "build with ValueError",
	  NULL },
	{ BUILDER_TORCHAUDIO, NULL, false, "BUILD_SOX", "sometimes", false, "error",
	  "\"BUILD_SOX=sometimes\" is not a boolean: torchaudio warns about it and reads it as false",
	  NULL },
	{ BUILDER_PYTORCH, NULL, false, "NO_CUDA", "maybe", false, "error",
	  "\"NO_CUDA=maybe\" is an old spelling current PyTorch ignores, and \"maybe\" is not a "
	  "boolean",
	  "write \"USE_CUDA\": \"0\" or \"1\" instead" },
	/* warnings */
	{ BUILDER_PYTORCH, NULL, false, "USE_CUDNNN", "0", false, "warning",
	  "unknown PyTorch option \"USE_CUDNNN\": PyTorch passes it to CMake, which ignores it",
	  "did you mean \"USE_CUDNN\"?" },
	{ BUILDER_PYTORCH, NULL, false, "BUILD_TESTS", "0", true, "warning",
	  "unknown PyTorch option \"BUILD_TESTS\"", "did you mean \"BUILD_TEST\"?" },
	{ BUILDER_PYTORCH, NULL, false, "BUILD_VERSION", "0.24.1", false, "warning",
	  "unknown PyTorch option \"BUILD_VERSION\"", NULL },
	{ BUILDER_PYTORCH, NULL, false, "USE_QUANTUM_FLUX", "1", false, "warning",
	  "unknown PyTorch option \"USE_QUANTUM_FLUX\"",
	  "PyTorch does not check these names; the options are in its CMakeLists.txt" },
	{ BUILDER_TORCH_MUSA, NULL, false, "USE_MCL", "0", false, "warning",
	  "unknown torch_musa option \"USE_MCL\": torch_musa passes it to CMake",
	  "did you mean \"USE_MCCL\"?" },
	{ BUILDER_TORCH_MUSA, NULL, false, "ENABLE_COMPILE_FP46", "1", false, "warning",
	  "unknown torch_musa option \"ENABLE_COMPILE_FP46\"",
	  "did you mean \"ENABLE_COMPILE_FP64\"?" },
	{ BUILDER_PYTORCH, NULL, false, "NO_CUDA", "1", false, "warning",
	  "\"NO_CUDA=1\" is an old spelling current PyTorch ignores; using \"USE_CUDA=0\"",
	  "write \"USE_CUDA\": \"0\" in the recipe" },
	{ BUILDER_PYTORCH, NULL, false, "WITH_DISTRIBUTED", "0", true, "warning",
	  "\"WITH_DISTRIBUTED=0\" is an old spelling current PyTorch ignores; using "
	  "\"USE_DISTRIBUTED=0\"",
	  "in the toolchain" },
	{ BUILDER_CPP_EXTENSION, NULL, false, "FORCE_CUDA", "ON", false, "warning",
	  "\"FORCE_CUDA=ON\" would read as false in torch_scatter, which only treats \"1\" as true; "
	  "using 1",
	  "write \"FORCE_CUDA\": \"1\"" },
	{ BUILDER_CPP_EXTENSION, NULL, false, "TORCHVISION_USE_PNG", "true", false, "warning",
	  "\"TORCHVISION_USE_PNG=true\" would read as false in torch_scatter", NULL },
	{ BUILDER_PYG_LIB, NULL, false, "FORCE_CUDA", "true", false, "warning",
	  "\"FORCE_CUDA=true\" would stop pyg_lib's build, which parses it with int(); using 1",
	  NULL },
	{ BUILDER_PYG_LIB, NULL, false, "FORCE_CUDA", "off", false, "warning",
	  "\"FORCE_CUDA=off\" would stop pyg_lib's build, which parses it with int(); using 0",
	  NULL },
	{ BUILDER_PYG_LIB, NULL, false, "FORCE_NINJA", "0", false, "warning",
	  "\"FORCE_NINJA=0\" would read as true in pyg_lib, which only checks whether it is set; "
	  "removing it",
	  "leave \"FORCE_NINJA\" out to turn it off" },
	{ BUILDER_TORCHAUDIO, NULL, false, "BUILD_RNNT", "Y", false, "warning",
	  "\"BUILD_RNNT=Y\" would read as false in torchaudio, which only takes "
	  "1/true/TRUE/on/ON/yes/YES as true; using 1",
	  NULL },
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(bad_cases); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		if (t->cuda && (!t->name || strcmp(t->name, "TORCH_CUDA_ARCH_LIST") != 0))
			put(&e, "TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX", 3, ENV_TOOLCHAIN);
		if (t->name)
			put(&e, t->name, t->value, 7, t->toolchain ? ENV_TOOLCHAIN : ENV_RECIPE);
		int rc = check(&e, t->builder, t->torch, t->cuda, &d);
		char *text = diags_text(&d);

		struct buf want = BUF_INIT;
		buf_addf(&want, "%s:7:12: %s: recipe \"%s\": %s",
			 t->toolchain ? toolchain_file : recipe_file, t->level,
			 recipe_for(t->builder), t->message);
		assert_contains(text, want.data);
		if (t->hint) {
			buf_reset(&want);
			buf_addf(&want, "hint: ");
			assert_contains(text, want.data);
			assert_contains(text, t->hint);
		}
		/* Each bad input gets exactly one message of its own. */
		bool error = strcmp(t->level, "error") == 0;
		if (d.n != 1 || rc != (error ? -1 : 0) || d.nerrors != (error ? 1u : 0u))
			fail_msg("case %zu (%s=%s): rc %d, %zu records:\n%s", i, t->name, t->value,
				 rc, d.n, text);
		buf_release(&want);
		free(text);
		diags_release(&d);
		env_release(&e);
	}
}

/* A CUDA build with no TORCH_CUDA_ARCH_LIST at all: an error without a position. */
static void test_arch_list_missing(void **state)
{
	(void)state;
	static const struct {
		enum builder builder;
		const char *consequence;
	} cases[] = {
		{ BUILDER_CPP_EXTENSION, "torch.utils.cpp_extension, used by torch_scatter, then "
					 "detects the build machine's GPUs and fails with IndexError" },
		{ BUILDER_PYTORCH, "silently builds for \"Common\"" },
		{ BUILDER_TORCH_MUSA, "torch_musa's CMake then detects" },
		{ BUILDER_PYG_LIB, "torch._C._cuda_getArchFlags()" },
		{ BUILDER_TORCHAUDIO, "depend on the build machine" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		put(&e, "USE_CUDA", "1", 2, ENV_TOOLCHAIN);
		assert_int_equal(check(&e, cases[i].builder, "2.9.1", true, &d), -1);
		char *text = diags_text(&d);
		assert_contains(text, "error: recipe \"");
		assert_contains(text, "\"TORCH_CUDA_ARCH_LIST\" is not set for a CUDA build: ");
		assert_contains(text, cases[i].consequence);
		assert_contains(text, "hint: set cuda.arch_list in the toolchain");
		assert_int_equal(d.n, 1);
		assert_null(d.v[0].pos.file);
		free(text);

		/* Without CUDA nothing is missing. */
		diags_release(&d);
		assert_int_equal(check(&e, cases[i].builder, "2.9.1", false, &d), 0);
		assert_int_equal(d.n, 0);
		diags_release(&d);
		env_release(&e);
	}
}

/* Builders that compile nothing with nvcc themselves get no arch checks at all. */
static void test_arch_list_ignored_by_plain_builders(void **state)
{
	(void)state;
	static const enum builder plain[] = { BUILDER_GENERIC, BUILDER_PYTHON, BUILDER_WHEEL };
	for (size_t i = 0; i < COUNT(plain); i++) {
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		assert_int_equal(check(&e, plain[i], NULL, true, &d), 0);
		put(&e, "TORCH_CUDA_ARCH_LIST", "All,sm_86;;", 5, ENV_RECIPE);
		put(&e, "FORCE_CUDA", "ON", 6, ENV_RECIPE);
		put(&e, "USE_CUDNNN", "yes", 7, ENV_RECIPE);
		put(&e, "NO_CUDA", "1", 8, ENV_RECIPE);
		assert_int_equal(check(&e, plain[i], NULL, true, &d), 0);
		assert_int_equal(d.n, 0);
		assert_string_equal(env_get(&e, "FORCE_CUDA"), "ON");
		assert_string_equal(env_get(&e, "USE_CUDNNN"), "yes");
		assert_string_equal(env_get(&e, "NO_CUDA"), "1");
		diags_release(&d);
		env_release(&e);
	}
}

/* ---- the two arch grammars, through the public checks -------------------------------- */

struct arch_case {
	const char *value;
	const char *torch;
	const char *why; /* NULL when valid; else a part of the reason */
};

static const struct arch_case cmake_cases[] = {
	{ "", NULL, NULL },
	{ "All", NULL, NULL },
	{ "Common", NULL, NULL },
	{ "Auto", NULL, NULL },
	{ "7.5;8.0;8.6;9.0;10.0;12.0+PTX", NULL, NULL },
	{ "8.6(8.0)", NULL, NULL },
	{ "8.6a(8.0)+PTX", NULL, NULL },
	{ "10.0f", NULL, NULL },
	{ "9.0a", NULL, NULL },
	{ "12.0+PTX", NULL, NULL },
	{ "Ampere", NULL, NULL },
	{ "Ampere+PTX", NULL, NULL },
	{ "Blackwell+Tegra;Kepler+Tesla", NULL, NULL },
	{ "7.5 8.0\t9.0", NULL, NULL },
	{ "7.5;8.0;", NULL, NULL }, /* CMake's foreach() skips empty entries */
	{ "7.1", NULL, NULL },      /* numbers are left to nvcc */
	{ "7.5,8.0", NULL, "\"7.5,8.0\" contains a comma" },
	{ "sm_86", NULL, "\"sm_86\" is nvcc's spelling" },
	{ "8.10", NULL, "\"8.10\": the minor version is a single digit" },
	{ "ampere", NULL, "\"ampere\" is not an arch name: names are case-sensitive" },
	{ "Amper", NULL, "\"Amper\" is neither MAJ.MIN nor an arch name" },
	{ "All;8.0", NULL, "\"All\" is a keyword only as the whole value" },
	{ " All", NULL, "\"All\" is a keyword only as the whole value" },
	{ "8.6+ptx", NULL, "\"8.6+ptx\" has \"+PTX\" in lower case" },
	{ "8.6(80)", NULL, "\"8.6(80)\" is neither MAJ.MIN nor an arch name" },
	{ "native", NULL, "\"native\" is neither MAJ.MIN nor an arch name" },
	{ "8.6+PTX+PTX", NULL, "\"8.6+PTX+PTX\" is neither" },
};

static const struct arch_case cpp_cases[] = {
	{ "", "2.9.1", NULL },
	{ "native", "2.9.1", NULL },
	{ "8.0;8.6+PTX", "2.9.1", NULL },
	{ "9.0a", "2.9.1", NULL },
	{ "12.0+PTX", "2.9.1", NULL },
	{ "7.5 8.0 9.0", "2.9.1", NULL },
	{ "Ampere", "2.9.1", NULL },
	{ "Ampere;Hopper", "2.9.1", NULL },
	{ "Maxwell+Tegra+PTX", "2.9.1", NULL },
	{ "Kepler+Tesla", "2.9.1", NULL },
	{ "Blackwell+Tegra", "2.9.1", NULL },
	{ "Blackwell+Tegra", "2.8.0", NULL },
	{ "11.0;11.0a+PTX", "2.9.0", NULL },
	{ "11.0", NULL, NULL }, /* no torch version: the newest rules */
	{ "10.1", "2.8.0", NULL },
	{ "10.1a+PTX", "2.8.0", NULL },
	{ "10.1", "2.9.0rc1", "\"10.1\" is \"11.0\" from torch 2.9 on" },
	{ "10.1", "2.10.0+cu130", "\"10.1\" is \"11.0\" from torch 2.9 on" },
	{ "10.1", NULL, "\"10.1\" is \"11.0\" from torch 2.9 on" },
	{ "11.0", "2.8.0", "torch 2.8.0 calls it \"10.1\"" },
	{ "8.6(8.0)", "2.9.1", "\"8.6(8.0)\" is PyTorch CMake's \"SASS(PTX)\" form" },
	{ "10.0f", "2.9.1", "\"10.0f\" has the family suffix \"f\"" },
	{ "All", "2.9.1", "\"All\" is a keyword of PyTorch's CMake" },
	{ "Common", "2.9.1", "\"Common\" is a keyword of PyTorch's CMake" },
	{ "Auto", "2.9.1", "\"Auto\" is a keyword of PyTorch's CMake" },
	{ "7.5;8.0;", "2.9.1", "it has an empty entry" },
	{ ";7.5", "2.9.1", "it has an empty entry" },
	{ "7.5;;8.0", "2.9.1", "it has an empty entry" },
	{ "7.5,8.0", "2.9.1", "\"7.5,8.0\" contains a comma" },
	{ "7.5\t8.0", "2.9.1", "contains a tab" },
	{ "sm_86", "2.9.1", "\"sm_86\" is nvcc's spelling" },
	{ "compute_90", "2.9.1", "\"compute_90\" is nvcc's spelling" },
	{ "Ampere+PTX", "2.9.1", "\"Ampere+PTX\" expands to \"8.0;8.6+PTX+PTX\"" },
	{ "Hopper+PTX", "2.9.1", "expands to \"9.0+PTX+PTX\"" },
	{ "ampere", "2.9.1", "names are case-sensitive" },
	{ "8.6a", "2.9.1", "\"8.6a\" is not an arch cpp_extension supports" },
	{ "3.0", "2.9.1", "\"3.0\" is not an arch cpp_extension supports" },
	{ "9.0+ptx", "2.9.1", "has \"+PTX\" in lower case" },
	{ "Turing8.0", "2.9.1", "\"Turing8.0\" is neither a supported MAJ.MIN nor an arch name" },
};

static void test_arch_grammar_cmake(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(cmake_cases); i++) {
		char why[256] = "untouched";
		int rc = arch_list_check_cmake(cmake_cases[i].value, why, sizeof(why));
		if (rc != (cmake_cases[i].why ? -1 : 0))
			fail_msg("cmake case %zu \"%s\": rc %d, why: %s", i, cmake_cases[i].value, rc,
				 why);
		if (!cmake_cases[i].why)
			assert_string_equal(why, "untouched");
		else
			assert_contains(why, cmake_cases[i].why);
	}
}

static void test_arch_grammar_cpp_extension(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(cpp_cases); i++) {
		char why[256] = "untouched";
		int rc = arch_list_check_cpp_extension(cpp_cases[i].value, cpp_cases[i].torch, why,
						       sizeof(why));
		if (rc != (cpp_cases[i].why ? -1 : 0))
			fail_msg("cpp_extension case %zu \"%s\" (torch %s): rc %d, why: %s", i,
				 cpp_cases[i].value, cpp_cases[i].torch ? cpp_cases[i].torch : "-",
				 rc, why);
		if (!cpp_cases[i].why)
			assert_string_equal(why, "untouched");
		else
			assert_contains(why, cpp_cases[i].why);
	}
}

/* A small or missing reason buffer is still safe. */
static void test_arch_grammar_why_buffer(void **state)
{
	(void)state;
	char small[8];
	assert_int_equal(arch_list_check_cpp_extension("8.6(8.0)", "2.9.1", small, sizeof(small)),
			 -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(arch_list_check_cmake("sm_86", NULL, 0), -1);
	assert_int_equal(arch_list_check_cmake("8.6", NULL, 0), 0);
	char one[1] = { 'x' };
	assert_int_equal(arch_list_check_cpp_extension("All", NULL, one, sizeof(one)), -1);
	assert_int_equal(one[0], '\0');
}

/* The f suffix: CMake takes it from torch 2.9 on; cpp_extension never. */
static void test_arch_f_suffix_by_torch_version(void **state)
{
	(void)state;
	static const struct {
		enum builder builder;
		const char *torch;
		int rc;
	} cases[] = {
		{ BUILDER_PYTORCH, "2.9.0", 0 },   { BUILDER_PYTORCH, "2.10.1", 0 },
		{ BUILDER_PYTORCH, NULL, 0 },      { BUILDER_PYTORCH, "2.8.0", -1 },
		{ BUILDER_TORCH_MUSA, "2.7.1", -1 }, { BUILDER_CPP_EXTENSION, "2.9.1", -1 },
		{ BUILDER_CPP_EXTENSION, NULL, -1 },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		put(&e, "TORCH_CUDA_ARCH_LIST", "9.0;10.0f;12.0f+PTX", 3, ENV_TOOLCHAIN);
		assert_int_equal(check(&e, cases[i].builder, cases[i].torch, true, &d), cases[i].rc);
		assert_int_equal(d.n, cases[i].rc ? 1 : 0);
		diags_release(&d);
		env_release(&e);
	}
}

/* ---- translation and normalization --------------------------------------------------- */

static void test_legacy_translation(void **state)
{
	(void)state;
	static const struct {
		const char *old, *value, *name, *translated;
	} cases[] = {
		{ "NO_CUDA", "1", "USE_CUDA", "0" },
		{ "NO_CUDA", "0", "USE_CUDA", "1" },
		{ "NO_DISTRIBUTED", "true", "USE_DISTRIBUTED", "0" },
		{ "NO_MKLDNN", "off", "USE_MKLDNN", "1" },
		{ "WITH_CUDNN", "ON", "USE_CUDNN", "1" }, /* translated, then normalized */
		{ "WITH_NNPACK", "0", "USE_NNPACK", "0" },
		{ "NO_TEST", "1", "BUILD_TEST", "0" },
		{ "WITH_BINARY", "1", "BUILD_BINARY", "1" },
		{ "NO_CAFFE2_OPS", "yes", "BUILD_CAFFE2_OPS", "0" },
		{ "NO_SYSTEM_NCCL", "1", "USE_SYSTEM_NCCL", "0" },
		{ "NO_GLOO_IBVERBS", "1", "USE_GLOO_IBVERBS", "0" },
		{ "NO_MIOPEN", "1", "USE_MIOPEN", "0" }, /* translated names are not "unknown" */
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		put(&e, cases[i].old, cases[i].value, 9, ENV_TOOLCHAIN);
		assert_int_equal(check(&e, BUILDER_PYTORCH, NULL, false, &d), 0);
		assert_null(env_find(&e, cases[i].old));
		const struct envvar *v = env_find(&e, cases[i].name);
		assert_non_null(v);
		assert_string_equal(v->value, cases[i].translated);
		assert_string_equal(v->pos.file, toolchain_file);
		assert_int_equal(v->pos.line, 9);
		assert_int_equal(v->pos.col, 12);
		assert_int_equal(v->origin, ENV_TOOLCHAIN);
		assert_int_equal(d.nwarnings, 1);
		assert_int_equal(d.nerrors, 0);
		char *text = diags_text(&d);
		assert_contains(text, "is an old spelling current PyTorch ignores; using \"");
		assert_not_contains(text, "unknown PyTorch option");
		free(text);
		diags_release(&d);
		env_release(&e);
	}
}

static void test_legacy_when_new_name_is_set(void **state)
{
	(void)state;
	struct env e;
	struct diags d;
	env_init(&e);
	diags_init(&d);
	put(&e, "NO_CUDA", "1", 4, ENV_TOOLCHAIN);
	put(&e, "USE_CUDA", "1", 8, ENV_RECIPE);
	assert_int_equal(check(&e, BUILDER_PYTORCH, NULL, false, &d), 0);
	assert_string_equal(env_get(&e, "USE_CUDA"), "1");
	assert_int_equal(env_find(&e, "USE_CUDA")->pos.line, 8);
	char *text = diags_text(&d);
	assert_contains(text, "toolchains/cu130.json:4:12: warning: recipe \"torch\": \"NO_CUDA=1\" "
			      "is an old spelling current PyTorch ignores; \"USE_CUDA=1\" is set too "
			      "and wins");
	assert_contains(text, "hint: remove \"NO_CUDA\"");
	assert_int_equal(d.n, 1);
	free(text);
	diags_release(&d);
	env_release(&e);
}

/* WITH_BLAS is real for PyTorch; WITH_METIS & co. are real for extensions. */
static void test_real_with_variables_left_alone(void **state)
{
	(void)state;
	struct env e;
	struct diags d;
	env_init(&e);
	diags_init(&d);
	put(&e, "WITH_BLAS", "open", 3, ENV_RECIPE);
	put(&e, "NO_PROXY", "localhost", 4, ENV_TOOLCHAIN);
	put(&e, "BLAS", "OpenBLAS", 5, ENV_RECIPE);
	assert_int_equal(check(&e, BUILDER_PYTORCH, NULL, false, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(env_get(&e, "WITH_BLAS"), "open");
	assert_string_equal(env_get(&e, "NO_PROXY"), "localhost");
	env_release(&e);

	static const enum builder extensions[] = { BUILDER_CPP_EXTENSION, BUILDER_PYG_LIB,
						   BUILDER_TORCHAUDIO };
	for (size_t i = 0; i < COUNT(extensions); i++) {
		env_init(&e);
		put(&e, "WITH_METIS", "1", 3, ENV_RECIPE);
		put(&e, "WITH_MTMETIS", "0", 4, ENV_RECIPE);
		put(&e, "WITH_SYMBOLS", "1", 5, ENV_RECIPE);
		put(&e, "NO_CUDA", "1", 6, ENV_RECIPE);
		assert_int_equal(check(&e, extensions[i], "2.9.1", false, &d), 0);
		assert_int_equal(d.n, 0);
		assert_string_equal(env_get(&e, "WITH_METIS"), "1");
		assert_string_equal(env_get(&e, "WITH_MTMETIS"), "0");
		assert_string_equal(env_get(&e, "NO_CUDA"), "1");
		assert_null(env_get(&e, "USE_CUDA"));
		env_release(&e);
	}
	diags_release(&d);
}

struct normalize_case {
	enum builder builder;
	const char *name, *value;
	const char *expected; /* NULL: removed */
	enum diag_level level;  /* of the one record; DIAG_NOTE with `quiet` for none */
	bool quiet;             /* no record at all */
};

static const struct normalize_case normalize_cases[] = {
	/* PyTorch reads every spelling of ours right: notes only */
	{ BUILDER_PYTORCH, "USE_CUDA", "on", "1", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "USE_CUDA", "1", "1", DIAG_NOTE, true },
	{ BUILDER_PYTORCH, "BUILD_TEST", "False", "0", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "USE_SYSTEM_LIBS", "Y", "1", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "CMAKE_FRESH", "yes", "1", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "DEBUG", "n", "0", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "USE_NINJA", "OFF", "0", DIAG_NOTE, false },
	{ BUILDER_PYTORCH, "USE_CUSTOM_DEBINFO", "a.cpp;b.cpp", "a.cpp;b.cpp", DIAG_NOTE, true },
	{ BUILDER_PYTORCH, "USE_NIGHTLY", "2.8.0.dev20250608+cpu", "2.8.0.dev20250608+cpu",
	  DIAG_NOTE, true },
	{ BUILDER_PYTORCH, "CUDA_HOME", "/usr/local/cuda", "/usr/local/cuda", DIAG_NOTE, true },
	{ BUILDER_PYTORCH, "CMAKE_PREFIX_PATH", "/opt/x", "/opt/x", DIAG_NOTE, true },
	{ BUILDER_TORCH_MUSA, "ENABLE_COMPILE_FP64", "ON", "1", DIAG_NOTE, false },
	{ BUILDER_TORCH_MUSA, "USE_MCCL", "0", "0", DIAG_NOTE, true },
	{ BUILDER_TORCH_MUSA, "USE_KINETO", "true", "1", DIAG_NOTE, false },
	/* cpp_extension: only "1" is true, so true spellings are corrected with a warning */
	{ BUILDER_CPP_EXTENSION, "FORCE_CUDA", "ON", "1", DIAG_WARNING, false },
	{ BUILDER_CPP_EXTENSION, "FORCE_CUDA", "off", "0", DIAG_NOTE, false },
	{ BUILDER_CPP_EXTENSION, "WITH_METIS", "yes", "1", DIAG_WARNING, false },
	{ BUILDER_CPP_EXTENSION, "TORCHVISION_USE_JPEG", "0", "0", DIAG_NOTE, true },
	{ BUILDER_CPP_EXTENSION, "BUILD_VERSION", "0.24.1", "0.24.1", DIAG_NOTE, true },
	{ BUILDER_CPP_EXTENSION, "USE_CUDA", "ON", "ON", DIAG_NOTE, true }, /* not its switch */
	/* pyg-lib: int() for FORCE_CUDA, presence for FORCE_NINJA and BUILD_DOCS */
	{ BUILDER_PYG_LIB, "FORCE_CUDA", "1", "1", DIAG_NOTE, true },
	{ BUILDER_PYG_LIB, "FORCE_CUDA", "Y", "1", DIAG_WARNING, false },
	{ BUILDER_PYG_LIB, "DEBUG", "on", "1", DIAG_NOTE, false },
	{ BUILDER_PYG_LIB, "FORCE_NINJA", "yes", "1", DIAG_NOTE, false },
	{ BUILDER_PYG_LIB, "BUILD_DOCS", "false", NULL, DIAG_WARNING, false },
	/* torchaudio: exact-case lists */
	{ BUILDER_TORCHAUDIO, "USE_CUDA", "ON", "1", DIAG_NOTE, false },
	{ BUILDER_TORCHAUDIO, "BUILD_SOX", "N", "0", DIAG_NOTE, false },
	{ BUILDER_TORCHAUDIO, "BUILD_SOX", "True", "1", DIAG_WARNING, false },
	{ BUILDER_TORCHAUDIO, "USE_FFMPEG", "yes", "1", DIAG_NOTE, false },
	/* no switches at all */
	{ BUILDER_GENERIC, "FORCE_CUDA", "ON", "ON", DIAG_NOTE, true },
	{ BUILDER_PYTHON, "USE_CUDA", "on", "on", DIAG_NOTE, true },
	{ BUILDER_WHEEL, "DEBUG", "maybe", "maybe", DIAG_NOTE, true },
};

static void test_boolean_normalization(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(normalize_cases); i++) {
		const struct normalize_case *t = &normalize_cases[i];
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		put(&e, t->name, t->value, 11, ENV_RECIPE);
		int rc = check(&e, t->builder, "2.9.1", false, &d);
		if (rc != 0 || d.n != (t->quiet ? 0u : 1u)) {
			char *text = diags_text(&d);
			fail_msg("normalize case %zu (%s=%s): rc %d:\n%s", i, t->name, t->value, rc,
				 text);
		}
		if (t->expected)
			assert_string_equal(env_get(&e, t->name), t->expected);
		else
			assert_null(env_find(&e, t->name));
		if (t->quiet) {
			assert_int_equal(d.n, 0);
		} else {
			assert_int_equal(d.n, 1);
			assert_int_equal(d.v[0].level, t->level);
			assert_int_equal(d.v[0].pos.line, 11);
			assert_string_equal(d.v[0].pos.file, recipe_file);
		}
		diags_release(&d);
		env_release(&e);
	}
}

/* Inherited variables and ptbuild's own are never checked or changed. */
static void test_only_toolchain_and_recipe_are_checked(void **state)
{
	(void)state;
	static const enum env_origin others[] = { ENV_INHERITED, ENV_PTBUILD };
	for (size_t i = 0; i < COUNT(others); i++) {
		struct env e;
		struct diags d;
		env_init(&e);
		diags_init(&d);
		env_set(&e, "MAX_JOBS", "12", NULL, others[i]);
		env_set(&e, "CMAKE_BUILD_PARALLEL_LEVEL", "12", NULL, others[i]);
		env_set(&e, "USE_CUDA", "on", NULL, others[i]);
		env_set(&e, "USE_CUDNNN", "0", NULL, others[i]);
		env_set(&e, "NO_CUDA", "1", NULL, others[i]);
		env_set(&e, "CMAKE_INSTALL_PREFIX", "/x", NULL, others[i]);
		env_set(&e, "TORCH_CUDA_ARCH_LIST", "All,8.0", NULL, others[i]);
		assert_int_equal(check(&e, BUILDER_PYTORCH, NULL, true, &d), 0);
		assert_int_equal(d.n, 0);
		assert_string_equal(env_get(&e, "USE_CUDA"), "on");
		assert_string_equal(env_get(&e, "NO_CUDA"), "1");
		diags_release(&d);
		env_release(&e);
	}
}

/* A realistic recipe on a CUDA toolchain passes without a word. */
static void test_clean_environments_pass(void **state)
{
	(void)state;
	struct env e;
	struct diags d;
	char *parent[] = { "PATH=/usr/bin", "MAX_JOBS=99", NULL };
	env_init(&e);
	diags_init(&d);
	env_inherit(&e, parent);
	put(&e, "TORCH_CUDA_ARCH_LIST", "7.5;8.0;8.6;9.0;10.0;12.0+PTX", 3, ENV_TOOLCHAIN);
	put(&e, "CUDA_HOME", "/usr/local/cuda-13.0", 4, ENV_TOOLCHAIN);
	put(&e, "USE_CUDA", "1", 5, ENV_TOOLCHAIN);
	put(&e, "USE_SYSTEM_NCCL", "1", 6, ENV_TOOLCHAIN);
	put(&e, "FORCE_CUDA", "1", 7, ENV_RECIPE);
	put(&e, "NVCC_FLAGS", "--threads 4", 8, ENV_RECIPE);
	put(&e, "BUILD_VERSION", "0.24.1+cu130", 9, ENV_RECIPE);
	assert_int_equal(check(&e, BUILDER_CPP_EXTENSION, "2.9.1", true, &d), 0);
	assert_int_equal(d.n, 0);

	put(&e, "PYTORCH_BUILD_VERSION", "2.9.1", 10, ENV_RECIPE);
	put(&e, "PYTORCH_BUILD_NUMBER", "1", 11, ENV_RECIPE);
	put(&e, "USE_KINETO", "0", 12, ENV_RECIPE);
	env_unset(&e, "FORCE_CUDA");
	env_unset(&e, "BUILD_VERSION");
	assert_int_equal(check(&e, BUILDER_PYTORCH, "2.9.1", true, &d), 0);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	env_release(&e);
}

/* Several problems at once: every one reported at its own position, and -1 overall. */
static void test_many_problems_at_once(void **state)
{
	(void)state;
	struct env e;
	struct diags d;
	env_init(&e);
	diags_init(&d);
	put(&e, "MAX_JOBS", "8", 2, ENV_RECIPE);
	put(&e, "NO_CUDNN", "1", 3, ENV_RECIPE);
	put(&e, "USE_CUDNNN", "0", 4, ENV_RECIPE);
	put(&e, "USE_NCCL", "ON", 5, ENV_RECIPE);
	put(&e, "USE_MPI", "sure", 6, ENV_RECIPE);
	put(&e, "TORCH_CUDA_ARCH_LIST", "8.0,9.0", 7, ENV_TOOLCHAIN);
	assert_int_equal(check(&e, BUILDER_PYTORCH, "2.9.1", true, &d), -1);
	assert_int_equal(d.nerrors, 3);
	assert_int_equal(d.nwarnings, 2);
	char *text = diags_text(&d);
	assert_contains(text, "recipes/r.json:2:12: error: recipe \"torch\": \"MAX_JOBS\"");
	assert_contains(text, "recipes/r.json:3:12: warning: recipe \"torch\": \"NO_CUDNN=1\"");
	assert_contains(text, "recipes/r.json:4:12: warning: recipe \"torch\": unknown PyTorch "
			      "option \"USE_CUDNNN\"");
	assert_contains(text, "recipes/r.json:5:12: note: recipe \"torch\": \"USE_NCCL=ON\" "
			      "normalized to 1");
	assert_contains(text, "recipes/r.json:6:12: error: recipe \"torch\": \"USE_MPI=sure\" is "
			      "not a boolean");
	assert_contains(text, "toolchains/cu130.json:7:12: error: recipe \"torch\": invalid "
			      "TORCH_CUDA_ARCH_LIST \"8.0,9.0\"");
	assert_string_equal(env_get(&e, "USE_CUDNN"), "0");
	assert_string_equal(env_get(&e, "USE_CUDNNN"), "0");
	assert_string_equal(env_get(&e, "USE_NCCL"), "1");
	assert_string_equal(env_get(&e, "USE_MPI"), "sure");
	free(text);
	diags_release(&d);
	env_release(&e);
}

/* Without a recipe name the messages simply start with their subject. */
static void test_no_recipe_name(void **state)
{
	(void)state;
	struct env e;
	struct diags d;
	env_init(&e);
	diags_init(&d);
	put(&e, "MAX_JOBS", "8", 2, ENV_RECIPE);
	put(&e, "FORCE_CUDA", "ON", 3, ENV_RECIPE);
	struct flag_context ctx = { BUILDER_CPP_EXTENSION, NULL, NULL, false };
	assert_int_equal(envflags_check(&e, &ctx, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "recipes/r.json:2:12: error: \"MAX_JOBS\" is set by");
	assert_contains(text, "recipes/r.json:3:12: warning: \"FORCE_CUDA=ON\" would read as false "
			      "in this project");
	free(text);
	diags_release(&d);
	env_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_sorted_set_find_unset),
		cmocka_unit_test(test_env_set_from_itself),
		cmocka_unit_test(test_env_inherit_allow_list),
		cmocka_unit_test(test_builder_names_parse),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_arch_list_missing),
		cmocka_unit_test(test_arch_list_ignored_by_plain_builders),
		cmocka_unit_test(test_arch_grammar_cmake),
		cmocka_unit_test(test_arch_grammar_cpp_extension),
		cmocka_unit_test(test_arch_grammar_why_buffer),
		cmocka_unit_test(test_arch_f_suffix_by_torch_version),
		cmocka_unit_test(test_legacy_translation),
		cmocka_unit_test(test_legacy_when_new_name_is_set),
		cmocka_unit_test(test_real_with_variables_left_alone),
		cmocka_unit_test(test_boolean_normalization),
		cmocka_unit_test(test_only_toolchain_and_recipe_are_checked),
		cmocka_unit_test(test_clean_environments_pass),
		cmocka_unit_test(test_many_problems_at_once),
		cmocka_unit_test(test_no_recipe_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
