/* daemon/proxy/loop.c — the proxy listeners: bound by the supervisor, served by one event loop in the worker. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "log.h"
#include "proxy.h"

/* Filled before the fork by the supervisor, inherited by the worker. */
static struct proxy_loop loop;
static pthread_t loop_tid;
static atomic_int loop_running;

static int listen_on(const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1;

	mvd_listener_split_addr(lc->listen, host, sizeof host, &p);
	snprintf(port, sizeof port, "%u", p);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		snprintf(err, errlen, "[listener %s] listen: not an address: %s", lc->name, host);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
		snprintf(err, errlen, "[listener %s] cannot listen on %s: %s", lc->name, lc->listen,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int bind_one(const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	struct proxy_listener *grown, *l;

	if (!(grown = realloc(loop.listeners, (loop.nlisteners + 1) * sizeof *grown))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	loop.listeners = grown;
	l = &grown[loop.nlisteners];
	memset(l, 0, sizeof *l);
	snprintf(l->name, sizeof l->name, "%s", lc->name);
	l->proto = lc->role == MVD_ROLE_POP3 ? MVD_PROXY_POP3 : MVD_PROXY_IMAP;
	l->tls_mode = lc->tls_mode;
	l->loop = &loop;
	if (lc->tls_mode != MVD_TLS_NONE && !(l->tls = proxy_tls_server_ctx(lc, 0, err, errlen)))
		return -1;
	if (lc->upstream_tls && !(l->up_tls = proxy_tls_client_ctx(lc, err, errlen))) {
		SSL_CTX_free(l->tls);
		return -1;
	}
	if ((l->fd = listen_on(lc, err, errlen)) < 0) {
		SSL_CTX_free(l->tls);
		SSL_CTX_free(l->up_tls);
		return -1;
	}
	loop.nlisteners++;
	return 0;
}

int mvd_proxy_bind(const struct mvd_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->listeners.nproxy; i++)
		if (bind_one(&c->listeners.proxy[i], err, errlen) != 0)
			return -1;
	return 0;
}

size_t mvd_proxy_count(void)
{
	return loop.nlisteners;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	(void)evl;
	(void)len;
	proxy_session_accept(arg, fd, sa);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	(void)evl;
	(void)arg;
	mvd_log(MVD_LOG_WARNING, "proxy", "accept: %s", strerror(errno));
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(loop.base);
}

/* On the loop: a new client-side SSL_CTX per listener from the runtime now installed. */
static void on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; rt && i < loop.nlisteners; i++) {
		struct proxy_listener *l = &loop.listeners[i];
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l->name);
		char err[512];
		SSL_CTX *ctx;

		if (!lc || !l->tls || lc->tls_mode == MVD_TLS_NONE)
			continue; /* TLS on or off needs a restart, like the socket */
		if (!(ctx = proxy_tls_server_ctx(lc, 1, err, sizeof err))) {
			mvd_log(MVD_LOG_WARNING, "reload",
			        "%s: keeping the certificate loaded before", err);
			continue;
		}
		SSL_CTX_free(l->tls); /* sessions in TLS hold their own reference */
		l->tls = ctx;
	}
	mvd_runtime_release(rt);
}

void mvd_proxy_reload(void)
{
	if (loop.reload_ev && atomic_load(&loop_running))
		event_active(loop.reload_ev, EV_READ, 0);
}

static void *loop_thread(void *arg)
{
	(void)arg;
	event_base_loop(loop.base, EVLOOP_NO_EXIT_ON_EMPTY);
	atomic_store(&loop_running, 0);
	return NULL;
}

/*
 * In the worker: the contexts the supervisor bound with their certificate
 * only get their private keys (from the key process), the certificate not
 * read again.
 */
static int tls_keys(char *err, size_t errlen)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();
	int rc = 0;

	for (size_t i = 0; rt && rc == 0 && i < loop.nlisteners; i++) {
		struct proxy_listener *l = &loop.listeners[i];
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l->name);

		if (l->tls && lc)
			rc = proxy_tls_key(l->tls, lc, err, errlen);
	}
	mvd_runtime_release(rt);
	return rc;
}

int mvd_proxy_start(char *err, size_t errlen)
{
	if (loop.nlisteners == 0)
		return 0;
	if (tls_keys(err, errlen) != 0)
		return -1;
	if (evthread_use_pthreads() != 0 || !(loop.base = event_base_new()) ||
	    !(loop.stop_ev = event_new(loop.base, -1, 0, on_stop, NULL)) ||
	    !(loop.reload_ev = event_new(loop.base, -1, 0, on_reload, NULL))) {
		snprintf(err, errlen, "cannot start the IMAP/POP3 proxy event loop");
		return -1;
	}
	for (size_t i = 0; i < loop.nlisteners; i++) {
		struct proxy_listener *l = &loop.listeners[i];
		l->evl = evconnlistener_new(loop.base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, -1,
		                            l->fd);
		if (!l->evl) {
			snprintf(err, errlen, "[listener %s] cannot serve", l->name);
			return -1;
		}
		evconnlistener_set_error_cb(l->evl, on_accept_error);
	}
	atomic_store(&loop_running, 1);
	if (pthread_create(&loop_tid, NULL, loop_thread, NULL) != 0) {
		atomic_store(&loop_running, 0);
		snprintf(err, errlen, "cannot start the IMAP/POP3 proxy thread");
		return -1;
	}
	return 0;
}

int mvd_proxy_running(void)
{
	return atomic_load(&loop_running);
}

/* Mail readers reconnect by themselves: sessions are closed, not drained. */
void mvd_proxy_stop(void)
{
	if (!loop.base)
		return;
	if (atomic_load(&loop_running))
		event_active(loop.stop_ev, EV_READ, 0);
	pthread_join(loop_tid, NULL);
	while (loop.sessions)
		proxy_session_free(loop.sessions);
	for (size_t i = 0; i < loop.nlisteners; i++) {
		evconnlistener_free(loop.listeners[i].evl);
		SSL_CTX_free(loop.listeners[i].tls);
		SSL_CTX_free(loop.listeners[i].up_tls);
	}
	free(loop.listeners);
	loop.listeners = NULL;
	loop.nlisteners = 0;
	event_free(loop.stop_ev);
	event_free(loop.reload_ev);
	event_base_free(loop.base);
	loop.base = NULL;
}
