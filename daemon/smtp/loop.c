/* daemon/smtp/loop.c — the listeners: bound by the supervisor, served by one event loop in the worker. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "smtp.h"
#include "smtp_int.h"

/* Filled before the fork by the supervisor, inherited by the worker. */
static struct smtp_loop loop;
static struct smtp_session *sessions;
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
	int fd = mvd_evloop_listen(lc, err, errlen);
	struct smtp_listener *grown;

	if (fd < 0)
		return -1;
	if (!(grown = realloc(loop.listeners, (loop.nlisteners + 1) * sizeof *grown))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	loop.listeners = grown;
	memset(&grown[loop.nlisteners], 0, sizeof *grown);
	snprintf(grown[loop.nlisteners].name, sizeof grown->name, "%s", lc->name);
	grown[loop.nlisteners].fd = fd;
	grown[loop.nlisteners].loop = &loop;
	if (lc->tls_cert[0] &&
	    !(grown[loop.nlisteners].tls = mvd_evloop_tls_server(lc, 0, err, errlen)))
		goto fail;
	loop.nlisteners++;
	return 0;
fail:
	close(fd);
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

/* The shared loop's view of listener i. */
static int listener_at(size_t i, struct mvd_evloop_listener *out)
{
	struct smtp_listener *l = i < loop.nlisteners ? &loop.listeners[i] : NULL;

	if (l)
		*out = (struct mvd_evloop_listener){l->name, l->fd, &l->tls, &l->evl, l};
	return l != NULL;
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

/* The loop on loop.base: its thread, stop and reload events (daemon/evloop). */
static const struct mvd_evloop_ops ops = {"SMTP",    &loop.base,      listener_at,
                                          on_accept, on_accept_error, on_stop};
static struct mvd_evloop ev = {.ops = &ops};

void mvd_smtp_reload(void)
{
	mvd_evloop_reload(&ev);
}

int mvd_smtp_start(char *err, size_t errlen)
{
	return mvd_evloop_start(&ev, err, errlen);
}

int mvd_smtp_running(void)
{
	return mvd_evloop_running(&ev);
}

void mvd_smtp_stop(unsigned timeout)
{
	if (!loop.base)
		return;
	stop_deadline = time(NULL) + timeout;
	mvd_evloop_stop(&ev);
	if (loop.in_flight)
		mvd_log(MVD_LOG_WARNING, "stop", "%u SMTP messages still in flight after %u s",
		        loop.in_flight, timeout);
	/* The loop is stopped: what is left is closed from here. */
	while (sessions && !sessions->worker_busy)
		smtp_session_close(sessions);
}
