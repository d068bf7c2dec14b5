/* daemon/authd/client.c — the worker's side: ask the auth process whether a login is valid. */
#define _GNU_SOURCE /* pthread_mutex_clocklock */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authd.h"
#include "deadline.h"
#include "metrics.h"

/* One socket, used by one thread at a time. */
struct slot {
	pthread_mutex_t lock;
	int fd;
};

static struct slot slots[MVD_AUTHD_SOCKETS];
static atomic_uint next_slot;
static atomic_uint_fast32_t next_seq;

void mvd_authd_client_attach(void)
{
	int fds[MVD_AUTHD_SOCKETS];

	mvd_authd_channel_client(fds);
	for (int i = 0; i < MVD_AUTHD_SOCKETS; i++) {
		pthread_mutex_init(&slots[i].lock, NULL);
		slots[i].fd = fds[i];
	}
	/* Replies meant for an earlier worker may wait in the sockets: start elsewhere. */
	atomic_store(&next_seq, (uint_fast32_t)getpid() << 16 ^ (uint_fast32_t)time(NULL));
}

/* A free slot if there is one, else wait for one until the deadline; returned locked, or NULL. */
static struct slot *take_slot(const struct timespec *deadline)
{
	unsigned start = atomic_fetch_add(&next_slot, 1);
	struct slot *s = &slots[start % MVD_AUTHD_SOCKETS];

	for (unsigned i = 0; i < MVD_AUTHD_SOCKETS; i++) {
		struct slot *t = &slots[(start + i) % MVD_AUTHD_SOCKETS];
		if (pthread_mutex_trylock(&t->lock) == 0)
			return t;
	}
	return pthread_mutex_clocklock(&s->lock, CLOCK_MONOTONIC, deadline) == 0 ? s : NULL;
}

/* Read replies on fd until the one for seq; stale ones (a timed-out earlier call) are dropped. */
static enum mv_status await(int fd, uint32_t seq, struct mvd_authd_rep *rep,
                            const struct timespec *deadline)
{
	unsigned char buf[MVD_AUTHD_MAX_REP];
	long left;

	while ((left = mvd_deadline_left_ms(deadline)) > 0) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return MV_EIO;
		if ((size_t)n <= sizeof buf && mvd_authd_rep_parse(buf, (size_t)n, rep) == MV_OK &&
		    rep->seq == seq)
			return MV_OK;
	}
	return MV_ETEMP;
}

/* Send r and wait for its answer; the request's bytes are wiped before the wait. */
static enum mv_status call(struct mvd_authd_req *r, struct mvd_authd_rep *rep, int timeout_ms)
{
	unsigned char buf[MVD_AUTHD_MAX_REQ];
	struct timespec deadline = mvd_deadline_in(timeout_ms);
	struct slot *s;
	enum mv_status st = MV_EINVAL;
	size_t n;

	r->seq = (uint32_t)atomic_fetch_add(&next_seq, 1);
	if ((n = mvd_authd_req_encode(r, buf)) == 0)
		goto out;
	st = MV_ETEMP;
	if ((s = take_slot(&deadline))) {
		st = MV_EIO;
		if (s->fd >= 0 && send(s->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n) {
			mvd_authd_req_wipe(NULL, buf, n);
			st = await(s->fd, r->seq, rep, &deadline);
		}
		pthread_mutex_unlock(&s->lock);
	}
	mvd_metrics_call(MVD_PEER_AUTH, st == MV_OK      ? MVD_CALL_ANSWERED
	                                : st == MV_ETEMP ? MVD_CALL_TIMEOUT
	                                                 : MVD_CALL_ERROR);
out:
	mvd_authd_req_wipe(NULL, buf, n ? n : sizeof buf);
	return st;
}

/* Copy s into a field of cap bytes (NUL included); 0 when it does not fit. */
static int fit(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= cap)
		return 0;
	memcpy(dst, s ? s : "", n + 1);
	return 1;
}

void mvd_authd_check(const char *authzid, const char *login, const char *secret, size_t secret_len,
                     enum mvd_authd_mech mech, const char *ip, int secured, int timeout_ms,
                     struct mvd_authd_result *out)
{
	struct mvd_authd_req *r = calloc(1, sizeof *r);
	struct mvd_authd_rep rep;
	enum mv_status st = MV_ENOMEM;

	memset(out, 0, sizeof *out);
	out->status = MVD_AUTHD_TEMPFAIL;
	if (!r)
		goto out;
	r->op = MVD_AUTHD_CHECK;
	r->mech = (uint8_t)mech;
	r->flags = secured ? MVD_AUTHD_SECURED : 0;
	/* A login or authzid too long for the wire goes as an empty login: the auth
	 * process counts it as the failure it is, without asking the back end. */
	if (!fit(r->login, sizeof r->login, login) || !fit(r->authzid, sizeof r->authzid, authzid))
		r->login[0] = r->authzid[0] = '\0';
	if (!fit(r->ip, sizeof r->ip, ip) || secret_len > MVD_AUTHD_MAX_SECRET) {
		st = MV_EINVAL;
		goto out;
	}
	memcpy(r->secret, secret, secret_len);
	r->secret_len = secret_len;
	st = call(r, &rep, timeout_ms);
out:
	if (r) {
		mvd_authd_req_wipe(r, NULL, 0);
		free(r);
	}
	if (st != MV_OK) {
		snprintf(out->reason, sizeof out->reason, "%s",
		         st == MV_ETEMP ? "the auth process did not answer in time"
		         : st == MV_EIO ? "the auth process is not reachable"
		                        : "the request could not be sent to the auth process");
		return;
	}
	out->status = (enum mvd_authd_status)rep.status;
	if (rep.status == MVD_AUTHD_BAD_REQUEST)
		out->status = MVD_AUTHD_TEMPFAIL;
	out->delay = rep.delay;
	out->now_blocked = (rep.flags & MVD_AUTHD_NOW_BLOCKED) != 0;
	memcpy(out->reason, rep.reason, sizeof out->reason);
	if (rep.status == MVD_AUTHD_OK && !(out->login = strdup(rep.login))) {
		out->status = MVD_AUTHD_TEMPFAIL;
		snprintf(out->reason, sizeof out->reason, "out of memory");
	}
}
