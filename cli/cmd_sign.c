/* cli/cmd_sign.c — `mailvet sign`: DKIM-sign a message with one or more keys. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/dkim.h>

#include "commands.h"

#define MAX_KEYS 8
#define MAX_MESSAGE ((size_t)256 << 20)

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
	           "over-signed; --now (t=) to the current time; --expire sets x= = t= + SECONDS;\n"
	           "--body-length sets l=.\n");
}

/* Sign the message in path and write it out; returns the exit status. */
static int sign_file(const struct mv_dkim_sign_opts *o, struct mv_dkim_signkey *const *keys,
                     const char *const *selectors, size_t n, const char *path)
{
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	char *data = NULL, err[160];
	const char *body;
	size_t len = 0, blen, off;
	enum mv_status st;
	int rc = 2;

	if ((st = mv_read_file(path, MAX_MESSAGE, &data, &len)) != MV_OK) {
		fprintf(stderr, "mailvet sign: %s: %s\n", path, mv_status_str(st));
		goto out;
	}
	if ((st = mv_msg_parse(data, len, NULL, &m, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet sign: %s: %s\n", path, err);
		rc = 1;
		goto out;
	}
	mv_msg_body(m, &body, &blen, &off);
	st = mv_dkim_sign(o, (const struct mv_dkim_signkey *const *)keys, selectors, n, m, body,
	                  blen, &out);
	if (st != MV_OK) {
		fprintf(stderr, "mailvet sign: %s: %s\n", path, mv_status_str(st));
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "mailvet sign: write error\n");
		goto out;
	}
	rc = 0;
out:
	mv_buf_free(&out);
	mv_msg_free(m);
	free(data);
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
	struct mv_dkim_sign_opts o;
	const char *alg = NULL, *selectors[MAX_KEYS] = {NULL};
	size_t nkeys = 0, nsel = 0, k;
	long long num;
	int c, rc = 2;

	mv_dkim_sign_opts_default(&o);
	o.now = (int64_t)time(NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.domain = optarg;
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
			*(c == 't' ? &o.now : c == 'x' ? &o.expire : &o.body_limit) = num;
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
	if (o.domain == NULL || nsel == 0 || nkeys == 0 || argc - optind > 1 ||
	    (nsel > 1 && nsel != nkeys)) {
		usage(stderr);
		goto out;
	}
	for (k = nsel; k < nkeys; k++) /* one selector for one key */
		selectors[k] = selectors[0];
	for (k = 0; alg != NULL && k < nkeys; k++) {
		if (strcmp(alg, mv_dkim_alg_str(mv_dkim_signkey_alg(keys[k]))) != 0) {
			fprintf(stderr, "mailvet sign: key %zu is not an %s key\n", k + 1, alg);
			goto out;
		}
	}
	rc = sign_file(&o, keys, selectors, nkeys, optind < argc ? argv[optind] : "-");
out:
	for (k = 0; k < nkeys; k++)
		mv_dkim_signkey_free(keys[k]);
	return rc;
}
