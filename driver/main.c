/* ptbuild: parses nothing itself; everything is in the library behind ptbuild_run(). */
#include <stdio.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	return ptbuild_run(argc, argv, stdout, stderr);
}
