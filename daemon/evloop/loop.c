/* daemon/evloop/loop.c — a front end's event loop: its base and thread, its listeners served, stop and reload. */
#include <stdio.h>

#include <event2/thread.h>

#include "evloop.h"
#include "log.h"
#include "runtime.h"

/*
 * On the loop: a new SSL_CTX per listener from the runtime now installed.
 * A listener's TLS on or off needs a restart, like its socket; a
 * certificate that does not load keeps the one before.
 */
static void on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct mvd_evloop *ev = arg;
	struct mvd_runtime *rt = mvd_runtime_acquire();
	struct mvd_evloop_listener l;

	(void)fd;
	(void)what;
	for (size_t i = 0; rt && ev->ops->listener(i, &l); i++) {
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l.name);
		char err[512];
		SSL_CTX *ctx;

		if (!lc || !*l.tls || mvd_listener_tls(lc) == MVD_TLS_NONE)
			continue;
		if (!(ctx = mvd_evloop_tls_server(lc, 1, err, sizeof err))) {
			mvd_log(MVD_LOG_WARNING, "reload",
			        "%s: keeping the certificate loaded before", err);
			continue;
		}
		SSL_CTX_free(*l.tls); /* sessions in TLS hold their own reference */
		*l.tls = ctx;
	}
	mvd_runtime_release(rt);
}

void mvd_evloop_reload(struct mvd_evloop *ev)
{
	if (ev->reload_ev && atomic_load(&ev->running))
		event_active(ev->reload_ev, EV_READ, 0);
}

static void *loop_thread(void *arg)
{
	struct mvd_evloop *ev = arg;

	event_base_loop(*ev->ops->base, EVLOOP_NO_EXIT_ON_EMPTY);
	atomic_store(&ev->running, 0);
	return NULL;
}

/*
 * In the worker: the contexts the supervisor bound with their certificate
 * only get their private keys (from the key process), the certificate not
 * read again.
 */
static int tls_keys(struct mvd_evloop *ev, char *err, size_t errlen)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();
	struct mvd_evloop_listener l;
	int rc = 0;

	for (size_t i = 0; rt && rc == 0 && ev->ops->listener(i, &l); i++) {
		const struct mvd_listener_conf *lc = mvd_listener_find(&rt->cfg.listeners, l.name);

		if (*l.tls && lc)
			rc = mvd_evloop_tls_key(*l.tls, lc, err, errlen);
	}
	mvd_runtime_release(rt);
	return rc;
}

int mvd_evloop_start(struct mvd_evloop *ev, char *err, size_t errlen)
{
	struct mvd_evloop_listener l;

	if (!ev->ops->listener(0, &l))
		return 0; /* no listener: no loop, no thread */
	if (tls_keys(ev, err, errlen) != 0)
		return -1;
	if (evthread_use_pthreads() != 0 || !(*ev->ops->base = event_base_new()) ||
	    !(ev->stop_ev = event_new(*ev->ops->base, -1, 0, ev->ops->on_stop, NULL)) ||
	    !(ev->reload_ev = event_new(*ev->ops->base, -1, 0, on_reload, ev))) {
		snprintf(err, errlen, "cannot start the %s event loop", ev->ops->what);
		return -1;
	}
	for (size_t i = 0; ev->ops->listener(i, &l); i++) {
		*l.evl = evconnlistener_new(*ev->ops->base, ev->ops->on_accept, l.arg,
		                            LEV_OPT_CLOSE_ON_FREE, -1, l.fd);
		if (!*l.evl) {
			snprintf(err, errlen, "[listener %s] cannot serve", l.name);
			return -1;
		}
		evconnlistener_set_error_cb(*l.evl, ev->ops->on_accept_error);
	}
	atomic_store(&ev->running, 1);
	if (pthread_create(&ev->tid, NULL, loop_thread, ev) != 0) {
		atomic_store(&ev->running, 0);
		snprintf(err, errlen, "cannot start the %s thread", ev->ops->what);
		return -1;
	}
	return 0;
}

int mvd_evloop_running(struct mvd_evloop *ev)
{
	return atomic_load(&ev->running);
}

void mvd_evloop_stop(struct mvd_evloop *ev)
{
	if (atomic_load(&ev->running))
		event_active(ev->stop_ev, EV_READ, 0);
	pthread_join(ev->tid, NULL);
}

void mvd_evloop_free(struct mvd_evloop *ev)
{
	event_free(ev->stop_ev);
	event_free(ev->reload_ev);
	ev->stop_ev = ev->reload_ev = NULL;
	event_base_free(*ev->ops->base);
	*ev->ops->base = NULL;
}
