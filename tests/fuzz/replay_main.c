/*
 * The fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on each file named
 * (a directory: on each file in it), so any compiler's build replays the regression
 * inputs and seeds (ctest fuzz/replay_*). A finding aborts, as under the fuzzer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "util/buf.h"
#include "util/os.h"

static int replay_file(const char *path)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b) < 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	/* A copy of exactly the file's size, so ASan sees a read past its end. */
	unsigned char *copy = malloc(b.len ? b.len : 1);
	memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_release(&b);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay(const char *path, int *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: no such file or directory: %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
			names = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_name);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct buf p = BUF_INIT;
		buf_addf(&p, "%s/%s", path, names[i]);
		rc |= replay(p.data, count);
		buf_release(&p);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	int rc = 0, count = 0;
	for (int i = 1; i < argc; i++)
		rc |= replay(argv[i], &count);
	printf("replayed %d input%s\n", count, count == 1 ? "" : "s");
	if (count == 0) { /* an empty or misnamed corpus would pass without testing anything */
		fprintf(stderr, "replay: no input in %s\n", argc > 1 ? argv[1] : "(no argument)");
		return 1;
	}
	return rc ? 1 : 0;
}
