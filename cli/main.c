/* cli/main.c — `mailvet`: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
        {"parse", mv_cli_parse, "parse Authentication-Results fields (RFC 8601)"},
        {"spf", mv_cli_spf, "evaluate SPF (RFC 7208) for a client and sender"},
        {"verify", mv_cli_verify,
         "SPF, DKIM, DMARC, ARC, iprev of messages: Authentication-Results"},
        {"sign", mv_cli_sign, "DKIM-sign a message (rsa-sha256, ed25519-sha256)"},
        {"keygen", mv_cli_keygen, "generate a DKIM key and the TXT record to publish"},
        {"testkey", mv_cli_testkey, "check a published DKIM key record against its private key"},
        {"seal", mv_cli_seal, "add ARC sets to a message (RFC 8617), or validate its chain"},
        {"discover", mv_cli_discover, "ask a server for its AUTHSERV capability (authserv-id)"},
        {"report", mv_cli_report, "DMARC aggregate reports: store, send, import, show"},
        {"trace", mv_cli_trace, "submission trace records: who sent a message, when, from where"},
        {"trust", mv_cli_trust, "the Authentication-Results results a mail reader may act on"},
        {"passwd", mv_cli_passwd, "hash a password for the submission password file"},
        {"stats", mv_cli_stats, "mailvetd's counters (its /metrics) as a table"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mailvet COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\noptions:\n  -h, --help     print this help and exit\n"
	           "  -V, --version  print the version and exit\n"
	           "\n'mailvet COMMAND --help' describes a command; see also mailvet(1).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("mailvet %s\n", MV_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mailvet: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
