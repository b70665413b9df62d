/*
 * The wheelhouse's Dockerfiles: SOURCE_DATE_EPOCH in every stage, the release's pip line,
 * the entrypoint, identical output when written twice, values a Dockerfile cannot carry, and
 * the toolchains' "image" (loading, defaults, ${python}).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wheels/dockerfiles.h"
#include "model/project.h"
#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

#define EPOCH 1700000000LL

static const struct docker_target two_targets[] = {
	{ .label = "cpu-py3.11", .toolchain = "cpu", .python = "3.11",
	  .image = "python:3.11-slim-bookworm", .requirements = "requirements/cpu-py3.11.txt" },
	{ .label = "cuda-13.0-py3.12", .toolchain = "cuda-13.0", .python = "3.12",
	  .image = "nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04", .cuda_version = "13.0",
	  .system_nccl = true, .requirements = "requirements/cuda-13.0-py3.12.txt" },
};

static const char *const files[] = { "Dockerfile.base", "Dockerfile.dev", "Dockerfile.release",
				     "docker-entrypoint.sh" };
#define NFILES (sizeof(files) / sizeof(files[0]))

static char *slurp(const char *dir, const char *name)
{
	char *path = path_join(dir, name);
	struct buf b = BUF_INIT;
	if (read_file(path, &b) < 0)
		fail_msg("cannot read %s", path);
	free(path);
	return buf_detach(&b);
}

/* The instruction lines of a Dockerfile: comments and blank lines dropped, continuation lines
 * joined to the line they continue. Caller frees the array and each line. */
static size_t instructions(const char *text, char ***out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct buf cur = BUF_INIT;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool continued = cur.len > 0;
		if (!continued && (len == 0 || p[0] == '#')) {
			p += len + (end != NULL);
			continue;
		}
		buf_add(&cur, p, len);
		if (cur.len && cur.data[cur.len - 1] == '\\') {
			buf_truncate(&cur, cur.len - 1);
		} else {
			GROW(v, cap, n + 1);
			v[n++] = buf_detach(&cur);
		}
		p += len + (end != NULL);
	}
	buf_release(&cur);
	*out = v;
	return n;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Every FROM is followed by ARG SOURCE_DATE_EPOCH=<EPOCH> before any other instruction;
 * returns the number of stages. */
static size_t check_stages(const char *name, const char *text)
{
	char **v;
	size_t n = instructions(text, &v), stages = 0;
	for (size_t i = 0; i < n; i++) {
		if (!starts_with(v[i], "FROM "))
			continue;
		stages++;
		if (i + 1 >= n || strcmp(v[i + 1], "ARG SOURCE_DATE_EPOCH=1700000000"))
			fail_msg("%s: \"%s\" is followed by \"%s\", not ARG SOURCE_DATE_EPOCH", name, v[i],
				 i + 1 < n ? v[i + 1] : "(nothing)");
	}
	free_lines(v, n);
	return stages;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t k = 0;
	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		k++;
	return k;
}

static void test_write(void **state)
{
	(void)state;
	char *dir = tmpdir_make("dockerfiles");
	struct docker_input in = { two_targets, 2, EPOCH, "default", NULL };
	struct diags d;
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), 0);
	assert_int_equal(d.n, 0);

	char *text[NFILES];
	for (size_t i = 0; i < NFILES; i++)
		text[i] = slurp(dir, files[i]);
	const char *base = text[0], *dev = text[1], *release = text[2], *entry = text[3];
	for (size_t i = 0; i < 3; i++) {
		/* no parser directive: BuildKit would pull its frontend image, offline too */
		assert_true(starts_with(text[i], "# Dockerfile."));
		assert_null(strstr(text[i], "# syntax="));
		assert_int_equal(check_stages(files[i], text[i]), 1);
		assert_not_contains(text[i], "\r");
	}

	/* base: the image and variant arguments, every variant's command, the Python check */
	assert_contains(base, "\nARG BASE_IMAGE=python:3.11-slim-bookworm\nFROM ${BASE_IMAGE}\n"
			      "ARG SOURCE_DATE_EPOCH=1700000000\nARG VARIANT=cpu-py3.11\n");
	assert_contains(base, "#   docker build -f Dockerfile.base --build-arg VARIANT=cpu-py3.11 "
			      "--build-arg BASE_IMAGE=python:3.11-slim-bookworm "
			      "--build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-base:cpu-py3.11 .\n");
	assert_contains(base, "--build-arg VARIANT=cuda-13.0-py3.12 --build-arg "
			      "BASE_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04 "
			      "--build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-base:cuda-13.0-py3.12 .\n");
	assert_contains(base, "# --build-arg VARIANT: cpu-py3.11 (the default), cuda-13.0-py3.12\n");
	assert_contains(base, "# --build-arg SOURCE_DATE_EPOCH=<seconds>: the commands above pass the\n"
			      "#   wheelhouse's, 1700000000, also the default of the ARG every stage");
	assert_contains(base, "\"cpu-py3.11\") python=3.11 nccl=0 ;; \\\n");
	assert_contains(base, "\"cuda-13.0-py3.12\") python=3.12 nccl=1 ;; \\\n");
	assert_contains(base, "apt-get install -y --no-install-recommends $need;");
	assert_contains(base, "rm -rf /var/lib/apt/lists/*;");
	assert_contains(base, "\"python$python\" -m venv /opt/venv;");
	assert_contains(base, "if [ \"$got\" != \"$python\" ]; then");
	assert_contains(base, "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH");
	assert_contains(base, "\nCOPY --chmod=0755 docker-entrypoint.sh "
			      "/usr/local/bin/docker-entrypoint.sh\n"
			      "ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]\n");
	assert_contains(base, "# docker run --shm-size=8g ...: PyTorch DataLoader workers");
	assert_contains(base, "64 MB");

	/* release: the exact pip line on a mount of the context, nothing of the wheelhouse in
	 * a layer */
	assert_contains(release, "\nARG BASE=ptbuild-base:cpu-py3.11\nFROM ${BASE}\n"
				 "ARG SOURCE_DATE_EPOCH=1700000000\nARG VARIANT=cpu-py3.11\n"
				 "RUN --mount=type=bind,target=/wheelhouse "
				 "pip install --no-index --require-hashes --find-links /wheelhouse -r "
				 "/wheelhouse/requirements/${VARIANT}.txt --no-cache-dir\n");
	/* built with variants/<label>, only that variant's wheels, as its context */
	assert_contains(release, "--build-arg SOURCE_DATE_EPOCH=1700000000 "
				 "-t ptbuild-release:cpu-py3.11 variants/cpu-py3.11\n");
	assert_int_equal(count(release, "\nRUN "), 2);
	assert_int_equal(count(release, "pip install --no-index"), 2); /* the RUN and its comment */
	/* the private index: credentials only as optional BuildKit secrets, its ARGs after
	 * the install so that they are not in that layer's cache key */
	const char *install = strstr(release, "\nRUN --mount=type=bind");
	const char *extra = strstr(release, "\nARG EXTRA_INDEX_URL=\nARG EXTRA_PACKAGES=\n"
					    "RUN --mount=type=secret,id=netrc,required=false "
					    "--mount=type=secret,id=pip.conf,required=false set -eu;");
	assert_non_null(install);
	assert_non_null(extra);
	assert_true(install < extra);
	assert_contains(extra, "if [ -z \"$EXTRA_PACKAGES\" ]; then exit 0; fi;");
	assert_contains(extra, "export NETRC=/run/secrets/netrc;");
	assert_contains(extra, "export PIP_CONFIG_FILE=/run/secrets/pip.conf;");
	assert_contains(extra, "pip install --no-cache-dir --no-input -c /tmp/ptbuild-installed.txt \"$@\" "
			       "$EXTRA_PACKAGES;");
	assert_contains(release, "#   --secret id=netrc,src=FILE \\\n");
	assert_not_contains(release, "ARG PASSWORD");
	assert_not_contains(release, "\nENV PIP_");
	assert_int_equal(count(release, "\nCOPY "), 0);
	assert_contains(release, "ENV PTBUILD_DEFAULT_UID=1000 PTBUILD_DEFAULT_GID=1000\n");
	assert_contains(release, "\nCMD [\"python\"]\n");
	assert_contains(release, "docker build -f Dockerfile.release --build-arg "
				 "BASE=ptbuild-base:cuda-13.0-py3.12 --build-arg VARIANT=cuda-13.0-py3.12 "
				 "--build-arg SOURCE_DATE_EPOCH=1700000000 "
				 "-t ptbuild-release:cuda-13.0-py3.12 variants/cuda-13.0-py3.12\n");

	/* dev: test_dev_plain_build */
	(void)dev;

	/* entrypoint: POSIX sh, setpriv as gosu would, plain exec otherwise */
	assert_true(starts_with(entry, "#!/bin/sh\n"));
	assert_contains(entry, "\nset -eu\n");
	assert_contains(entry, "\texec setpriv --reuid=\"$uid\" --regid=\"$gid\" --init-groups -- "
			       "\"$@\"\n");
	assert_contains(entry, "\texec \"$@\"\n");
	assert_contains(entry, "useradd -l -M -u \"$uid\" -g \"$gid\"");
	assert_contains(entry, "adduser -D -H -u \"$uid\"");

	/* Run it: without USER_ID (and no default) the command runs as it is. */
	unsetenv("USER_ID");
	unsetenv("GROUP_ID");
	unsetenv("PTBUILD_DEFAULT_UID");
	char *script = path_join(dir, "docker-entrypoint.sh");
	const char *argv[] = { "sh", script, "echo", "it ran", NULL };
	struct buf out = BUF_INIT;
	assert_int_equal(run_capture(argv, &out, 10000), 0);
	assert_string_equal(out.data, "it ran\n");
	buf_release(&out);
	setenv("USER_ID", "12x", 1);
	if (geteuid() == 0) {
		assert_int_equal(run_capture(argv, &out, 10000), 1);
		assert_contains(out.data, "USER_ID must be a number, not \"12x\"");
		buf_release(&out);
	}
	unsetenv("USER_ID");
	free(script);

	/* Written again: the same bytes. */
	assert_int_equal(dockerfiles_write(dir, &in, &d), 0);
	for (size_t i = 0; i < NFILES; i++) {
		char *again = slurp(dir, files[i]);
		assert_string_equal(again, text[i]);
		free(again);
		free(text[i]);
	}
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

/* Dockerfile.dev builds with one plain `docker build` (Docker 20.10 has no named contexts):
 * everything it copies is in the wheelhouse's dev/ (collect stages it, wheels/dev_stage). */
static void test_dev_plain_build(void **state)
{
	(void)state;
	char *dir = tmpdir_make("dockerfiles-dev");
	struct docker_input in = { two_targets, 2, EPOCH, "default", NULL };
	struct diags d;
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), 0);
	char *dev = slurp(dir, "Dockerfile.dev");
	assert_int_equal(check_stages("Dockerfile.dev", dev), 1);
	assert_contains(dev, "\nARG BASE=ptbuild-base:cpu-py3.11\nFROM ${BASE}\n"
			     "ARG SOURCE_DATE_EPOCH=1700000000\n");
	/* no named context, no other stage: nothing but the build context */
	assert_not_contains(dev, "--from=");
	assert_not_contains(dev, "--build-context");
	assert_contains(dev, "--no-install-recommends build-essential cmake ninja-build git ccache "
			     "pkg-config");
	assert_contains(dev, "libgit2-dev libcurl4-openssl-dev libcjson-dev libarchive-dev libssl-dev "
			     "zlib1g-dev");
	assert_not_contains(dev, "libcmocka-dev"); /* built without its tests */
	assert_contains(dev, "ENV CCACHE_DIR=/ccache ");
	assert_contains(dev, "\nCOPY dev/ptbuild /opt/ptbuild/src/\n");
	assert_contains(dev, "\nRUN --mount=type=cache,target=/ccache set -eu;");
	assert_contains(dev, "-DPTBUILD_TESTS=OFF -DCMAKE_C_COMPILER_LAUNCHER=ccache;");
	assert_contains(dev, "install -m 0755 /tmp/ptbuild-build/ptbuild /usr/local/bin/ptbuild;");
	assert_contains(dev, "\nWORKDIR /project\nCOPY --chown=1000:1000 dev/project /project/\n");
	assert_int_equal(count(dev, "\nCOPY "), 2);
	/* the command of every variant, with the network its apt step needs */
	assert_contains(dev, "#   docker build -f Dockerfile.dev --network=host "
			     "--build-arg BASE=ptbuild-base:cpu-py3.11 "
			     "--build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-dev:cpu-py3.11 .\n");
	assert_contains(dev, "#   docker build -f Dockerfile.dev --network=host "
			     "--build-arg BASE=ptbuild-base:cuda-13.0-py3.12 "
			     "--build-arg SOURCE_DATE_EPOCH=1700000000 -t ptbuild-dev:cuda-13.0-py3.12 .\n");
	assert_contains(dev, "#     ptbuild build --frozen --set default\n");
	assert_contains(dev, "\nCMD [\"bash\"]\n");
	free(dev);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

struct bad_input {
	const char *field; /* which member of the first target to change */
	const char *value;
	long long epoch;
	const char *expect;
};

static const struct bad_input bad_inputs[] = {
	{ "image", "python:3.11\nRUN rm -rf /", EPOCH,
	  "error: cannot write the Dockerfiles: \"image\" of docker target \"cpu-py3.11\" is "
	  "\"python:3.11\\nRUN rm -rf /\", which a Dockerfile cannot carry ('\\n' at byte 12)\n"
	  "hint: images use letters, digits" },
	{ "image", "python:3.11 slim", EPOCH, "which a Dockerfile cannot carry (' ' at byte 12)" },
	{ "image", "-python", EPOCH, "which a Dockerfile cannot carry ('-' at byte 1)" },
	{ "image", "", EPOCH, "error: cannot write the Dockerfiles: docker target \"cpu-py3.11\" has "
			      "no \"image\"" },
	{ "label", "cpu py3.11", EPOCH, "\"label\" of docker target 1 is \"cpu py3.11\", which a "
					"Dockerfile cannot carry (' ' at byte 4)" },
	{ "label", "cpu-py3.11\"", EPOCH, "is \"cpu-py3.11\\\"\", which a Dockerfile cannot carry" },
	{ "toolchain", "cpu$(x)", EPOCH, "\"toolchain\" of docker target \"cpu-py3.11\" is "
					 "\"cpu$(x)\"" },
	{ "python", "3.11;", EPOCH, "\"python\" of docker target \"cpu-py3.11\" is \"3.11;\", not a "
				   "Python version" },
	{ "requirements", "../x.txt", EPOCH, "\"requirements\" of docker target \"cpu-py3.11\" is "
					     "\"../x.txt\", not \"requirements/cpu-py3.11.txt\"" },
	{ "cuda_version", "13.0\n", EPOCH, "\"cuda_version\" of docker target \"cpu-py3.11\" is "
					   "\"13.0\\n\", not a version" },
	{ NULL, NULL, 0, "SOURCE_DATE_EPOCH 0 is not between 1980-01-01" },
	{ NULL, NULL, -5, "SOURCE_DATE_EPOCH -5 is not between" },
};

/* A site that mirrors a frontend image asks for it; a value that is not an image is refused. */
static void test_syntax_directive(void **state)
{
	(void)state;
	char *dir = tmpdir_make("dockerfiles-syntax");
	struct docker_input in = { two_targets, 2, EPOCH, "default",
				   "registry.example.com/docker/dockerfile:1.7" };
	struct diags d;
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), 0);
	for (size_t i = 0; i < 3; i++) {
		char *text = slurp(dir, files[i]);
		assert_true(starts_with(text, "# syntax=registry.example.com/docker/dockerfile:1.7\n# "
					      "Dockerfile."));
		assert_int_equal(count(text, "# syntax="), 1);
		free(text);
	}
	tmpdir_remove(dir);
	free(dir);
	char *bad_dir = tmpdir_make("dockerfiles-syntax-bad");
	in.syntax = "docker/dockerfile:1\nRUN curl evil";
	assert_int_equal(dockerfiles_write(bad_dir, &in, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "the syntax image \"docker/dockerfile:1\\nRUN curl evil\" is not an "
			      "image reference");
	assert_contains(text, "hint: ");
	free(text);
	char *path = path_join(bad_dir, files[0]);
	assert_false(path_exists(path));
	free(path);
	diags_release(&d);
	tmpdir_remove(bad_dir);
	free(bad_dir);
}

static void test_bad_input(void **state)
{
	(void)state;
	char *dir = tmpdir_make("dockerfiles-bad");
	for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		const struct bad_input *c = &bad_inputs[i];
		struct docker_target t[2] = { two_targets[0], two_targets[1] };
		const char **field = NULL;
		if (c->field && !strcmp(c->field, "image"))
			field = &t[0].image;
		else if (c->field && !strcmp(c->field, "label"))
			field = &t[0].label;
		else if (c->field && !strcmp(c->field, "toolchain"))
			field = &t[0].toolchain;
		else if (c->field && !strcmp(c->field, "python"))
			field = &t[0].python;
		else if (c->field && !strcmp(c->field, "requirements"))
			field = &t[0].requirements;
		else if (c->field && !strcmp(c->field, "cuda_version"))
			field = &t[0].cuda_version;
		if (field)
			*field = c->value;
		struct docker_input in = { t, 2, c->epoch, "default", NULL };
		struct diags d;
		diags_init(&d);
		assert_int_equal(dockerfiles_write(dir, &in, &d), -1);
		char *text = diags_text(&d);
		assert_contains(text, c->expect);
		free(text);
		diags_release(&d);
		for (size_t k = 0; k < NFILES; k++) {
			char *path = path_join(dir, files[k]);
			assert_false(path_exists(path));
			free(path);
		}
	}

	/* the same label twice, no targets at all, a set name with a newline */
	struct docker_target same[2] = { two_targets[0], two_targets[0] };
	struct docker_input in = { same, 2, EPOCH, "default", NULL };
	struct diags d;
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "two docker targets are labelled \"cpu-py3.11\"");
	free(text);
	diags_release(&d);
	in = (struct docker_input){ two_targets, 0, EPOCH, "default", NULL };
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "the wheelhouse has no toolchain and Python to make images for");
	free(text);
	diags_release(&d);
	in = (struct docker_input){ two_targets, 2, EPOCH, "def\nault", NULL };
	diags_init(&d);
	assert_int_equal(dockerfiles_write(dir, &in, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "the set name \"def\\nault\" has a character");
	free(text);
	diags_release(&d);

	/* a directory that does not exist */
	char *missing = path_join(dir, "no/such/dir");
	in = (struct docker_input){ two_targets, 2, EPOCH, "default", NULL };
	diags_init(&d);
	assert_int_equal(dockerfiles_write(missing, &in, &d), -1);
	text = diags_text(&d);
	assert_contains(text, "no/such/dir/Dockerfile.base\": No such file or directory");
	free(text);
	diags_release(&d);
	free(missing);
	tmpdir_remove(dir);
	free(dir);
}

static void test_default_images(void **state)
{
	(void)state;
	struct toolchain tc;
	memset(&tc, 0, sizeof(tc));
	char *s = docker_default_image(&tc, "3.12");
	assert_string_equal(s, "python:3.12-slim-bookworm");
	free(s);
	tc.cuda.enabled = true;
	tc.cuda.version = "13.0";
	s = docker_default_image(&tc, "3.12");
	assert_string_equal(s, "nvidia/cuda:13.0.0-runtime-ubuntu24.04");
	free(s);
	tc.cuda.version = "12.8.1";
	s = docker_image_for(&tc, "3.12");
	assert_string_equal(s, "nvidia/cuda:12.8.1-runtime-ubuntu24.04");
	free(s);
	tc.cuda.enabled = false;
	tc.musa.enabled = true;
	assert_null(docker_default_image(&tc, "3.10"));
	assert_null(docker_image_for(&tc, "3.10"));
	tc.image = "registry.example/musa:rc4.3.4-py${python}-${python}";
	s = docker_image_for(&tc, "3.10");
	assert_string_equal(s, "registry.example/musa:rc4.3.4-py3.10-3.10");
	free(s);

	const char *why = NULL;
	assert_int_equal(docker_image_check("python:${python}-slim-bookworm", &why), 0);
	assert_int_equal(docker_image_check("nvidia/cuda:13.0.2@sha256:0123abcd", &why), 0);
	assert_int_equal(docker_image_check("python:${python.version}", &why), -1);
	assert_contains(why, "${python}");
	assert_int_equal(docker_image_check("python:$python", &why), -1);
	assert_int_equal(docker_image_check("a b", &why), -1);
	assert_contains(why, "a character other than");
	assert_int_equal(docker_image_check("", &why), -1);
	assert_int_equal(docker_image_check("-x", &why), -1);
}

/* The bundled toolchains load with their images; a bad "image" stops the load at its place. */
static void test_toolchain_image(void **state)
{
	(void)state;
	struct project p;
	struct diags d;
	diags_init(&d);
	assert_int_equal(project_load(&p, PTBUILD_SOURCE_DIR, &d), 0);
	static const char *const want[][2] = {
		{ "cpu", "python:3.11-slim-bookworm" },
		{ "cuda-12.8", "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04" },
		{ "cuda-13.0", "nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04" },
		{ "musa", NULL },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct toolchain *tc = project_toolchain(&p, want[i][0]);
		assert_non_null(tc);
		char *s = docker_image_for(tc, "3.11");
		if (want[i][1])
			assert_string_equal(s, want[i][1]);
		else
			assert_null(s);
		free(s);
	}
	project_release(&p);
	diags_release(&d);

	char *dir = tmpdir_make("dockerfiles-tc");
	write_text(dir, "recipes/.keep.json.txt", "");
	write_text(dir, "toolchains/cpu.json",
		   "{ \"name\": \"cpu\", \"tag\": \"cpu\",\n  \"image\": \"python:${python.version}\" }\n");
	write_text(dir, "toolchains/gpu.json",
		   "{ \"name\": \"gpu\", \"tag\": \"gpu\", \"imag\": \"x\" }\n");
	diags_init(&d);
	assert_int_equal(project_load(&p, dir, &d), -1);
	char *text = diags_text(&d);
	assert_contains(text, "toolchains/cpu.json:2:12: error: \"image\" of toolchain \"cpu\" cannot "
			      "be used: ${python} (the variant's Python version) is the only name it may "
			      "use\nhint: write an image reference such as \"python:${python}-slim-bookworm\"");
	assert_contains(text, "toolchains/gpu.json:1:32: error: unknown key \"imag\" in toolchain "
			      "\"gpu\"\n"
			      "hint: did you mean \"image\"?");
	free(text);
	project_release(&p);
	diags_release(&d);
	tmpdir_remove(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_dev_plain_build),
		cmocka_unit_test(test_syntax_directive),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_default_images),
		cmocka_unit_test(test_toolchain_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
