/* cli/cmd_spf.c — placeholder until the module lands. */
#include <stdio.h>

#include "commands.h"

int mv_cli_spf(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mailvet spf: not implemented yet\n");
	return 2;
}
