/* cli/cmd_testkey.c — `mailvet testkey`: does the published DKIM key record match a private key? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dkim.h>
#include <mailvet/util.h>

#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet testkey --domain DOMAIN --selector SELECTOR --key FILE\n"
	        "                       [--zone FILE | --resolver ADDR[@PORT]] [--dns-timeout MS]\n"
	        "                       [--json]\n"
	        "\n"
	        "Fetch the DKIM key record SELECTOR._domainkey.DOMAIN and check it against the\n"
	        "private key in FILE (PEM, RSA or Ed25519): is it published, does it hold the\n"
	        "same public key, and what else is wrong with it.\n"
	        "\n"
	        "options:\n"
	        "  --domain DOMAIN    the signing domain (d=)\n"
	        "  --selector SEL     the selector (s=)\n"
	        "  --key FILE         the private key, PEM\n"
	        "  --zone FILE        answer DNS from a zone file (offline)\n"
	        "  --resolver A[@P]   ask one server (default: /etc/resolv.conf)\n"
	        "  --dns-timeout MS   per-query timeout (default 5000)\n"
	        "  --json             print one JSON object\n"
	        "\n"
	        "Problems: no record, a record that does not parse, p= empty (revoked), a key\n"
	        "of the other type, a key mismatch, RSA under 1024 bits, h= without sha256,\n"
	        "s= without email. Warnings: RSA under 2048 bits, t=y (testing).\n"
	        "\n"
	        "exit status: 0 the record publishes this key (warnings may be printed);\n"
	        "1 a problem; 2 usage error or an unreadable key; 3 DNS did not answer.\n");
}

struct testkey_opts {
	const char *domain, *selector, *key;
	struct mv_cli_dns_opts dns;
	int json;
};

/* Parse the command line into o; 0 to go on, 1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct testkey_opts *o)
{
	const char *a = NULL, *v = NULL;
	long long n;

	for (int i = 1; i < argc; i++) {
		a = argv[i];
		v = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
			fprintf(stderr, "mailvet testkey: %s: %s\n", a,
			        strncmp(a, "--", 2) ? "unexpected argument" : "needs a value");
			goto usage;
		}
		v = argv[++i];
		if (strcmp(a, "--domain") == 0)
			o->domain = v;
		else if (strcmp(a, "--selector") == 0)
			o->selector = v;
		else if (strcmp(a, "--key") == 0)
			o->key = v;
		else if (strcmp(a, "--zone") == 0)
			o->dns.zone = v;
		else if (strcmp(a, "--resolver") == 0)
			o->dns.resolver = v;
		else if (strcmp(a, "--dns-timeout") == 0 && mv_cli_number(v, 0, 3600000, &n) == 0)
			o->dns.timeout_ms = (unsigned)n;
		else
			goto bad;
	}
	if (!o->domain || !o->selector || !o->key) {
		fprintf(stderr, "mailvet testkey: --domain, --selector and --key are required\n");
		goto usage;
	}
	return 0;
bad:
	fprintf(stderr, "mailvet testkey: unknown option or bad value: %s %s\n", a, v ? v : "");
usage:
	usage(stderr);
	return 2;
}

/* The JSON array of notes. */
static void json_notes(struct mv_buf *b, const char (*notes)[200], size_t n)
{
	mv_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			mv_buf_putc(b, ',');
		mv_json_cstr(b, notes[i]);
	}
	mv_buf_putc(b, ']');
}

static void print_json(const struct testkey_opts *o, const struct mv_dkim_keycheck *c)
{
	struct mv_buf b;

	mv_buf_init(&b);
	mv_buf_puts(&b, "{\"domain\":");
	mv_json_cstr(&b, o->domain);
	mv_buf_puts(&b, ",\"selector\":");
	mv_json_cstr(&b, o->selector);
	mv_buf_puts(&b, ",\"name\":");
	mv_json_cstr(&b, c->name);
	mv_buf_printf(&b, ",\"status\":\"%s\",\"algorithm\":\"%s\",\"bits\":%u",
	              mv_dkim_keycheck_status_str(c->status), mv_dkim_alg_str(c->alg), c->bits);
	if (c->published)
		mv_buf_printf(&b,
		              ",\"record\":{\"type\":\"%s\",\"bits\":%u,\"revoked\":%s,"
		              "\"testing\":%s}",
		              c->type == MV_DKIM_KEY_RSA ? "rsa" : "ed25519", c->pub_bits,
		              c->revoked ? "true" : "false", c->testing ? "true" : "false");
	else
		mv_buf_puts(&b, ",\"record\":null");
	mv_buf_printf(&b, ",\"matches\":%s,\"problems\":", c->matches ? "true" : "false");
	json_notes(&b, (const char(*)[200])c->problem, c->nproblems);
	mv_buf_puts(&b, ",\"warnings\":");
	json_notes(&b, (const char(*)[200])c->warning, c->nwarnings);
	mv_buf_puts(&b, "}\n");
	if (mv_buf_status(&b) == MV_OK)
		fwrite(b.data, 1, b.len, stdout);
	mv_buf_free(&b);
}

static void print_text(const struct testkey_opts *o, const struct mv_dkim_keycheck *c)
{
	printf("key %s: %s, %u bits (%s)\n", c->name, mv_dkim_alg_str(c->alg), c->bits, o->key);
	if (c->published)
		printf("record: k=%s, %u bits%s%s\n",
		       c->type == MV_DKIM_KEY_RSA ? "rsa" : "ed25519", c->pub_bits,
		       c->revoked ? ", revoked" : "", c->testing ? ", t=y" : "");
	for (size_t i = 0; i < c->nproblems; i++)
		printf("problem: %s\n", c->problem[i]);
	for (size_t i = 0; i < c->nwarnings; i++)
		printf("warning: %s\n", c->warning[i]);
	printf("result: %s (%s)\n", mv_dkim_keycheck_status_str(c->status),
	       c->status == MV_KEYCHECK_OK ? "the published record holds this key"
	       : c->status == MV_KEYCHECK_DNS
	               ? "the record could not be fetched; try again"
	               : "signatures made with this key will not verify as they should");
}

int mv_cli_testkey(int argc, char **argv)
{
	struct testkey_opts o;
	struct mv_dkim_signkey *key = NULL;
	struct mv_resolver *r = NULL;
	struct mv_dkim_keycheck *c = NULL;
	int rc;

	memset(&o, 0, sizeof o);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : rc;
	if ((rc = mv_cli_load_signkey("testkey", o.key, &key)) != 0)
		goto out;
	if ((rc = mv_cli_dns_open(&o.dns, &r)) != 0)
		goto out;
	if (!(c = malloc(sizeof *c)) ||
	    mv_dkim_keycheck(r, o.selector, o.domain, key, c) != MV_OK) {
		fprintf(stderr, "mailvet testkey: out of memory\n");
		rc = 2;
		goto out;
	}
	if (o.json)
		print_json(&o, c);
	else
		print_text(&o, c);
	rc = (int)c->status;
out:
	free(c);
	mv_dns_free(r);
	mv_dkim_signkey_free(key);
	return rc;
}
