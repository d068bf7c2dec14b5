/* cli/cmd_sign.c — `mailvet sign`: DKIM-sign a message with one or more keys. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/dkim.h>
#include <mailvet/outbound.h>

#include "commands.h"
#include "msgfile.h"

#define MAX_KEYS 8

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvet sign --domain D --selector S --key FILE\n"
	           "                    [--selector S --key FILE ...]\n"
	           "                    [--algorithm rsa-sha256|ed25519-sha256] [--canon H/B]\n"
	           "                    [--headers from:to:...] [--identity I] [--now T]\n"
	           "                    [--expire SECONDS] [--body-length N] [FILE]\n"
	           "Writes the message (FILE or standard input) to standard output with one\n"
	           "DKIM-Signature per key prepended. Several keys take one --selector each (in\n"
	           "order) or share one. Keys are PEM (RSA or Ed25519 PKCS#8); the\n"
	           "algorithm follows each key unless --algorithm is given (it must match).\n"
	           "--canon defaults to relaxed/relaxed; --headers to the usual list with From\n"
	           "over-signed (a list must name From: RFC 6376 §5.4); --now (t=) to the\n"
	           "current time; --expire sets x= = t= + SECONDS; --body-length sets l= (at\n"
	           "most the canonical body length: l= past the body fails every verifier).\n"
	           "The message is read in pieces, never held whole (standard input that is\n"
	           "not a file is copied to a temporary file to be written out again).\n");
}

/* Read the message in chunks into o (and the spool); 0, 1 (bad message) or 2. */
static int hash_message(struct mv_outbound *o, const char *path, FILE *in, FILE *spool)
{
	char buf[MV_CLI_CHUNK];
	size_t n;
	enum mv_status st;

	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		if (spool != NULL && fwrite(buf, 1, n, spool) != n) {
			fprintf(stderr, "mailvet sign: temporary file: %s\n", strerror(errno));
			return 2;
		}
		if ((st = mv_outbound_data(o, buf, n, NULL)) != MV_OK) {
			fprintf(stderr, "mailvet sign: %s: %s\n", path, mv_outbound_why(o));
			return st == MV_ENOMEM ? 2 : 1;
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "mailvet sign: %s: read error\n", path);
		return 2;
	}
	return 0;
}

/* Sign the message in path and write it out; returns the exit status. */
static int sign_file(const struct mv_outbound_config *cfg, int64_t now, const char *path)
{
	const struct mv_outbound_result *res;
	struct mv_outbound *o = NULL;
	FILE *in = NULL, *spool = NULL;
	char err[200];
	enum mv_status st;
	int rc;

	if ((rc = mv_cli_open_message("sign", path, &in, &spool)) != 0)
		goto out;
	rc = 2;
	if ((st = mv_outbound_new(cfg, &o, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet sign: %s\n", st == MV_EINVAL ? err : mv_status_str(st));
		goto out;
	}
	if ((rc = hash_message(o, path, in, spool)) != 0)
		goto out;
	rc = 2;
	if ((st = mv_outbound_end(o, now, &res)) != MV_OK) {
		fprintf(stderr, "mailvet sign: %s: %s\n", path,
		        mv_outbound_why(o)[0] ? mv_outbound_why(o) : mv_status_str(st));
		rc = st == MV_ESYNTAX || st == MV_ETOOBIG ? 1 : 2;
		goto out;
	}
	if (res->dkim != MV_OUTBOUND_DONE) {
		fprintf(stderr, "mailvet sign: %s: not signed: %s\n", path, res->dkim_reason);
		goto out;
	}
	rc = mv_cli_write_message("sign", res->fields, res->fields_len, spool ? spool : in);
out:
	mv_outbound_free(o);
	if (spool != NULL)
		fclose(spool);
	if (in != NULL && in != stdin)
		fclose(in);
	return rc;
}

int mv_cli_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"domain", required_argument, NULL, 'd'},
	        {"selector", required_argument, NULL, 's'},
	        {"key", required_argument, NULL, 'k'},
	        {"algorithm", required_argument, NULL, 'a'},
	        {"canon", required_argument, NULL, 'c'},
	        {"headers", required_argument, NULL, 'H'},
	        {"identity", required_argument, NULL, 'i'},
	        {"now", required_argument, NULL, 't'},
	        {"expire", required_argument, NULL, 'x'},
	        {"body-length", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct mv_dkim_signkey *keys[MAX_KEYS] = {NULL};
	struct mv_outbound_key table[MAX_KEYS];
	struct mv_outbound_config o;
	const char *alg = NULL, *selectors[MAX_KEYS] = {NULL};
	size_t nkeys = 0, nsel = 0, k;
	int64_t now = (int64_t)time(NULL);
	long long num;
	char err[200];
	int c, rc = 2;

	mv_outbound_config_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dkim_domain = optarg;
			break;
		case 's':
			if (nsel == MAX_KEYS) {
				fprintf(stderr, "mailvet sign: at most %d selectors\n", MAX_KEYS);
				goto out;
			}
			selectors[nsel++] = optarg;
			break;
		case 'k':
			if (nkeys == MAX_KEYS) {
				fprintf(stderr, "mailvet sign: at most %d keys\n", MAX_KEYS);
				goto out;
			}
			if ((rc = mv_cli_load_signkey("sign", optarg, &keys[nkeys])) != 0)
				goto out;
			rc = 2;
			nkeys++;
			break;
		case 'a':
			alg = optarg;
			break;
		case 'c':
			if (mv_dkim_canon_parse(optarg, strlen(optarg), &o.hcanon, &o.bcanon) !=
			    MV_OK) {
				fprintf(stderr, "mailvet sign: bad --canon %s\n", optarg);
				goto out;
			}
			break;
		case 'H':
			o.headers = optarg;
			break;
		case 'i':
			o.identity = optarg;
			break;
		case 't':
		case 'x':
		case 'l':
			if (mv_cli_number(optarg, 0, INT64_MAX, &num) != 0) {
				fprintf(stderr, "mailvet sign: bad number %s\n", optarg);
				goto out;
			}
			*(c == 't' ? &now : c == 'x' ? &o.expire : &o.body_limit) = num;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (o.dkim_domain == NULL || nsel == 0 || nkeys == 0 || argc - optind > 1 ||
	    (nsel > 1 && nsel != nkeys)) {
		usage(stderr);
		goto out;
	}
	for (k = 0; k < nkeys; k++) { /* one selector each, or one for all */
		table[k].domain = o.dkim_domain;
		table[k].selector = selectors[k < nsel ? k : 0];
		table[k].key = keys[k];
	}
	o.dkim_keys = table;
	o.ndkim_keys = nkeys;
	if (mv_outbound_config_check(&o, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet sign: %s\n", err);
		goto out;
	}
	for (k = 0; alg != NULL && k < nkeys; k++) {
		if (strcmp(alg, mv_dkim_alg_str(mv_dkim_signkey_alg(keys[k]))) != 0) {
			fprintf(stderr, "mailvet sign: key %zu is not an %s key\n", k + 1, alg);
			goto out;
		}
	}
	rc = sign_file(&o, now, optind < argc ? argv[optind] : "-");
out:
	for (k = 0; k < nkeys; k++)
		mv_dkim_signkey_free(keys[k]);
	return rc;
}
