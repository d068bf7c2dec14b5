/* daemon/smtp/loop.c — the listeners: bound by the supervisor, served by one event loop in the worker. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/thread.h>

#include "log.h"
#include "smtp.h"
#include "smtp_int.h"

/* Filled before the fork by the supervisor, inherited by the worker. */
static struct smtp_loop loop;
static struct smtp_session *sessions;
static pthread_t loop_tid;
static atomic_int loop_running;
static time_t stop_deadline;

void smtp_session_link(struct smtp_session *s)
{
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
}

void smtp_session_unlink(struct smtp_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static int bind_one(const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1;
	struct smtp_listener *grown;

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
		goto fail;
	}
	/* The worker is a fork, not an exec: the descriptor is inherited without CLOEXEC trouble. */
	if (!(grown = realloc(loop.listeners, (loop.nlisteners + 1) * sizeof *grown))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	loop.listeners = grown;
	memset(&grown[loop.nlisteners], 0, sizeof *grown);
	snprintf(grown[loop.nlisteners].name, sizeof grown->name, "%s", lc->name);
	grown[loop.nlisteners].fd = fd;
	grown[loop.nlisteners].loop = &loop;
	if (lc->tls_cert[0] && !(grown[loop.nlisteners].tls = smtp_tls_ctx(lc, 0, err, errlen)))
		goto fail;
	loop.nlisteners++;
	freeaddrinfo(ai);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

int mvd_smtp_bind(const struct mvd_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->listeners.count; i++)
		if (bind_one(&c->listeners.item[i], err, errlen) != 0)
			return -1;
	return 0;
}

size_t mvd_smtp_count(void)
{
	return loop.nlisteners;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	int one = 1;

	(void)evl;
	(void)len;
	/* Replies are whole lines written at once: Nagle would only hold the last one back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	smtp_session_accept(arg, fd, sa);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	(void)evl;
	(void)arg;
	/* EMFILE and the like: log, and go on (the loop retries at the next event). */
	mvd_log(MVD_LOG_WARNING, "smtp", "accept: %s", strerror(errno));
}

/* While stopping: leave once no message is in flight, or at the deadline. */
static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (loop.in_flight == 0 || time(NULL) >= stop_deadline)
		event_base_loopbreak(loop.base);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	static struct event *tick;

	(void)fd;
	(void)what;
	(void)arg;
	loop.draining = 1;
	for (size_t i = 0; i < loop.nlisteners; i++)
		evconnlistener_disable(loop.listeners[i].evl);
	if (!tick && (tick = event_new(loop.base, -1, EV_PERSIST, drain_tick, NULL)))
		event_add(tick, &(struct timeval){0, 100 * 1000});
	drain_tick(-1, 0, NULL);
}

/* On the loop: a new SSL_CTX per listener from the runtime now installed. */
static void on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; rt && i < loop.nlisteners; i++) {
		struct smtp_listener *l = &loop.listeners[i];
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l->name);
		char err[512];
		SSL_CTX *ctx;

		if (!lc || !lc->tls_cert[0] || !l->tls)
			continue; /* STARTTLS on or off needs a restart, like the socket */
		if (!(ctx = smtp_tls_ctx(lc, 1, err, sizeof err))) {
			mvd_log(MVD_LOG_WARNING, "reload",
			        "%s: keeping the certificate loaded before", err);
			continue;
		}
		SSL_CTX_free(l->tls); /* sessions in TLS hold their own reference */
		l->tls = ctx;
	}
	mvd_runtime_release(rt);
}

void mvd_smtp_reload(void)
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
		struct smtp_listener *l = &loop.listeners[i];
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l->name);

		if (l->tls && lc)
			rc = smtp_tls_key(l->tls, lc, err, errlen);
	}
	mvd_runtime_release(rt);
	return rc;
}

int mvd_smtp_start(char *err, size_t errlen)
{
	if (loop.nlisteners == 0)
		return 0;
	if (tls_keys(err, errlen) != 0)
		return -1;
	if (evthread_use_pthreads() != 0 || !(loop.base = event_base_new()) ||
	    !(loop.stop_ev = event_new(loop.base, -1, 0, on_stop, NULL)) ||
	    !(loop.reload_ev = event_new(loop.base, -1, 0, on_reload, NULL))) {
		snprintf(err, errlen, "cannot start the SMTP event loop");
		return -1;
	}
	for (size_t i = 0; i < loop.nlisteners; i++) {
		struct smtp_listener *l = &loop.listeners[i];
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
		snprintf(err, errlen, "cannot start the SMTP thread");
		return -1;
	}
	return 0;
}

int mvd_smtp_running(void)
{
	return atomic_load(&loop_running);
}

void mvd_smtp_stop(unsigned timeout)
{
	if (!loop.base)
		return;
	stop_deadline = time(NULL) + timeout;
	if (atomic_load(&loop_running))
		event_active(loop.stop_ev, EV_READ, 0);
	pthread_join(loop_tid, NULL);
	if (loop.in_flight)
		mvd_log(MVD_LOG_WARNING, "stop", "%u SMTP messages still in flight after %u s",
		        loop.in_flight, timeout);
	/* The loop is stopped: what is left is closed from here. */
	while (sessions && !sessions->worker_busy)
		smtp_session_close(sessions);
}
