#include "cli/answer.h"

#include <stdio.h>

void write_diags_json(struct jw *w, const struct diags *d)
{
	static const char *const levels[] = { "error", "warning", "note" };
	jw_key(w, "diagnostics");
	jw_array_begin(w);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		jw_object_begin(w);
		jw_kstring(w, "level", levels[g->level]);
		jw_kstring(w, "file", g->pos.file);
		jw_kint(w, "line", g->pos.line);
		jw_kint(w, "col", g->pos.col);
		jw_kstring(w, "message", g->msg);
		jw_kstring(w, "hint", g->hint);
		jw_object_end(w);
	}
	jw_array_end(w);
}

void json_result_begin(struct jw *w, struct buf *out, bool ok)
{
	jw_init(w, out, true);
	jw_object_begin(w);
	jw_kbool(w, "ok", ok);
}

void json_result_end(struct cli *cli, struct jw *w, struct buf *out)
{
	write_diags_json(w, &cli->diags);
	jw_object_end(w);
	fputs(out->data, cli->out);
	buf_release(out);
	cli->answered = true;
}

/* With --json a failed command still answers in JSON: {"ok": false, "diagnostics": [...]}. */
static void print_failure_json(struct cli *cli)
{
	struct buf out = BUF_INIT;
	struct jw w;
	json_result_begin(&w, &out, false);
	json_result_end(cli, &w, &out);
}

int cli_end(struct cli *cli, int code)
{
	if (cli->json && code != EXIT_OK && !cli->answered)
		print_failure_json(cli);
	return cli_finish(cli, code);
}
