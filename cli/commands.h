/* cli/commands.h — the subcommands of `mailvet` and what they share. */
#ifndef MAILVET_CLI_COMMANDS_H
#define MAILVET_CLI_COMMANDS_H

#include <time.h>

#include <mailvet/dkim.h>
#include <mailvet/dns.h>

/*
 * Each subcommand gets argv with argv[0] = its own name and returns the
 * process exit status: 0 success, 1 a negative answer or malformed input
 * (as the command's --help says), 2 a usage or system error.
 */
int mv_cli_parse(int argc, char **argv);  /* cli/cmd_parse.c */
int mv_cli_spf(int argc, char **argv);    /* cli/cmd_spf.c */
int mv_cli_verify(int argc, char **argv); /* cli/cmd_verify.c */
int mv_cli_sign(int argc, char **argv);   /* cli/cmd_sign.c */
int mv_cli_keygen(int argc, char **argv); /* cli/cmd_keygen.c */
int mv_cli_seal(int argc, char **argv);   /* cli/cmd_seal.c */
int mv_cli_report(int argc, char **argv); /* cli/cmd_report.c */
int mv_cli_trace(int argc, char **argv);  /* cli/cmd_trace.c: 0 found, 1 none, 2 usage, 3 store */
int mv_cli_passwd(int argc, char **argv); /* cli/cmd_passwd.c */
int mv_cli_stats(int argc, char **argv);  /* cli/cmd_stats.c */
/* Exit status 0 ok, 1 a problem with the record, 2 usage, 3 DNS failure. */
int mv_cli_testkey(int argc, char **argv); /* cli/cmd_testkey.c */

/*
 * `mailvet verify --record-to STORE` (cli/record_to.c): open the store
 * (0, or 2 after printing why), and add the DMARC record of one verified
 * message when it has one (0, or 2 after printing the store's error).
 */
struct mv_store;
struct mv_verify;
int mv_cli_record_open(const char *location, struct mv_store **out);
int mv_cli_record(struct mv_store *s, const struct mv_verify *v, time_t now);

/* AUTHSERV for mail readers (issue 14): cli/cmd_discover.c, cli/cmd_trust.c */
int mv_cli_discover(int argc, char **argv);
int mv_cli_trust(int argc, char **argv);

/*
 * The DNS options every command that queries DNS takes (cli/dns_opts.c):
 * --zone FILE | --resolver ADDR[@PORT], --record-dns FILE, --dns-timeout MS.
 * Without --zone and --resolver the system's resolvers are used.
 */
struct mv_cli_dns_opts {
	const char *zone;
	const char *resolver;
	const char *record;
	unsigned timeout_ms;
};

/*
 * Open the resolver the options select. Returns 0 and sets *out (free with
 * mv_dns_free()), or prints the reason to stderr and returns 2.
 */
int mv_cli_dns_open(const struct mv_cli_dns_opts *o, struct mv_resolver **out);

/*
 * A decimal integer option argument in [min, max]: 0 and *v set, or -1
 * (trailing garbage, out of range, empty) with *v unchanged. Prints nothing.
 */
int mv_cli_number(const char *s, long long min, long long max, long long *v);

/*
 * Load a PEM signing key (RSA or Ed25519) for DKIM or ARC: 0 and *key set
 * (free with mv_dkim_signkey_free()), or 2 after printing the reason, prefixed
 * with "mailvet CMD: ", to stderr.
 */
int mv_cli_load_signkey(const char *cmd, const char *path, struct mv_dkim_signkey **key);

/* Why mv_read_file() failed: errno's text for MV_EIO ("No such file or directory"), else st's. */
const char *mv_cli_read_error(enum mv_status st);

/* 1 when s is an IPv4 or IPv6 address as --ip takes it, else 0. */
int mv_cli_ip_valid(const char *s);

/*
 * The authserv-id when --authserv-id is not given, the same for every
 * command: this host's name ("localhost" when it has none). Static storage.
 */
const char *mv_cli_authserv_id(void);

#endif
