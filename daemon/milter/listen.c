/* daemon/milter/listen.c — the milter's socket, and the worker process that serves it with libmilter. */
#include <errno.h>
#include <poll.h>
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
#include "runtime.h"
#include "session.h"
#include "supervise.h"

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

/*
 * The worker: the milter itself, in a process the supervisor restarts when
 * it dies. It is steered through the control pipe only (reload, stop, or
 * end of file when the supervisor is gone): several reload requests that
 * arrive during one reload are served by one more reload, never lost and
 * never fatal.
 */
int mvd_milter_worker(int ctl_fd, int ready_fd, void *arg)
{
	const char *config = arg;
	struct mvd_runtime *rt;
	char err[512] = "";
	unsigned char status = 1;
	pthread_t tid;
	int stop = 0, rc = 0;

	if (!(rt = mvd_runtime_load(config, err, sizeof err))) {
		mvd_log(MVD_LOG_ERR, "start", "%s", err);
		goto told;
	}
	mvd_log_setup(&rt->cfg);
	mvd_runtime_install(rt);
	if (pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
		mvd_log(MVD_LOG_ERR, "start", "cannot start the milter thread");
		mvd_runtime_install(NULL);
		goto told;
	}
	pthread_detach(tid);
	status = 0;
told:
	mvd_log_start_over();
	if (write(ready_fd, &status, 1) != 1 || status != 0) {
		close(ready_fd);
		return 1;
	}
	close(ready_fd);
	while (!stop) {
		struct pollfd pfd = {ctl_fd, POLLIN, 0};
		char req[64];
		int reloads = 0;
		ssize_t n;

		if (poll(&pfd, 1, 200) > 0) {
			if ((n = read(ctl_fd, req, sizeof req)) <= 0)
				stop = n == 0 || errno != EINTR;
			for (ssize_t i = 0; i < n; i++) {
				reloads |= req[i] == MVD_CTL_RELOAD;
				stop |= req[i] == MVD_CTL_STOP;
			}
		}
		if (reloads && !stop)
			mvd_runtime_reload(config);
		if (!stop && atomic_load(&milter_done)) {
			mvd_log(MVD_LOG_ERR, "stop", "the milter listener stopped (status %d)",
			        atomic_load(&milter_status));
			rc = 1;
			break;
		}
	}
	rt = mvd_runtime_acquire();
	drain(rt ? rt->cfg.drain_timeout : 30);
	mvd_runtime_release(rt);
	mvd_runtime_install(NULL);
	return rc;
}
