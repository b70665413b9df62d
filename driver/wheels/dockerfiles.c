/*
 * The Dockerfiles of a wheelhouse: base, dev and release images and their entrypoint.
 *
 * Everything here is text built from `struct docker_input` alone (no clock, no paths of this
 * machine), so a wheelhouse written twice has identical files. Values from the input go into
 * Dockerfile instructions, shell `case` patterns and comments, so they are checked against
 * small character sets first instead of being quoted: a newline or a quote in an image name
 * would otherwise turn into an instruction of its own.
 */
#include "wheels/dockerfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/xalloc.h"

/* 1980-01-01T00:00:00Z: zip files (wheels) cannot store an earlier time. */
#define EPOCH_MIN 315532800LL
/* 9999-12-31T23:59:59Z */
#define EPOCH_MAX 253402300799LL

/* Characters beside ASCII letters and digits that each kind of value may use. */
#define LABEL_CHARS "._-"

/* The user the release and dev images run as when no USER_ID is given. */
#define DEFAULT_UID "1000"

/* ---- checking the input ------------------------------------------------------------------ */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The index of the first character of `s` outside letters, digits and `extra`; -1 if none. */
static long first_bad(const char *s, const char *extra)
{
	for (size_t i = 0; s[i]; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return (long)i;
	return -1;
}

/* `s` for a message: printable ASCII as is, quotes and backslashes escaped, the rest \xNN. */
static void add_shown(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else if (*p < 0x20 || *p > 0x7e)
			buf_addf(b, "\\x%02x", *p);
		else
			buf_addch(b, (char)*p);
	}
}

/* "docker target \"cpu-py3.11\"" when the label can be shown, else "docker target 2". */
static void add_target_name(struct buf *b, const struct docker_target *t, size_t i)
{
	if (t->label && *t->label && first_bad(t->label, LABEL_CHARS) < 0)
		buf_addf(b, "docker target \"%s\"", t->label);
	else
		buf_addf(b, "docker target %zu", i + 1);
}

/*
 * Checks one string field against `extra`: an error naming the target and the field when it
 * is missing, empty or has another character. Returns 0 or -1.
 */
static int check_field(struct diags *d, const struct docker_target *t, size_t i, const char *field,
		       const char *value, const char *extra, const char *allowed)
{
	struct buf who = BUF_INIT;
	add_target_name(&who, t, i);
	int rc = 0;
	if (!value || !*value) {
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: %s has no \"%s\"", who.data,
				field);
	} else {
		long bad = first_bad(value, extra);
		if (bad < 0 && !is_alnum(value[0]))
			bad = 0; /* '-' would read as an option of docker or of the shell */
		if (bad >= 0) {
			struct buf shown = BUF_INIT, ch = BUF_INIT;
			add_shown(&shown, value);
			char one[2] = { value[bad], '\0' };
			add_shown(&ch, one);
			rc = diag_error(d, NULL, "cannot write the Dockerfiles: \"%s\" of %s is \"%s\", "
						 "which a Dockerfile cannot carry ('%s' at byte %ld)",
					field, who.data, shown.data, ch.data, bad + 1);
			diag_hint(d, "%s", allowed);
			buf_release(&shown);
			buf_release(&ch);
		}
	}
	buf_release(&who);
	return rc;
}

/* "3.11": digits, one dot, digits. */
static bool python_valid(const char *s)
{
	size_t i = 0, dots = 0;
	if (!s || !is_digit(s[0]))
		return false;
	for (; s[i]; i++) {
		if (s[i] == '.' && is_digit(s[i + 1]))
			dots++;
		else if (!is_digit(s[i]))
			return false;
	}
	return dots == 1;
}

/* "13.0", "4.3.4": digits separated by single dots. */
static bool version_chars_valid(const char *s)
{
	if (!is_digit(s[0]))
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!is_digit(s[i]) && !(s[i] == '.' && is_digit(s[i + 1])))
			return false;
	return true;
}

static int check_target(struct diags *d, const struct docker_input *in, size_t i)
{
	const struct docker_target *t = &in->t[i];
	static const char label_help[] = "labels and toolchain names use letters, digits, '.', '_' and "
					 "'-', starting with a letter or digit (they become image tags)";
	int rc = 0;
	if (check_field(d, t, i, "label", t->label, LABEL_CHARS, label_help) < 0)
		rc = -1;
	else if (strlen(t->label) > 128)
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: the label of docker target %zu "
					 "is longer than an image tag may be (128 characters)", i + 1);
	if (check_field(d, t, i, "toolchain", t->toolchain, LABEL_CHARS, label_help) < 0)
		rc = -1;
	if (check_field(d, t, i, "image", t->image, DOCKER_IMAGE_CHARS,
			"images use letters, digits, '.', '_', ':', '/', '@', '+' and '-' only; check "
			"the toolchain's \"image\"") < 0)
		rc = -1;
	struct buf who = BUF_INIT;
	add_target_name(&who, t, i);
	if (!python_valid(t->python)) {
		struct buf shown = BUF_INIT;
		add_shown(&shown, t->python ? t->python : "");
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: \"python\" of %s is \"%s\", not a "
					 "Python version such as \"3.11\"", who.data, shown.data);
		buf_release(&shown);
	}
	const char *versions[2][2] = { { "cuda_version", t->cuda_version },
				       { "musa_version", t->musa_version } };
	for (size_t k = 0; k < 2; k++) {
		if (!versions[k][1] || version_chars_valid(versions[k][1]))
			continue;
		struct buf shown = BUF_INIT;
		add_shown(&shown, versions[k][1]);
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: \"%s\" of %s is \"%s\", not a "
					 "version such as \"13.0\"", versions[k][0], who.data, shown.data);
		buf_release(&shown);
	}
	if (rc == 0) {
		/* The release image reads requirements/${VARIANT}.txt: the file must be that one. */
		struct buf want = BUF_INIT;
		buf_addf(&want, "requirements/%s.txt", t->label);
		if (!t->requirements || strcmp(t->requirements, want.data)) {
			struct buf shown = BUF_INIT;
			add_shown(&shown, t->requirements ? t->requirements : "");
			rc = diag_error(d, NULL, "cannot write the Dockerfiles: \"requirements\" of %s is "
						 "\"%s\", not \"%s\"", who.data, shown.data, want.data);
			diag_hint(d, "Dockerfile.release installs requirements/${VARIANT}.txt of the "
				     "wheelhouse, VARIANT being the target's label");
			buf_release(&shown);
		}
		buf_release(&want);
		for (size_t k = 0; k < i && rc == 0; k++)
			if (in->t[k].label && !strcmp(in->t[k].label, t->label))
				rc = diag_error(d, NULL, "cannot write the Dockerfiles: two docker targets "
							 "are labelled \"%s\"", t->label);
	}
	buf_release(&who);
	return rc;
}

static int check_input(const struct docker_input *in, struct diags *d)
{
	int rc = 0;
	if (!in->n || !in->t)
		return diag_error(d, NULL, "cannot write the Dockerfiles: the wheelhouse has no "
					   "toolchain and Python to make images for");
	if (!in->set_name || !*in->set_name || first_bad(in->set_name, LABEL_CHARS) >= 0) {
		struct buf shown = BUF_INIT;
		add_shown(&shown, in->set_name ? in->set_name : "");
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: the set name \"%s\" has a "
					 "character other than letters, digits, '.', '_' and '-'", shown.data);
		buf_release(&shown);
	}
	if (in->source_date_epoch < EPOCH_MIN || in->source_date_epoch > EPOCH_MAX) {
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: SOURCE_DATE_EPOCH %lld is not "
					 "between 1980-01-01 (%lld) and 9999-12-31", in->source_date_epoch,
				EPOCH_MIN);
		diag_hint(d, "wheels are zip files, which cannot store a time before 1980");
	}
	if (in->syntax && (!*in->syntax || first_bad(in->syntax, DOCKER_IMAGE_CHARS) >= 0)) {
		struct buf shown = BUF_INIT;
		add_shown(&shown, in->syntax);
		rc = diag_error(d, NULL, "cannot write the Dockerfiles: the syntax image \"%s\" is "
					 "not an image reference", shown.data);
		diag_hint(d, "give an image your engine can pull, such as "
			     "registry.example.com/docker/dockerfile:1, or leave --dockerfile-syntax "
			     "out to use the engine's built-in frontend");
		buf_release(&shown);
	}
	for (size_t i = 0; i < in->n; i++)
		if (check_target(d, in, i) < 0)
			rc = -1;
	return rc;
}

/* ---- common text -------------------------------------------------------------------------- */

/* "cpu-py3.11 (the default), cuda-13.0-py3.11" */
/* The SOURCE_DATE_EPOCH the commands in the comments pass for target `i`. */
static long long target_epoch(const struct docker_input *in, size_t i)
{
	return in->t[i].epoch ? in->t[i].epoch : in->source_date_epoch;
}

static void add_labels(struct buf *b, const struct docker_input *in)
{
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "%s%s%s", i ? ", " : "", in->t[i].label, i ? "" : " (the default)");
}

/* `extra`: what else the value does in this image, one comment line ("" for none). */
static void add_epoch_help(struct buf *b, const struct docker_input *in, const char *extra)
{
	buf_addf(b, "# --build-arg SOURCE_DATE_EPOCH=<seconds>: the commands above pass the\n"
		    "#   wheelhouse's, %lld, also the default of the ARG every stage declares. BuildKit\n"
		    "#   (>= 0.11) stamps the image config and history with the value passed, and every\n"
		    "#   RUN sees it; add --output type=docker,rewrite-timestamp=true (BuildKit >= 0.13)\n"
		    "#   to clamp the times of the files in the layers too.\n%s%s%s",
		 in->source_date_epoch, *extra ? "#   " : "", extra, *extra ? "\n" : "");
}

static void add_stage_args(struct buf *b, const struct docker_input *in)
{
	buf_addf(b, "ARG SOURCE_DATE_EPOCH=%lld\n", in->source_date_epoch);
}

/*
 * The first lines of every Dockerfile: the parser directive when one was asked for, and
 * what the file is. Without a directive BuildKit uses its built-in frontend (Docker >=
 * 20.10, which has RUN --mount and COPY --chmod); with one it pulls that image first,
 * which an air-gapped site can do only from its own registry.
 */
static void add_title(struct buf *b, const struct docker_input *in, const char *file,
		      const char *what)
{
	if (in->syntax)
		buf_addf(b, "# syntax=%s\n", in->syntax);
	buf_addf(b, "# %s of the \"%s\" wheelhouse, written by `ptbuild collect`\n"
		    "# (write it again rather than edit it).\n"
		    "#\n"
		    "%s",
		 file, in->set_name, what);
}

/* ---- Dockerfile.base ---------------------------------------------------------------------- */

static void render_base(struct buf *b, const struct docker_input *in)
{
	const struct docker_target *t0 = &in->t[0];
	add_title(b, in, "Dockerfile.base",
		  "# The toolchain's base image (CUDA or MUSA runtime, or a Python image), the\n"
		  "# system libraries the wheels load (libgomp1; libnccl2 where the toolchain links\n"
		  "# the system NCCL), a venv at /opt/venv on PATH with the variant's Python, and an\n"
		  "# entrypoint that runs the command as USER_ID:GROUP_ID. Dockerfile.release and\n"
		  "# Dockerfile.dev build on it.\n"
		  "#\n"
		  "# Build it first, inside the wheelhouse, with BuildKit (Docker >= 23, or\n"
		  "# DOCKER_BUILDKIT=1 on Docker 20.10), once per variant you need:\n");
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "#   docker build -f Dockerfile.base --build-arg VARIANT=%s --build-arg "
			    "BASE_IMAGE=%s --build-arg SOURCE_DATE_EPOCH=%lld -t ptbuild-base:%s .\n",
			 in->t[i].label, in->t[i].image, target_epoch(in, i), in->t[i].label);
	buf_adds(b, "#\n# --build-arg VARIANT: ");
	add_labels(b, in);
	buf_addf(b, "\n# --build-arg BASE_IMAGE: that variant's image, as above\n"
		    "#   (default %s)\n",
		 t0->image);
	add_epoch_help(b, in, "");
	buf_adds(b, "#\n"
		    "# Run (this image or one built on it):\n"
		    "#   docker run --rm -it -e USER_ID=\"$(id -u)\" -e GROUP_ID=\"$(id -g)\" "
		    "-v \"$PWD\":/work -w /work --shm-size=8g IMAGE\n"
		    "# docker run --shm-size=8g ...: PyTorch DataLoader workers (num_workers > 0)\n"
		    "#   hand their batches over through shared memory in /dev/shm, and Docker's\n"
		    "#   default of 64 MB makes them die with \"bus error\" or \"No space left on\n"
		    "#   device\"; give it a few GB (or use --ipc=host). CUDA variants also need\n"
		    "#   --gpus all (NVIDIA Container Toolkit).\n"
		    "# USER_ID/GROUP_ID: files the command writes to mounted volumes belong to you,\n"
		    "#   not to root (docker-entrypoint.sh); this image runs as root without them.\n");
	buf_addf(b, "ARG BASE_IMAGE=%s\n", t0->image);
	buf_adds(b, "FROM ${BASE_IMAGE}\n");
	add_stage_args(b, in);
	buf_addf(b, "ARG VARIANT=%s\n", t0->label);
	buf_adds(b, "# The variant's Python and system libraries: packages already in the image stay\n"
		    "# as they are (NVIDIA's images hold their libnccl2 at the version of their\n"
		    "# CUDA), the others come from the image's apt sources (NVIDIA's cuda images\n"
		    "# carry NVIDIA's apt repository, which has libnccl2).\n");
	buf_adds(b, "RUN set -eu; \\\n"
		    "    case \"$VARIANT\" in \\\n");
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "        \"%s\") python=%s nccl=%d ;; \\\n", in->t[i].label, in->t[i].python,
			 in->t[i].system_nccl ? 1 : 0);
	buf_adds(b, "        *) echo \"Dockerfile.base: unknown VARIANT \\\"$VARIANT\\\"; "
		    "this wheelhouse has: ");
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "%s%s", i ? " " : "", in->t[i].label);
	buf_adds(b, "\" >&2; exit 1 ;; \\\n"
		    "    esac; \\\n"
		    "    if ! command -v apt-get >/dev/null 2>&1; then \\\n"
		    "        echo \"Dockerfile.base: the base image has no apt-get: use a Debian or "
		    "Ubuntu image (--build-arg BASE_IMAGE)\" >&2; exit 1; \\\n"
		    "    fi; \\\n"
		    "    want=\"libgomp1 passwd util-linux\"; \\\n"
		    "    if [ \"$nccl\" = 1 ]; then want=\"$want libnccl2\"; fi; \\\n"
		    "    if ! command -v \"python$python\" >/dev/null 2>&1; then \\\n"
		    "        want=\"$want python$python python$python-venv\"; \\\n"
		    "    elif ! \"python$python\" -c 'import ensurepip, venv' >/dev/null 2>&1; then \\\n"
		    "        want=\"$want python$python-venv\"; \\\n"
		    "    fi; \\\n"
		    "    need=; \\\n"
		    "    for p in $want; do dpkg -s \"$p\" >/dev/null 2>&1 || need=\"$need $p\"; done; \\\n"
		    "    if [ -n \"$need\" ]; then \\\n"
		    "        export DEBIAN_FRONTEND=noninteractive; \\\n"
		    "        apt-get update; \\\n"
		    "        missing=; \\\n"
		    "        for p in $need; do apt-cache show \"$p\" >/dev/null 2>&1 || "
		    "missing=\"$missing $p\"; done; \\\n"
		    "        if [ -n \"$missing\" ]; then \\\n"
		    "            echo \"Dockerfile.base: VARIANT $VARIANT needs$missing, which the "
		    "base image's apt sources do not have\" >&2; \\\n"
		    "            echo \"hint: python$python: use an image that has Python $python (the "
		    "toolchain's \\\"image\\\", or --build-arg BASE_IMAGE); libnccl2: NVIDIA's "
		    "nvidia/cuda images carry the apt repository that has it\" >&2; \\\n"
		    "            exit 1; \\\n"
		    "        fi; \\\n"
		    "        apt-get install -y --no-install-recommends $need; \\\n"
		    "        apt-get clean; \\\n"
		    "        rm -rf /var/lib/apt/lists/*; \\\n"
		    "    fi; \\\n"
		    "    \"python$python\" -m venv /opt/venv; \\\n"
		    "    got=$(/opt/venv/bin/python -c "
		    "'import sys; print(\"%d.%d\" % sys.version_info[:2])'); \\\n"
		    "    if [ \"$got\" != \"$python\" ]; then \\\n"
		    "        echo \"Dockerfile.base: the image's python$python is Python $got, but "
		    "VARIANT $VARIANT needs $python\" >&2; exit 1; \\\n"
		    "    fi; \\\n"
		    "    command -v setpriv >/dev/null 2>&1 || "
		    "{ echo \"Dockerfile.base: no setpriv (util-linux) in the image\" >&2; exit 1; }\n");
	buf_adds(b, "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH "
		    "PIP_DISABLE_PIP_VERSION_CHECK=1\n"
		    "COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n"
		    "ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]\n"
		    "CMD [\"python\"]\n");
}

/* ---- Dockerfile.release ------------------------------------------------------------------- */

/* The release's install line, as its RUN runs it and its comment shows it. */
/* Every line of requirements/<label>.txt pins a version and a sha256: nothing else installs. */
#define RELEASE_PIP                                                                            \
	"pip install --no-index --require-hashes --find-links /wheelhouse -r "                  \
	"/wheelhouse/requirements/${VARIANT}.txt --no-cache-dir"

/*
 * The optional step after the install: packages from a private index with a password. The
 * credentials come in as BuildKit secrets (netrc or a whole pip.conf), mounted for that RUN
 * only, never as ARG, ENV or --build-arg, which the history and the image config keep.
 * required=false (the built-in frontend of Docker 20.10 has it): without the secret the
 * mount is absent, and without EXTRA_PACKAGES the step does nothing. Its ARGs are declared
 * after the install so that they are not part of that layer's cache key.
 */
static void render_private_index(struct buf *b)
{
	buf_adds(b, "# Packages from a private index with a password (optional; nothing happens\n"
		    "# without EXTRA_PACKAGES). The credentials go in as a BuildKit secret, mounted\n"
		    "# for this RUN only, never as ARG, ENV or --build-arg (the image history and\n"
		    "# config keep those). With a netrc file\n"
		    "#   machine pypi.example.com login USER password PASSWORD\n"
		    "# add to the build command above\n"
		    "#   --secret id=netrc,src=FILE \\\n"
		    "#   --build-arg EXTRA_INDEX_URL=https://pypi.example.com/simple/ \\\n"
		    "#   --build-arg EXTRA_PACKAGES=\"internal-pkg==1.2 other-pkg==3.0\"\n"
		    "# or give a pip.conf whose index-url carries the credentials:\n"
		    "#   --secret id=pip.conf,src=FILE --build-arg EXTRA_PACKAGES=...\n"
		    "# EXTRA_INDEX_URL and EXTRA_PACKAGES are not secret: they stay in the history.\n"
		    "# The packages already installed stay at their versions (a constraint), their\n"
		    "# other requirements come from that index. The build needs a network that\n"
		    "# reaches the index (--network=host, or the default).\n"
		    "ARG EXTRA_INDEX_URL=\n"
		    "ARG EXTRA_PACKAGES=\n"
		    "RUN --mount=type=secret,id=netrc,required=false "
		    "--mount=type=secret,id=pip.conf,required=false set -eu; \\\n"
		    "    if [ -z \"$EXTRA_PACKAGES\" ]; then exit 0; fi; \\\n"
		    "    if [ -f /run/secrets/netrc ]; then export NETRC=/run/secrets/netrc; fi; \\\n"
		    "    if [ -f /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; "
		    "fi; \\\n"
		    "    if [ -n \"$EXTRA_INDEX_URL\" ]; then set -- --index-url \"$EXTRA_INDEX_URL\"; fi; "
		    "\\\n"
		    "    pip list --format=freeze >/tmp/ptbuild-installed.txt; \\\n"
		    "    pip install --no-cache-dir --no-input -c /tmp/ptbuild-installed.txt \"$@\" "
		    "$EXTRA_PACKAGES; "
		    "\\\n"
		    "    rm -f /tmp/ptbuild-installed.txt\n");
}

static void render_release(struct buf *b, const struct docker_input *in)
{
	const struct docker_target *t0 = &in->t[0];
	add_title(b, in, "Dockerfile.release",
		  "# ptbuild-base with the wheels of one variant installed offline, at the versions\n"
		  "# requirements/<variant>.txt pins, and nothing else of the wheelhouse.\n"
		  "#\n"
		  "# Build ptbuild-base:<variant> first (Dockerfile.base), then, inside the\n"
		  "# wheelhouse, with variants/<variant> as the build context:\n");
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "#   docker build -f Dockerfile.release --build-arg BASE=ptbuild-base:%s "
			    "--build-arg VARIANT=%s --build-arg SOURCE_DATE_EPOCH=%lld "
			    "-t ptbuild-release:%s variants/%s\n",
			 in->t[i].label, in->t[i].label, target_epoch(in, i), in->t[i].label,
			 in->t[i].label);
	buf_adds(b, "#\n# --build-arg VARIANT: ");
	add_labels(b, in);
	buf_addf(b, "\n# --build-arg BASE: ptbuild-base:<the same variant>\n"
		    "#   (default ptbuild-base:%s)\n",
		 t0->label);
	add_epoch_help(b, in, "With it set, pip writes .pyc files checked by hash, not by time.");
	buf_adds(b, "#\n"
		    "# The install is this one line of the RUN below; ptbuild's tests run it as it\n"
		    "# is in a fresh venv, /wheelhouse being the wheelhouse directory:\n"
		    "#   " RELEASE_PIP "\n"
		    "# The build context is bind-mounted at /wheelhouse for that step only, so no\n"
		    "# wheel is left in a layer. variants/<variant>/ holds links to exactly that\n"
		    "# variant's wheels and requirements: BuildKit keys the step by what it mounts,\n"
		    "# so it stays CACHED when the wheelhouse gains other variants' wheels (with the\n"
		    "# whole wheelhouse as the context, `.`, it builds too, but any new wheel\n"
		    "# rebuilds it). The context cannot be chosen in here: Docker 20.10's built-in\n"
		    "# frontend does not expand ${VARIANT} in a mount's source.\n"
		    "#\n"
		    "# Run (as uid " DEFAULT_UID " by default, as you with USER_ID/GROUP_ID; --shm-size "
		    "for\n"
		    "# DataLoader workers and --gpus all for CUDA variants, see Dockerfile.base):\n");
	buf_addf(b, "#   docker run --rm -it -e USER_ID=\"$(id -u)\" -e GROUP_ID=\"$(id -g)\" "
		    "--shm-size=8g ptbuild-release:%s\n",
		 t0->label);
	buf_addf(b, "ARG BASE=ptbuild-base:%s\n", t0->label);
	buf_adds(b, "FROM ${BASE}\n");
	add_stage_args(b, in);
	buf_addf(b, "ARG VARIANT=%s\n", t0->label);
	buf_adds(b, "RUN --mount=type=bind,target=/wheelhouse " RELEASE_PIP "\n");
	render_private_index(b);
	buf_adds(b, "ENV PTBUILD_DEFAULT_UID=" DEFAULT_UID " PTBUILD_DEFAULT_GID=" DEFAULT_UID "\n"
		    "CMD [\"python\"]\n");
}

/* ---- Dockerfile.dev ----------------------------------------------------------------------- */

#define PROJECT_COPY "COPY --chown=" DEFAULT_UID ":" DEFAULT_UID " "

static void render_dev(struct buf *b, const struct docker_input *in)
{
	const struct docker_target *t0 = &in->t[0];
	add_title(b, in, "Dockerfile.dev",
		  "# ptbuild-base with compilers, ccache, ptbuild itself and the project's recipes,\n"
		  "# toolchains, patches, lock and source trees (build/src/), for source builds\n"
		  "# inside the image.\n"
		  "#\n"
		  "# Everything it copies is in the wheelhouse, staged by `ptbuild collect`:\n"
		  "# dev/ptbuild/ (ptbuild's sources) and dev/project/ (the project), so one plain\n"
		  "# `docker build` builds it. Its apt step needs the base image's package mirror\n"
		  "# (--network=host); `ptbuild image dev` runs the same command.\n"
		  "# Build ptbuild-base:<variant> first (Dockerfile.base), then, inside the\n"
		  "# wheelhouse:\n");
	for (size_t i = 0; i < in->n; i++)
		buf_addf(b, "#   docker build -f Dockerfile.dev --network=host --build-arg "
			    "BASE=ptbuild-base:%s --build-arg SOURCE_DATE_EPOCH=%lld -t ptbuild-dev:%s .\n",
			 in->t[i].label, target_epoch(in, i), in->t[i].label);
	buf_adds(b, "#\n# --build-arg BASE: ptbuild-base:<variant>, one of ");
	add_labels(b, in);
	buf_adds(b, "\n");
	add_epoch_help(b, in, "Wheels built in the image get it as the time of their entries.");
	buf_addf(b, "#\n"
		    "# Run it with your project mounted, as you, so that build/ stays yours:\n"
		    "#   docker run --rm -it -e USER_ID=\"$(id -u)\" -e GROUP_ID=\"$(id -g)\" "
		    "-v \"$PWD\":/project -v ~/.cache/ptbuild:/cache --shm-size=8g ptbuild-dev:%s\n"
		    "# (ptbuild's cache, with ccache's files in its ccache/, is shared with the host.)\n"
		    "# Without USER_ID it runs as uid " DEFAULT_UID ", which owns the copy of the\n"
		    "# project in /project.\n",
		 t0->label);
	buf_addf(b, "ARG BASE=ptbuild-base:%s\n", t0->label);
	buf_adds(b, "FROM ${BASE}\n");
	add_stage_args(b, in);
	buf_adds(b, "RUN set -eu; \\\n"
		    "    export DEBIAN_FRONTEND=noninteractive; \\\n"
		    "    apt-get update; \\\n"
		    "    apt-get install -y --no-install-recommends build-essential cmake ninja-build "
		    "git ccache pkg-config \\\n"
		    "        libgit2-dev libcurl4-openssl-dev libcjson-dev libarchive-dev libssl-dev "
		    "zlib1g-dev; \\\n"
		    "    apt-get clean; \\\n"
		    "    rm -rf /var/lib/apt/lists/*\n");
	buf_adds(b, "# ccache's files: a BuildKit cache mount while building, a volume\n"
		    "# (-v DIR:/ccache) when running. ptbuild keeps them in <cache>/ccache (it sets\n"
		    "# CCACHE_DIR for its builds): the link makes that /ccache too.\n"
		    "ENV CCACHE_DIR=/ccache PTBUILD_CACHE=/cache PTBUILD_DEFAULT_UID=" DEFAULT_UID
		    " PTBUILD_DEFAULT_GID=" DEFAULT_UID "\n"
		    "RUN mkdir -p /ccache /cache && chmod 1777 /ccache /cache && "
		    "ln -sfn /ccache /cache/ccache\n");
	buf_adds(b, "# ptbuild from dev/ptbuild/: CMakeLists.txt and driver/, built without its\n"
		    "# tests (-DPTBUILD_TESTS=OFF).\n"
		    "COPY dev/ptbuild /opt/ptbuild/src/\n"
		    "RUN --mount=type=cache,target=/ccache set -eu; \\\n"
		    "    cmake -S /opt/ptbuild/src -B /tmp/ptbuild-build -G Ninja "
		    "-DCMAKE_BUILD_TYPE=RelWithDebInfo \\\n"
		    "        -DPTBUILD_TESTS=OFF -DCMAKE_C_COMPILER_LAUNCHER=ccache; \\\n"
		    "    cmake --build /tmp/ptbuild-build --target ptbuild; \\\n"
		    "    install -m 0755 /tmp/ptbuild-build/ptbuild /usr/local/bin/ptbuild; \\\n"
		    "    rm -rf /tmp/ptbuild-build\n");
	buf_adds(b, "# The project from dev/project/: recipes/ and toolchains/, patches/,\n"
		    "# ptbuild.lock and mirrors.json where the project has them, and the source\n"
		    "# trees of build/src/ with their pin markers.\n"
		    "WORKDIR /project\n"
		    PROJECT_COPY "dev/project /project/\n");
	buf_addf(b, "# To build the set while building the image: the sources are in build/src/\n"
		    "# above; the sdists and wheels come from ptbuild's cache, given as a bind mount\n"
		    "# of a directory of the build context (copy or link it into the wheelhouse as\n"
		    "# cache/). The wheels stay in /cache/out/.\n"
		    "# RUN --mount=type=cache,target=/ccache \\\n"
		    "#     --mount=type=bind,source=cache/dist,target=/cache/dist \\\n"
		    "#     ptbuild build --frozen --set %s\n"
		    "CMD [\"bash\"]\n",
		 in->set_name);
}

/* ---- docker-entrypoint.sh ----------------------------------------------------------------- */

static const char entrypoint_body[] =
	"#\n"
	"# Runs the command as the user USER_ID:GROUP_ID, so that the files it writes to\n"
	"# mounted volumes belong to that user and not to root:\n"
	"#   docker run -e USER_ID=\"$(id -u)\" -e GROUP_ID=\"$(id -g)\" -v \"$PWD\":/work IMAGE\n"
	"# Without USER_ID it uses PTBUILD_DEFAULT_UID and PTBUILD_DEFAULT_GID (" DEFAULT_UID "\n"
	"# in the release and dev images; unset in the base image, which then runs as\n"
	"# root). USER_ID=0, or docker run --user, runs the command as it is. A group and\n"
	"# a user with those ids are made at start unless they exist (an existing one, such\n"
	"# as \"ubuntu\" with uid 1000, is used as it is), with a home directory; then\n"
	"# setpriv (util-linux, in every Debian and Ubuntu image) switches to them and runs\n"
	"# the command, as gosu would.\n"
	"set -eu\n"
	"\n"
	"die() {\n"
	"\tprintf 'docker-entrypoint.sh: %s\\n' \"$*\" >&2\n"
	"\texit 1\n"
	"}\n"
	"\n"
	"if [ \"$#\" -eq 0 ]; then\n"
	"\tset -- sh\n"
	"fi\n"
	"\n"
	"if [ -n \"${USER_ID:-}\" ]; then\n"
	"\tuid=$USER_ID\n"
	"\tgid=${GROUP_ID:-$USER_ID}\n"
	"else\n"
	"\tuid=${PTBUILD_DEFAULT_UID:-}\n"
	"\tgid=${GROUP_ID:-${PTBUILD_DEFAULT_GID:-$uid}}\n"
	"fi\n"
	"if [ \"$(id -u)\" != 0 ] || [ -z \"$uid\" ] || [ \"$uid\" = 0 ]; then\n"
	"\texec \"$@\"\n"
	"fi\n"
	"case $uid in\n"
	"*[!0-9]*) die \"USER_ID must be a number, not \\\"$uid\\\"\" ;;\n"
	"esac\n"
	"case $gid in\n"
	"'' | *[!0-9]*) die \"GROUP_ID must be a number, not \\\"$gid\\\"\" ;;\n"
	"esac\n"
	"\n"
	"group=$(getent group \"$gid\" | cut -d: -f1)\n"
	"if [ -z \"$group\" ]; then\n"
	"\tgroup=ptbuild\n"
	"\tif getent group \"$group\" >/dev/null; then\n"
	"\t\tgroup=ptbuild$gid\n"
	"\tfi\n"
	"\tif command -v groupadd >/dev/null 2>&1; then\n"
	"\t\tgroupadd -g \"$gid\" \"$group\"\n"
	"\telse\n"
	"\t\taddgroup -g \"$gid\" \"$group\"\n"
	"\tfi\n"
	"fi\n"
	"user=$(getent passwd \"$uid\" | cut -d: -f1)\n"
	"if [ -z \"$user\" ]; then\n"
	"\tuser=ptbuild\n"
	"\tif getent passwd \"$user\" >/dev/null; then\n"
	"\t\tuser=ptbuild$uid\n"
	"\tfi\n"
	"\tif command -v useradd >/dev/null 2>&1; then\n"
	"\t\t# -l: no lastlog entry, which makes a huge sparse file for a large uid\n"
	"\t\tuseradd -l -M -u \"$uid\" -g \"$gid\" -d \"/home/$user\" -s /bin/sh \"$user\"\n"
	"\telse\n"
	"\t\tadduser -D -H -u \"$uid\" -G \"$group\" -h \"/home/$user\" -s /bin/sh \"$user\"\n"
	"\tfi\n"
	"fi\n"
	"home=$(getent passwd \"$uid\" | cut -d: -f6)\n"
	"if [ -z \"$home\" ] || [ \"$home\" = / ] || [ \"$home\" = /nonexistent ]; then\n"
	"\thome=/home/$user\n"
	"fi\n"
	"if [ ! -d \"$home\" ]; then\n"
	"\tmkdir -p \"$home\"\n"
	"\tchown \"$uid:$gid\" \"$home\"\n"
	"fi\n"
	"export HOME=\"$home\" USER=\"$user\" LOGNAME=\"$user\"\n"
	"\n"
	"if command -v setpriv >/dev/null 2>&1; then\n"
	"\texec setpriv --reuid=\"$uid\" --regid=\"$gid\" --init-groups -- \"$@\"\n"
	"fi\n"
	"die \"setpriv (util-linux) is not in this image: cannot run as $uid:$gid\"\n";

static void render_entrypoint(struct buf *b, const struct docker_input *in)
{
	buf_adds(b, "#!/bin/sh\n");
	buf_addf(b, "# docker-entrypoint.sh of the \"%s\" wheelhouse, written by `ptbuild collect`.\n",
		 in->set_name);
	buf_adds(b, entrypoint_body);
}

/* ---- writing ------------------------------------------------------------------------------ */

int dockerfiles_write(const char *dir, const struct docker_input *in, struct diags *d)
{
	if (check_input(in, d) < 0)
		return -1;
	static const char *const names[] = { "Dockerfile.base", "Dockerfile.dev",
					     "Dockerfile.release", "docker-entrypoint.sh" };
	void (*const render[])(struct buf *, const struct docker_input *) = {
		render_base, render_dev, render_release, render_entrypoint
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && rc == 0; i++) {
		struct buf text = BUF_INIT;
		render[i](&text, in);
		char *path = path_join(dir, names[i]);
		if (write_file_atomic(path, text.data, text.len) < 0)
			rc = diag_error(d, NULL, "cannot write \"%s\": %s", path, strerror(errno));
		free(path);
		buf_release(&text);
	}
	return rc;
}
