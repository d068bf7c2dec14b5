/* daemon/milter/listen.c — the milter's socket, and the worker process that serves it with libmilter. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "listen.h"
#include "log.h"
#include "session.h"

static atomic_int milter_done;
static atomic_int milter_status;

static void *milter_thread(void *arg)
{
	(void)arg;
	atomic_store(&milter_status, smfi_main());
	atomic_store(&milter_done, 1);
	return NULL;
}

/*
 * libmilter writes each modification and the final reply of end of message
 * as separate packets; with Nagle's algorithm the second waits for the MTA's
 * delayed ACK (40 ms on Linux), per message. libmilter keeps its listening
 * socket to itself, so find it among our descriptors and set TCP_NODELAY,
 * which Linux hands down to every accepted connection.
 */
static void listener_nodelay(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int on = 0, family = 0, one = 1;
		socklen_t len = sizeof on, flen = sizeof family;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) != 0 ||
		    (family != AF_INET && family != AF_INET6))
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}

int mvd_milter_bind(const struct mvd_config *c, char *err, size_t errlen)
{
	mode_t old;
	int r;

	if (smfi_register(*mvd_milter_desc()) != MI_SUCCESS ||
	    smfi_setconn((char *)c->socket) != MI_SUCCESS ||
	    smfi_settimeout((int)c->milter_timeout) != MI_SUCCESS) {
		snprintf(err, errlen, "libmilter refused the socket %s", c->socket);
		return -1;
	}
	old = umask((mode_t)c->socket_umask);
	r = smfi_opensocket(1);
	umask(old);
	if (r != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s", c->socket);
		return -1;
	}
	listener_nodelay();
	return 0;
}

/* SIGTERM: stop accepting, let messages in flight finish (drain_timeout), leave. */
static void drain(unsigned timeout)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	long waited_ms = 0;

	mvd_milter_drain();
	while (mvd_milter_in_flight() > 0 && waited_ms < (long)timeout * 1000) {
		nanosleep(&step, NULL);
		waited_ms += 50;
	}
	if (mvd_milter_in_flight() > 0)
		mvd_log(MVD_LOG_WARNING, "stop", "%d messages still in flight after %u s",
		        mvd_milter_in_flight(), timeout);
	/* Now libmilter may close what is left; smfi_main returns within about a second. */
	smfi_stop();
	for (int i = 0; i < 100 && !atomic_load(&milter_done); i++)
		nanosleep(&step, NULL);
}

int mvd_milter_start(void)
{
	pthread_t tid;

	if (pthread_create(&tid, NULL, milter_thread, NULL) != 0)
		return -1;
	pthread_detach(tid);
	return 0;
}

int mvd_milter_stopped(int *status)
{
	*status = atomic_load(&milter_status);
	return atomic_load(&milter_done);
}

void mvd_milter_finish(unsigned timeout)
{
	drain(timeout);
}
