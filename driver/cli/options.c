#include "cli/options.h"

#include <stdlib.h>
#include <string.h>

#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static void split_into(const char *arg, char ***list, size_t *n, size_t *cap)
{
	for (const char *p = arg; *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			GROW(*list, *cap, *n + 1);
			(*list)[(*n)++] = xstrndup(p, len);
		}
		p += len + (p[len] == ',');
	}
}

int plan_args_option(struct plan_args *a, int opt, const char *arg)
{
	if (opt == OPT_SET)
		a->set = arg;
	else if (opt == OPT_TOOLCHAIN)
		split_into(arg, &a->toolchains, &a->ntoolchains, &a->cap_tc);
	else if (opt == OPT_PYTHON)
		split_into(arg, &a->pythons, &a->npythons, &a->cap_py);
	else
		return 0;
	return 1;
}

void plan_args_release(struct plan_args *a)
{
	for (size_t i = 0; i < a->ntoolchains; i++)
		free(a->toolchains[i]);
	free(a->toolchains);
	for (size_t i = 0; i < a->npythons; i++)
		free(a->pythons[i]);
	free(a->pythons);
	memset(a, 0, sizeof(*a));
}

int budget_option(struct cli *cli, struct build_opts *o, int opt, const char *arg)
{
	if (opt == 'j') {
		char *end;
		long n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 4096) {
			diag_error(&cli->diags, NULL, "-j wants a number of jobs from 1 to 4096, not "
				   "\"%s\"", arg);
			return -1;
		}
		o->jobs = (int)n;
		return 1;
	}
	if (opt == OPT_MEM_PER_JOB) {
		if (size_parse(arg, &o->mem_per_job) < 0) {
			diag_error(&cli->diags, NULL, "--mem-per-job wants a size such as 4GiB, not "
				   "\"%s\"", arg);
			return -1;
		}
		return 1;
	}
	return 0;
}

int cli_exit_code(const struct cli *cli)
{
	switch (diags_failure(&cli->diags)) {
	case DIAG_NO_FAILURE:
		return cli->diags.nerrors ? EXIT_USAGE : EXIT_OK;
	case DIAG_BUILD_FAILED:
		return EXIT_BUILD_FAILED;
	case DIAG_ENVIRONMENT:
		return EXIT_ENVIRONMENT;
	case DIAG_INPUT:
		return EXIT_USAGE;
	case DIAG_INTERRUPTED:
		return EXIT_INTERRUPTED;
	}
	return EXIT_USAGE;
}

/* The exit code of a core call's result: 0, or the class of its failure. */
static int code_of(struct cli *cli, int rc)
{
	if (rc == 0)
		return EXIT_OK;
	int code = cli_exit_code(cli);
	return code == EXIT_OK ? EXIT_USAGE : code;
}

int cli_session_open(struct cli *cli, struct session *s, const struct plan_args *a,
		     char *const *targets, size_t ntargets, bool replace_unreadable_lock)
{
	struct plan_choice c = {
		.set = a->set,
		.toolchains = (const char *const *)a->toolchains,
		.ntoolchains = a->ntoolchains,
		.pythons = (const char *const *)a->pythons,
		.npythons = a->npythons,
		.targets = (const char *const *)targets,
		.ntargets = ntargets,
	};
	char *cache_dir = cli_cache_dir(cli);
	int rc = session_plan(s, cli->dir, cache_dir, &c, &cli->diags);
	free(cache_dir);
	if (rc == 0)
		rc = session_load_sources(s, replace_unreadable_lock, &cli->diags);
	return code_of(cli, rc);
}

int remote_args_option(struct remote_args *a, int opt, const char *arg)
{
	if (opt == OPT_REMOTE_CACHE)
		a->url = arg;
	else if (opt == OPT_REMOTE_READ_ONLY)
		a->read_only = true;
	else
		return 0;
	return 1;
}

int cli_remote_open(struct cli *cli, struct session *s, const struct remote_args *a,
		    struct remote_cache *rc)
{
	memset(rc, 0, sizeof(*rc));
	int rc_load = session_load_fleet(s, &cli->diags);
	if (rc_load == 0) {
		fleet_config_apply_flags(&s->fleet, a->url, a->read_only);
		rc_load = remote_cache_init(rc, &s->fleet, &cli->diags);
	}
	return code_of(cli, rc_load);
}

int cli_session_pin(struct cli *cli, struct session *s, const struct pin_request *rq,
		    struct pins *out)
{
	return code_of(cli, session_pin_sources(s, rq, out, &cli->diags));
}

int cli_runtime(struct cli *cli, struct session *s, const struct pins *pins,
		const struct runtime_request *rq, bool record, struct runtime_set *out)
{
	int rc = runtime_resolve(s, pins, rq, out, &cli->diags);
	for (size_t i = 0; rc == 0 && i < out->n && !cli->quiet && !cli->json; i++) {
		const struct runtime_closure *c = &out->v[i];
		if (!c->resolved_now || !*c->requires)
			continue;
		char *list = str_replace_all(c->requires, "\n", ", ");
		fprintf(cli->out, "runtime %s/%s: %s -> %zu wheel%s\n",
			s->plan.v[c->variant].recipe->name, s->plan.v[c->variant].label, list,
			c->nfiles, c->nfiles == 1 ? "" : "s");
		free(list);
	}
	if (rc < 0)
		return code_of(cli, rc);
	if (!record || !s->have_lock)
		return EXIT_OK;
	size_t written = runtime_record(s, out, &s->lock);
	if (!written)
		return EXIT_OK;
	if (lockfile_write(&s->lock, s->lock_path, &cli->diags) < 0)
		return EXIT_ENVIRONMENT;
	if (!cli->quiet && !cli->json)
		fprintf(cli->out, "pinned the runtime closure of %zu variant%s in %s\n", written,
			written == 1 ? "" : "s", s->lock_path);
	return EXIT_OK;
}
