/* cli/cmd_spf.c — `mailvet spf`: evaluate SPF (RFC 7208) for one client and sender. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/spf.h>
#include <mailvet/util.h>

#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet spf --ip IP [--helo NAME] [--mail-from ADDR]\n"
	        "                   [--identity helo|mailfrom] [--receiver NAME] [--now SECONDS]\n"
	        "                   [--zone FILE | --resolver ADDR[@PORT]] [--record-dns FILE]\n"
	        "                   [--dns-timeout MS] [--spf-timeout MS] [--json] "
	        "[--received-spf]\n"
	        "\n"
	        "Run the SPF check_host() of RFC 7208 for the client address IP (IPv4, IPv6,\n"
	        "or IPv4-mapped IPv6, which is checked as IPv4) and print the result.\n"
	        "\n"
	        "Identity: with a non-empty --mail-from the MAIL FROM identity is checked\n"
	        "(an address without local part uses postmaster); otherwise the HELO identity,\n"
	        "postmaster@<helo>. --identity picks one explicitly; MAIL FROM with an empty\n"
	        "address is the null reverse-path, checked as postmaster@<helo>.\n"
	        "\n"
	        "options:\n"
	        "  --ip IP            the SMTP client address (required)\n"
	        "  --helo NAME        the HELO/EHLO argument (%%{h})\n"
	        "  --mail-from ADDR   the MAIL FROM address, without angle brackets\n"
	        "  --identity ID      helo or mailfrom (see above)\n"
	        "  --receiver NAME    this host's name, for %%{r} and Received-SPF\n"
	        "  --now SECONDS      the time for %%{t} (default: now)\n"
	        "  --zone FILE        answer DNS from a zone file (offline)\n"
	        "  --resolver A[@P]   forward DNS to one server (default: /etc/resolv.conf)\n"
	        "  --record-dns FILE  write every DNS answer used as a zone file, for replay\n"
	        "  --dns-timeout MS   per-query timeout (default 5000)\n"
	        "  --spf-timeout MS   time limit of the whole check (default 20000, RFC 7208\n"
	        "                     section 4.6.4): checked before every DNS query; past it\n"
	        "                     the result is temperror, and the problem says so\n"
	        "  --json             print {\"result\", \"identity\", \"domain\", "
	        "\"explanation\"}\n"
	        "  --received-spf     also print a Received-SPF field (RFC 7208 section 9.1)\n"
	        "\n"
	        "Output without --json: RESULT IDENTITY DOMAIN, then what decided it and the\n"
	        "explanation (fail only).\n"
	        "\n"
	        "exit status: 0 whatever the SPF result (none, neutral, pass, fail, softfail,\n"
	        "temperror, permerror); 2 usage errors or a resolver that cannot be opened.\n");
}

struct spf_opts {
	struct mv_spf_request req;
	struct mv_cli_dns_opts dns;
	int identity_set;
	int json;
	int received;
};

/* The value of option argv[*i]; NULL (with a message) when it is missing. */
static const char *value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "mailvet spf: %s needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Parse the command line into o; 0 to go on, 1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct spf_opts *o)
{
	const char *v = NULL, *a = NULL;
	long long n;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		v = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		} else if (strcmp(a, "--received-spf") == 0) {
			o->received = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "mailvet spf: unexpected argument '%s'\n", a);
			goto usage;
		}
		if (!(v = value(argc, argv, &i)))
			goto usage;
		if (strcmp(a, "--ip") == 0) {
			o->req.ip = v;
		} else if (strcmp(a, "--helo") == 0) {
			o->req.helo = v;
		} else if (strcmp(a, "--mail-from") == 0) {
			o->req.mail_from = v;
		} else if (strcmp(a, "--receiver") == 0) {
			o->req.receiver = v;
		} else if (strcmp(a, "--identity") == 0) {
			o->identity_set = 1;
			if (strcmp(v, "helo") == 0)
				o->req.identity = MV_SPF_ID_HELO;
			else if (strcmp(v, "mailfrom") == 0)
				o->req.identity = MV_SPF_ID_MAILFROM;
			else
				goto bad;
		} else if (strcmp(a, "--now") == 0 && mv_cli_number(v, 0, INT64_MAX, &n) == 0) {
			o->req.now = n;
		} else if (strcmp(a, "--zone") == 0) {
			o->dns.zone = v;
		} else if (strcmp(a, "--resolver") == 0) {
			o->dns.resolver = v;
		} else if (strcmp(a, "--record-dns") == 0) {
			o->dns.record = v;
		} else if (strcmp(a, "--dns-timeout") == 0 &&
		           mv_cli_number(v, 0, 3600000, &n) == 0) {
			o->dns.timeout_ms = (unsigned)n;
		} else if (strcmp(a, "--spf-timeout") == 0 &&
		           mv_cli_number(v, 0, 3600000, &n) == 0) {
			o->req.timeout_ms = (unsigned)n; /* 0: the default */
		} else {
			goto bad;
		}
	}
	if (!o->req.ip) {
		fprintf(stderr, "mailvet spf: --ip is required\n");
		goto usage;
	}
	if (!o->identity_set)
		o->req.identity =
		        o->req.mail_from && *o->req.mail_from ? MV_SPF_ID_MAILFROM : MV_SPF_ID_HELO;
	return 0;
bad:
	fprintf(stderr, "mailvet spf: unknown option or bad value: %s %s\n", a, v ? v : "");
usage:
	usage(stderr);
	return 2;
}

static void print_verdict(struct mv_buf *b, const struct spf_opts *o,
                          const struct mv_spf_verdict *v)
{
	if (o->json) {
		mv_buf_printf(b, "{\"result\": \"%s\", \"identity\": \"%s\", \"domain\": ",
		              mv_spf_result_str(v->result), mv_spf_identity_str(v->identity));
		mv_json_cstr(b, v->domain);
		mv_buf_puts(b, ", \"explanation\": ");
		mv_json_cstr(b, v->explanation);
		mv_buf_puts(b, "}\n");
	} else {
		mv_buf_printf(b, "%s %s %s", mv_spf_result_str(v->result),
		              mv_spf_identity_str(v->identity), v->domain ? v->domain : "-");
		if (v->mechanism)
			mv_buf_printf(b, " (%s)", v->mechanism);
		if (v->problem && *v->problem)
			mv_buf_printf(b, " (%s)", v->problem);
		if (v->explanation)
			mv_buf_printf(b, ": %s", v->explanation);
		mv_buf_putc(b, '\n');
	}
	if (o->received) {
		mv_buf_puts(b, "Received-SPF: ");
		mv_spf_received_spf(&o->req, v, b);
		mv_buf_putc(b, '\n');
	}
}

int mv_cli_spf(int argc, char **argv)
{
	struct spf_opts o;
	struct mv_resolver *r = NULL;
	struct mv_spf_verdict v;
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;
	int status;

	memset(&o, 0, sizeof o);
	o.req.now = (long long)time(NULL);
	if ((status = parse_args(argc, argv, &o)) != 0)
		return status == 1 ? 0 : 2;
	if ((status = mv_cli_dns_open(&o.dns, &r)) != 0)
		return status;
	st = mv_spf_check(r, &o.req, &v);
	if (st == MV_EINVAL) {
		fprintf(stderr, "mailvet spf: '%s' is not an IP address\n", o.req.ip);
		status = 2;
	} else if (st != MV_OK) {
		fprintf(stderr, "mailvet spf: %s\n", mv_status_str(st));
		status = 2;
	} else {
		print_verdict(&b, &o, &v);
		if (mv_buf_status(&b) != MV_OK ||
		    (b.len && fwrite(b.data, 1, b.len, stdout) != b.len) || fflush(stdout) != 0)
			status = 2;
	}
	mv_spf_verdict_clear(&v);
	mv_buf_free(&b);
	mv_dns_free(r);
	return status;
}
