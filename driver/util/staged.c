#include "util/staged.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/os.h"

int staged_dir_begin(struct staged_dir *s, const char *dest, const char *what, struct diags *d)
{
	s->final = absolute_path(dest);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp-%ld", s->final, (long)getpid());
	s->tmp = buf_detach(&tmp);
	if (path_exists(s->final))
		return diag_error(d, NULL, "cannot write the %s into %s: it exists", what, s->final);
	remove_stale_temps(s->final);
	if (make_dirs(s->tmp, 0755) < 0)
		return diag_error(d, NULL, "cannot create %s: %s", s->tmp, strerror(errno));
	return 0;
}

int staged_dir_commit(struct staged_dir *s, const char *what, struct diags *d)
{
	int rc = 0, saved = 0;
	if (rename(s->tmp, s->final) < 0) {
		saved = errno;
		rc = diag_error(d, NULL, "cannot move the %s into %s: %s", what, s->final,
				strerror(saved));
	} else if (fsync_parent(s->final) < 0) {
		saved = errno; /* in place, but a crash of the machine could still lose it */
		rc = diag_error(d, NULL, "cannot flush %s to disk: %s", s->final, strerror(saved));
	}
	staged_dir_abort(s);
	errno = saved;
	return rc;
}

void staged_dir_abort(struct staged_dir *s)
{
	if (s->tmp)
		remove_tree(s->tmp);
	free(s->tmp);
	free(s->final);
	s->tmp = s->final = NULL;
}
