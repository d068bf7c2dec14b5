/* daemon/core/aux_server.c — the server the key and auth processes share. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "aux_server.h"
#include "log.h"
#include "supervise.h"

/*
 * One loaded state and the requests answering with it. A reload publishes
 * the next one at once; this one is freed by whoever lets go of it last,
 * so that a reload never waits for a slow answer (a Dovecot check that
 * takes seconds) and a slow answer never waits for a reload.
 */
struct generation {
	void *state;
	atomic_uint refs; /* the server's (while current) and each answer's in flight */
};

/*
 * One thread per socket, so that the requests use every core (a signature,
 * a slow hash, a Dovecot check that takes seconds).
 */
struct server {
	const struct mvd_aux_ops *ops;
	pthread_mutex_t lock; /* guards cur: held only to take a reference */
	struct generation *cur;
	atomic_int stop;
};

struct server_thread {
	struct server *srv;
	int fd;
	int timed; /* SO_RCVTIMEO is set: recv blocks a slice at a time, no poll before it */
	unsigned char *req, *rep; /* ops->max_req and ops->max_rep bytes */
};

#define STOP_SLICE_MS 200 /* how often a waiting thread looks at the stop flag */

/* The control pipe: 1 to go on, 0 to stop; *reload set by MVD_CTL_RELOAD. */
static int control(int fd, int *reload)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == MVD_CTL_STOP)
			return 0;
		*reload |= buf[i] == MVD_CTL_RELOAD;
	}
	return 1;
}

static void tell(int fd, unsigned char status)
{
	(void)!write(fd, &status, 1);
}

/* Wait for a record on t's socket: 1 to read it, 0 to look at the stop flag, -1 gone. */
static int wait_request(const struct server_thread *t)
{
	struct pollfd pfd = {t->fd, POLLIN, 0};
	int r;

	if (t->timed)
		return 1;
	if ((r = poll(&pfd, 1, STOP_SLICE_MS)) <= 0)
		return 0;
	return pfd.revents & POLLIN ? 1 : -1; /* the socket is gone: do not spin on it */
}

static struct generation *generation_new(void *state)
{
	struct generation *g = malloc(sizeof *g);

	if (g) {
		g->state = state;
		atomic_init(&g->refs, 1);
	}
	return g;
}

static struct generation *acquire(struct server *srv)
{
	struct generation *g;

	pthread_mutex_lock(&srv->lock);
	g = srv->cur;
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&srv->lock);
	return g;
}

static void release(const struct mvd_aux_ops *ops, struct generation *g)
{
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
		ops->free(g->state);
		free(g);
	}
}

/* Is the worker's end closed (a bench or a test ending; mailvetd keeps it open)? */
static int peer_gone(int fd)
{
	struct pollfd pfd = {fd, 0, 0};

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/*
 * Two system calls per request: a blocking recv, the send of the reply
 * (issue 17: the round trip's cost is mostly its system calls and wakeups).
 */
static void *serve_loop(void *arg)
{
	struct server_thread *t = arg;
	const struct mvd_aux_ops *ops = t->srv->ops;

	while (!atomic_load(&t->srv->stop)) {
		struct generation *g;
		ssize_t n;
		size_t len;
		int w = wait_request(t);
		if (w < 0)
			break;
		if (w == 0)
			continue;
		n = recv(t->fd, t->req, ops->max_req, (t->timed ? 0 : MSG_DONTWAIT) | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0 || (n == 0 && peer_gone(t->fd)))
			break;
		if (n == 0)
			continue;
		/* A record longer than the buffer was truncated: answered as a bad request. */
		g = acquire(t->srv);
		len = ops->answer(g->state, t->req,
		                  (size_t)n > ops->max_req ? ops->max_req + 1 : (size_t)n, t->rep);
		release(ops, g);
		if (len)
			(void)send(t->fd, t->rep, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return NULL;
}

static void reload(struct server *srv, const char *path, int ready_fd)
{
	const struct mvd_aux_ops *ops = srv->ops;
	void *fresh = ops->load(path);
	struct generation *g = fresh ? generation_new(fresh) : NULL, *old;

	if (g) {
		/* Only this thread changes cur: old stays current (and alive) till the swap. */
		if (ops->carry)
			ops->carry(fresh, srv->cur->state);
		pthread_mutex_lock(&srv->lock);
		old = srv->cur;
		srv->cur = g;
		pthread_mutex_unlock(&srv->lock);
		release(ops, old);
	} else {
		if (fresh) {
			mvd_log(MVD_LOG_ERR, ops->tag, "out of memory");
			ops->free(fresh);
		}
		mvd_log(MVD_LOG_ERR, ops->tag, "reload failed: keeping %s loaded", ops->held);
	}
	tell(ready_fd, g ? 0 : 1);
}

/* One thread per socket (each started one counted in *started), then, if all run, the filter. */
static void start(struct server *srv, struct server_thread *th, pthread_t *tid, const int *fds,
                  int n, int *started)
{
	const struct mvd_aux_ops *ops = srv->ops;
	unsigned char *buf = (unsigned char *)(th + n);

	for (int i = 0; i < n; i++) {
		struct timeval tv = {0, STOP_SLICE_MS * 1000};
		/* Before the filter: setsockopt is not among the calls it allows. */
		int timed = ops->timed &&
		            setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
		unsigned char *req = buf + (size_t)i * (ops->max_req + ops->max_rep);
		th[i] = (struct server_thread){srv, fds[i], timed, req, req + ops->max_req};
		if (pthread_create(&tid[i], NULL, serve_loop, &th[i]) != 0)
			break;
		if (ops->started)
			ops->started(tid[i], (unsigned)i, ops->started_arg);
		(*started)++;
	}
	if (*started == n) {
		char why[128] = "";
		if (ops->sandbox(srv->cur->state, why, sizeof why) != 0)
			mvd_log(MVD_LOG_WARNING, ops->tag, "no system-call filter: %s", why);
	}
}

int mvd_aux_serve(const struct mvd_aux_ops *ops, const int *fds, int n, int ctl_fd, int ready_fd,
                  const char *path)
{
	struct server srv;
	void *state;
	/* The threads, then their buffers, in one block; the ids apart. */
	struct server_thread *th =
	        calloc(1, (size_t)n * (sizeof *th + ops->max_req + ops->max_rep));
	pthread_t *tid = calloc((size_t)n, sizeof *tid);
	int go = 1, started = 0;

	memset(&srv, 0, sizeof srv);
	srv.ops = ops;
	atomic_init(&srv.stop, 0);
	if (!th || !tid)
		mvd_log(MVD_LOG_ERR, ops->tag, "out of memory");
	state = th && tid ? ops->load(path) : NULL;
	if (state && !(srv.cur = generation_new(state))) {
		mvd_log(MVD_LOG_ERR, ops->tag, "out of memory");
		ops->free(state);
	}
	mvd_log_start_over();
	if (!srv.cur) {
		tell(ready_fd, 1);
		free(th);
		free(tid);
		return 1;
	}
	pthread_mutex_init(&srv.lock, NULL);
	start(&srv, th, tid, fds, n, &started);
	if (started < n) /* a socket nobody serves, and no filter: do not run like that */
		mvd_log(MVD_LOG_ERR, ops->tag, "only %d of %d threads started", started, n);
	/* Ready: every thread serves, under the filter (the supervisor starts the worker now). */
	tell(ready_fd, started == n ? 0 : 1);
	while (go && started == n) {
		struct pollfd pfd = {ctl_fd, POLLIN, 0};
		int want = 0;
		if (poll(&pfd, 1, -1) <= 0)
			continue;
		go = control(ctl_fd, &want);
		if (go && want)
			reload(&srv, path, ready_fd);
	}
	atomic_store(&srv.stop, 1);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	release(ops, srv.cur); /* the threads are joined: the last reference */
	pthread_mutex_destroy(&srv.lock);
	free(th);
	free(tid);
	return started == n ? 0 : 1;
}
