/* daemon/evloop/evloop.h — what the SMTP front end and the IMAP/POP3 proxy share: sockets, one libevent loop on a thread, server TLS. */
#ifndef MAILVETD_EVLOOP_H
#define MAILVETD_EVLOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "listener.h"

/*
 * Bound by the supervisor (as root, before the fork): a listening socket
 * for lc->listen, non-blocking. The descriptor, or -1 with err.
 */
int mvd_evloop_listen(const struct mvd_listener_conf *lc, char *err, size_t errlen);

/*
 * TLS towards the clients of lc: TLS 1.2 or later, no renegotiation, no
 * compression (RFC 3207, RFC 8314, RFC 2595), the certificate chain of
 * tls_cert. with_key 0: the certificate only, as the supervisor makes it at
 * bind (every worker is forked from its memory, which must never hold a TLS
 * key; the worker adds it by mvd_evloop_tls_key()); 1: with the private key
 * too (a reload). NULL with err.
 */
SSL_CTX *mvd_evloop_tls_server(const struct mvd_listener_conf *lc, int with_key, char *err,
                               size_t errlen);
/*
 * The private key of lc on ctx, which has its certificate: held by the key
 * process once the worker is attached to it, else read from tls_key. 0, or
 * -1 with err.
 */
int mvd_evloop_tls_key(SSL_CTX *ctx, const struct mvd_listener_conf *lc, char *err, size_t errlen);
/* err = "[listener NAME] what (OpenSSL's reason)", OpenSSL's error queue cleared. */
void mvd_evloop_tls_say(const struct mvd_listener_conf *lc, const char *what, char *err,
                        size_t errlen);

/* One listener of a front end, as the loop serves it: pointers into the front end's own. */
struct mvd_evloop_listener {
	const char *name;
	int fd;
	SSL_CTX **tls; /* its server context; *tls NULL: no TLS */
	struct evconnlistener **evl;
	void *arg; /* what on_accept and on_accept_error get */
};

/* What a front end's loop is made of, all given (a static initializer). */
struct mvd_evloop_ops {
	const char *what;         /* "SMTP": "cannot start the SMTP event loop" */
	struct event_base **base; /* where the front end keeps the base: its sessions use it */
	/* Listener i (0, 1, ...) in out: 1, or 0 past the last. */
	int (*listener)(size_t i, struct mvd_evloop_listener *out);
	evconnlistener_cb on_accept;
	evconnlistener_errorcb on_accept_error;
	/* On the loop when mvd_evloop_stop() is called: ends the loop
	 * (event_base_loopbreak()), at once or later. */
	event_callback_fn on_stop;
};

/* A front end's loop: {.ops = &ops}, then the functions below. */
struct mvd_evloop {
	const struct mvd_evloop_ops *ops;
	struct event *stop_ev, *reload_ev;
	pthread_t tid;
	atomic_int running;
};

/*
 * In the worker: the private keys of the listeners' contexts, the base, its
 * stop and reload events, the listeners served, and the loop started on a
 * thread of its own; without listeners, none of that. 0, or -1 with err.
 */
int mvd_evloop_start(struct mvd_evloop *ev, char *err, size_t errlen);
/* Any thread: new server contexts from the runtime now installed, made on the loop. */
void mvd_evloop_reload(struct mvd_evloop *ev);
/* 1 while the loop runs. */
int mvd_evloop_running(struct mvd_evloop *ev);
/* Any thread but the loop's, once started: on_stop on the loop, and wait until the loop ended. */
void mvd_evloop_stop(struct mvd_evloop *ev);
/* After mvd_evloop_stop(): the events and the base freed (the listeners are the front end's). */
void mvd_evloop_free(struct mvd_evloop *ev);

#endif
