/* daemon/proxy/loop.c — the proxy listeners: bound by the supervisor, served by one event loop in the worker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "evloop.h"
#include "log.h"
#include "proxy.h"

/* Filled before the fork by the supervisor, inherited by the worker. */
static struct proxy_loop loop;

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
	if (lc->tls_mode != MVD_TLS_NONE && !(l->tls = mvd_evloop_tls_server(lc, 0, err, errlen)))
		return -1;
	if (lc->upstream_tls && !(l->up_tls = proxy_tls_client_ctx(lc, err, errlen))) {
		SSL_CTX_free(l->tls);
		return -1;
	}
	if ((l->fd = mvd_evloop_listen(lc, err, errlen)) < 0) {
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

/* The shared loop's view of listener i. */
static int listener_at(size_t i, struct mvd_evloop_listener *out)
{
	struct proxy_listener *l = i < loop.nlisteners ? &loop.listeners[i] : NULL;

	if (l)
		*out = (struct mvd_evloop_listener){l->name, l->fd, &l->tls, &l->evl, l};
	return l != NULL;
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

/* The loop on loop.base: its thread, stop and reload events (daemon/evloop). */
static const struct mvd_evloop_ops ops = {"IMAP/POP3 proxy", &loop.base,      listener_at,
                                          on_accept,         on_accept_error, on_stop};
static struct mvd_evloop ev = {.ops = &ops};

void mvd_proxy_reload(void)
{
	mvd_evloop_reload(&ev);
}

int mvd_proxy_start(char *err, size_t errlen)
{
	return mvd_evloop_start(&ev, err, errlen);
}

int mvd_proxy_running(void)
{
	return mvd_evloop_running(&ev);
}

/* Mail readers reconnect by themselves: sessions are closed, not drained. */
void mvd_proxy_stop(void)
{
	if (!loop.base)
		return;
	mvd_evloop_stop(&ev);
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
	mvd_evloop_free(&ev);
}
