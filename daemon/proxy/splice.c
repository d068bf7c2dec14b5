/* daemon/proxy/splice.c — an IMAP literal from the server moved to the client with splice(2), without a copy through userspace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "proxy.h"

/*
 * The bytes of a literal that passes unchanged go upstream socket -> pipe
 * -> client socket in the kernel. The pipe is the only buffer, and it is
 * bounded: bytes are taken from the upstream only while it has room, and
 * from the upstream socket no further than the literal's end, so the
 * bufferevent path sees exactly the bytes after it.
 */
#define PIPE_WANT (256 * 1024) /* asked for; the kernel may give less (pipe-max-size) */
#define ROUNDS_MAX 16          /* moves per wakeup before other sessions get their turn */

struct proxy_splice {
	int pipe[2];
	size_t cap;  /* the pipe's size */
	size_t held; /* bytes in the pipe, not yet written to the client */
	int up_done; /* the upstream ended or failed: empty the pipe, then hand back */
	int active;  /* a literal is being moved; else the pipe waits for the next one */
	struct event *up_ev, *cli_ev;
};

static long long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

int proxy_splice_usable(const struct proxy_session *s)
{
	/* Both sides plain TCP (or a unix socket upstream): TLS bytes need userspace. */
	return !proxy_splicing(s) && !s->closing && !s->lst->up_tls && !s->rw->tls_active &&
	       !s->rw->starttls_due && bufferevent_getfd(s->up) >= 0 &&
	       bufferevent_getfd(s->client) >= 0;
}

int proxy_splicing(const struct proxy_session *s)
{
	return s->sp && s->sp->active;
}

void proxy_splice_end(struct proxy_session *s)
{
	struct proxy_splice *sp = s->sp;

	if (!sp)
		return;
	if (sp->up_ev)
		event_free(sp->up_ev);
	if (sp->cli_ev)
		event_free(sp->cli_ev);
	close(sp->pipe[0]);
	close(sp->pipe[1]);
	free(sp);
	s->sp = NULL;
}

/*
 * The pipe is empty: the bufferevents carry on (and see an end or error of
 * the upstream). The pipe stays for the session's next literal.
 */
static void hand_back(struct proxy_session *s)
{
	struct proxy_splice *sp = s->sp;

	event_del(sp->up_ev);
	event_del(sp->cli_ev);
	sp->active = 0;
	sp->up_done = 0;
	proxy_session_resume(s);
}

static void arm(struct proxy_session *s, struct event *ev)
{
	event_add(ev, &(struct timeval){s->timeout, 0});
}

/* Upstream -> pipe: as much as the literal and the pipe allow. 1 when bytes moved. */
static int fill(struct proxy_session *s, int *blocked)
{
	struct proxy_splice *sp = s->sp;
	uint64_t left = mvd_proxy_rw_verbatim(s->rw, 1);
	size_t want = sp->cap - sp->held;
	ssize_t n;

	if (sp->up_done || !left || sp->held >= sp->cap)
		return 0;
	if (left < want)
		want = (size_t)left;
	n = splice(bufferevent_getfd(s->up), NULL, sp->pipe[1], NULL, want,
	           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		sp->held += (size_t)n;
		mvd_proxy_rw_skip(s->rw, 1, (uint64_t)n);
		s->s2c_bytes += (unsigned long long)n;
		s->spliced_bytes += (unsigned long long)n;
		s->heard_upstream = 1;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		*blocked = 1;
	else
		sp->up_done = 1; /* end or error: the bufferevent will report it */
	return 0;
}

/* Pipe -> client, once what libevent had for the client is out. 1 when bytes moved, -1 when the client is gone. */
static int drain(struct proxy_session *s, int *blocked)
{
	struct proxy_splice *sp = s->sp;
	ssize_t n;

	if (!sp->held || evbuffer_get_length(bufferevent_get_output(s->client)))
		return 0;
	n = splice(sp->pipe[0], NULL, bufferevent_getfd(s->client), NULL, sp->held,
	           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		sp->held -= (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		*blocked = 1;
		return 0;
	}
	return -1;
}

void proxy_splice_run(struct proxy_session *s)
{
	struct proxy_splice *sp = s->sp;
	int up_blocked = 0, cli_blocked = 0, r, round;

	if (!sp || !sp->active || s->closing)
		return;
	for (round = 0; round < ROUNDS_MAX; round++) {
		int moved = fill(s, &up_blocked);
		if ((r = drain(s, &cli_blocked)) < 0) {
			mvd_log(MVD_LOG_DEBUG, s->lst->proto == MVD_PROXY_IMAP ? "imap" : "pop3",
			        "id=%lu client error", s->id);
			proxy_session_free(s);
			return;
		}
		if (!moved && !r)
			break;
		s->last = now_s();
	}
	if (!sp->held && (sp->up_done || !mvd_proxy_rw_verbatim(s->rw, 1))) {
		hand_back(s);
		return;
	}
	if (round == ROUNDS_MAX) { /* more to do: after the other ready events */
		event_active(sp->up_ev, EV_READ, 1);
		return;
	}
	/*
	 * With bytes in the pipe, a refused splice from the upstream may mean
	 * the pipe is full (a slot per socket buffer, not per page): wait for
	 * the client only, or the upstream's readiness would spin. With the
	 * pipe empty the upstream had nothing.
	 */
	if (sp->held) {
		if (cli_blocked)
			arm(s, sp->cli_ev);
		/* else: the client's output is not out yet; on_write calls again */
	} else if (up_blocked) {
		arm(s, sp->up_ev);
	}
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_session *s = arg;

	(void)fd;
	if ((what & EV_TIMEOUT) && !(what & (EV_READ | EV_WRITE))) {
		if (now_s() - s->last >= (long long)s->timeout) {
			mvd_log(MVD_LOG_INFO, s->lst->proto == MVD_PROXY_IMAP ? "imap" : "pop3",
			        "id=%lu client=%s idle for %u s", s->id, s->peer, s->timeout);
			proxy_session_free(s);
			return;
		}
	}
	proxy_splice_run(s);
}

static struct proxy_splice *splice_new(struct proxy_session *s)
{
	struct proxy_splice *sp = calloc(1, sizeof *sp);
	struct event_base *base = s->lst->loop->base;
	int sz;

	if (!sp)
		return NULL;
	if (pipe2(sp->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(sp);
		return NULL;
	}
	fcntl(sp->pipe[1], F_SETPIPE_SZ, PIPE_WANT); /* may be refused: the default is kept */
	sz = fcntl(sp->pipe[1], F_GETPIPE_SZ);
	sp->cap = sz > 0 ? (size_t)sz : 65536;
	s->sp = sp;
	sp->up_ev = event_new(base, bufferevent_getfd(s->up), EV_READ, on_ready, s);
	sp->cli_ev = event_new(base, bufferevent_getfd(s->client), EV_WRITE, on_ready, s);
	if (!sp->up_ev || !sp->cli_ev) {
		proxy_splice_end(s);
		return NULL;
	}
	return sp;
}

int proxy_splice_start(struct proxy_session *s)
{
	if (!s->sp && !splice_new(s))
		return 0;
	s->sp->active = 1;
	proxy_session_hold(s);
	proxy_splice_run(s);
	return 1;
}
