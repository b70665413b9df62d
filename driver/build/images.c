/*
 * `ptbuild image`'s engine work: the docker command of one image, running it with a log,
 * and the records `report` shows (images.h).
 */
#include "build/images.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/os.h"
#include "util/settings.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* Lines of the engine's log a failure shows. */
#define TAIL_LINES 25
/* How long `docker version` and `docker image inspect` may take. */
#define ENGINE_QUERY_MS 60000

static const char *const kind_names[IMAGE_NKINDS] = { "base", "dev", "release" };

const char *image_kind_name(enum image_kind k)
{
	return k < IMAGE_NKINDS ? kind_names[k] : "?";
}

int image_kind_parse(const char *s, enum image_kind *k)
{
	for (int i = 0; i < IMAGE_NKINDS; i++)
		if (!strcmp(s, kind_names[i])) {
			*k = (enum image_kind)i;
			return 0;
		}
	return -1;
}

/* ---- the wheelhouse ----------------------------------------------------------------------- */

void image_house_release(struct image_house *h)
{
	free_names(h->variants, h->nvariants);
	free_names(h->epoch_labels, h->nepochs);
	free(h->epoch_values);
	memset(h, 0, sizeof(*h));
}

long long image_house_epoch(const struct image_house *h, const char *variant)
{
	for (size_t i = 0; i < h->nepochs; i++)
		if (!strcmp(h->epoch_labels[i], variant) && h->epoch_values[i] > 0)
			return h->epoch_values[i];
	return h->epoch;
}

static int not_a_house(struct diags *d, const char *dir, const char *what)
{
	diag_error(d, NULL, "%s is not a wheelhouse ptbuild wrote: %s", dir, what);
	diag_hint(d, "`ptbuild collect --out DIR` writes one; give that DIR to --wheelhouse");
	return -1;
}

int image_house_load(const char *dir, enum image_kind kind, struct image_house *h,
		     struct diags *d)
{
	memset(h, 0, sizeof(*h));
	if (!is_directory(dir))
		return not_a_house(d, dir, "no such directory");
	char *manifest = path_join(dir, "manifest.json");
	struct diags parse;
	diags_init(&parse);
	struct jdoc doc;
	int rc = path_exists(manifest) ? jdoc_load(&doc, manifest, &parse) : -1;
	const struct jnode *epoch = rc == 0 && doc.root.type == JSON_OBJECT
					    ? jnode_get(&doc.root, "source_date_epoch")
					    : NULL;
	if (!path_exists(manifest))
		rc = not_a_house(d, dir, "it has no manifest.json");
	else if (rc < 0) {
		struct buf why = BUF_INIT;
		buf_addf(&why, "its manifest.json cannot be read (%s)",
			 parse.n ? parse.v[0].msg : "no reason given");
		rc = not_a_house(d, dir, why.data);
		buf_release(&why);
	}
	else if (!epoch || epoch->type != JSON_NUMBER)
		rc = not_a_house(d, dir, "its manifest.json has no \"source_date_epoch\"");
	else
		h->epoch = (long long)epoch->num;
	const struct jnode *per = rc == 0 ? jnode_get(&doc.root, "source_date_epochs") : NULL;
	if (per && per->type == JSON_OBJECT) { /* older wheelhouses have none */
		h->epoch_labels = xcalloc(per->n + 1, sizeof(char *));
		h->epoch_values = xcalloc(per->n + 1, sizeof(long long));
		for (size_t i = 0; i < per->n; i++)
			if (per->child[i].type == JSON_NUMBER) {
				h->epoch_labels[h->nepochs] = xstrdup(per->child[i].key);
				h->epoch_values[h->nepochs++] = (long long)per->child[i].num;
			}
	}
	if (path_exists(manifest))
		jdoc_release(&doc);
	diags_release(&parse);
	free(manifest);
	if (rc < 0)
		return -1;
	char *req = path_join(dir, "requirements");
	char **names = NULL;
	size_t n = 0;
	if (list_dir(req, ".txt", &names, &n) < 0 || n == 0) {
		free_names(names, n);
		free(req);
		return not_a_house(d, dir, "it has no requirements/<variant>.txt");
	}
	free(req);
	for (size_t i = 0; i < n; i++)
		names[i][strlen(names[i]) - 4] = '\0';
	h->variants = names;
	h->nvariants = n;
	struct buf df = BUF_INIT;
	buf_addf(&df, "%s/Dockerfile.%s", dir, image_kind_name(kind));
	if (!path_exists(df.data))
		rc = not_a_house(d, dir, "it has no Dockerfile for this kind of image");
	buf_release(&df);
	char *dev = path_join(dir, "dev/ptbuild/CMakeLists.txt");
	if (rc == 0 && kind == IMAGE_DEV && !path_exists(dev)) {
		diag_error(d, NULL, "the wheelhouse %s has no dev/ptbuild/: an earlier ptbuild "
				    "collected it, and Dockerfile.dev copies ptbuild's sources from there",
			   dir);
		rc = -1;
		diag_hint(d, "collect it again (`ptbuild collect --out %s`)", dir);
	}
	free(dev);
	if (rc < 0)
		image_house_release(h);
	return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

char *image_default_tag(enum image_kind kind, const char *variant)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "ptbuild-%s:%s", image_kind_name(kind), variant);
	return buf_detach(&b);
}

/*
 * The base image Dockerfile.base names for `variant`: its command comment reads
 * "docker build -f Dockerfile.base --build-arg VARIANT=<label> --build-arg BASE_IMAGE=<image> ".
 */
static char *base_image_of(const char *wheelhouse, const char *variant, struct diags *d)
{
	char *path = path_join(wheelhouse, "Dockerfile.base");
	struct buf text = BUF_INIT, want = BUF_INIT;
	char *found = NULL;
	buf_addf(&want, "--build-arg VARIANT=%s ", variant);
	if (read_file(path, &text) == 0) {
		const char *cursor = text.data;
		char *line;
		while (!found && (line = next_line(&cursor))) {
			const char *v = starts_with(line, "#") ? strstr(line, want.data) : NULL;
			const char *img = v ? strstr(v, "--build-arg BASE_IMAGE=") : NULL;
			if (img) {
				img += strlen("--build-arg BASE_IMAGE=");
				found = xstrndup(img, strcspn(img, " \t"));
			}
			free(line);
		}
	}
	if (!found) {
		diag_error(d, NULL, "%s does not say which base image variant \"%s\" uses (no "
				    "\"%s--build-arg BASE_IMAGE=...\" line)", path, variant, want.data);
		diag_hint(d, "give --base-image IMAGE, or collect the wheelhouse again");
	}
	buf_release(&want);
	buf_release(&text);
	free(path);
	return found;
}

static void push(char ***v, size_t *n, size_t *cap, char *s)
{
	GROW(*v, *cap, *n + 2);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void push_arg(char ***v, size_t *n, size_t *cap, const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s=%s", name, value);
	push(v, n, cap, xstrdup("--build-arg"));
	push(v, n, cap, buf_detach(&b));
}

char **image_build_argv(const struct image_request *rq, struct diags *d)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct buf b = BUF_INIT;
	push(&v, &n, &cap, xstrdup(rq->engine));
	push(&v, &n, &cap, xstrdup("build"));
	push(&v, &n, &cap, xstrdup("-f"));
	buf_addf(&b, "%s/Dockerfile.%s", rq->wheelhouse, image_kind_name(rq->kind));
	push(&v, &n, &cap, buf_detach(&b));
	/* dev installs compilers with apt from the base image's mirror; nothing else needs a
	 * network (Docker 20.10's built-in frontend has no per-step RUN --network) */
	push(&v, &n, &cap, xstrdup(rq->kind == IMAGE_DEV ? "--network=host" : "--network=none"));
	push(&v, &n, &cap, xstrdup("--progress=plain"));
	if (rq->kind == IMAGE_BASE) {
		char *image = rq->from ? xstrdup(rq->from) : base_image_of(rq->wheelhouse, rq->variant, d);
		if (!image) {
			strv_free(v);
			return NULL;
		}
		push_arg(&v, &n, &cap, "BASE_IMAGE", image);
		free(image);
	} else {
		char *base = rq->from ? xstrdup(rq->from) : image_default_tag(IMAGE_BASE, rq->variant);
		push_arg(&v, &n, &cap, "BASE", base);
		free(base);
	}
	if (rq->kind != IMAGE_DEV) /* dev declares no VARIANT: its BASE is the variant's */
		push_arg(&v, &n, &cap, "VARIANT", rq->variant);
	buf_addf(&b, "%lld", rq->epoch);
	push_arg(&v, &n, &cap, "SOURCE_DATE_EPOCH", b.data);
	buf_reset(&b);
	push(&v, &n, &cap, xstrdup("-t"));
	push(&v, &n, &cap, xstrdup(rq->tag));
	if (rq->iidfile) {
		push(&v, &n, &cap, xstrdup("--iidfile"));
		push(&v, &n, &cap, xstrdup(rq->iidfile));
	}
	/* release: variants/<label>/, exactly the variant's wheels, is the context, so its
	 * install layer stays CACHED when other variants' wheels join (docs/wheels.md) */
	buf_addf(&b, "%s/variants/%s", rq->wheelhouse, rq->variant);
	if (rq->kind == IMAGE_RELEASE && path_exists(b.data))
		push(&v, &n, &cap, buf_detach(&b));
	else
		push(&v, &n, &cap, xstrdup(rq->wheelhouse));
	buf_release(&b);
	return v;
}

char **image_engine_env(void)
{
	char *const *env = setting_environ();
	size_t n = 0;
	while (env && env[n])
		n++;
	char **v = xcalloc(n + 2, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!starts_with(env[i], "DOCKER_BUILDKIT="))
			v[k++] = xstrdup(env[i]);
	v[k++] = xstrdup("DOCKER_BUILDKIT=1");
	v[k] = NULL;
	return v;
}

static void shell_quote(struct buf *out, const char *s)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "._-/:=@+,%", *p) != NULL;
	if (plain) {
		buf_adds(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_adds(out, "'\\''");
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

void image_command_line(char *const *argv, struct buf *out)
{
	buf_adds(out, "DOCKER_BUILDKIT=1");
	for (size_t i = 0; argv[i]; i++) {
		buf_addch(out, ' ');
		shell_quote(out, argv[i]);
	}
}

/* The first `max` lines of `s`, for messages. */
static void add_head(struct buf *out, const char *s, size_t max)
{
	size_t lines = 0;
	while (*s == '\n' || *s == ' ')
		s++;
	for (const char *p = s; *p && lines < max; p++) {
		buf_addch(out, *p);
		if (*p == '\n')
			lines++;
	}
	buf_rtrim(out);
}

int image_engine_check(const char *engine, char **version, struct diags *d)
{
	const char *argv[] = { engine, "version", "--format", "{{.Server.Version}}", NULL };
	struct buf out = BUF_INIT;
	int st = run_capture(argv, &out, ENGINE_QUERY_MS);
	int rc = 0;
	size_t since = d->n;
	if (st != 0) {
		struct buf said = BUF_INIT;
		add_head(&said, out.data, 6);
		if (st == -1)
			diag_error(d, NULL, "cannot run the Docker engine's client \"%s\"", engine);
		else
			diag_error(d, NULL, "no Docker daemon answers \"%s version\" (exit %d)%s%s",
				   engine, st, said.len ? ":\n" : "", said.data);
		diag_hint(d, "start dockerd (`systemctl start docker`, or `dockerd &` as root), or "
			     "point DOCKER_HOST at a running one; --engine PATH names another client");
		buf_release(&said);
		rc = diags_classify(d, since, DIAG_ENVIRONMENT);
	} else if (version) {
		buf_rtrim(&out);
		*version = buf_detach(&out);
	}
	buf_release(&out);
	return rc;
}

void image_result_release(struct image_result *res)
{
	free(res->id);
	memset(res, 0, sizeof(*res));
}

/* The last `max` lines of the file at `path`. */
static void add_tail(struct buf *out, const char *path, size_t max)
{
	struct buf text = BUF_INIT;
	if (read_file(path, &text) == 0) {
		buf_rtrim(&text);
		size_t start = text.len, lines = 0;
		while (start > 0 && lines < max)
			if (text.data[--start] == '\n')
				lines++;
		if (start > 0)
			start++;
		buf_adds(out, text.data + start);
	}
	buf_release(&text);
}

/* `ENGINE image inspect` of `ref`: its id and size. */
static int inspect(const char *engine, const char *ref, struct image_result *res, struct diags *d)
{
	const char *argv[] = { engine, "image", "inspect", "--format", "{{.Id}} {{.Size}}", ref, NULL };
	struct buf out = BUF_INIT;
	int st = run_capture(argv, &out, ENGINE_QUERY_MS);
	char id[200];
	long long size;
	int rc = 0;
	if (st != 0 || sscanf(out.data, "%199s %lld", id, &size) != 2) {
		size_t since = d->n;
		buf_rtrim(&out);
		diag_error(d, NULL, "the engine built %s, but `%s image inspect %s` did not give its "
				    "id and size (exit %d): %s", ref, engine, ref, st, out.data);
		diag_hint(d, "check the daemon (`%s info`) and build the image again", engine);
		rc = diags_classify(d, since, DIAG_ENVIRONMENT);
	} else {
		res->id = xstrdup(id);
		res->size = size;
	}
	buf_release(&out);
	return rc;
}

/* Copies the child's output from `fd` to `log` and `on_output` until it closes. */
static void pump(int fd, int log, void (*on_output)(void *, const char *, size_t), void *ctx)
{
	char chunk[1 << 14];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(log, chunk + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break; /* the log is lost; the build goes on */
			off += w;
		}
		if (on_output)
			on_output(ctx, chunk, (size_t)n);
	}
}

int image_build_run(const struct image_request *rq, const char *log_path,
		    void (*on_output)(void *ctx, const char *data, size_t len), void *ctx,
		    struct image_result *res, struct diags *d)
{
	memset(res, 0, sizeof(*res));
	size_t since = d->n;
	char **argv = image_build_argv(rq, d);
	if (!argv)
		return -1;
	char **env = image_engine_env();
	int rc = -1, pipefd[2] = { -1, -1 }, log = -1;
	double t0 = monotonic_seconds();
	if (make_parents(log_path) < 0 ||
	    (log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		diag_error(d, NULL, "cannot write the log \"%s\": %s", log_path, strerror(errno));
		diags_classify(d, since, DIAG_ENVIRONMENT);
		goto out;
	}
	struct buf cmd = BUF_INIT;
	buf_adds(&cmd, "# ptbuild: ");
	image_command_line(argv, &cmd);
	buf_addch(&cmd, '\n');
	ssize_t wrote = write(log, cmd.data, cmd.len);
	(void)wrote; /* a log that cannot be written loses the command line, not the build */
	buf_release(&cmd);
	if (pipe(pipefd) < 0 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) < 0) {
		diag_error(d, NULL, "cannot start %s: %s", rq->engine, strerror(errno));
		diags_classify(d, since, DIAG_ENVIRONMENT);
		goto out;
	}
	struct spawn_req sr = { .path = rq->engine, .argv = argv, .envp = env,
				.cwd = rq->wheelhouse, .out_fd = pipefd[1] };
	pid_t pid;
	if (spawn_child(&sr, &pid) < 0) {
		diag_error(d, NULL, "cannot run the Docker engine's client \"%s\": %s", rq->engine,
			   strerror(errno));
		diag_hint(d, "--engine PATH names the docker client");
		diags_classify(d, since, DIAG_ENVIRONMENT);
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	pump(pipefd[0], log, on_output, ctx);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res->seconds = monotonic_seconds() - t0;
	if (res->status != 0) {
		struct buf tail = BUF_INIT;
		add_tail(&tail, log_path, TAIL_LINES);
		diag_error(d, NULL, "`docker build` of %s (%s, variant %s) failed with exit status "
				    "%d; the last lines of its log \"%s\":\n%s", rq->tag,
			   image_kind_name(rq->kind), rq->variant, res->status, log_path, tail.data);
		diag_hint(d, "the whole log is in \"%s\"; the command is its first line", log_path);
		buf_release(&tail);
		diags_classify(d, since, DIAG_BUILD_FAILED);
		goto out;
	}
	rc = inspect(rq->engine, rq->tag, res, d);
out:
	if (log >= 0)
		close(log);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	strv_free(env);
	strv_free(argv);
	return rc;
}

/* ---- records ------------------------------------------------------------------------------ */

char *image_record_path(const char *work_dir, const char *kind, const char *variant)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/images/%s-%s.json", work_dir, kind, variant);
	return buf_detach(&b);
}

int image_record_write(const char *work_dir, const struct image_record *r, struct diags *d)
{
	struct buf text = BUF_INIT;
	struct jw w;
	jw_init(&w, &text, true);
	jw_object_begin(&w);
	jw_kint(&w, "format", 1);
	jw_kstring(&w, "kind", r->kind);
	jw_kstring(&w, "variant", r->variant);
	jw_kstring(&w, "tag", r->tag);
	jw_kstring(&w, "id", r->id);
	jw_kint(&w, "size", r->size);
	jw_kint(&w, "built_at", r->built_at);
	jw_kint(&w, "milliseconds", (long long)(r->seconds * 1000 + 0.5));
	jw_kstring(&w, "wheelhouse", r->wheelhouse);
	jw_object_end(&w);
	buf_addch(&text, '\n');
	char *path = image_record_path(work_dir, r->kind, r->variant);
	int rc = 0;
	if (make_parents(path) < 0 || write_file_atomic(path, text.data, text.len) < 0) {
		size_t since = d->n;
		diag_error(d, NULL, "cannot write the image record \"%s\": %s", path, strerror(errno));
		rc = diags_classify(d, since, DIAG_ENVIRONMENT);
	}
	free(path);
	buf_release(&text);
	return rc;
}

static char *take(const struct jnode *root, const char *key)
{
	const struct jnode *n = jnode_get(root, key);
	return n && n->type == JSON_STRING ? xstrdup(n->str) : NULL;
}

static bool number(const struct jnode *root, const char *key, double *out)
{
	const struct jnode *n = jnode_get(root, key);
	if (!n || n->type != JSON_NUMBER)
		return false;
	*out = n->num;
	return true;
}

static void record_release(struct image_record *r)
{
	free(r->kind);
	free(r->variant);
	free(r->tag);
	free(r->id);
	free(r->wheelhouse);
	memset(r, 0, sizeof(*r));
}

/* 0 with `r`, or -1 with the reason in `d`. */
static int record_load(const char *path, struct image_record *r, struct diags *d)
{
	memset(r, 0, sizeof(*r));
	struct jdoc doc;
	int rc = jdoc_load(&doc, path, d);
	double format = 0, size = 0, built = 0, ms = 0;
	enum image_kind k;
	if (rc == 0) {
		const struct jnode *root = &doc.root;
		if (root->type == JSON_OBJECT) {
			r->kind = take(root, "kind");
			r->variant = take(root, "variant");
			r->tag = take(root, "tag");
			r->id = take(root, "id");
			r->wheelhouse = take(root, "wheelhouse");
		}
		if (root->type != JSON_OBJECT || !number(root, "format", &format) || format != 1 ||
		    !number(root, "size", &size) || !number(root, "built_at", &built) ||
		    !number(root, "milliseconds", &ms) || !r->kind || !r->variant || !r->tag ||
		    !r->id || image_kind_parse(r->kind, &k) < 0) {
			rc = diag_error(d, NULL, "it is not an image record ptbuild can read");
			record_release(r);
		} else {
			r->size = (long long)size;
			r->built_at = (long long)built;
			r->seconds = ms / 1000;
		}
	}
	jdoc_release(&doc);
	return rc;
}

static int kind_rank(const char *kind)
{
	enum image_kind k = IMAGE_NKINDS;
	image_kind_parse(kind, &k);
	return (int)k;
}

static int cmp_records(const void *a, const void *b)
{
	const struct image_record *x = a, *y = b;
	int c = strcmp(x->variant, y->variant);
	return c ? c : kind_rank(x->kind) - kind_rank(y->kind);
}

void image_records_load(const char *work_dir, struct image_record **v, size_t *n,
			struct diags *d)
{
	*v = NULL;
	*n = 0;
	char *dir = path_join(work_dir, "images");
	char **names = NULL;
	size_t nn = 0;
	if (!is_directory(dir) || list_dir(dir, ".json", &names, &nn) < 0) {
		free(dir);
		return;
	}
	*v = xcalloc(nn + 1, sizeof(**v));
	for (size_t i = 0; i < nn; i++) {
		char *path = path_join(dir, names[i]);
		struct diags one;
		diags_init(&one);
		if (record_load(path, &(*v)[*n], &one) == 0) {
			(*n)++;
		} else {
			for (size_t k = 0; k < one.n; k++)
				if (one.v[k].level == DIAG_ERROR)
					diag_warn(d, NULL, "cannot read the image record \"%s\": %s",
						  path, one.v[k].msg);
			diag_hint(d, "delete it; `ptbuild image` writes it again");
		}
		diags_release(&one);
		free(path);
	}
	qsort(*v, *n, sizeof(**v), cmp_records);
	free_names(names, nn);
	free(dir);
}

void image_records_release(struct image_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		record_release(&v[i]);
	free(v);
}
