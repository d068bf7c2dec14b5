/* cli/cmd_seal.c — `mailvet seal`: add ARC sets to a message (RFC 8617 §5.1), or validate its chain. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/arc.h>
#include <mailvet/outbound.h>
#include <mailvet/verify.h>

#include "commands.h"
#include "msgfile.h"

#define MAX_KEYS 8
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
	        "this host's name, as in mailvet verify) and exits 0 for pass, 1 for fail or\n"
	        "none.\n"
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

	if ((st = mv_authres_new(c->o.authserv_id ? c->o.authserv_id : mv_cli_authserv_id(), 0,
	                         &ar)) != MV_OK ||
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

/* Where the bytes of one pass over a message go. */
struct feed {
	struct mv_outbound *o;      /* splits header from body; seals, or only splits */
	struct mv_arc_validator *v; /* or NULL */
	struct mv_verify *vv;       /* --verify, or NULL */
	int started;                /* v and vv have the header */
};

/* Give the header to the validator and the checks once it is complete. */
static enum mv_status feed_header(struct feed *f)
{
	const struct mv_msg *m = mv_outbound_msg(f->o);
	enum mv_status st = MV_OK;
	size_t k;

	f->started = 1;
	if (f->v != NULL && (st = mv_arc_validator_headers(f->v, m)) != MV_OK)
		return st;
	for (k = 0; f->vv != NULL && k < mv_msg_field_count(m) && st == MV_OK; k++) {
		const struct mv_msg_field *fl = mv_msg_field(m, k);
		st = mv_verify_header(f->vv, fl->name, fl->name_len, fl->value, fl->value_len);
	}
	if (st == MV_OK && f->vv != NULL)
		st = mv_verify_header_end(f->vv);
	return st;
}

/* Body bytes to the validator and the checks. */
static enum mv_status feed_body(struct feed *f, const char *p, size_t n)
{
	enum mv_status st = MV_OK;

	if (n > 0 && f->v != NULL)
		st = mv_arc_validator_body(f->v, p, n);
	if (st == MV_OK && n > 0 && f->vv != NULL)
		st = mv_verify_body(f->vv, p, n);
	return st;
}

/*
 * One pass over in (copied to spool when it is not NULL) through f. At the
 * end the header is complete even without a body. 0, or the exit status.
 */
static int read_through(struct feed *f, FILE *in, FILE *spool, const char *path)
{
	char buf[MV_CLI_CHUNK];
	size_t n, h;
	enum mv_status st = MV_OK;

	while (st == MV_OK && (n = fread(buf, 1, sizeof buf, in)) > 0) {
		if (spool != NULL && fwrite(buf, 1, n, spool) != n) {
			fprintf(stderr, "mailvet seal: temporary file: %s\n", strerror(errno));
			return 2;
		}
		if ((st = mv_outbound_data(f->o, buf, n, &h)) != MV_OK)
			break;
		if (!f->started && mv_outbound_msg(f->o) != NULL)
			st = feed_header(f);
		else
			h = f->started ? 0 : n;
		if (st == MV_OK && f->started)
			st = feed_body(f, buf + h, n - h);
	}
	if (st == MV_OK && !f->started && (st = mv_outbound_body(f->o, NULL, 0)) == MV_OK)
		st = feed_header(f);
	if (st == MV_OK && ferror(in)) {
		fprintf(stderr, "mailvet seal: %s: read error\n", path);
		return 2;
	}
	if (st != MV_OK) {
		fprintf(stderr, "mailvet seal: %s: %s\n", path,
		        mv_outbound_why(f->o)[0] ? mv_outbound_why(f->o) : mv_status_str(st));
		return st == MV_ESYNTAX || st == MV_ETOOBIG ? 1 : 2;
	}
	return 0;
}

/*
 * Validate the chain of the message as this hop received it (--received,
 * else the message itself, copied to spool) and with --verify run
 * lib/verify's checks on it and put their "Authentication-Results: ...\r\n"
 * into arfield. 0, or the exit status.
 */
static int validate_received(const struct seal_cli *c, struct mv_resolver *r, FILE *in, FILE *spool,
                             const char *path, struct mv_arc_validator *v, struct mv_buf *arfield)
{
	struct mv_outbound_config split; /* no keys: only splits header from body */
	struct mv_verify_config vc;
	struct mv_envelope env;
	struct feed f = {NULL, v, NULL, 0};
	FILE *rf = NULL;
	enum mv_status st;
	int rc = 2;

	mv_outbound_config_default(&split);
	mv_verify_config_default(&vc);
	vc.authserv_id = c->o.authserv_id;
	memset(&env, 0, sizeof env);
	env.client_ip = c->ip;
	env.helo = c->helo;
	env.mail_from = c->mail_from;
	if (c->received != NULL && (rf = fopen(c->received, "rb")) == NULL) {
		fprintf(stderr, "mailvet seal: %s: %s\n", c->received, strerror(errno));
		goto out;
	}
	if ((st = mv_outbound_new(&split, &f.o, NULL, 0)) != MV_OK ||
	    (c->verify && (st = mv_verify_new(&vc, r, (time_t)c->o.now, &env, &f.vv)) != MV_OK)) {
		fprintf(stderr, "mailvet seal: %s\n", mv_status_str(st));
		goto out;
	}
	if ((rc = read_through(&f, rf ? rf : in, rf ? NULL : spool, rf ? c->received : path)) != 0)
		goto out;
	rc = 2;
	if ((st = mv_arc_validator_final(v)) != MV_OK ||
	    (f.vv != NULL && (st = mv_verify_end(f.vv)) != MV_OK)) {
		fprintf(stderr, "mailvet seal: %s\n", mv_status_str(st));
		goto out;
	}
	if (f.vv != NULL) {
		mv_buf_puts(arfield, mv_verify_header_field(f.vv));
		mv_buf_puts(arfield, "\r\n");
		if (mv_buf_status(arfield) != MV_OK)
			goto out;
	}
	rc = 0;
out:
	mv_outbound_free(f.o);
	mv_verify_free(f.vv);
	if (rf != NULL)
		fclose(rf);
	return rc;
}

/* Seal the message in in (with arfield on top) and write it out; the exit status. */
static int seal_stream(const struct seal_cli *c, const struct mv_arc_validator *v, FILE *in,
                       FILE *spool, const char *path, const struct mv_buf *arfield)
{
	struct mv_outbound_key table[MAX_KEYS];
	struct mv_outbound_config cfg;
	struct mv_outbound_arc arc;
	const struct mv_outbound_result *res = NULL;
	struct feed f = {NULL, NULL, NULL, 0};
	struct mv_buf top = MV_BUF_INIT;
	char err[200];
	enum mv_status st;
	size_t k;
	int rc = 2;

	mv_outbound_config_default(&cfg);
	for (k = 0; k < c->nkeys; k++) {
		table[k].domain = c->o.domain;
		table[k].selector = c->selectors[c->nsel > 1 ? k : 0];
		table[k].key = c->keys[k];
	}
	cfg.arc_keys = table;
	cfg.narc_keys = c->nkeys;
	cfg.arc_domain = c->o.domain;
	cfg.authserv_id = c->o.authserv_id;
	cfg.arc_headers = c->o.headers;
	memset(&arc, 0, sizeof arc);
	arc.validation = v;
	if ((st = mv_outbound_new(&cfg, &f.o, err, sizeof err)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s\n", st == MV_EINVAL ? err : mv_status_str(st));
		goto out;
	}
	if (arfield->len > 0 && mv_outbound_data(f.o, arfield->data, arfield->len, NULL) != MV_OK)
		goto fail;
	if ((rc = read_through(&f, in, spool, path)) != 0)
		goto out;
	rc = 2;
	if (mv_outbound_seal(f.o, &arc) != MV_OK || mv_outbound_end(f.o, c->o.now, &res) != MV_OK)
		goto fail;
	if (res->arc == MV_OUTBOUND_TEMPFAIL) {
		fprintf(stderr, "mailvet seal: %s: not sealed, try again later: %s\n", path,
		        temp_reason(v));
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	if (res->arc != MV_OUTBOUND_DONE && res->arc != MV_OUTBOUND_NO_CHAIN) {
		fprintf(stderr, "mailvet seal: %s: %s\n", path, res->arc_reason);
		goto out;
	}
	if (res->arc == MV_OUTBOUND_NO_CHAIN)
		fprintf(stderr, "mailvet seal: %s: no chain to extend; message unchanged\n", path);
	mv_buf_append(&top, res->fields, res->fields_len);
	mv_buf_append(&top, arfield->data, arfield->len);
	if (mv_buf_status(&top) != MV_OK)
		goto fail;
	rc = mv_cli_write_message("seal", top.data ? top.data : "", top.len, spool ? spool : in);
	goto out;
fail:
	fprintf(stderr, "mailvet seal: %s: %s\n", path,
	        mv_outbound_why(f.o)[0] ? mv_outbound_why(f.o) : "out of memory");
out:
	mv_buf_free(&top);
	mv_outbound_free(f.o);
	return rc;
}

/*
 * Validate (and unless --validate, seal) the message in path: one pass to
 * validate (and --verify) the message as received, one to hash the message
 * to seal, one to write it out; the message is never held whole.
 */
static int run(struct seal_cli *c, const char *path)
{
	struct mv_resolver *r = NULL;
	struct mv_arc_validator *v = NULL;
	struct mv_buf arfield = MV_BUF_INIT;
	FILE *in = NULL, *spool = NULL;
	enum mv_status st;
	int rc;

	if ((rc = mv_cli_open_message("seal", path, &in, &spool)) != 0)
		goto out;
	if ((rc = mv_cli_dns_open(&c->dns, &r)) != 0)
		goto out;
	if ((st = mv_arc_validator_new(NULL, r, c->o.now, &v)) != MV_OK) {
		fprintf(stderr, "mailvet seal: %s\n", mv_status_str(st));
		rc = 2;
		goto out;
	}
	if ((rc = validate_received(c, r, in, spool, path, v, &arfield)) != 0)
		goto out;
	if (c->validate) {
		rc = print_result(c, v);
		goto out;
	}
	if (c->received == NULL) { /* the first pass read the message: read it again */
		if (fseek(spool ? spool : in, 0, SEEK_SET) != 0) {
			fprintf(stderr, "mailvet seal: %s: %s\n", path, strerror(errno));
			rc = 2;
			goto out;
		}
		if (spool != NULL) { /* the spool is the message now */
			if (in != stdin)
				fclose(in);
			in = spool;
			spool = NULL;
		}
	}
	rc = seal_stream(c, v, in, spool, path, &arfield);
out:
	mv_buf_free(&arfield);
	mv_arc_validator_free(v);
	mv_dns_free(r);
	if (spool != NULL)
		fclose(spool);
	if (in != NULL && in != stdin)
		fclose(in);
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
		if (!mv_cli_ip_valid(optarg)) {
			fprintf(stderr, "mailvet seal: --ip %s: not an IPv4 or IPv6 address\n",
			        optarg);
			return 2;
		}
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
