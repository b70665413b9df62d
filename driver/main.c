/* ptbuild: parses nothing itself; everything is in the library behind ptbuild_run(). */
#include <signal.h>
#include <stdio.h>

#include "build/scheduler.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	int code = ptbuild_run(argc, argv, stdout, stderr);
	int sig = sched_stop_signal();
	if (code == EXIT_INTERRUPTED && sig) {
		/* Everything is stopped and cleaned up: die of the signal now, so that a parent
		 * shell or CI runner sees what stopped ptbuild (in-process callers get 130). */
		fflush(NULL);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return code;
}
