/*
 * cli/discover_session.c — the SMTP, IMAP and POP3 dialogues of `mailvet discover`:
 * greeting, STARTTLS, capabilities, login, capabilities again, goodbye. Every reply is
 * bounded in lines and bytes; the capability text goes to lib/authres (mv_authres_caps_parse).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"

/* One session: the connection, what the user asked for, what we saw. */
struct session {
	struct mv_cli_conn conn;
	const struct mv_cli_discover_opts *o;
	struct mv_cli_discovery *d;
	const char *password;
	struct mv_buf line;
	unsigned tag;
};

static int errf(struct session *s, int code, const char *fmt, ...) MV_PRINTF(3, 4);

/* Set the session's one-line error and return code. */
static int errf(struct session *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->d->err, sizeof s->d->err, fmt, ap);
	va_end(ap);
	return code;
}

/* A failed connection call: its error into the session's. */
static int conn_err(struct session *s, int code)
{
	return errf(s, code, "%s", s->conn.err);
}

/* The last line read, cut for an error message. */
static const char *shown(struct session *s)
{
	if (s->line.len > 80)
		s->line.len = 80;
	mv_buf_putc(&s->line, '\0');
	return mv_buf_status(&s->line) == MV_OK ? s->line.data : "";
}

static int send_line(struct session *s, const char *text)
{
	int rc = mv_cli_conn_write(&s->conn, text, strlen(text));

	if (rc == 0)
		rc = mv_cli_conn_write(&s->conn, "\r\n", 2);
	return rc ? conn_err(s, rc) : 0;
}

static int read_line(struct session *s)
{
	int rc = mv_cli_conn_line(&s->conn, &s->line);

	return rc ? conn_err(s, rc) : 0;
}

/* Append the line just read to a reply being collected, within the reply limits. */
static int collect(struct session *s, struct mv_buf *reply, size_t *lines)
{
	if (++*lines > MV_DISC_REPLY_LINES || reply->len + s->line.len + 2 > MV_DISC_REPLY_MAX)
		return errf(s, MV_DISC_PROTOCOL, "a reply of more than %d lines or %d bytes",
		            MV_DISC_REPLY_LINES, MV_DISC_REPLY_MAX);
	mv_buf_append(reply, s->line.data, s->line.len);
	mv_buf_puts(reply, "\r\n");
	return mv_buf_status(reply) == MV_OK ? 0 : errf(s, MV_DISC_USAGE, "out of memory");
}

/* STARTTLS accepted: anything already sent after the reply would be an injection. */
static int start_tls(struct session *s)
{
	int rc;

	if (mv_cli_conn_pending(&s->conn))
		return errf(s, MV_DISC_PROTOCOL, "data after the server's STARTTLS reply");
	if ((rc = mv_cli_conn_tls(&s->conn)) != 0)
		return conn_err(s, rc);
	s->d->tls = "starttls";
	return 0;
}

/* ---- SMTP (RFC 5321; STARTTLS RFC 3207) -------------------------------- */

/* A whole reply; *code gets its code. Lines must share one code, "ddd-" then "ddd ". */
static int smtp_reply(struct session *s, struct mv_buf *reply, int *code)
{
	size_t lines = 0;
	int rc;

	mv_buf_reset(reply);
	for (;;) {
		if ((rc = read_line(s)) != 0 || (rc = collect(s, reply, &lines)) != 0)
			return rc;
		if (s->line.len < 3 || s->line.data[0] < '2' || s->line.data[0] > '5' ||
		    (s->line.len > 3 && s->line.data[3] != '-' && s->line.data[3] != ' ') ||
		    (lines > 1 && memcmp(s->line.data, reply->data, 3) != 0))
			return errf(s, MV_DISC_PROTOCOL, "not an SMTP reply line: %s", shown(s));
		if (s->line.len == 3 || s->line.data[3] == ' ')
			break;
	}
	*code = (reply->data[0] - '0') * 100 + (reply->data[1] - '0') * 10 + (reply->data[2] - '0');
	return 0;
}

static int smtp_expect(struct session *s, struct mv_buf *reply, int want, const char *what)
{
	int code = 0, rc = smtp_reply(s, reply, &code);

	if (rc == 0 && code != want)
		return errf(s, MV_DISC_PROTOCOL, "%s: the server answered %.*s", what,
		            (int)(reply->len > 80 ? 80 : reply->len - 2), reply->data);
	return rc;
}

static int smtp_session(struct session *s)
{
	struct mv_buf *ehlo = &s->d->before, other = MV_BUF_INIT;
	int rc;

	if ((rc = smtp_expect(s, &other, 220, "greeting")) != 0 ||
	    (rc = send_line(s, "EHLO localhost")) != 0 ||
	    (rc = smtp_expect(s, ehlo, 250, "EHLO")) != 0)
		goto out;
	if (s->o->starttls) {
		if ((rc = send_line(s, "STARTTLS")) != 0 ||
		    (rc = smtp_expect(s, &other, 220, "STARTTLS")) != 0 ||
		    (rc = start_tls(s)) != 0 || (rc = send_line(s, "EHLO localhost")) != 0 ||
		    (rc = smtp_expect(s, ehlo, 250, "EHLO after STARTTLS")) != 0)
			goto out;
	}
	(void)send_line(s, "QUIT"); /* the answer does not matter */
out:
	mv_buf_free(&other);
	return rc;
}

/* ---- IMAP (RFC 9051, RFC 3501) ----------------------------------------- */

/* "{n}" (or "{n+}") at the end of the line: n (capped past the reply limit), or -1. */
static long long imap_literal(const struct mv_buf *l)
{
	size_t end, i;
	long long n = 0;

	if (l->len < 3 || l->data[l->len - 1] != '}')
		return -1;
	end = l->data[l->len - 2] == '+' ? l->len - 2 : l->len - 1;
	for (i = end; i > 0 && l->data[i - 1] >= '0' && l->data[i - 1] <= '9'; i--)
		;
	if (i == end || i == 0 || l->data[i - 1] != '{')
		return -1;
	for (; i < end && n <= MV_DISC_REPLY_MAX; i++)
		n = n * 10 + (l->data[i] - '0');
	return n;
}

/*
 * Send "tag command" and read to the tagged reply; the last untagged
 * CAPABILITY line goes to caps (if not NULL). Literals in untagged data are
 * skipped, within the reply limits. *ok: the tagged reply was OK.
 */
static int imap_command(struct session *s, const char *command, struct mv_buf *caps, int *ok)
{
	char tag[16];
	struct mv_buf cmd = MV_BUF_INIT, seen = MV_BUF_INIT;
	size_t lines = 0, tl;
	long long lit;
	int rc;

	snprintf(tag, sizeof tag, "a%u ", ++s->tag);
	tl = strlen(tag);
	mv_buf_printf(&cmd, "%s%s", tag, command);
	if ((rc = mv_buf_status(&cmd) != MV_OK ? errf(s, MV_DISC_USAGE, "out of memory")
	                                       : send_line(s, cmd.data)) != 0)
		goto out;
	for (;;) {
		if ((rc = read_line(s)) != 0 || (rc = collect(s, &seen, &lines)) != 0)
			goto out;
		if (s->line.len >= tl && memcmp(s->line.data, tag, tl) == 0)
			break;
		if (caps && s->line.len > 13 && mv_ascii_ieq(s->line.data, 13, "* CAPABILITY ")) {
			mv_buf_reset(caps);
			mv_buf_append(caps, s->line.data, s->line.len);
			mv_buf_puts(caps, "\r\n");
		}
		if ((lit = imap_literal(&s->line)) >= 0) {
			if (seen.len + (size_t)lit > MV_DISC_REPLY_MAX) {
				rc = errf(s, MV_DISC_PROTOCOL, "a literal of %lld bytes or more",
				          lit);
				goto out;
			}
			if ((rc = mv_cli_conn_skip(&s->conn, (size_t)lit)) != 0) {
				rc = conn_err(s, rc);
				goto out;
			}
			seen.len += (size_t)lit; /* counts against the reply limit */
		}
	}
	*ok = s->line.len >= tl + 2 && mv_ascii_ieq(s->line.data + tl, 2, "OK");
out:
	mv_buf_free(&cmd);
	mv_buf_free(&seen);
	return rc;
}

/* CAPABILITY into reply; a reply without a CAPABILITY line breaks RFC 9051 §6.1.1. */
static int imap_capability(struct session *s, struct mv_buf *reply)
{
	int ok = 0, rc;

	mv_buf_reset(reply);
	if ((rc = imap_command(s, "CAPABILITY", reply, &ok)) != 0)
		return rc;
	if (!ok || reply->len == 0)
		return errf(s, MV_DISC_PROTOCOL, "CAPABILITY: no capability list: %s", shown(s));
	return 0;
}

/* An IMAP quoted string of text that needs no literal (no CR, LF, NUL, 8-bit). */
static int imap_quote(struct mv_buf *b, const char *t)
{
	mv_buf_putc(b, '"');
	for (; *t; t++) {
		if (*t == '\r' || *t == '\n' || (unsigned char)*t >= 0x80)
			return -1;
		if (*t == '"' || *t == '\\')
			mv_buf_putc(b, '\\');
		mv_buf_putc(b, *t);
	}
	mv_buf_putc(b, '"');
	return 0;
}

static int imap_login(struct session *s)
{
	struct mv_buf cmd = MV_BUF_INIT;
	int ok = 0, rc;

	mv_buf_puts(&cmd, "LOGIN ");
	if (imap_quote(&cmd, s->o->user) < 0 || (mv_buf_putc(&cmd, ' '), 0) ||
	    imap_quote(&cmd, s->password) < 0) {
		rc = errf(s, MV_DISC_USAGE, "user or password holds CR, LF or 8-bit bytes");
	} else if (mv_buf_status(&cmd) != MV_OK) {
		rc = errf(s, MV_DISC_USAGE, "out of memory");
	} else if ((rc = imap_command(s, cmd.data, NULL, &ok)) == 0 && !ok) {
		rc = errf(s, MV_DISC_LOGIN, "login refused: %s", shown(s));
	}
	mv_buf_free(&cmd);
	return rc;
}

static int imap_session(struct session *s)
{
	int rc, ok = 0;

	if ((rc = read_line(s)) != 0)
		return rc;
	if (s->line.len < 4 || !mv_ascii_ieq(s->line.data, 4, "* OK"))
		return errf(s, MV_DISC_PROTOCOL, "greeting: %s", shown(s));
	if ((rc = imap_capability(s, &s->d->before)) != 0)
		return rc;
	if (s->o->starttls) {
		if ((rc = imap_command(s, "STARTTLS", NULL, &ok)) != 0)
			return rc;
		if (!ok)
			return errf(s, MV_DISC_PROTOCOL, "STARTTLS refused: %s", shown(s));
		if ((rc = start_tls(s)) != 0 || (rc = imap_capability(s, &s->d->before)) != 0)
			return rc;
	}
	if (s->o->user) {
		if ((rc = imap_login(s)) != 0 || (rc = imap_capability(s, &s->d->after)) != 0)
			return rc;
		s->d->logged_in = 1;
	}
	(void)imap_command(s, "LOGOUT", NULL, &ok);
	return 0;
}

/* ---- POP3 (RFC 1939; CAPA and STLS RFC 2449, RFC 2595) ----------------- */

/* A one-line reply; 0 with *ok = "+OK", or an exit status. */
static int pop3_status(struct session *s, int *ok)
{
	int rc = read_line(s);

	if (rc)
		return rc;
	*ok = s->line.len >= 3 && memcmp(s->line.data, "+OK", 3) == 0;
	if (!*ok && (s->line.len < 4 || memcmp(s->line.data, "-ERR", 4) != 0))
		return errf(s, MV_DISC_PROTOCOL, "not a POP3 reply: %s", shown(s));
	return 0;
}

/* CAPA into reply: the whole multi-line reply; "-ERR" (no CAPA) leaves it "-ERR ...". */
static int pop3_capa(struct session *s, struct mv_buf *reply)
{
	size_t lines = 0;
	int ok = 0, rc;

	mv_buf_reset(reply);
	if ((rc = send_line(s, "CAPA")) != 0 || (rc = pop3_status(s, &ok)) != 0 ||
	    (rc = collect(s, reply, &lines)) != 0 || !ok)
		return rc;
	do {
		if ((rc = read_line(s)) != 0 || (rc = collect(s, reply, &lines)) != 0)
			return rc;
	} while (!(s->line.len == 1 && s->line.data[0] == '.'));
	return 0;
}

static int pop3_command(struct session *s, const char *verb, const char *arg, int fail_code)
{
	struct mv_buf cmd = MV_BUF_INIT;
	int ok = 0, rc;

	mv_buf_printf(&cmd, "%s%s%s", verb, arg ? " " : "", arg ? arg : "");
	if (arg && strpbrk(arg, "\r\n"))
		rc = errf(s, MV_DISC_USAGE, "user or password holds CR or LF");
	else if (mv_buf_status(&cmd) != MV_OK)
		rc = errf(s, MV_DISC_USAGE, "out of memory");
	else if ((rc = send_line(s, cmd.data)) == 0 && (rc = pop3_status(s, &ok)) == 0 && !ok)
		rc = errf(s, fail_code, "%s refused: %s", verb, shown(s));
	mv_buf_free(&cmd);
	return rc;
}

static int pop3_session(struct session *s)
{
	int rc, ok = 0;

	if ((rc = pop3_status(s, &ok)) != 0)
		return rc;
	if (!ok)
		return errf(s, MV_DISC_PROTOCOL, "greeting: %s", shown(s));
	if ((rc = pop3_capa(s, &s->d->before)) != 0)
		return rc;
	if (s->o->starttls) {
		if ((rc = pop3_command(s, "STLS", NULL, MV_DISC_PROTOCOL)) != 0 ||
		    (rc = start_tls(s)) != 0 || (rc = pop3_capa(s, &s->d->before)) != 0)
			return rc;
	}
	if (s->o->user) {
		if ((rc = pop3_command(s, "USER", s->o->user, MV_DISC_LOGIN)) != 0 ||
		    (rc = pop3_command(s, "PASS", s->password, MV_DISC_LOGIN)) != 0 ||
		    (rc = pop3_capa(s, &s->d->after)) != 0)
			return rc;
		s->d->logged_in = 1;
	}
	(void)send_line(s, "QUIT");
	return 0;
}

/* ---- The session as a whole -------------------------------------------- */

/* Read the capability replies with lib/authres; a "-ERR" CAPA reply is no AUTHSERV. */
static int read_caps(struct session *s, const struct mv_buf *reply, int authenticated,
                     struct mv_authres_caps *caps)
{
	char err[200];

	if (reply->len == 0 || (s->d->proto == MV_AUTHRES_CAPS_POP3 && reply->data[0] == '-'))
		return 0;
	if (mv_authres_caps_parse(s->d->proto, authenticated, reply->data, reply->len, caps, err,
	                          sizeof err) != MV_OK)
		return errf(s, MV_DISC_PROTOCOL, "capabilities%s: %s",
		            authenticated ? " after login" : "", err);
	return 0;
}

/* The password: the first line of the file, its line break removed. */
static int read_password(struct session *s, char **pw)
{
	size_t len;
	enum mv_status st = mv_read_file(s->o->password_file, 4096, pw, &len);

	if (st != MV_OK)
		return errf(s, MV_DISC_USAGE, "%s: %s", s->o->password_file, mv_status_str(st));
	(*pw)[strcspn(*pw, "\r\n")] = '\0';
	return 0;
}

/* scheme -> protocol, default port, implicit TLS. */
static const struct scheme {
	const char *name;
	enum mv_authres_caps_proto proto;
	const char *port;
	int implicit_tls;
} schemes[] = {
        {"smtp", MV_AUTHRES_CAPS_SMTP, "25", 0},   {"submission", MV_AUTHRES_CAPS_SMTP, "587", 0},
        {"smtps", MV_AUTHRES_CAPS_SMTP, "465", 1}, {"imap", MV_AUTHRES_CAPS_IMAP, "143", 0},
        {"imaps", MV_AUTHRES_CAPS_IMAP, "993", 1}, {"pop3", MV_AUTHRES_CAPS_POP3, "110", 0},
        {"pop3s", MV_AUTHRES_CAPS_POP3, "995", 1},
};

/* scheme://host[:port][/] or scheme://[v6]:port: the scheme entry, host and port in d. */
static const struct scheme *parse_url(const char *url, struct mv_cli_discovery *d)
{
	const char *sep = strstr(url, "://"), *h, *end, *colon;
	size_t i, hl;

	if (!sep)
		return NULL;
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (mv_ascii_ieq(url, (size_t)(sep - url), schemes[i].name))
			break;
	if (i == sizeof schemes / sizeof schemes[0])
		return NULL;
	h = sep + 3;
	end = h + strcspn(h, "/");
	if (end[0] == '/' && end[1] != '\0')
		return NULL;
	if (*h == '[') {
		if (!(colon = memchr(h, ']', (size_t)(end - h))))
			return NULL;
		h++;
		hl = (size_t)(colon - h);
		colon = colon[1] == ':' ? colon + 1 : (colon + 1 == end ? NULL : h);
		if (colon == h)
			return NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon ? colon : end) - h);
	}
	if (hl == 0 || hl >= sizeof d->host || memchr(h, '@', hl))
		return NULL;
	memcpy(d->host, h, hl);
	d->host[hl] = '\0';
	if (colon) {
		size_t pl = (size_t)(end - colon - 1);
		if (pl == 0 || pl >= sizeof d->port || strspn(colon + 1, "0123456789") < pl)
			return NULL;
		memcpy(d->port, colon + 1, pl);
		d->port[pl] = '\0';
	} else {
		snprintf(d->port, sizeof d->port, "%s", schemes[i].port);
	}
	d->proto = schemes[i].proto;
	return &schemes[i];
}

/* Connect and run the dialogue of d->proto; 0 or an exit status. */
static int converse(struct session *s, const struct scheme *sc)
{
	int rc;

	s->conn.host = s->d->host;
	s->conn.ca = s->o->ca;
	s->conn.insecure = s->o->insecure;
	if ((rc = mv_cli_conn_open(&s->conn, s->d->host, s->d->port, s->o->timeout_s)) != 0)
		return conn_err(s, rc);
	if (sc->implicit_tls) {
		if ((rc = mv_cli_conn_tls(&s->conn)) != 0)
			return conn_err(s, rc);
		s->d->tls = "implicit";
	}
	if (sc->proto == MV_AUTHRES_CAPS_SMTP)
		rc = smtp_session(s);
	else if (sc->proto == MV_AUTHRES_CAPS_IMAP)
		rc = imap_session(s);
	else
		rc = pop3_session(s);
	if (rc == 0 && (rc = read_caps(s, &s->d->before, 0, &s->d->caps_before)) == 0)
		rc = read_caps(s, &s->d->after, 1, &s->d->caps_after);
	return rc;
}

int mv_cli_discover_run(const struct mv_cli_discover_opts *o, struct mv_cli_discovery *d)
{
	struct session s;
	const struct scheme *sc;
	char *pw = NULL;
	int rc;

	memset(&s, 0, sizeof s);
	memset(d, 0, sizeof *d);
	s.conn.fd = -1;
	s.o = o;
	s.d = d;
	d->tls = "none";
	mv_buf_init(&s.line);
	if (!(sc = parse_url(o->url, d))) {
		rc = errf(&s, MV_DISC_USAGE,
		          "not a URL of the form smtp|submission|smtps|imap|imaps|pop3|pop3s"
		          "://host[:port]");
	} else if (o->starttls && sc->implicit_tls) {
		rc = errf(&s, MV_DISC_USAGE, "--starttls with a TLS scheme (%s)", sc->name);
	} else if (o->user && sc->proto == MV_AUTHRES_CAPS_SMTP) {
		rc = errf(&s, MV_DISC_USAGE,
		          "--user is for IMAP and POP3 (SMTP shows AUTHSERV in EHLO)");
	} else if (o->user && !o->password_file) {
		rc = errf(&s, MV_DISC_USAGE, "--user needs --password-file");
	} else if (o->user && (rc = read_password(&s, &pw)) != 0) {
		/* reported */
	} else {
		s.password = pw;
		rc = converse(&s, sc);
	}
	mv_cli_conn_close(&s.conn);
	mv_buf_free(&s.line);
	if (pw) {
		memset(pw, 0, strlen(pw));
		free(pw);
	}
	return rc;
}

void mv_cli_discovery_free(struct mv_cli_discovery *d)
{
	mv_buf_free(&d->before);
	mv_buf_free(&d->after);
	mv_authres_caps_clear(&d->caps_before);
	mv_authres_caps_clear(&d->caps_after);
}

const struct mv_authres_caps *mv_cli_discovery_caps(const struct mv_cli_discovery *d)
{
	return d->logged_in ? &d->caps_after : &d->caps_before;
}
