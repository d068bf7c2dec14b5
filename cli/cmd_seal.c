/* cli/cmd_seal.c — `mailvet seal`: add ARC sets to a message (RFC 8617 §5.1), or validate its chain. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/arc.h>
#include <mailvet/verify.h>

#include "commands.h"

#define MAX_KEYS 8
#define MAX_MESSAGE ((size_t)256 << 20)
#define EXIT_TEMPFAIL 75 /* EX_TEMPFAIL (sysexits.h): try again later */

struct seal_cli {
	struct mv_arc_seal_opts o;
	struct mv_cli_dns_opts dns;
	struct mv_dkim_signkey *keys[MAX_KEYS];
	const char *selectors[MAX_KEYS];
	size_t nkeys, nsel;
	int validate;
	const char *ip;
	const char *received; /* the message as received, validated instead */
	int verify;           /* run mailvet's checks and prepend their Authentication-Results */
	const char *helo, *mail_from;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet seal --domain D --selector S --key FILE [--key FILE ...]\n"
	        "                    [--selector S ...] --authserv-id ID [--headers LIST]\n"
	        "                    [--zone FILE | --resolver ADDR[@PORT]] [--record-dns FILE]\n"
	        "                    [--dns-timeout MS] [--now T] [--received FILE]\n"
	        "                    [--verify --ip IP [--helo NAME] [--mail-from ADDR]] [FILE]\n"
	        "       mailvet seal --validate [--authserv-id ID] [--ip IP] [--zone FILE | ...]\n"
	        "                    [--now T] [FILE]\n"
	        "Validates the message's ARC chains (RFC 8617 §5.2) and writes the message\n"
	        "(FILE or standard input) to standard output with the new ARC set(s) on top:\n"
	        "one per key algorithm for a message without ARC fields, else one for each\n"
	        "longest chain a key can continue (draft-ietf-dmarc-arc-multi-02). The\n"
	        "ARC-Authentication-Results carries the results of every Authentication-Results\n"
	        "field whose authserv-id is ID. Keys are PEM (RSA or Ed25519); several keys\n"
	        "take one --selector each or share one. --headers sets the AMS h= (default:\n"
	        "the usual list, From over-signed); --now sets t= (default: now).\n"
	        "--received names the message as this hop received it, before it changed it\n"
	        "(a subject tag, a footer): its chains are validated instead of FILE's.\n"
	        "--verify first runs mailvet's checks (SPF, DKIM, ARC, DMARC, iprev) for the\n"
	        "client --ip on the message as received (--received, else FILE) and prepends\n"
	        "their Authentication-Results, which the new AAR then carries.\n"
	        "--validate only prints \"Authentication-Results: ID; arc=...\" (ID defaults to\n"
	        "the local host name \"localhost\") and exits 0 for pass, 1 for fail or none.\n"
	        "A chain left undetermined by a temporary DNS failure (a key lookup that timed\n"
	        "out or got SERVFAIL) is not sealed: sealing it with cv=fail would end it for\n"
	        "good. Then nothing is written to standard output, and the exit status is 75\n"
	        "(EX_TEMPFAIL: try again later); --validate prints arc=fail with the reason\n"
	        "\"temporary DNS failure: ...\" and exits 75 as well.\n"
	        "Exit status 2 on usage or system errors.\n");
}

/* Print the arc= result; 0 for pass, EXIT_TEMPFAIL when undetermined, 1 otherwise. */
static int print_result(const struct seal_cli *c, const struct mv_arc_validator *v)
{
	struct mv_authres *ar = NULL;
	struct mv_result *res = NULL;
	struct mv_buf out = MV_BUF_INIT;
	enum mv_status st;
	int rc = 2;

	if ((st = mv_authres_new(c->o.authserv_id ? c->o.authserv_id : "localhost", 0, &ar)) !=
	            MV_OK ||
	    (st = mv_arc_result_authres(v, c->ip, &res)) != MV_OK ||
	    (st = mv_result_list_add(&ar->results, res)) != MV_OK ||
	    (st = mv_authres_format(ar, &out)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s\n", mv_status_str(st));
		goto out;
	}
	printf("%s\n", out.data);
	rc = mv_arc_validator_cv(v, NULL) == MV_ARC_PASS ? 0
	     : mv_arc_validator_temperror(v)             ? EXIT_TEMPFAIL
	                                                 : 1;
out:
	mv_buf_free(&out);
	mv_authres_free(ar);
	return rc;
}

/* Why a chain the seal would continue is undetermined (mv_arc_seal said MV_ETEMP). */
static const char *temp_reason(const struct mv_arc_validator *v)
{
	size_t k;

	for (k = 0; k < mv_arc_validator_nchains(v); k++)
		if (mv_arc_validator_chain(v, k)->temperror)
			return mv_arc_validator_chain(v, k)->reason;
	return "temporary DNS failure";
}

/* Validate the message in path (--received; its length in *rlen); 0, or the exit status. */
static int validate_received(const struct seal_cli *c, struct mv_arc_validator *v,
                             struct mv_msg **rm, char **rdata, size_t *rlen)
{
	enum mv_status st;
	char err[160];
	size_t len;

	if ((st = mv_read_file(c->received, MAX_MESSAGE, rdata, &len)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", c->received, mv_status_str(st));
		return 2;
	}
	*rlen = len;
	if ((st = mv_msg_parse(*rdata, len, NULL, rm, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", c->received, err);
		return 1;
	}
	if ((st = mv_arc_validator_message(v, *rm)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", c->received, mv_status_str(st));
		return 2;
	}
	return 0;
}

/*
 * --verify: run lib/verify (SPF, DKIM, ARC, DMARC, iprev) on the message as
 * this hop received it (data, len) and append its
 * "Authentication-Results: ...\r\n" field to *field: the arc= result is
 * lib/verify's. 0, or the exit status.
 */
static int verify_field(const struct seal_cli *c, struct mv_resolver *r, const char *data,
                        size_t len, struct mv_buf *field)
{
	struct mv_verify_config vc;
	struct mv_envelope env;
	struct mv_verify *vv = NULL;
	enum mv_status st;
	int rc = 2;

	mv_verify_config_default(&vc);
	vc.authserv_id = c->o.authserv_id;
	memset(&env, 0, sizeof env);
	env.client_ip = c->ip;
	env.helo = c->helo;
	env.mail_from = c->mail_from;
	if ((st = mv_verify_message(&vc, r, (time_t)c->o.now, &env, data, len, &vv)) != MV_OK)
		goto out;
	mv_buf_puts(field, mv_verify_header_field(vv));
	mv_buf_puts(field, "\r\n");
	st = mv_buf_status(field);
	rc = st == MV_OK ? 0 : 2;
out:
	if (rc != 0)
		fprintf(stderr, "mailvet seal: --verify: %s\n", mv_status_str(st));
	mv_verify_free(vv);
	return rc;
}

/* Validate (and unless --validate, seal) the message in data. */
static int seal_message(struct seal_cli *c, struct mv_resolver *r, const char *data, size_t len,
                        const char *path)
{
	struct mv_arc_validator *v = NULL;
	struct mv_buf out = MV_BUF_INIT, arfield = MV_BUF_INIT;
	struct mv_msg *m = NULL, *rm = NULL, *vm = NULL; /* vm: m with our AR (--verify) */
	const char *body;
	char err[160], *rdata = NULL;
	size_t blen, nsets = 0, rlen = 0;
	enum mv_status st;
	int rc = 2;

	if ((st = mv_msg_parse(data, len, NULL, &m, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", path, err);
		rc = 1;
		goto out;
	}
	if ((st = mv_arc_validator_new(NULL, r, c->o.now, &v)) != MV_OK)
		goto fail;
	if (c->received != NULL) {
		if ((rc = validate_received(c, v, &rm, &rdata, &rlen)) != 0)
			goto out;
		rc = 2;
	} else if ((st = mv_arc_validator_message(v, m)) != MV_OK) {
		goto fail;
	}
	if (c->validate) {
		rc = print_result(c, v);
		goto out;
	}
	if (c->verify) { /* seal the message with our Authentication-Results on top */
		if ((rc = verify_field(c, r, rdata ? rdata : data, rdata ? rlen : len, &arfield)) !=
		    0)
			goto out;
		rc = 2;
		mv_buf_append(&arfield, data, len);
		if ((st = mv_buf_status(&arfield)) != MV_OK)
			goto fail;
		if ((st = mv_msg_parse(arfield.data, arfield.len, NULL, &vm, err, sizeof err)) !=
		    MV_OK)
			goto fail;
		data = arfield.data;
		len = arfield.len;
	}
	mv_msg_body(vm ? vm : m, &body, &blen, NULL);
	st = mv_arc_seal(&c->o, (const struct mv_dkim_signkey *const *)c->keys,
	                 c->nsel > 1 ? c->selectors : NULL, c->nkeys, vm ? vm : m, body, blen, v, r,
	                 &out, &nsets);
	if (st == MV_ETEMP) {
		fprintf(stderr, "mailvet seal: %s: not sealed, try again later: %s\n", path,
		        temp_reason(v));
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	if (st != MV_OK)
		goto fail;
	if (nsets == 0)
		fprintf(stderr, "mailvet seal: %s: no chain to extend; message unchanged\n", path);
	if ((out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len) ||
	    fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "mailvet seal: write error\n");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "mailvet seal: %s: %s\n", path,
	        st == MV_EINVAL ? "bad options (domain, selector, authserv-id, h=)"
	                        : mv_status_str(st));
out:
	mv_buf_free(&out);
	mv_msg_free(vm); /* before arfield, which holds its body */
	mv_buf_free(&arfield);
	mv_msg_free(m);
	mv_arc_validator_free(v);
	mv_msg_free(rm);
	free(rdata);
	return rc;
}

static int run(struct seal_cli *c, const char *path)
{
	struct mv_resolver *r = NULL;
	char *data = NULL;
	size_t len = 0;
	enum mv_status st;
	int rc;

	if ((st = mv_read_file(path, MAX_MESSAGE, &data, &len)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", path, mv_status_str(st));
		return 2;
	}
	if ((rc = mv_cli_dns_open(&c->dns, &r)) == 0)
		rc = seal_message(c, r, data, len, path);
	mv_dns_free(r);
	free(data);
	return rc;
}

/* One option; returns 0 to go on, else the exit status (-1: --help done). */
static int option(struct seal_cli *c, int ch)
{
	long long num;

	switch (ch) {
	case 'd':
		c->o.domain = optarg;
		return 0;
	case 's':
		if (c->nsel == MAX_KEYS)
			break;
		c->selectors[c->nsel++] = optarg;
		return 0;
	case 'k':
		if (c->nkeys == MAX_KEYS)
			break;
		if (mv_cli_load_signkey("seal", optarg, &c->keys[c->nkeys]) != 0)
			return 2;
		c->nkeys++;
		return 0;
	case 'A':
		c->o.authserv_id = optarg;
		return 0;
	case 'H':
		c->o.headers = optarg;
		return 0;
	case 't':
		if (mv_cli_number(optarg, 0, INT64_MAX, &num) != 0)
			break;
		c->o.now = num;
		return 0;
	case 'V':
		c->validate = 1;
		return 0;
	case 'i':
		c->ip = optarg;
		return 0;
	case 'P':
		c->received = optarg;
		return 0;
	case 'v':
		c->verify = 1;
		return 0;
	case 'E':
		c->helo = optarg;
		return 0;
	case 'M':
		c->mail_from = optarg;
		return 0;
	case 'z':
		c->dns.zone = optarg;
		return 0;
	case 'r':
		c->dns.resolver = optarg;
		return 0;
	case 'R':
		c->dns.record = optarg;
		return 0;
	case 'T':
		if (mv_cli_number(optarg, 0, 3600000, &num) != 0)
			break;
		c->dns.timeout_ms = (unsigned)num;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	default:
		usage(stderr);
		return 2;
	}
	fprintf(stderr, "mailvet seal: bad or too many --%s\n",
	        ch == 't'   ? "now"
	        : ch == 's' ? "selector"
	                    : "key");
	return 2;
}

int mv_cli_seal(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"domain", required_argument, NULL, 'd'},
	        {"selector", required_argument, NULL, 's'},
	        {"key", required_argument, NULL, 'k'},
	        {"authserv-id", required_argument, NULL, 'A'},
	        {"headers", required_argument, NULL, 'H'},
	        {"now", required_argument, NULL, 't'},
	        {"validate", no_argument, NULL, 'V'},
	        {"ip", required_argument, NULL, 'i'},
	        {"received", required_argument, NULL, 'P'},
	        {"verify", no_argument, NULL, 'v'},
	        {"helo", required_argument, NULL, 'E'},
	        {"mail-from", required_argument, NULL, 'M'},
	        {"zone", required_argument, NULL, 'z'},
	        {"resolver", required_argument, NULL, 'r'},
	        {"record-dns", required_argument, NULL, 'R'},
	        {"dns-timeout", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct seal_cli c;
	size_t k;
	int ch, rc = 0;

	memset(&c, 0, sizeof c);
	mv_arc_seal_opts_default(&c.o);
	c.o.now = (int64_t)time(NULL);
	optind = 1;
	while (rc == 0 && (ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		rc = option(&c, ch);
	if (rc != 0) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	if (argc - optind > 1 || (c.verify && (c.ip == NULL || c.validate)) ||
	    (!c.validate && (c.o.domain == NULL || c.o.authserv_id == NULL || c.nkeys == 0 ||
	                     c.nsel == 0 || (c.nsel > 1 && c.nsel != c.nkeys)))) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	c.o.selector = c.nsel > 0 ? c.selectors[0] : NULL;
	rc = run(&c, optind < argc ? argv[optind] : "-");
out:
	for (k = 0; k < c.nkeys; k++)
		mv_dkim_signkey_free(c.keys[k]);
	return rc;
}
