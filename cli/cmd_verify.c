/* cli/cmd_verify.c — `mailvet verify`: check the DKIM signatures of messages. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/authres.h>
#include <mailvet/dkim.h>

#include "commands.h"

#define MAX_MESSAGE ((size_t)256 << 20)

struct verify_cli {
	struct mv_dkim_verify_opts opts;
	struct mv_resolver *res;
	int64_t now;
	int json;
	const char *serv_id;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet verify [--zone FILE | --resolver ADDR[@PORT]] [--record-dns FILE]\n"
	        "                      [--dns-timeout MS] [--now T] [--json] [--authserv-id ID]\n"
	        "                      [--max-signatures N] [--refuse-l] FILE...\n"
	        "Verifies every DKIM-Signature of each message (\"-\" is standard input) and\n"
	        "prints an Authentication-Results field per message, or with --json one JSON\n"
	        "object per message and line: {\"file\", \"header\", \"results\"}.\n"
	        "--now: the time (Unix seconds) for t= and x=; --max-signatures: how many are\n"
	        "evaluated (default 5; the rest are reported neutral); --refuse-l: signatures\n"
	        "with l= get dkim=policy. Exit status 0 when every message has a passing\n"
	        "signature, 1 when one has not (or cannot be parsed), 2 on usage or system "
	        "errors.\n");
}

/* Build the field for the results of one verifier. */
static enum mv_status make_authres(const struct verify_cli *vc, const struct mv_dkim_verifier *v,
                                   struct mv_authres **out)
{
	struct mv_authres *ar = NULL;
	struct mv_result *r;
	enum mv_status st;
	size_t k;

	if ((st = mv_authres_new(vc->serv_id, 0, &ar)) != MV_OK)
		return st;
	for (k = 0; k < mv_dkim_verifier_count(v); k++) {
		if ((st = mv_dkim_result_authres(mv_dkim_verifier_result(v, k), &r)) != MV_OK ||
		    (st = mv_result_list_add(&ar->results, r)) != MV_OK) {
			mv_authres_free(ar);
			return st;
		}
	}
	*out = ar;
	return MV_OK;
}

static enum mv_status print_json(const char *path, const struct mv_authres *ar, struct mv_buf *b)
{
	struct mv_buf field = MV_BUF_INIT;
	size_t k;

	mv_authres_format(ar, &field);
	mv_buf_puts(b, "{\"file\": ");
	mv_json_cstr(b, path);
	mv_buf_puts(b, ", \"header\": ");
	mv_json_string(b, field.data ? field.data : "", field.len);
	mv_buf_puts(b, ", \"results\": [");
	for (k = 0; k < ar->results.count; k++) {
		if (k > 0)
			mv_buf_puts(b, ", ");
		mv_result_json(ar->results.item[k], b);
	}
	mv_buf_puts(b, "]}\n");
	mv_buf_free(&field);
	return mv_buf_status(b);
}

/* Verify one file and print its results; returns 0 (a pass), 1 (none) or 2 (error). */
static int verify_file(const struct verify_cli *vc, const char *path)
{
	struct mv_dkim_verifier *v = NULL;
	struct mv_authres *ar = NULL;
	struct mv_msg *m = NULL;
	struct mv_buf out = MV_BUF_INIT;
	char *data = NULL, err[160];
	size_t len = 0, k;
	enum mv_status st;
	int rc = 2;

	if ((st = mv_read_file(path, MAX_MESSAGE, &data, &len)) != MV_OK) {
		fprintf(stderr, "mailvet verify: %s: %s\n", path, mv_status_str(st));
		goto out;
	}
	if ((st = mv_msg_parse(data, len, NULL, &m, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet verify: %s: %s\n", path, err);
		rc = 1;
		goto out;
	}
	if ((st = mv_dkim_verifier_new(&vc->opts, vc->res, vc->now, &v)) != MV_OK ||
	    (st = mv_dkim_verifier_message(v, m)) != MV_OK ||
	    (st = make_authres(vc, v, &ar)) != MV_OK)
		goto fail;
	if (vc->json)
		st = print_json(path, ar, &out);
	else if ((st = mv_authres_format(ar, &out)) == MV_OK)
		st = mv_buf_puts(&out, "\n");
	if (st != MV_OK)
		goto fail;
	if (fwrite(out.data, 1, out.len, stdout) != out.len)
		goto out;
	rc = 1;
	for (k = 0; k < mv_dkim_verifier_count(v); k++)
		if (mv_dkim_verifier_result(v, k)->res == MV_DKIM_PASS)
			rc = 0;
	goto out;
fail:
	fprintf(stderr, "mailvet verify: %s: %s\n", path, mv_status_str(st));
out:
	mv_buf_free(&out);
	mv_authres_free(ar);
	mv_dkim_verifier_free(v);
	mv_msg_free(m);
	free(data);
	return rc;
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || n < 0)
		return -1;
	*v = n;
	return 0;
}

int mv_cli_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"zone", required_argument, NULL, 'z'},
	        {"resolver", required_argument, NULL, 'r'},
	        {"record-dns", required_argument, NULL, 'R'},
	        {"dns-timeout", required_argument, NULL, 'T'},
	        {"now", required_argument, NULL, 't'},
	        {"json", no_argument, NULL, 'j'},
	        {"authserv-id", required_argument, NULL, 'A'},
	        {"max-signatures", required_argument, NULL, 'm'},
	        {"refuse-l", no_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct mv_cli_dns_opts dns = {NULL, NULL, NULL, 0};
	struct verify_cli vc;
	char host[256];
	int64_t n;
	int c, rc = 0, one;

	memset(&vc, 0, sizeof vc);
	mv_dkim_verify_opts_default(&vc.opts);
	vc.now = (int64_t)time(NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'z':
			dns.zone = optarg;
			break;
		case 'r':
			dns.resolver = optarg;
			break;
		case 'R':
			dns.record = optarg;
			break;
		case 'T':
		case 't':
		case 'm':
			if (parse_i64(optarg, &n) != 0 || (c != 't' && n > 1000000)) {
				fprintf(stderr, "mailvet verify: bad number %s\n", optarg);
				return 2;
			}
			if (c == 'T')
				dns.timeout_ms = (unsigned)n;
			else if (c == 't')
				vc.now = n;
			else
				vc.opts.max_signatures = (size_t)n;
			break;
		case 'j':
			vc.json = 1;
			break;
		case 'A':
			vc.serv_id = optarg;
			break;
		case 'L':
			vc.opts.refuse_l = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	if (vc.serv_id == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		vc.serv_id = host;
	}
	if (mv_cli_dns_open(&dns, &vc.res) != 0)
		return 2;
	for (; optind < argc; optind++) {
		one = verify_file(&vc, argv[optind]);
		rc = one > rc ? one : rc;
	}
	mv_dns_free(vc.res);
	return rc;
}
