/*
 * cli/cmd_discover.c — `mailvet discover URL`: does a server claim conformance to RFC 8601
 * (AUTHSERV, draft-kucherawy-sender-auth-caps-00), and which authserv-id does it reveal?
 */
#include <stdio.h>
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/util.h>

#include "commands.h"
#include "discover.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet discover [--starttls] [--user U --password-file F] [--ca FILE]\n"
	        "                        [--insecure] [--timeout S] [--json] URL\n"
	        "\n"
	        "Connect to the server URL names and read its AUTHSERV capability\n"
	        "(draft-kucherawy-sender-auth-caps-00): the claim that its domain removes\n"
	        "forged Authentication-Results fields, and the authserv-id its own fields carry.\n"
	        "URL: smtp://HOST[:PORT] (25), submission:// (587), smtps:// (465, TLS),\n"
	        "imap:// (143), imaps:// (993, TLS), pop3:// (110), pop3s:// (995, TLS).\n"
	        "SMTP: the EHLO keyword AUTHSERV=<id> (the id is optional). IMAP: AUTHSERV\n"
	        "before login, AUTHSERV=<id> after. POP3 CAPA: AUTHSERV in AUTHORIZATION,\n"
	        "\"AUTHSERV <id>\" in TRANSACTION. So an IMAP or POP3 server reveals its id\n"
	        "only when --user logs in.\n"
	        "\n"
	        "options:\n"
	        "  --starttls         STARTTLS (STLS) before reading the capabilities\n"
	        "  --user U           log in as U (IMAP LOGIN, POP3 USER/PASS) and read them "
	        "again\n"
	        "  --password-file F  the password: the first line of F\n"
	        "  --ca FILE          verify the server's certificate against FILE, not the\n"
	        "                     system store\n"
	        "  --insecure         do not verify the server's certificate\n"
	        "  --timeout S        seconds for the whole session (default %d)\n"
	        "  --json             print one JSON object\n"
	        "\n"
	        "Output: the capability lines seen before and after login, then\n"
	        "\"authserv: advertised|not advertised\" and \"authserv-id: ID\" (or \"(not\n"
	        "revealed)\"), and a \"note:\" line per departure from the draft. With --json:\n"
	        "{\"url\", \"protocol\", \"tls\", \"authserv\": true|false, \"authserv_id\": "
	        "\"...\"|null,\n"
	        " \"before_login\": {\"lines\": [...], \"authserv\", \"authserv_id\"},\n"
	        " \"after_login\": {...} or null, \"notes\": [...]}.\n"
	        "\n"
	        "exit status: 0 AUTHSERV advertised, 1 not advertised, 2 usage or local error,\n"
	        "3 cannot resolve or connect (or the connection broke), 4 timeout, 5 TLS error\n"
	        "(handshake, certificate), 6 protocol error (a reply breaks the protocol, a line\n"
	        "over %d bytes, a reply over %d lines or %d bytes), 7 login refused.\n"
	        "Errors are one line on standard error: \"mailvet discover: URL: why\".\n",
	        MV_DISC_TIMEOUT_DEFAULT, MV_DISC_LINE_MAX, MV_DISC_REPLY_LINES, MV_DISC_REPLY_MAX);
}

int mv_cli_discover_option(struct mv_cli_discover_opts *o, const char *cmd, int argc, char **argv,
                           int *i)
{
	const char *a = argv[*i];
	const char **target = NULL;
	long long n;

	if (strcmp(a, "--starttls") == 0)
		o->starttls = 1;
	else if (strcmp(a, "--insecure") == 0)
		o->insecure = 1;
	else if (strcmp(a, "--user") == 0)
		target = &o->user;
	else if (strcmp(a, "--password-file") == 0)
		target = &o->password_file;
	else if (strcmp(a, "--ca") == 0)
		target = &o->ca;
	else if (strcmp(a, "--timeout") != 0)
		return 0;
	if (!target && strcmp(a, "--timeout") != 0)
		return 1;
	if (*i + 1 >= argc) {
		fprintf(stderr, "mailvet %s: %s needs an argument\n", cmd, a);
		return -1;
	}
	++*i;
	if (target) {
		*target = argv[*i];
	} else if (mv_cli_number(argv[*i], 1, 3600, &n) < 0) {
		fprintf(stderr, "mailvet %s: --timeout: seconds from 1 to 3600\n", cmd);
		return -1;
	} else {
		o->timeout_s = (unsigned)n;
	}
	return 1;
}

static const char *proto_name(enum mv_authres_caps_proto p)
{
	return p == MV_AUTHRES_CAPS_SMTP ? "smtp" : p == MV_AUTHRES_CAPS_IMAP ? "imap" : "pop3";
}

/* The lines of a reply, each prefixed, as text or as a JSON array. */
static void put_lines(struct mv_buf *b, const struct mv_buf *reply, const char *prefix, int json)
{
	size_t i = 0, e;
	int first = 1;

	if (json)
		mv_buf_putc(b, '[');
	while (i < reply->len) {
		for (e = i; e < reply->len && reply->data[e] != '\r'; e++)
			;
		if (json) {
			mv_buf_puts(b, first ? "" : ", ");
			mv_json_string(b, reply->data + i, e - i);
		} else {
			mv_buf_puts(b, prefix);
			mv_buf_append(b, reply->data + i, e - i);
			mv_buf_putc(b, '\n');
		}
		first = 0;
		i = e + 2;
	}
	if (json)
		mv_buf_putc(b, ']');
}

static void put_id_json(struct mv_buf *b, const struct mv_authres_caps *c)
{
	if (c->serv_id)
		mv_json_cstr(b, c->serv_id);
	else
		mv_buf_puts(b, "null");
}

/* One reading: {"lines": [...], "authserv": true|false, "authserv_id": "..."|null}. */
static void put_reading_json(struct mv_buf *b, const struct mv_buf *reply,
                             const struct mv_authres_caps *c)
{
	mv_buf_puts(b, "{\"lines\": ");
	put_lines(b, reply, "", 1);
	mv_buf_printf(b, ", \"authserv\": %s, \"authserv_id\": ",
	              c->state != MV_AUTHRES_CAPS_ABSENT ? "true" : "false");
	put_id_json(b, c);
	mv_buf_putc(b, '}');
}

/* The notes of both readings, each once. */
static unsigned all_notes(const struct mv_cli_discovery *d)
{
	return d->caps_before.notes | (d->logged_in ? d->caps_after.notes : 0);
}

static void print_json(struct mv_buf *b, const struct mv_cli_discover_opts *o,
                       const struct mv_cli_discovery *d)
{
	const struct mv_authres_caps *c = mv_cli_discovery_caps(d);
	unsigned bit, notes = all_notes(d);
	int first = 1;

	mv_buf_puts(b, "{\"url\": ");
	mv_json_cstr(b, o->url);
	mv_buf_printf(
	        b, ", \"protocol\": \"%s\", \"tls\": \"%s\", \"authserv\": %s, \"authserv_id\": ",
	        proto_name(d->proto), d->tls,
	        c->state != MV_AUTHRES_CAPS_ABSENT ? "true" : "false");
	put_id_json(b, c);
	mv_buf_puts(b, ", \"before_login\": ");
	put_reading_json(b, &d->before, &d->caps_before);
	mv_buf_puts(b, ", \"after_login\": ");
	if (d->logged_in)
		put_reading_json(b, &d->after, &d->caps_after);
	else
		mv_buf_puts(b, "null");
	mv_buf_puts(b, ", \"notes\": [");
	for (bit = 1; bit && bit <= notes; bit <<= 1)
		if (notes & bit) {
			mv_buf_puts(b, first ? "" : ", ");
			mv_json_cstr(b, mv_authres_caps_note_str(bit));
			first = 0;
		}
	mv_buf_puts(b, "]}\n");
}

static void print_text(struct mv_buf *b, const struct mv_cli_discovery *d)
{
	const struct mv_authres_caps *c = mv_cli_discovery_caps(d);
	unsigned bit, notes = all_notes(d);
	int smtp = d->proto == MV_AUTHRES_CAPS_SMTP;

	put_lines(b, &d->before, smtp ? "ehlo: " : "before login: ", 0);
	put_lines(b, &d->after, "after login: ", 0);
	mv_buf_printf(b, "authserv: %s\n",
	              c->state != MV_AUTHRES_CAPS_ABSENT ? "advertised" : "not advertised");
	if (c->state == MV_AUTHRES_CAPS_ID)
		mv_buf_printf(b, "authserv-id: %s\n", c->serv_id);
	else if (c->state == MV_AUTHRES_CAPS_CLAIMED)
		mv_buf_printf(b, "authserv-id: (not revealed%s)\n",
		              smtp || d->logged_in ? "" : "; log in with --user to see it");
	for (bit = 1; bit && bit <= notes; bit <<= 1)
		if (notes & bit)
			mv_buf_printf(b, "note: %s\n", mv_authres_caps_note_str(bit));
}

int mv_cli_discover(int argc, char **argv)
{
	struct mv_cli_discover_opts o = {0};
	struct mv_cli_discovery d;
	struct mv_buf b = MV_BUF_INIT;
	int i, r, json = 0, rc;

	o.timeout_s = MV_DISC_TIMEOUT_DEFAULT;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if ((r = mv_cli_discover_option(&o, "discover", argc, argv, &i)) != 0) {
			if (r < 0)
				return MV_DISC_USAGE;
		} else if (argv[i][0] == '-' || o.url) {
			fprintf(stderr, "mailvet discover: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return MV_DISC_USAGE;
		} else {
			o.url = argv[i];
		}
	}
	if (!o.url) {
		usage(stderr);
		return MV_DISC_USAGE;
	}
	if ((rc = mv_cli_discover_run(&o, &d)) != 0) {
		fprintf(stderr, "mailvet discover: %s: %s\n", o.url, d.err);
	} else {
		if (json)
			print_json(&b, &o, &d);
		else
			print_text(&b, &d);
		rc = mv_cli_discovery_caps(&d)->state != MV_AUTHRES_CAPS_ABSENT ? MV_DISC_ADVERTISED
		                                                                : MV_DISC_ABSENT;
		if (mv_buf_status(&b) != MV_OK || fwrite(b.data, 1, b.len, stdout) != b.len ||
		    fflush(stdout) != 0)
			rc = MV_DISC_USAGE;
	}
	mv_buf_free(&b);
	mv_cli_discovery_free(&d);
	return rc;
}
