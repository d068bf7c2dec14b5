/* daemon/proxy/session.c — one proxied connection: client and upstream bufferevents, the rewriter between them. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "log.h"
#include "proxy.h"

/*
 * Memory per session is bounded: each side reads at most READ_MAX ahead,
 * and a side whose output passes OUT_HIGH stops reading the other until
 * that output is back under OUT_LOW.
 */
#define READ_MAX (128 * 1024)
#define OUT_HIGH (512 * 1024)
#define OUT_LOW (128 * 1024)
#define FLUSH_TIMEOUT 10 /* s to write the last bytes to a side before closing */
/* A literal's rest at least this long goes by splice(2) (a pipe costs a few system calls). */
#define SPLICE_MIN (16 * 1024)

static long long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

static const char *proto_name(const struct proxy_session *s)
{
	return s->lst->proto == MVD_PROXY_IMAP ? "imap" : "pop3";
}

void proxy_session_free(struct proxy_session *s)
{
	struct proxy_loop *loop = s->lst->loop;

	mvd_log(MVD_LOG_INFO, proto_name(s),
	        "id=%lu client=%s closed client_bytes=%llu server_bytes=%llu tls=%s authed=%s "
	        "spliced_bytes=%llu",
	        s->id, s->peer, s->c2s_bytes, s->s2c_bytes,
	        s->rw && s->rw->tls_active ? "yes" : "no", s->rw && s->rw->authed ? "yes" : "no",
	        s->spliced_bytes);
	proxy_splice_end(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		loop->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->lst->nconn--;
	if (s->client)
		bufferevent_free(s->client);
	if (s->up)
		bufferevent_free(s->up);
	mvd_proxy_rw_free(s->rw);
	free(s);
}

static void emit_to(void *arg, const void *p, size_t n)
{
	evbuffer_add(arg, p, n);
}

static void start_tls(struct proxy_session *s);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/*
 * Feed what is in `in` to the rewriter. Bytes it says pass unchanged (a
 * literal's body) are moved to `out` without a copy; the rest is fed one
 * evbuffer chunk at a time. 1 when the rewriter stopped (STARTTLS).
 */
static int feed_all(struct proxy_session *s, int server, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec v;

	while (evbuffer_get_length(in)) {
		uint64_t pass = mvd_proxy_rw_verbatim(s->rw, server);
		size_t avail = evbuffer_get_length(in), c;
		if (pass) {
			size_t n = pass < avail ? (size_t)pass : avail;
			evbuffer_remove_buffer(in, out, n);
			mvd_proxy_rw_skip(s->rw, server, n);
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		c = server ? mvd_proxy_rw_server(s->rw, v.iov_base, v.iov_len, emit_to, out)
		           : mvd_proxy_rw_client(s->rw, v.iov_base, v.iov_len, emit_to, out);
		evbuffer_drain(in, c);
		if (c < v.iov_len)
			return 1;
	}
	return 0;
}

/* What one side sent goes through the rewriter to the other. */
static void pump(struct proxy_session *s, struct bufferevent *from)
{
	int server = from == s->up;
	struct bufferevent *to = server ? s->client : s->up;
	struct evbuffer *in = bufferevent_get_input(from), *out = bufferevent_get_output(to);
	size_t before = evbuffer_get_length(in);

	feed_all(s, server, in, out);
	if (server) {
		s->s2c_bytes += before - evbuffer_get_length(in);
		s->heard_upstream = 1;
	} else {
		s->c2s_bytes += before - evbuffer_get_length(in);
	}
	s->last = now_s();
	if (evbuffer_get_length(out) > OUT_HIGH)
		bufferevent_disable(from, EV_READ); /* on_write of `to` turns it on again */
	if (server && mvd_proxy_rw_starttls_due(s->rw)) {
		start_tls(s);
		return;
	}
	/* Last: the splice may end the session (the client gone). */
	if (server && evbuffer_get_length(in) == 0 &&
	    mvd_proxy_rw_verbatim(s->rw, 1) >= SPLICE_MIN && proxy_splice_usable(s))
		proxy_splice_start(s);
}

void proxy_session_hold(struct proxy_session *s)
{
	bufferevent_disable(s->up, EV_READ);
	/* on_write once the client's output is empty: the pipe's bytes come after it */
	bufferevent_setwatermark(s->client, EV_WRITE, 0, 0);
}

void proxy_session_resume(struct proxy_session *s)
{
	bufferevent_setwatermark(s->client, EV_WRITE, OUT_LOW, 0);
	bufferevent_enable(s->up, EV_READ);
}

/*
 * Replies end in a short tagged line after a large literal: with Nagle's
 * algorithm that line waits for the peer's delayed ACK (40 ms a FETCH).
 */
static void no_delay(evutil_socket_t fd)
{
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void callbacks(struct proxy_session *s, struct bufferevent *bev)
{
	bufferevent_setcb(bev, on_read, on_write, on_event, s);
	bufferevent_set_max_single_read(bev, READ_MAX);
	bufferevent_set_max_single_write(bev, READ_MAX);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW, 0);
	bufferevent_set_timeouts(bev, &(struct timeval){s->timeout, 0},
	                         &(struct timeval){s->timeout, 0});
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/*
 * The reply to STARTTLS is in the client's output, as plain text: the TLS
 * filter writes after it. What the client sent before its handshake was
 * dropped by the rewriter; what is still unread is dropped here.
 */
static void start_tls(struct proxy_session *s)
{
	struct bufferevent *tls;
	SSL *ssl = SSL_new(s->lst->tls);

	evbuffer_drain(bufferevent_get_input(s->client), (size_t)-1);
	tls = ssl ? bufferevent_openssl_filter_new(s->lst->loop->base, s->client, ssl,
	                                           BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
	          : NULL;
	if (!tls) {
		SSL_free(ssl);
		mvd_log(MVD_LOG_WARNING, proto_name(s), "id=%lu cannot start TLS", s->id);
		proxy_session_free(s);
		return;
	}
	s->client = tls;
	callbacks(s, tls);
	mvd_proxy_rw_tls_started(s->rw);
	mvd_log(MVD_LOG_DEBUG, proto_name(s), "id=%lu STARTTLS", s->id);
	if (evbuffer_get_length(bufferevent_get_input(s->up)))
		pump(s, s->up);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct proxy_session *s = arg;

	if (!s->closing)
		pump(s, bev);
}

/* Output drained: the side feeding it reads again; a closing session ends once flushed. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct proxy_session *s = arg;
	struct bufferevent *other = bev == s->client ? s->up : s->client;

	if (s->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			proxy_session_free(s);
		return;
	}
	if (proxy_splicing(s) &&
	    bev == s->client) { /* the splice reads the upstream, not its bufferevent */
		proxy_splice_run(s);
		return;
	}
	if (other)
		bufferevent_enable(other, EV_READ);
}

/* One side is gone: write what the other still has to receive, then close. */
static void finish(struct proxy_session *s, struct bufferevent *gone)
{
	struct bufferevent *other = gone == s->client ? s->up : s->client;

	if (gone == s->up && !s->heard_upstream) {
		const char *bye =
		        s->lst->proto == MVD_PROXY_IMAP
		                ? "* BYE [UNAVAILABLE] the mail server cannot be reached\r\n"
		                : "-ERR [SYS/TEMP] the mail server cannot be reached\r\n";
		evbuffer_add(bufferevent_get_output(other), bye, strlen(bye));
	}
	if (!other || evbuffer_get_length(bufferevent_get_output(other)) == 0) {
		proxy_session_free(s);
		return;
	}
	s->closing = 1;
	bufferevent_disable(gone, EV_READ | EV_WRITE);
	bufferevent_disable(other, EV_READ);
	bufferevent_set_timeouts(other, NULL, &(struct timeval){FLUSH_TIMEOUT, 0});
	bufferevent_enable(other, EV_WRITE);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_session *s = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_TIMEOUT) && !s->closing &&
	    now_s() - s->last < (long long)s->timeout) {
		bufferevent_enable(bev, what & BEV_EVENT_READING ? EV_READ : EV_WRITE);
		return; /* the other side was busy: not idle */
	}
	if (s->closing) {
		proxy_session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		mvd_log(MVD_LOG_INFO, proto_name(s), "id=%lu client=%s idle for %u s", s->id,
		        s->peer, s->timeout);
	else if (what & BEV_EVENT_ERROR)
		mvd_log(MVD_LOG_DEBUG, proto_name(s), "id=%lu %s error", s->id,
		        bev == s->up ? "upstream" : "client");
	if (bev == s->client) /* the client is gone: nothing to flush to it */
		bufferevent_disable(bev, EV_READ | EV_WRITE);
	finish(s, bev);
}

/* Connect to upstream = inet:HOST:PORT or unix:/path. 0, or -1. */
static int connect_upstream(struct proxy_session *s, const char *spec)
{
	struct event_base *base = s->lst->loop->base;

	s->up = s->lst->up_tls ? bufferevent_openssl_socket_new(base, -1, SSL_new(s->lst->up_tls),
	                                                        BUFFEREVENT_SSL_CONNECTING,
	                                                        BEV_OPT_CLOSE_ON_FREE)
	                       : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!s->up)
		return -1;
	callbacks(s, s->up);
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		if (strlen(spec + 5) >= sizeof sun.sun_path)
			return -1;
		memcpy(sun.sun_path, spec + 5, strlen(spec + 5) + 1);
		return bufferevent_socket_connect(s->up, (struct sockaddr *)&sun, sizeof sun);
	} else {
		char host[256], port[8];
		unsigned p;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		int rc;
		if (mvd_listener_split_addr(spec + 5, host, sizeof host, &p) != 0)
			return -1;
		snprintf(port, sizeof port, "%u", p);
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			return -1;
		rc = bufferevent_socket_connect(s->up, ai->ai_addr, (int)ai->ai_addrlen);
		freeaddrinfo(ai);
		no_delay(bufferevent_getfd(s->up));
		return rc;
	}
}

/* The listener's settings as they are now; 0, or -1 when the listener is gone. */
static int settings(struct proxy_session *s, char *upstream, size_t uplen, char *id, size_t idlen)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();
	const struct mvd_listener_conf *lc =
	        rt ? mvd_listener_find(&rt->cfg.listeners, s->lst->name) : NULL;
	int rc = -1;

	if (lc && s->lst->nconn < lc->max_connections) {
		snprintf(upstream, uplen, "%s", lc->upstream);
		snprintf(id, idlen, "%s",
		         lc->authserv_id[0] ? lc->authserv_id : rt->cfg.authserv_id);
		s->timeout = lc->timeout_idle;
		rc = 0;
	}
	mvd_runtime_release(rt);
	return rc;
}

void proxy_session_accept(struct proxy_listener *l, int fd, const struct sockaddr *sa)
{
	struct proxy_session *s = calloc(1, sizeof *s);
	char upstream[512], id[PROXY_ID_MAX + 1];
	int implicit = l->tls_mode == MVD_TLS_IMPLICIT;

	no_delay(fd);
	if (!s) {
		evutil_closesocket(fd);
		return;
	}
	s->lst = l;
	s->id = ++l->loop->next_id;
	s->last = now_s();
	s->next = l->loop->sessions;
	if (s->next)
		s->next->prev = s;
	l->loop->sessions = s;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, s->peer,
		          sizeof s->peer);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, s->peer,
		          sizeof s->peer);
	s->client = implicit ? bufferevent_openssl_socket_new(l->loop->base, fd, SSL_new(l->tls),
	                                                      BUFFEREVENT_SSL_ACCEPTING,
	                                                      BEV_OPT_CLOSE_ON_FREE)
	                     : bufferevent_socket_new(l->loop->base, fd, BEV_OPT_CLOSE_ON_FREE);
	l->nconn++;
	if (!s->client) {
		evutil_closesocket(fd);
		proxy_session_free(s);
		return;
	}
	if (settings(s, upstream, sizeof upstream, id, sizeof id) != 0 ||
	    !(s->rw = mvd_proxy_rw_new(l->proto, id, l->tls_mode == MVD_TLS_STARTTLS, implicit)) ||
	    connect_upstream(s, upstream) != 0) {
		mvd_log(MVD_LOG_WARNING, proto_name(s), "id=%lu client=%s refused (%s)", s->id,
		        s->peer, s->rw ? "upstream" : "limit or memory");
		proxy_session_free(s);
		return;
	}
	callbacks(s, s->client);
	mvd_log(MVD_LOG_INFO, proto_name(s), "id=%lu client=%s listener=%s", s->id, s->peer,
	        l->name);
}
