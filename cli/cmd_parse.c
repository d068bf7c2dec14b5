/* cli/cmd_parse.c — placeholder until the module lands. */
#include <stdio.h>

#include "commands.h"

int mv_cli_parse(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mailvet parse: not implemented yet\n");
	return 2;
}
