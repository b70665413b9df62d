#include "wheels/wheelhouse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/os.h"
#include "util/strutil.h"
#include "util/xalloc.h"

void house_wheel_release(struct house_wheel *w)
{
	free(w->file);
	free(w->project);
	free(w->version);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct house_wheel *)a)->file, ((const struct house_wheel *)b)->file);
}

int house_sort(struct house_wheel *v, size_t n, struct diags *d)
{
	qsort(v, n, sizeof(*v), cmp_file);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i - 1].file, v[i].file) && strcmp(v[i - 1].sha256, v[i].sha256))
			return diag_error(d, NULL, "two different wheels are named %s (sha256 %.16s... "
						   "and %.16s...)", v[i].file, v[i - 1].sha256,
					  v[i].sha256);
	return 0;
}

/* A file name in an href: everything but unreserved characters percent-encoded ("+" too,
 * as download.pytorch.org writes "torch-2.1.2%2Bcpu-..."). */
static void href_escape(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			buf_addch(b, (char)*p);
		else
			buf_addf(b, "%%%02X", *p);
	}
}

static void html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		default: buf_addch(b, *s);
		}
	}
}

static int write_text(const char *path, const struct buf *b, struct diags *d)
{
	if (write_file_atomic(path, b->data, b->len) < 0)
		return diag_error(d, NULL, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

int house_write_index(const char *dir, const struct house_wheel *v, size_t n, struct diags *d)
{
	char *simple = path_join(dir, "simple");
	int rc = 0;
	if (make_dirs(simple, 0755) < 0) {
		rc = diag_error(d, NULL, "cannot create %s: %s", simple, strerror(errno));
		goto out;
	}
	/* projects, sorted, each once */
	const char **projects = xcalloc(n + 1, sizeof(char *));
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < np && !seen; k++)
			seen = !strcmp(projects[k], v[i].project);
		if (!seen)
			projects[np++] = v[i].project;
	}
	qsort(projects, np, sizeof(char *), strv_cmp);
	struct buf root = BUF_INIT;
	buf_adds(&root, "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" "
			"content=\"1.0\"><title>Simple index</title></head>\n<body>\n");
	for (size_t k = 0; k < np && rc == 0; k++) {
		buf_adds(&root, "<a href=\"");
		href_escape(&root, projects[k]);
		buf_adds(&root, "/\">");
		html_escape(&root, projects[k]);
		buf_adds(&root, "</a>\n");
		struct buf page = BUF_INIT;
		buf_adds(&page, "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" "
				"content=\"1.0\"><title>Links for ");
		html_escape(&page, projects[k]);
		buf_adds(&page, "</title></head>\n<body>\n<h1>Links for ");
		html_escape(&page, projects[k]);
		buf_adds(&page, "</h1>\n");
		for (size_t i = 0; i < n; i++) {
			if (strcmp(v[i].project, projects[k]) || (i && !strcmp(v[i - 1].file, v[i].file)))
				continue;
			buf_adds(&page, "<a href=\"../../");
			href_escape(&page, v[i].file);
			buf_addf(&page, "#sha256=%s\">", v[i].sha256);
			html_escape(&page, v[i].file);
			buf_adds(&page, "</a><br>\n");
		}
		buf_adds(&page, "</body>\n</html>\n");
		struct buf pdir = BUF_INIT;
		buf_addf(&pdir, "%s/%s", simple, projects[k]);
		char *index = path_join(pdir.data, "index.html");
		if (make_dirs(pdir.data, 0755) < 0)
			rc = diag_error(d, NULL, "cannot create %s: %s", pdir.data, strerror(errno));
		else
			rc = write_text(index, &page, d);
		free(index);
		buf_release(&pdir);
		buf_release(&page);
	}
	buf_adds(&root, "</body>\n</html>\n");
	char *root_index = path_join(simple, "index.html");
	if (rc == 0)
		rc = write_text(root_index, &root, d);
	free(root_index);
	buf_release(&root);
	free(projects);
	struct buf sums = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(v[i - 1].file, v[i].file))
			buf_addf(&sums, "%s  %s\n", v[i].sha256, v[i].file);
	char *sums_path = path_join(dir, "SHA256SUMS");
	if (rc == 0)
		rc = write_text(sums_path, &sums, d);
	free(sums_path);
	buf_release(&sums);
out:
	free(simple);
	return rc;
}
