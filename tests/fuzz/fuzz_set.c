/*
 * The bytes as a build set, recipes/sets/fuzz.json, loaded by project_load_set
 * (model/buildset.c) and checked against a small project made once: recipes torch, ext
 * (depends on torch) and torch_cpu (provides torch), toolchains cpu and cu128.
 */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/project.h"

static struct project project;
static size_t project_files; /* paths the project holds before an input */
static char *set_path;

static void put(const char *rel, const char *text)
{
	char *path = fuzz_path(rel);
	fuzz_write(path, text, strlen(text));
	free(path);
}

static void release(void)
{
	project_release(&project);
	free(set_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dirs[] = { "recipes", "recipes/sets", "toolchains" };
	for (size_t i = 0; i < 3; i++) {
		char *p = fuzz_path(dirs[i]);
		mkdir(p, 0755);
		free(p);
	}
	put("recipes/torch.json", "{\"name\": \"torch\", \"version\": \"2.9.1\", "
	    "\"source\": {\"git\": \"https://github.com/pytorch/pytorch\", \"ref\": \"v2.9.1\"}}");
	put("recipes/torch_cpu.json", "{\"name\": \"torch_cpu\", \"version\": \"2.9.1\", "
	    "\"provides\": \"torch\", \"source\": {\"wheel\": \"torch==2.9.1\"}}");
	put("recipes/ext.json", "{\"name\": \"ext\", \"version\": \"1.0\", \"builder\": "
	    "\"cpp_extension\", \"source\": {\"pypi\": \"ext==1.0\"}, \"depends\": [\"torch\"]}");
	put("toolchains/cpu.json", "{\"name\": \"cpu\", \"tag\": \"cpu\"}");
	put("toolchains/cu128.json", "{\"name\": \"cu128\", \"tag\": \"cu128\", "
	    "\"cuda\": {\"version\": \"12.8\", \"home\": \"/usr/local/cuda\", "
	    "\"arch_list\": \"8.0;9.0\"}}");
	struct diags d;
	diags_init(&d);
	if (project_load(&project, fuzz_dir(), &d) < 0) {
		struct buf b = BUF_INIT;
		diags_render(&d, &b, true);
		fuzz_fail("the fuzz project does not load", b.data);
	}
	diags_release(&d);
	project_files = project.nfiles;
	set_path = fuzz_path("recipes/sets/fuzz.json");
	atexit(release);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write(set_path, data, size);
	struct diags d;
	diags_init(&d);
	struct buildset s;
	if (project_load_set(&project, "fuzz", &s, &d) == 0)
		buildset_release(&s);
	struct buf text = BUF_INIT;
	diags_render(&d, &text, true);
	buf_release(&text);
	diags_release(&d);
	/* The paths the set's diagnostics pointed at are no longer needed. */
	while (project.nfiles > project_files)
		free(project.files[--project.nfiles]);
	return 0;
}
