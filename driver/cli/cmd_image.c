/*
 * ptbuild image base|dev|release: one image of a wheelhouse built by a Docker engine, with
 * the arguments its Dockerfile declares, offline, and recorded for `ptbuild report`. The
 * engine's command, its log and the records are build/images; here: options, messages,
 * exit codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/images.h"
#include "cli/answer.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/json.h"
#include "util/os.h"
#include "util/settings.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static const char image_help[] =
	"usage: ptbuild image base|dev|release --wheelhouse DIR [--variant LABEL] [--tag T]\n"
	"                     [--base-image IMAGE] [--engine PATH] [--dry-run]\n"
	"\n"
	"Builds one image of a wheelhouse (`ptbuild collect --out DIR`) for one variant with\n"
	"its Dockerfile, the way its comments say, with DOCKER_BUILDKIT=1:\n"
	"  base     Dockerfile.base: the variant's base image, system libraries, /opt/venv\n"
	"  dev      Dockerfile.dev: base + compilers, ccache, ptbuild and the project\n"
	"           (dev/ of the wheelhouse); its apt step uses the host's network\n"
	"  release  Dockerfile.release: base + the variant's wheels, installed offline\n"
	"base and release build with --network=none. dev and release are built FROM\n"
	"ptbuild-base:<variant>: build base first. The command is printed before it runs; the\n"
	"engine's output goes to stderr and to build/logs/images/<kind>-<variant>.log, and the\n"
	"image's id and size to build/images/<kind>-<variant>.json, which `ptbuild report`\n"
	"shows (build/ of the project, -C DIR).\n"
	"\n"
	"options:\n"
	"  --wheelhouse DIR  the wheelhouse: the build context (required)\n"
	"  --variant LABEL   which variant (requirements/LABEL.txt); needed when the\n"
	"                    wheelhouse has several\n"
	"  --tag T           the image's tag (default ptbuild-<kind>:<variant>)\n"
	"  --base-image IMAGE\n"
	"                    what the image is built FROM: base's BASE_IMAGE (default the\n"
	"                    toolchain's image, as Dockerfile.base names it), dev's and\n"
	"                    release's BASE (default ptbuild-base:<variant>)\n"
	"  --engine PATH     the docker client (default: docker in PATH); Docker >= 20.10\n"
	"  --dry-run         print the command, run nothing\n"
	"  --json            what was built as JSON on stdout\n"
	"\n"
	"exit status: 0 built (or printed), 1 the engine's build failed (the log's last lines\n"
	"are shown), 2 usage or a wrong wheelhouse, 3 no engine: no docker client, or no\n"
	"daemon answers.\n";

enum { OPT_WHEELHOUSE = 3200, OPT_VARIANT, OPT_TAG, OPT_BASE_IMAGE, OPT_ENGINE, OPT_DRY_RUN };

static const struct option image_long[] = {
	{ "wheelhouse", required_argument, NULL, OPT_WHEELHOUSE },
	{ "variant", required_argument, NULL, OPT_VARIANT },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "base-image", required_argument, NULL, OPT_BASE_IMAGE },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

struct image_args {
	const char *wheelhouse, *variant, *tag, *base_image, *engine;
	bool dry_run;
};

static int on_option(struct cli *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	struct image_args *a = ctx;
	switch (opt) {
	case OPT_WHEELHOUSE: a->wheelhouse = arg; return 0;
	case OPT_VARIANT: a->variant = arg; return 0;
	case OPT_TAG: a->tag = arg; return 0;
	case OPT_BASE_IMAGE: a->base_image = arg; return 0;
	case OPT_ENGINE: a->engine = arg; return 0;
	case OPT_DRY_RUN: a->dry_run = true; return 0;
	}
	return -1;
}

/* A tag or image name the engine takes as one argument: no spaces or controls, and not an
 * option. */
static int check_name(struct cli *cli, const char *option, const char *value)
{
	bool ok = *value && *value != '-';
	for (const char *p = value; *p && ok; p++)
		ok = (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f;
	if (ok)
		return 0;
	diag_error(&cli->diags, NULL, "%s \"%s\" is not an image name", option, value);
	diag_hint(&cli->diags, "image names look like NAME[:TAG], such as ptbuild-base:cpu-py3.11");
	return -1;
}

/* The variant to build: --variant, which must be one of the wheelhouse's, or its only one. */
static const char *pick_variant(struct cli *cli, const struct image_house *h, const char *dir,
				const char *given)
{
	struct buf all = BUF_INIT;
	for (size_t i = 0; i < h->nvariants; i++)
		buf_addf(&all, "%s%s", i ? ", " : "", h->variants[i]);
	const char *found = NULL;
	if (given) {
		for (size_t i = 0; i < h->nvariants && !found; i++)
			if (!strcmp(h->variants[i], given))
				found = h->variants[i];
		if (!found) {
			diag_error(&cli->diags, NULL, "the wheelhouse %s has no variant \"%s\" (no "
						      "requirements/%s.txt)", dir, given, given);
			diag_hint(&cli->diags, "its variants: %s", all.data);
		}
	} else if (h->nvariants == 1) {
		found = h->variants[0];
	} else {
		diag_error(&cli->diags, NULL, "the wheelhouse %s has %zu variants: say which with "
					      "--variant", dir, h->nvariants);
		diag_hint(&cli->diags, "its variants: %s", all.data);
	}
	buf_release(&all);
	return found;
}

/* The docker client: --engine (a path, or a name looked up in PATH), else docker in PATH. */
static char *find_engine(struct cli *cli, const char *given)
{
	const char *name = given ? given : "docker";
	char *path = strchr(name, '/') ? (is_executable_file(name) ? xstrdup(name) : NULL)
				       : find_in_path(name, setting_path());
	if (!path) {
		if (given)
			diag_error(&cli->diags, NULL, "--engine \"%s\" is not an executable program",
				   given);
		else
			diag_error(&cli->diags, NULL, "no Docker engine: there is no docker in PATH");
		diag_hint(&cli->diags, "install Docker 20.10 or later (Debian: `apt-get install "
				       "docker.io`), or give --engine PATH to its docker client");
		diags_classify(&cli->diags, 0, DIAG_ENVIRONMENT);
	}
	return path;
}

struct stream {
	struct cli *cli;
};

static void on_output(void *ctx, const char *data, size_t len)
{
	struct stream *st = ctx;
	if (!st->cli->quiet)
		fwrite(data, 1, len, st->cli->err);
}

static void print_json(struct cli *cli, const struct image_record *r, const char *command,
		       bool dry_run, const char *record_path, const char *log_path)
{
	struct buf out = BUF_INIT;
	struct jw w;
	json_result_begin(&w, &out, true);
	jw_kstring(&w, "kind", r->kind);
	jw_kstring(&w, "variant", r->variant);
	jw_kstring(&w, "tag", r->tag);
	jw_kstring(&w, "command", command);
	jw_kbool(&w, "dry_run", dry_run);
	if (!dry_run) {
		jw_kstring(&w, "id", r->id);
		jw_kint(&w, "size", r->size);
		jw_kint(&w, "built_at", r->built_at);
		jw_kint(&w, "milliseconds", (long long)(r->seconds * 1000 + 0.5));
		jw_kstring(&w, "record", record_path);
		jw_kstring(&w, "log", log_path);
	}
	json_result_end(cli, &w, &out);
}

int cmd_image(struct cli *cli, int argc, char **argv)
{
	struct image_args a = { 0 };
	struct image_house h = { 0 };
	struct image_result res = { 0 };
	char *house = NULL, *engine = NULL, *tag = NULL, *project = NULL, *work = NULL;
	char *iid = NULL, *log = NULL, *record = NULL;
	char **cmd = NULL;
	struct buf line = BUF_INIT;
	int code = EXIT_OK;
	int first = cli_parse(cli, argc, argv, "", image_long, on_option, &a, image_help);
	if (first == -2)
		goto done;
	enum image_kind kind = IMAGE_BASE;
	if (first >= 0 && argc - first != 1) {
		diag_error(&cli->diags, NULL, argc - first ? "image takes one kind of image, not %d "
							     "operands"
							   : "image needs the kind of image: base, "
							     "dev or release",
			   argc - first);
		diag_hint(&cli->diags, "try 'ptbuild image --help'");
		first = -1;
	} else if (first >= 0 && image_kind_parse(argv[first], &kind) < 0) {
		diag_error(&cli->diags, NULL, "image builds base, dev or release, not \"%s\"",
			   argv[first]);
		diag_hint(&cli->diags, "try 'ptbuild image --help'");
		first = -1;
	} else if (first >= 0 && !a.wheelhouse) {
		diag_error(&cli->diags, NULL, "image needs --wheelhouse DIR: the wheelhouse `ptbuild "
					      "collect --out DIR` wrote");
		first = -1;
	}
	if (first >= 0 && ((a.tag && check_name(cli, "--tag", a.tag) < 0) ||
			   (a.base_image && check_name(cli, "--base-image", a.base_image) < 0)))
		first = -1;
	if (first < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	house = absolute_path(a.wheelhouse);
	if (image_house_load(house, kind, &h, &cli->diags) < 0) {
		code = EXIT_USAGE;
		goto done;
	}
	const char *variant = pick_variant(cli, &h, house, a.variant);
	if (!variant) {
		code = EXIT_USAGE;
		goto done;
	}
	if (!a.dry_run && !(engine = find_engine(cli, a.engine))) {
		code = EXIT_ENVIRONMENT;
		goto done;
	}
	tag = a.tag ? xstrdup(a.tag) : image_default_tag(kind, variant);
	project = absolute_path(cli->dir ? cli->dir : ".");
	work = path_join(project, "build");
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/images/.%s-%s.iid", work, image_kind_name(kind), variant);
	iid = buf_detach(&b);
	buf_addf(&b, "%s/logs/images/%s-%s.log", work, image_kind_name(kind), variant);
	log = buf_detach(&b);
	record = image_record_path(work, image_kind_name(kind), variant);
	struct image_request rq = {
		.kind = kind,
		.engine = engine ? engine : (a.engine ? a.engine : "docker"),
		.wheelhouse = house,
		.variant = variant,
		.tag = tag,
		.from = a.base_image,
		.epoch = image_house_epoch(&h, variant),
		.iidfile = a.dry_run ? NULL : iid,
	};
	cmd = image_build_argv(&rq, &cli->diags);
	if (!cmd) {
		code = EXIT_USAGE;
		goto done;
	}
	image_command_line(cmd, &line);
	struct image_record r = { .kind = (char *)image_kind_name(kind), .variant = (char *)variant,
				  .tag = tag, .wheelhouse = house };
	if (a.dry_run) {
		if (cli->json)
			print_json(cli, &r, line.data, true, NULL, NULL);
		else
			fprintf(cli->out, "%s\n", line.data);
		goto done;
	}
	char *version = NULL;
	if (image_engine_check(engine, &version, &cli->diags) < 0) {
		code = EXIT_ENVIRONMENT;
		goto done;
	}
	if (!cli->quiet)
		fprintf(cli->err, "ptbuild: Docker %s: %s\n", version, line.data);
	free(version);
	make_parents(iid);
	struct stream st = { cli };
	if (image_build_run(&rq, log, on_output, &st, &res, &cli->diags) < 0) {
		code = cli_exit_code(cli);
		goto done;
	}
	r.id = res.id;
	r.size = res.size;
	r.seconds = res.seconds;
	r.built_at = (long long)time(NULL);
	if (image_record_write(work, &r, &cli->diags) < 0) {
		code = EXIT_ENVIRONMENT;
		goto done;
	}
	if (cli->json) {
		print_json(cli, &r, line.data, false, record, log);
	} else if (!cli->quiet) {
		char size[32];
		size_format((uint64_t)res.size, size, sizeof(size));
		fprintf(cli->out, "image %s (%s, variant %s): %s, %s, built in %.1fs; recorded in %s\n",
			tag, image_kind_name(kind), variant, res.id, size, res.seconds, record);
	}
done:
	if (iid)
		remove(iid);
	code = cli_end(cli, code);
	strv_free(cmd);
	buf_release(&line);
	image_result_release(&res);
	image_house_release(&h);
	free(record);
	free(log);
	free(iid);
	free(work);
	free(project);
	free(tag);
	free(engine);
	free(house);
	return code;
}
