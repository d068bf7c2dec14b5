/* daemon/smtp/relay.c — the next hop: an SMTP or LMTP client on the same loop, one per client connection. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>

#include "log.h"
#include "smtp_int.h"

#define RELAY_FILL 256 * 1024 /* body bytes queued for the next hop at a time */
#define RELAY_LOW 64 * 1024   /* refill below this */

static void relay_fail(struct smtp_session *s, const char *why);

static void relay_send(struct smtp_session *s, const char *fmt, ...) MV_PRINTF(2, 3);
static void relay_send(struct smtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->relay.bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* The callback of the command in flight, called once; the relay is idle again before. */
static void relay_answer(struct smtp_session *s, int code)
{
	relay_cb cb = s->relay.cb;

	s->relay.cb = NULL;
	if (cb)
		cb(s, code, s->relay.reply ? s->relay.reply : "");
}

static void relay_timeouts(struct smtp_session *s, unsigned secs)
{
	struct timeval tv = {secs, 0};

	bufferevent_set_timeouts(s->relay.bev, &tv, &tv);
}

/* RFC 3461 xtext, for XCLIENT values (Postfix XCLIENT_README). */
static void xtext(struct mv_buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c < 33 || c > 126 || c == '+' || c == '=')
			mv_buf_printf(b, "+%02X", c);
		else
			mv_buf_putc(b, (char)c);
	}
}

static void send_xclient(struct smtp_session *s)
{
	struct mv_buf b = MV_BUF_INIT;
	const char *ip = s->client.ip;

	mv_buf_puts(&b, "XCLIENT ADDR=");
	if (strchr(ip, ':'))
		mv_buf_puts(&b, "IPV6:");
	mv_buf_puts(&b, ip);
	/* The name is verified later (iprev, in the pipeline): not known here. */
	mv_buf_puts(&b, " NAME=[UNAVAILABLE] HELO=");
	xtext(&b, s->helo && strlen(s->helo) < 255 ? s->helo : "[UNAVAILABLE]");
	mv_buf_puts(&b, s->esmtp ? " PROTO=ESMTP" : " PROTO=SMTP");
	if (s->login) { /* the next hop's logs and restrictions see who logged in */
		mv_buf_puts(&b, " LOGIN=");
		xtext(&b, s->login);
	}
	if (mv_buf_status(&b) != MV_OK) {
		mv_buf_free(&b);
		relay_fail(s, "out of memory");
		return;
	}
	relay_send(s, "%s", b.data);
	mv_buf_free(&b);
	s->relay.state = RELAY_XCLIENT;
}

/* 1 when w is one word of printable ASCII, short enough for a domain. */
int smtp_printable_word(const char *w)
{
	size_t n = 0;

	for (; w[n]; n++)
		if ((unsigned char)w[n] <= ' ' || (unsigned char)w[n] >= 127 || n >= 255)
			return 0;
	return n > 0;
}

/*
 * After XCLIENT the EHLO names the real client (its HELO), as content
 * filters do: a second EHLO replaces the HELO that XCLIENT set.
 */
static void send_ehlo(struct smtp_session *s, enum relay_state next)
{
	const char *me = s->lc->hostname[0] ? s->lc->hostname : s->rt->cfg.authserv_id;

	if (next == RELAY_XCLIENT_EHLO && s->helo && smtp_printable_word(s->helo))
		me = s->helo;
	relay_send(s, "%s %s", s->lc->next_hop_proto == MVD_NEXT_HOP_LMTP ? "LHLO" : "EHLO", me);
	s->relay.state = next;
}

/* What the next hop's EHLO reply offers. */
static void ehlo_keywords(struct smtp_relay *r)
{
	const char *p = r->reply;

	r->xclient = r->size = r->eightbit = r->smtputf8 = 0;
	while (*p) {
		const char *kw = p + 4, *eol = strstr(p, "\r\n");
		size_t n = eol ? (size_t)(eol - kw) : strlen(kw);
		size_t w = strcspn(kw, " =\r");

		if (w > n)
			w = n;
		r->xclient |= w == 7 && mv_ascii_ieq(kw, w, "XCLIENT");
		r->size |= w == 4 && mv_ascii_ieq(kw, w, "SIZE");
		r->eightbit |= w == 8 && mv_ascii_ieq(kw, w, "8BITMIME");
		r->smtputf8 |= w == 8 && mv_ascii_ieq(kw, w, "SMTPUTF8");
		if (!eol)
			break;
		p = eol + 2;
	}
}

static void send_mail(struct smtp_session *s)
{
	const struct smtp_path *m = s->mail;
	const char *size = smtp_path_param(m, "SIZE"), *body = smtp_path_param(m, "BODY");
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_printf(&b, "MAIL FROM:<%s>", m->addr);
	if (size && s->relay.size)
		mv_buf_printf(&b, " SIZE=%s", size);
	if (body && s->relay.eightbit)
		mv_buf_printf(&b, " BODY=%s", body);
	if (smtp_path_param(m, "SMTPUTF8") && s->relay.smtputf8)
		mv_buf_puts(&b, " SMTPUTF8");
	if (mv_buf_status(&b) != MV_OK) {
		mv_buf_free(&b);
		relay_fail(s, "out of memory");
		return;
	}
	relay_send(s, "%s", b.data);
	mv_buf_free(&b);
	s->relay.state = RELAY_BUSY;
}

/* Queue body bytes from the spool until RELAY_FILL are waiting; then ".". */
static void fill(struct smtp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->relay.bev);
	char chunk[16384];

	while (s->relay.spool_left > 0 && evbuffer_get_length(out) < RELAY_FILL) {
		size_t want = s->relay.spool_left < (long)sizeof chunk ? (size_t)s->relay.spool_left
		                                                       : sizeof chunk;
		size_t got = fread(chunk, 1, want, s->msg.spool);
		if (got == 0) {
			relay_fail(s, "cannot read the spool");
			return;
		}
		evbuffer_add(out, chunk, got);
		s->relay.spool_left -= (long)got;
	}
	if (s->relay.spool_left == 0) {
		evbuffer_add(out, ".\r\n", 3);
		s->relay.state = RELAY_DATA_END;
		s->relay.lmtp_left = s->lc->next_hop_proto == MVD_NEXT_HOP_LMTP ? s->nrcpt : 1;
		s->relay.lmtp_first_code = 0;
		relay_timeouts(s, s->lc->next_hop_data_final);
	}
}

/* LMTP (RFC 2033 §4.2): one reply per accepted recipient; the client hears the first refusal. */
static void data_end_reply(struct smtp_session *s, int code)
{
	struct smtp_relay *r = &s->relay;

	if (r->lmtp_first_code == 0 || (code >= 300 && r->lmtp_first_code < 300)) {
		r->lmtp_first_code = code;
		memcpy(r->lmtp_first, r->reply, r->replylen + 1);
	}
	if (--r->lmtp_left > 0)
		return;
	memcpy(r->reply, r->lmtp_first, SMTP_REPLY_MAX);
	r->state = RELAY_READY;
	relay_timeouts(s, s->lc->next_hop_timeout);
	relay_answer(s, r->lmtp_first_code);
}

/* A complete reply from the next hop, in whatever state it came. */
static void relay_reply(struct smtp_session *s, int code)
{
	struct smtp_relay *r = &s->relay;

	switch (r->state) {
	case RELAY_GREETING:
		if (code != 220)
			return relay_fail(s, "greeting refused");
		return send_ehlo(s, RELAY_EHLO);
	case RELAY_EHLO:
	case RELAY_XCLIENT_EHLO:
		if (code != 250)
			return relay_fail(s, "EHLO refused");
		ehlo_keywords(r);
		if (r->state == RELAY_EHLO && s->lc->xclient) {
			if (r->xclient)
				return send_xclient(s);
			mvd_log(MVD_LOG_WARNING, "smtp", "id=%lu next hop %s offers no XCLIENT",
			        s->id, s->lc->next_hop);
		}
		return send_mail(s);
	case RELAY_XCLIENT:
		if (code != 220)
			return relay_fail(s, "XCLIENT refused");
		return send_ehlo(s, RELAY_XCLIENT_EHLO);
	case RELAY_BUSY:
		r->state = RELAY_READY;
		return relay_answer(s, code);
	case RELAY_DATA_354:
		if (code != 354) {
			/* DATA refused: the next hop's transaction is still open; RSET it first. */
			r->lmtp_first_code = code;
			memcpy(r->lmtp_first, r->reply, r->replylen + 1);
			relay_send(s, "RSET");
			r->state = RELAY_DATA_RSET;
			return;
		}
		r->state = RELAY_SENDING;
		evbuffer_add(bufferevent_get_output(r->bev), r->head_out, r->head_out_len);
		return fill(s);
	case RELAY_DATA_END:
		return data_end_reply(s, code);
	case RELAY_DATA_RSET: /* the client hears the refusal of DATA */
		memcpy(r->reply, r->lmtp_first, SMTP_REPLY_MAX);
		r->state = RELAY_READY;
		return relay_answer(s, r->lmtp_first_code);
	default: /* a reply nobody asked for */
		return relay_fail(s, "unexpected reply");
	}
}

/* Read reply lines; at a complete reply, act on it. */
static void relay_read(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_relay *r = &s->relay;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (r->bev && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		int code = 0, last;

		if (n >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
		    line[1] <= '9' && line[2] >= '0' && line[2] <= '9' &&
		    (n == 3 || line[3] == ' ' || line[3] == '-'))
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		last = n == 3 || (n > 3 && line[3] == ' ');
		if (!code || strchr(line, '\r')) {
			free(line);
			return relay_fail(s, "malformed reply");
		}
		if (r->replylen + n + 3 < SMTP_REPLY_MAX) {
			memcpy(r->reply + r->replylen, line, n);
			memcpy(r->reply + r->replylen + n, "\r\n", 3);
			r->replylen += n + 2;
		}
		free(line);
		if (last) {
			relay_reply(s, code);
			r->replylen = 0;
			if (r->reply)
				r->reply[0] = '\0';
		}
	}
	if (r->bev && evbuffer_get_length(bufferevent_get_input(r->bev)) > SMTP_REPLY_MAX)
		relay_fail(s, "reply line too long");
}

static void relay_write(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->relay.state == RELAY_SENDING)
		fill(s);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/*
		 * The end of a message ("." after the body) is a small write after
		 * large ones: without TCP_NODELAY it waits for the next hop's delayed
		 * ACK (40 ms). Not a TCP socket (unix:): nothing to set.
		 */
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		s->relay.state = RELAY_GREETING;
		return;
	}
	relay_fail(s, what & BEV_EVENT_TIMEOUT ? "timeout"
	              : what & BEV_EVENT_EOF   ? "connection closed"
	                                       : "connection error");
}

/* The next hop is gone: the pending command, if any, hears code 0. */
static void relay_fail(struct smtp_session *s, const char *why)
{
	/* An idle next-hop connection closed by the next hop is no news. */
	mvd_log(s->relay.cb || s->in_mail ? MVD_LOG_WARNING : MVD_LOG_DEBUG, "smtp",
	        "id=%lu next hop %s: %s", s->id, s->lc->next_hop, why);
	if (s->relay.bev)
		bufferevent_free(s->relay.bev);
	s->relay.bev = NULL;
	s->relay.state = RELAY_DEAD;
	free(s->relay.head_out);
	s->relay.head_out = NULL;
	free(s->relay.reply);
	s->relay.reply = s->relay.lmtp_first = NULL;
	s->relay.replylen = 0;
	if (s->in_mail)
		s->relay_lost = 1;
	relay_answer(s, 0);
}

/* The next hop's address; 0, or -1 when it cannot be resolved. */
static int next_hop_addr(const char *spec, struct sockaddr_storage *ss, int *len)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {0}, *ai = NULL;

	memset(ss, 0, sizeof *ss);
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		if (strlen(spec + 5) >= sizeof un->sun_path)
			return -1;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, spec + 5, strlen(spec + 5) + 1);
		*len = (int)sizeof *un;
		return 0;
	}
	if (mvd_listener_split_addr(spec + 5, host, sizeof host, &p) != 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = (int)ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void relay_open(struct smtp_session *s)
{
	struct smtp_relay *r = &s->relay;
	struct sockaddr_storage ss;
	int len;

	if (next_hop_addr(s->lc->next_hop, &ss, &len) != 0)
		return relay_fail(s, "cannot resolve the address");
	/* The reply buffers live only while connected: an idle client costs less. */
	if (!(r->reply = malloc(2 * SMTP_REPLY_MAX)))
		return relay_fail(s, "out of memory");
	r->lmtp_first = r->reply + SMTP_REPLY_MAX;
	if (!(r->bev = bufferevent_socket_new(s->loop->base, -1, BEV_OPT_CLOSE_ON_FREE)))
		return relay_fail(s, "out of memory");
	bufferevent_setcb(r->bev, relay_read, relay_write, relay_event, s);
	bufferevent_setwatermark(r->bev, EV_WRITE, RELAY_LOW, 0);
	relay_timeouts(s, s->lc->next_hop_timeout);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	r->state = RELAY_CONNECTING;
	r->replylen = 0;
	r->reply[0] = '\0';
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&ss, len) != 0)
		relay_fail(s, "cannot connect");
}

void smtp_relay_mail(struct smtp_session *s, relay_cb cb)
{
	s->relay.cb = cb;
	if (s->relay.state == RELAY_READY)
		send_mail(s);
	else if (s->relay.state == RELAY_DEAD)
		relay_open(s); /* greeting, EHLO, XCLIENT, then MAIL */
	else
		relay_fail(s, "busy");
}

void smtp_relay_cmd(struct smtp_session *s, relay_cb cb, const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;

	s->relay.cb = cb;
	if (s->relay.state != RELAY_READY) {
		relay_answer(s, 0);
		return;
	}
	out = bufferevent_get_output(s->relay.bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	s->relay.state = RELAY_BUSY;
}

void smtp_relay_data(struct smtp_session *s, relay_cb cb)
{
	struct smtp_relay *r = &s->relay;
	const char *extra = NULL;
	char qfield[600], *received;
	long size;

	r->cb = cb;
	if (r->state != RELAY_READY)
		return relay_answer(s, 0);
	/* [policy] quarantine = milter has no milter here: the field says it instead. */
	if (s->out.verdict.action == MVD_ACTION_QUARANTINE &&
	    s->rt->cfg.quarantine == MVD_QUARANTINE_MILTER) {
		snprintf(qfield, sizeof qfield, "%s: %s", s->rt->cfg.quarantine_header,
		         s->out.verdict.reason[0] ? s->out.verdict.reason : "quarantined");
		extra = qfield;
	}
	free(r->head_out);
	received = s->login ? smtp_received_field(s) : NULL;
	r->head_out = smtp_msg_header_out(&s->msg, &s->out, received, extra, &r->head_out_len);
	free(received);
	if (!r->head_out || fseek(s->msg.spool, 0, SEEK_END) != 0 ||
	    (size = ftell(s->msg.spool)) < 0 || fseek(s->msg.spool, 0, SEEK_SET) != 0)
		return relay_fail(s, "cannot prepare the message");
	r->spool_left = size;
	relay_send(s, "DATA");
	r->state = RELAY_DATA_354;
}

/* A closing connection to the next hop: QUIT written, freed when it is out or fails. */
static void closer_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void closer_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

void smtp_relay_close(struct smtp_session *s)
{
	struct smtp_relay *r = &s->relay;

	free(r->head_out);
	r->head_out = NULL;
	free(r->reply);
	r->reply = r->lmtp_first = NULL;
	r->cb = NULL;
	if (!r->bev)
		return;
	if (r->state == RELAY_READY) {
		evbuffer_add(bufferevent_get_output(r->bev), "QUIT\r\n", 6);
		bufferevent_setcb(r->bev, NULL, closer_write, closer_event, NULL);
		bufferevent_setwatermark(r->bev, EV_WRITE, 0, 0);
		bufferevent_disable(r->bev, EV_READ);
		bufferevent_set_timeouts(r->bev, NULL, &(struct timeval){5, 0});
	} else {
		bufferevent_free(r->bev);
	}
	r->bev = NULL;
	r->state = RELAY_DEAD;
}
