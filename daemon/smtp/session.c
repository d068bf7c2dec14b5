/* daemon/smtp/session.c — the SMTP server side of one connection: commands, replies, state. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "cidr.h"
#include "log.h"
#include "smtp_int.h"

#define MAX_ERRORS 20 /* bad commands before the connection is closed */

static void session_free(struct smtp_session *s);
static void process(struct smtp_session *s);
static void close_when_flushed(evutil_socket_t fd, short what, void *arg);

/*
 * Free the session from the loop, usec from now, never from the caller's
 * stack (which may be a next-hop callback); session_free() cancels it.
 */
static void close_soon(struct smtp_session *s, long usec)
{
	struct timeval tv = {0, usec};

	if (!s->close_ev && !(s->close_ev = evtimer_new(s->loop->base, close_when_flushed, s))) {
		bufferevent_disable(s->bev, EV_READ | EV_WRITE); /* the idle timeout is gone too */
		return;
	}
	evtimer_add(s->close_ev, &tv);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static const char *hostname(const struct smtp_session *s)
{
	return s->lc->hostname[0] ? s->lc->hostname : s->rt->cfg.authserv_id;
}

/* Count a refused command; too many and the connection is closed (421). */
static void error_reply(struct smtp_session *s, const char *text)
{
	smtp_reply(s, "%s", text);
	if (++s->errors >= MAX_ERRORS) {
		smtp_reply(s, "421 4.7.0 %s Too many errors, closing", hostname(s));
		s->state = SMTP_ST_CLOSING;
	}
}

void smtp_txn_reset(struct smtp_session *s)
{
	if (s->in_mail && s->loop->in_flight > 0)
		s->loop->in_flight--;
	mvd_pipeline_free(s->p);
	s->p = NULL;
	smtp_msg_free(&s->msg);
	free(s->mail);
	s->mail = NULL;
	memset(&s->env, 0, sizeof s->env);
	memset(&s->out, 0, sizeof s->out);
	s->in_mail = s->relay_lost = 0;
	s->nrcpt = s->nrcpt_tried = 0;
}

void smtp_resume(struct smtp_session *s)
{
	if (s->dead) {
		session_free(s);
		return;
	}
	if (s->state == SMTP_ST_WAIT)
		s->state = SMTP_ST_COMMAND;
	bufferevent_set_timeouts(s->bev, &(struct timeval){s->lc->timeout_command, 0},
	                         &(struct timeval){s->lc->timeout_command, 0});
	bufferevent_enable(s->bev, EV_READ);
	process(s);
}

/* Pause reading until the next hop or the verdict answers. */
static void wait_for(struct smtp_session *s)
{
	s->state = SMTP_ST_WAIT;
	bufferevent_disable(s->bev, EV_READ);
}

static void ehlo_reply(struct smtp_session *s)
{
	const struct mvd_listener_conf *lc = s->lc;

	/* The keywords in draft-kucherawy-sender-auth-caps Appendix B.1's order. */
	smtp_reply(s, "250-%s", hostname(s));
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-SIZE %zu", lc->max_message_size);
	smtp_reply(s, "250-SMTPUTF8");
	if (s->lst->tls && !s->tls)
		smtp_reply(s, "250-STARTTLS");
	if (lc->authserv_adv == MVD_AUTHSERV_ID)
		smtp_reply(s, "250-AUTHSERV=%s", s->rt->cfg.authserv_id);
	else if (lc->authserv_adv == MVD_AUTHSERV_BARE)
		smtp_reply(s, "250-AUTHSERV");
	smtp_reply(s, "250 HELP");
}

static void cmd_helo(struct smtp_session *s, const struct smtp_cmd *c, int esmtp)
{
	char *helo;

	if (c->arglen == 0) {
		error_reply(s, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	if (!(helo = mv_strndup(c->arg, c->arglen))) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	smtp_txn_reset(s);
	free(s->helo);
	s->client.helo = s->helo = helo;
	s->esmtp = esmtp;
	s->helo_seen = 1;
	if (esmtp)
		ehlo_reply(s);
	else
		smtp_reply(s, "250 %s", hostname(s));
}

/* The next hop's reply goes to the client as it is; 0 = it could not be reached. */
static void forward(struct smtp_session *s, int code, const char *reply, const char *fallback)
{
	if (code == 0)
		smtp_reply(s, "%s", fallback);
	else
		evbuffer_add(bufferevent_get_output(s->bev), reply, strlen(reply));
}

static void mail_done(struct smtp_session *s, int code, const char *reply)
{
	if (code >= 200 && code < 300) {
		s->in_mail = 1;
		s->loop->in_flight++;
	}
	forward(s, code, reply, "451 4.4.0 Next hop not available, try again later");
	smtp_resume(s);
}

/* RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8; anything else is refused. */
static const char *mail_params_check(const struct smtp_session *s, const struct smtp_path *p)
{
	for (size_t i = 0; i < p->nparams; i++) {
		const char *k = p->param[i].key, *v = p->param[i].value;
		char *end;

		if (strcasecmp(k, "SIZE") == 0) {
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end)
				return "501 5.5.4 Bad SIZE value";
			if (n > s->lc->max_message_size)
				return "552 5.3.4 Message size exceeds fixed limit";
		} else if (strcasecmp(k, "BODY") == 0) {
			if (strcasecmp(v, "7BIT") != 0 && strcasecmp(v, "8BITMIME") != 0)
				return "501 5.5.4 Bad BODY value";
		} else if (strcasecmp(k, "SMTPUTF8") != 0 || *v) {
			return "555 5.5.4 Unsupported MAIL parameter";
		}
	}
	return NULL;
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	const char *why;

	if (!s->helo_seen) {
		error_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		error_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->loop->draining) {
		smtp_reply(s, "421 4.3.2 %s Shutting down, try again later", hostname(s));
		s->state = SMTP_ST_CLOSING;
		return;
	}
	if (!(s->mail = malloc(sizeof *s->mail))) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	if (smtp_path_parse("FROM:", c->arg, c->arglen, s->mail, &why) != 0 ||
	    (why = mail_params_check(s, s->mail))) {
		free(s->mail);
		s->mail = NULL;
		error_reply(s, why);
		return;
	}
	wait_for(s);
	smtp_relay_mail(s, mail_done);
}

static void rcpt_done(struct smtp_session *s, int code, const char *reply)
{
	if (code >= 200 && code < 300)
		s->nrcpt++;
	if (code == 0)
		s->relay_lost = 1;
	forward(s, code, reply, "451 4.4.2 Next hop connection lost, try again later");
	smtp_resume(s);
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path to;
	const char *why;

	if (!s->in_mail) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->relay_lost) {
		smtp_reply(s, "451 4.4.2 Next hop connection lost, try again later");
		return;
	}
	if (s->nrcpt_tried >= s->lc->max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_path_parse("TO:", c->arg, c->arglen, &to, &why) != 0) {
		error_reply(s, why);
		return;
	}
	if (to.nparams) {
		error_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	if (to.addr[0] == '\0') {
		error_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	s->nrcpt_tried++;
	wait_for(s);
	smtp_relay_cmd(s, rcpt_done, "RCPT TO:<%s>", to.addr);
}

static void cmd_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (c->arglen) {
		error_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->in_mail) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->relay_lost) {
		smtp_reply(s, "451 4.4.2 Next hop connection lost, try again later");
		return;
	}
	if (s->nrcpt == 0) {
		error_reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_msg_start(s);
	s->state = SMTP_ST_DATA;
	bufferevent_set_timeouts(s->bev, &(struct timeval){s->lc->timeout_data, 0},
	                         &(struct timeval){s->lc->timeout_data, 0});
}

static void rset_done(struct smtp_session *s, int code, const char *reply)
{
	(void)code;
	(void)reply;
	smtp_reply(s, "250 2.0.0 Ok");
	smtp_resume(s);
}

static void cmd_rset(struct smtp_session *s)
{
	int relayed = s->in_mail && !s->relay_lost;

	smtp_txn_reset(s);
	if (!relayed) {
		smtp_reply(s, "250 2.0.0 Ok");
		return;
	}
	wait_for(s);
	smtp_relay_cmd(s, rset_done, "RSET");
}

/*
 * RFC 3207: the 220, then TLS on the same socket. Whatever the client sent
 * after STARTTLS in the clear is dropped (CVE-2011-0411), and the session
 * starts again from the greeting state.
 */
static void cmd_starttls(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct bufferevent *tls;
	SSL *ssl;

	if (!s->lst->tls || s->tls) {
		error_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (c->arglen) {
		error_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (!(ssl = SSL_new(s->lst->tls))) {
		smtp_reply(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	evbuffer_drain(bufferevent_get_input(s->bev), (size_t)-1);
	tls = bufferevent_openssl_filter_new(s->loop->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		s->state = SMTP_ST_CLOSING;
		return;
	}
	s->bev = tls;
	s->tls = 1;
	s->helo_seen = s->esmtp = 0;
	smtp_txn_reset(s);
	smtp_session_setcb(s);
}

static void command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

	smtp_cmd_parse(line, len, &c);
	switch (c.verb) {
	case SMTP_EHLO:
	case SMTP_HELO:
		cmd_helo(s, &c, c.verb == SMTP_EHLO);
		break;
	case SMTP_MAIL:
		cmd_mail(s, &c);
		break;
	case SMTP_RCPT:
		cmd_rcpt(s, &c);
		break;
	case SMTP_DATA:
		cmd_data(s, &c);
		break;
	case SMTP_RSET:
		cmd_rset(s);
		break;
	case SMTP_NOOP:
		smtp_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_QUIT:
		smtp_reply(s, "221 2.0.0 Bye");
		s->state = SMTP_ST_CLOSING;
		break;
	case SMTP_VRFY:
		smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt "
		              "delivery");
		break;
	case SMTP_HELP:
		smtp_reply(s,
		           "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY "
		           "HELP%s",
		           s->lst->tls ? " STARTTLS" : "");
		break;
	case SMTP_STARTTLS:
		cmd_starttls(s, &c);
		break;
	case SMTP_UNKNOWN:
		error_reply(s, "500 5.5.2 Error: command not recognized");
		break;
	}
}

/*
 * One command line from in, if a whole one is there: 1 when one was
 * handled, 0 when more input is needed. A line past SMTP_CMD_MAX is
 * dropped up to its LF and answered 500 (RFC 5321 §4.5.3.1.4), and the
 * session goes on.
 */
static int command_input(struct smtp_session *s, struct evbuffer *in)
{
	char line[SMTP_CMD_MAX + 1];
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	size_t len;

	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > SMTP_CMD_MAX) {
			evbuffer_drain(in, evbuffer_get_length(in));
			s->discarding = 1;
		}
		return 0;
	}
	len = (size_t)eol.pos + 1;
	if (s->discarding || len > SMTP_CMD_MAX) {
		evbuffer_drain(in, len);
		s->discarding = 0;
		error_reply(s, "500 5.5.2 Error: line too long");
		return 1;
	}
	evbuffer_remove(in, line, len);
	len--; /* LF */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\r', len) || memchr(line, '\0', len)) {
		error_reply(s, "500 5.5.2 Error: bad character in command");
		return 1;
	}
	command(s, line, len);
	return 1;
}

/*
 * A load balancer's PROXY header (v1 or v2): the client it names becomes the
 * session's client, then the greeting. 1 when done, 0 when more is needed;
 * a bad header closes the connection without a word.
 */
static int proxy_input(struct smtp_session *s, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in), used = 0;
	const unsigned char *p;
	char ip[INET6_ADDRSTRLEN];
	enum smtp_proxy_result r;

	if (len > SMTP_PROXY_V2_MAX)
		len = SMTP_PROXY_V2_MAX;
	p = evbuffer_pullup(in, (ssize_t)len);
	r = smtp_proxy_parse(p, len, ip, sizeof ip, &used);
	if (r == SMTP_PROXY_MORE && len < SMTP_PROXY_V2_MAX)
		return 0;
	if (r != SMTP_PROXY_DONE) {
		mvd_log(MVD_LOG_INFO, "smtp", "id=%lu balancer=%s bad PROXY header, closed", s->id,
		        s->client.ip);
		s->state = SMTP_ST_CLOSING;
		return 0;
	}
	evbuffer_drain(in, used);
	if (ip[0]) {
		mvd_log(MVD_LOG_DEBUG, "smtp", "id=%lu balancer=%s client=%s", s->id, s->client.ip,
		        ip);
		memcpy(s->client.ip, ip, sizeof ip);
		s->client.internal = mvd_cidr_match(&s->rt->cfg.internal_hosts, ip);
	}
	s->state = SMTP_ST_COMMAND;
	smtp_reply(s, "220 %s ESMTP mailvetd", hostname(s));
	return 1;
}

static void process(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	for (;;) {
		if (s->state == SMTP_ST_PROXY) {
			if (!proxy_input(s, in))
				break;
		} else if (s->state == SMTP_ST_DATA) {
			if (!smtp_msg_input(s, in))
				break;
			wait_for(s);
			smtp_msg_end(s);
		} else if (s->state == SMTP_ST_COMMAND) {
			if (!command_input(s, in))
				break;
		} else {
			break;
		}
	}
	if (s->state == SMTP_ST_CLOSING) {
		bufferevent_disable(s->bev, EV_READ);
		/* Never freed from here: process() may run inside a next-hop callback. */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
			close_soon(s, 0);
	}
}

/*
 * The last reply is out: free. Over TLS the filter hands its output to the
 * socket's bufferevent at once, so wait (at most 5 s) until that one has
 * written it too.
 */
static void close_when_flushed(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct bufferevent *under = s->tls ? bufferevent_get_underlying(s->bev) : NULL;

	(void)fd;
	(void)what;
	if (under && evbuffer_get_length(bufferevent_get_output(under)) > 0 &&
	    ++s->close_tries < 250) {
		close_soon(s, 20 * 1000);
		return;
	}
	session_free(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->state == SMTP_ST_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		close_soon(s, 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT && s->state != SMTP_ST_CLOSING) {
		mvd_log(MVD_LOG_INFO, "smtp", "id=%lu client=%s timeout in %s", s->id, s->client.ip,
		        s->state == SMTP_ST_DATA ? "DATA" : "command");
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", hostname(s));
		s->state = SMTP_ST_CLOSING;
		bufferevent_disable(s->bev, EV_READ);
		bufferevent_set_timeouts(s->bev, NULL, &(struct timeval){10, 0});
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		session_free(s);
}

void smtp_session_setcb(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_set_timeouts(s->bev, &(struct timeval){s->lc->timeout_command, 0},
	                         &(struct timeval){s->lc->timeout_command, 0});
	/* Input waiting while a command is relayed stays bounded. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, 64 * 1024);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void client_address(struct smtp_session *s, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		          s->client.ip, sizeof s->client.ip);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          s->client.ip, sizeof s->client.ip);
	if (!s->client.ip[0])
		memcpy(s->client.ip, "127.0.0.1", sizeof "127.0.0.1");
	s->client.internal = mvd_cidr_match(&s->rt->cfg.internal_hosts, s->client.ip);
}

/* The greeting, or a 421 when this connection cannot be served. */
void smtp_session_accept(struct smtp_listener *l, int fd, const struct sockaddr *sa)
{
	struct smtp_session *s = calloc(1, sizeof *s);
	const char *refuse = NULL;

	if (!s || !(s->bev = bufferevent_socket_new(l->loop->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		evutil_closesocket(fd);
		free(s);
		return;
	}
	s->loop = l->loop;
	s->lst = l;
	s->id = ++l->loop->next_id;
	s->state = SMTP_ST_COMMAND;
	s->relay.state = RELAY_DEAD;
	s->rt = mvd_runtime_acquire();
	s->lc = s->rt ? mvd_listener_find(&s->rt->cfg.listeners, l->name) : NULL;
	if (!(s->verdict_ev = event_new(l->loop->base, -1, 0, smtp_verdict_cb, s)) || !s->lc)
		refuse = "421 4.3.0 Service not available, try again later";
	else if (l->loop->draining)
		refuse = "421 4.3.2 Shutting down, try again later";
	else if (l->nconn >= s->lc->max_connections)
		refuse = "421 4.7.0 Too many connections, try again later";
	l->nconn++;
	l->loop->sessions++;
	smtp_session_link(s);
	if (refuse && !s->lc) {
		evbuffer_add_printf(bufferevent_get_output(s->bev), "%s\r\n", refuse);
		bufferevent_setcb(s->bev, NULL, on_write, on_event, s);
		s->state = SMTP_ST_CLOSING;
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	client_address(s, sa);
	smtp_session_setcb(s);
	if (refuse) {
		smtp_reply(s, "%s", refuse);
		s->state = SMTP_ST_CLOSING;
		bufferevent_disable(s->bev, EV_READ);
		return;
	}
	/* Behind a load balancer: its PROXY header names the client, then we greet. */
	if (mvd_cidr_match(&s->lc->proxy_from, s->client.ip)) {
		s->state = SMTP_ST_PROXY;
		return;
	}
	smtp_reply(s, "220 %s ESMTP mailvetd", hostname(s));
}

static void session_free(struct smtp_session *s)
{
	if (s->verdict_busy) { /* the verdict thread still uses it: free when it is done */
		s->dead = 1;
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	smtp_relay_close(s);
	smtp_txn_reset(s);
	smtp_session_unlink(s);
	s->lst->nconn--;
	s->loop->sessions--;
	if (s->verdict_ev)
		event_free(s->verdict_ev);
	if (s->close_ev)
		event_free(s->close_ev);
	bufferevent_free(s->bev);
	mvd_runtime_release(s->rt);
	free(s->helo);
	free(s);
}

void smtp_session_close(struct smtp_session *s)
{
	session_free(s);
}
