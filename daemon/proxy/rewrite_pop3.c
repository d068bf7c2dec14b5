/* daemon/proxy/rewrite_pop3.c — POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): follow replies, rewrite CAPA. */
#include <string.h>

#include "proxy.h"

/* Where a multi-line reply that passes as it comes stands in its ".\r\n" terminator. */
enum dot_state { DOT_BOL, DOT_1, DOT_2, DOT_MID };

/* The first word of a line and its length (up to a space or the line's end). */
static size_t first_word(const unsigned char *p, size_t n)
{
	size_t len = 0;

	while (len < n && p[len] != ' ' && p[len] != '\r' && p[len] != '\n')
		len++;
	return len;
}

static int has_argument(const unsigned char *p, size_t n, size_t wl)
{
	return wl < n && p[wl] == ' ' && wl + 1 < n - proxy_eol_len(p, n);
}

/* Queue what the server's next reply answers; 0, or -1 when too many are in flight. */
static int push(struct proxy_rw *rw, enum proxy_cmd cmd)
{
	if (rw->qlen == PROXY_QUEUE_MAX)
		return -1;
	rw->queue[(rw->qhead + rw->qlen++) % PROXY_QUEUE_MAX] = cmd;
	return 0;
}

/* A command line of the client (held whole): queue it, answer STLS ourselves. */
static void client_line(struct proxy_rw *rw, const unsigned char *p, size_t n,
                        const struct proxy_out *o)
{
	size_t wl = first_word(p, n), eol = proxy_eol_len(p, n);
	int arg = has_argument(p, n, wl);
	enum proxy_cmd cmd = PROXY_CMD_OTHER;

	if (rw->sasl) { /* RFC 5034 §4: a SASL response, not a command */
		o->emit(o->arg, p, n);
		return;
	}
	if (proxy_word_is(p, wl, "STLS"))
		cmd = rw->offer_tls && !rw->tls_active && !rw->authed ? PROXY_CMD_STARTTLS
		                                                      : PROXY_CMD_NO_TLS;
	else if (proxy_word_is(p, wl, "CAPA"))
		cmd = PROXY_CMD_CAPA;
	else if (proxy_word_is(p, wl, "PASS") || proxy_word_is(p, wl, "APOP"))
		cmd = PROXY_CMD_LOGIN;
	else if (proxy_word_is(p, wl, "AUTH"))
		cmd = arg ? PROXY_CMD_AUTH : PROXY_CMD_MULTI; /* no argument: the mechanisms */
	else if (proxy_word_is(p, wl, "RETR") || proxy_word_is(p, wl, "TOP"))
		cmd = PROXY_CMD_MULTI;
	else if ((proxy_word_is(p, wl, "LIST") || proxy_word_is(p, wl, "UIDL")) && !arg)
		cmd = PROXY_CMD_MULTI;
	if (push(rw, cmd) != 0) {
		rw->relay = 1;
		o->emit(o->arg, p, n);
		return;
	}
	if (cmd == PROXY_CMD_AUTH)
		rw->sasl = 1;
	if (cmd != PROXY_CMD_STARTTLS && cmd != PROXY_CMD_NO_TLS) {
		o->emit(o->arg, p, n);
		return;
	}
	/* NOOP keeps the server's replies in step; its answer is replaced by ours. */
	proxy_emit_str(o, "NOOP");
	o->emit(o->arg, p + n - eol, eol);
	if (cmd == PROXY_CMD_STARTTLS)
		rw->discard = 1;
}

/* A line of a CAPA reply: ours replace the server's STLS and AUTHSERV (draft §5). */
static void capa_line(struct proxy_rw *rw, const unsigned char *p, size_t n,
                      const struct proxy_out *o)
{
	size_t wl = first_word(p, n), eol = proxy_eol_len(p, n);

	if (n - eol == 1 && p[0] == '.') {
		const unsigned char *e = p + n - eol;
		if (rw->offer_tls && !rw->tls_active && !rw->authed) {
			proxy_emit_str(o, "STLS");
			o->emit(o->arg, e, eol);
		}
		proxy_emit_str(o, "AUTHSERV");
		if (rw->authed) {
			proxy_emit_str(o, " ");
			proxy_emit_str(o, rw->id);
		}
		o->emit(o->arg, e, eol);
		o->emit(o->arg, p, n);
		rw->multi = PROXY_CMD_OTHER;
		return;
	}
	if (proxy_word_is(p, wl, "STLS") || proxy_word_is(p, wl, "AUTHSERV"))
		return;
	o->emit(o->arg, p, n);
}

/* A status line of the server (held whole): what it answers, and what follows it. */
static void status_line(struct proxy_rw *rw, const unsigned char *p, size_t n,
                        const struct proxy_out *o)
{
	size_t eol = proxy_eol_len(p, n);
	int ok = n >= 3 && memcmp(p, "+OK", 3) == 0, err = n >= 4 && memcmp(p, "-ERR", 4) == 0;
	enum proxy_cmd cmd;
	const char *own = NULL;

	if (!rw->s2c.greeted || (!ok && !err) || rw->qlen == 0) {
		rw->s2c.greeted = 1; /* the greeting, a SASL challenge "+ ...", or unsolicited */
		o->emit(o->arg, p, n);
		return;
	}
	cmd = rw->queue[rw->qhead];
	rw->qhead = (rw->qhead + 1) % PROXY_QUEUE_MAX;
	rw->qlen--;
	if (cmd == PROXY_CMD_AUTH)
		rw->sasl = 0;
	if ((cmd == PROXY_CMD_LOGIN || cmd == PROXY_CMD_AUTH) && ok)
		rw->authed = 1;
	if ((cmd == PROXY_CMD_CAPA || cmd == PROXY_CMD_MULTI) && ok) {
		rw->multi = cmd;
		rw->dot = DOT_BOL;
	}
	if (cmd == PROXY_CMD_STARTTLS)
		own = "+OK Begin TLS negotiation";
	else if (cmd == PROXY_CMD_NO_TLS)
		own = "-ERR STLS is not available now";
	if (!own) {
		o->emit(o->arg, p, n);
		return;
	}
	proxy_emit_str(o, own);
	o->emit(o->arg, p + n - eol, eol);
	rw->starttls_due = cmd == PROXY_CMD_STARTTLS;
}

/*
 * A multi-line reply passed as it comes (RETR of any size): only its end
 * is looked for, a line that is exactly "." (RFC 1939 §3). Returns the
 * bytes consumed, up to that end.
 */
static size_t stream_multi(struct proxy_rw *rw, const unsigned char *in, size_t len,
                           const struct proxy_out *o)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c;
		if (rw->dot == DOT_MID) {
			const unsigned char *nl = memchr(in + i, '\n', len - i);
			if (!nl) {
				i = len;
				break;
			}
			i = (size_t)(nl - in) + 1;
			rw->dot = DOT_BOL;
			continue;
		}
		c = in[i++];
		if (rw->dot == DOT_BOL)
			rw->dot = c == '.' ? DOT_1 : c == '\n' ? DOT_BOL : DOT_MID;
		else if (rw->dot == DOT_1 && c == '\r')
			rw->dot = DOT_2;
		else if ((rw->dot == DOT_1 || rw->dot == DOT_2) && c == '\n') {
			rw->multi = PROXY_CMD_OTHER;
			break;
		} else
			rw->dot = c == '\n' ? DOT_BOL : DOT_MID;
	}
	o->emit(o->arg, in, i);
	return i;
}

/* Lines held whole up to PROXY_LINE_MAX; longer ones pass unchanged. */
static size_t feed(struct proxy_rw *rw, struct proxy_dir *d, const unsigned char *in, size_t len,
                   const struct proxy_out *o)
{
	int server = d == &rw->s2c, *stop = server ? &rw->starttls_due : &rw->discard, r;
	size_t i = 0, used;

	while (i < len && !rw->relay && !*stop) {
		struct proxy_line *l = &d->line;
		if (server && rw->multi == PROXY_CMD_MULTI) {
			i += stream_multi(rw, in + i, len - i, o);
			continue;
		}
		if (l->streaming) {
			const unsigned char *nl = memchr(in + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
			o->emit(o->arg, in + i, n);
			i += n;
			l->streaming = !nl;
			if (nl && !server && push(rw, PROXY_CMD_OTHER) != 0)
				rw->relay = 1; /* an overlong command still gets one reply */
			continue;
		}
		r = proxy_take_line(l, in + i, len - i, &used);
		i += used;
		if (r == 0)
			continue;
		if (r < 0) { /* no POP3 line is this long (RFC 2449 §4: 512) */
			o->emit(o->arg, l->buf, l->len);
			l->streaming = 1;
			rw->relay |= server; /* a reply we cannot read: stop following them */
		} else if (!server) {
			client_line(rw, l->buf, l->len, o);
		} else if (rw->multi == PROXY_CMD_CAPA) {
			capa_line(rw, l->buf, l->len, o);
		} else {
			status_line(rw, l->buf, l->len, o);
		}
		l->len = 0;
	}
	if (rw->relay && i < len) {
		o->emit(o->arg, in + i, len - i);
		i = len;
	}
	if (rw->discard && !server)
		i = len;
	return i;
}

size_t proxy_pop3_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o)
{
	return feed(rw, &rw->s2c, in, len, o);
}

size_t proxy_pop3_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o)
{
	return feed(rw, &rw->c2s, in, len, o);
}
