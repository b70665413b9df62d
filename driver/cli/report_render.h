/* The renderers of `ptbuild report`: GitHub Markdown, one self-contained HTML page, JSON. */
#ifndef PTBUILD_REPORT_RENDER_H
#define PTBUILD_REPORT_RENDER_H

#include "build/report.h"
#include "util/buf.h"
#include "util/json.h"

/* A matrix, a detail table and the failures, appended to `out`. */
void report_render_md(const struct report *r, struct buf *out);
/* The same as one HTML page (inline style, no scripts), appended to `out`. */
void report_render_html(const struct report *r, struct buf *out);
/* The "set" and "variants" members of the JSON result, written into the open object of `w`. */
void report_render_json(const struct report *r, struct jw *w);

#endif
