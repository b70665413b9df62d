/*
 * What a build shows while it runs: on a terminal a live line per running job (recipe,
 * variant, phase, elapsed); in a log (not a terminal) plain lines when jobs start and end
 * and every minute for long ones; with --json one JSON object per line on stdout. A failed
 * job prints the last 40 lines of its log and the log's path. The summary table at the
 * end: variant, status, time, ccache hit rate, wheel size.
 */
#ifndef PTBUILD_UI_H
#define PTBUILD_UI_H

#include <stdbool.h>
#include <stdio.h>

#include "build/build.h"
#include "cli/cli.h"

enum ui_mode { UI_PLAIN, UI_TTY, UI_JSON };

struct build_ui {
	enum ui_mode mode;
	bool quiet;
	FILE *out, *err;  /* borrowed */
	int drawn;        /* status lines on the terminal now */
	double started;   /* monotonic seconds */
	double last_note; /* plain mode: last "still running" lines */
	const char *base; /* project directory: paths are shown relative to it */
};

void ui_init(struct build_ui *u, const struct cli *cli, const char *base);
void ui_started(struct build_ui *u, const struct build *b, size_t item);
void ui_phase(struct build_ui *u, const struct build *b, size_t item);
void ui_finished(struct build_ui *u, const struct build *b, size_t item);
void ui_tick(struct build_ui *u, const struct build *b);
/* The callbacks build_run() reports through, for this UI (borrowed while the build runs). */
struct build_events ui_build_events(struct build_ui *u);
/* Clears the status lines before other output goes to the terminal. */
void ui_clear(struct build_ui *u);
/* The table (or the JSON result) at the end. */
void ui_summary(struct build_ui *u, const struct build *b, int code, const struct diags *d);

#endif
