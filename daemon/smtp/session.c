/* daemon/smtp/session.c — one client connection: accept, input, replies, the state, the close. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include <mailvet/util.h>
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

const char *smtp_hostname(const struct smtp_session *s)
{
	return s->lc->hostname[0] ? s->lc->hostname : s->rt->cfg.authserv_id;
}

/* Count a refused command; too many and the connection is closed (421). */
void smtp_error_reply(struct smtp_session *s, const char *text)
{
	smtp_reply(s, "%s", text);
	if (++s->errors >= MAX_ERRORS) {
		smtp_reply(s, "421 4.7.0 %s Too many errors, closing", smtp_hostname(s));
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

int smtp_worker_done(struct smtp_session *s)
{
	s->worker_busy = 0;
	if (!s->dead)
		return 0;
	session_free(s);
	return 1;
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
void smtp_wait(struct smtp_session *s)
{
	s->state = SMTP_ST_WAIT;
	bufferevent_disable(s->bev, EV_READ);
}

/*
 * One command line from in, if a whole one is there: 1 when one was
 * handled, 0 when more input is needed. A line past SMTP_CMD_MAX is
 * dropped up to its LF and answered 500 (RFC 5321 §4.5.3.1.4), and the
 * session goes on.
 */
enum { DISCARD_NONE, DISCARD_COMMAND, DISCARD_AUTH }; /* s->discarding */

/* An AUTH command or a SASL response may be 12288 octets (RFC 4954 §4), CRLF not counted. */
#define AUTH_LINE_MAX (MV_SASL_LINE_MAX + 2)

/* 1 when the buffered line is an AUTH command (which may be longer than others). */
static int auth_command_ahead(struct evbuffer *in)
{
	char head[5];

	return evbuffer_copyout(in, head, 5) == 5 && strncasecmp(head, "AUTH ", 5) == 0;
}

static int command_input(struct smtp_session *s, struct evbuffer *in)
{
	char line[SMTP_CMD_MAX + 1], *big = NULL, *buf;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	size_t len, total,
	        max = s->state == SMTP_ST_AUTH || auth_command_ahead(in) ? AUTH_LINE_MAX
	                                                                 : SMTP_CMD_MAX;

	if (s->discarding == DISCARD_AUTH)
		max = AUTH_LINE_MAX; /* the rest of a long AUTH line */
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > max) {
			evbuffer_drain(in, evbuffer_get_length(in));
			s->discarding = max == AUTH_LINE_MAX ? DISCARD_AUTH : DISCARD_COMMAND;
		}
		return 0;
	}
	len = (size_t)eol.pos + 1;
	if (s->discarding || len > max) {
		evbuffer_drain(in, len);
		s->discarding = DISCARD_NONE;
		if (s->state == SMTP_ST_AUTH) { /* the exchange cannot go on */
			smtp_auth_abort(s, "500 5.5.6 Error: authentication line too long");
			return 1;
		}
		smtp_error_reply(s, max == AUTH_LINE_MAX
		                            ? "500 5.5.6 Error: authentication line too long"
		                            : "500 5.5.2 Error: line too long");
		return 1;
	}
	if (len > SMTP_CMD_MAX && !(big = malloc(len))) {
		evbuffer_drain(in, len);
		smtp_reply(s, "451 4.3.0 Out of memory");
		return 1;
	}
	buf = big ? big : line;
	evbuffer_remove(in, buf, len);
	total = len;
	len--; /* LF */
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\r', len) || memchr(buf, '\0', len)) {
		if (s->state == SMTP_ST_AUTH)
			smtp_auth_abort(s, "501 5.5.2 Error: bad character in authentication line");
		else
			smtp_error_reply(s, "500 5.5.2 Error: bad character in command");
	} else if (s->state == SMTP_ST_AUTH) {
		smtp_auth_line(s, buf, len);
	} else {
		smtp_command(s, buf, len);
	}
	OPENSSL_cleanse(buf, total); /* it may hold a password */
	free(big);
	return 1;
}

/* The greeting; on an implicit-TLS listener (RFC 8314) TLS starts first. */
static void greet(struct smtp_session *s)
{
	if (s->lc->tls_mode == MVD_TLS_IMPLICIT && s->lst->tls && !s->tls &&
	    smtp_tls_start(s) != 0) {
		s->state = SMTP_ST_CLOSING;
		return;
	}
	smtp_reply(s, "220 %s ESMTP mailvetd", smtp_hostname(s));
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
		s->client.internal = mv_cidr_list_match(&s->rt->cfg.internal_hosts, ip);
	}
	s->state = SMTP_ST_COMMAND;
	greet(s);
	return s->state == SMTP_ST_COMMAND;
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
			smtp_wait(s);
			smtp_msg_end(s);
		} else if (s->state == SMTP_ST_COMMAND || s->state == SMTP_ST_AUTH) {
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
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", smtp_hostname(s));
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
	s->client.internal = mv_cidr_list_match(&s->rt->cfg.internal_hosts, s->client.ip);
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
	mvd_metrics_session(MVD_FRONT_SMTP, 1);
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
	if (mv_cidr_list_match(&s->lc->proxy_from, s->client.ip)) {
		s->state = SMTP_ST_PROXY;
		return;
	}
	greet(s);
	if (s->state == SMTP_ST_CLOSING)
		close_soon(s, 0);
}

static void session_free(struct smtp_session *s)
{
	if (s->worker_busy) { /* the verdict thread still uses it: free when it is done */
		s->dead = 1;
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	smtp_relay_close(s);
	smtp_txn_reset(s);
	smtp_auth_free(s);
	smtp_session_unlink(s);
	s->lst->nconn--;
	s->loop->sessions--;
	mvd_metrics_session(MVD_FRONT_SMTP, -1);
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
