/* cli/dns_opts.c — placeholder until lib/dns lands. */
#include <stdio.h>

#include "commands.h"

int mv_cli_dns_open(const struct mv_cli_dns_opts *o, struct mv_resolver **out)
{
	(void)o;
	*out = NULL;
	fprintf(stderr, "mailvet: DNS not implemented yet\n");
	return 2;
}
