#include "util/fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/settings.h"

void fault_point(const char *name)
{
	const char *want = setting_fault();
	if (!want)
		return;
	size_t len = strlen(name);
	if (strncmp(want, name, len) || (want[len] && want[len] != ':'))
		return;
	static long reached; /* one point is armed at a time: one count */
	long nth = want[len] == ':' ? strtol(want + len + 1, NULL, 10) : 1;
	if (++reached >= (nth > 0 ? nth : 1))
		kill(getpid(), SIGKILL);
}
