/* daemon/keyd/client.c — the worker's side: open keys and sign digests through the key process. */
#define _GNU_SOURCE /* pthread_mutex_clocklock */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "keyd.h"
#include "keyfile.h"
#include "metrics.h"
#include "tlskey.h"

#define SIGN_TIMEOUT_MS 3000 /* a key process that died is restarted well within this */
#define INFO_TIMEOUT_MS 5000
/*
 * A blocking receive wakes at least this often to look at the call's
 * deadline, so a call waits at most its timeout plus this.
 */
#define WAIT_SLICE_MS 100
/*
 * Calls from an event loop (mvd_keyd_call_loop: a TLS handshake's
 * signature) while the key process does not answer: one a PROBE_EVERY_MS
 * waits PROBE_TIMEOUT_MS, the others fail at once, so the loop's other
 * sessions go on while the supervisor restarts the key process.
 */
#define PROBE_EVERY_MS 500
#define PROBE_TIMEOUT_MS 50

/* One socket, used by one thread at a time. */
struct slot {
	pthread_mutex_t lock;
	int fd;
	int timed; /* SO_RCVTIMEO is set: recv blocks, no poll before it */
};

static struct slot slots[MVD_KEYD_SOCKETS];
static atomic_int attached;
static atomic_uint next_slot;
static atomic_uint_fast32_t next_seq;
/* Set when a call got no answer in time; cleared by the next reply of any call. */
static atomic_int down;
static atomic_llong last_probe; /* CLOCK_MONOTONIC ms, of mvd_keyd_call_loop while down */
/* The slot this thread had last: taken again first, so threads seldom meet on one. */
static _Thread_local int my_slot = -1;
static unsigned groups = 1; /* CPU groups (cpu.c), set at attach */

static enum mv_status sign_remote(void *arg, const void *handle, enum mv_dkim_alg alg,
                                  const unsigned char digest[32], unsigned char *sig, size_t cap,
                                  size_t *siglen);

static const struct mv_dkim_signer signer = {sign_remote, NULL};

void mvd_keyd_client_attach(void)
{
	int fds[MVD_KEYD_SOCKETS];

	mvd_keyd_channel_client(fds);
	groups = mvd_keyd_groups();
	for (int i = 0; i < MVD_KEYD_SOCKETS; i++) {
		struct timeval tv = {0, WAIT_SLICE_MS * 1000};
		pthread_mutex_init(&slots[i].lock, NULL);
		slots[i].fd = fds[i];
		/* One system call per reply in place of poll and recv; before any filter. */
		slots[i].timed = fds[i] >= 0 &&
		                 setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
	}
	/* Replies meant for an earlier worker may wait in the sockets: start elsewhere. */
	atomic_store(&next_seq, (uint_fast32_t)getpid() << 16 ^ (uint_fast32_t)time(NULL));
	mvd_keyfile_set_remote(mvd_keyd_open_key);
	atomic_store(&attached, 1);
}

int mvd_keyd_attached(void)
{
	return atomic_load(&attached);
}

/*
 * A free slot of the group of the CPU this thread runs on (its last one
 * first), else any free one, else wait for one of the group's (at most
 * until wait_until, when given: NULL if none came free); returned locked.
 * The key process's thread of a group's slot runs on the group's CPUs, so
 * a request mostly wakes it on this thread's own CPU (cpu.c).
 */
static struct slot *take_slot(const struct timespec *wait_until)
{
	int g = mvd_keyd_current_group(groups);
	unsigned start;

	if (my_slot >= 0 && (g < 0 || (unsigned)my_slot % groups == (unsigned)g) &&
	    pthread_mutex_trylock(&slots[my_slot].lock) == 0)
		return &slots[my_slot];
	for (unsigned k = g < 0 ? MVD_KEYD_SOCKETS : (unsigned)g; k < MVD_KEYD_SOCKETS;
	     k += groups) {
		if (pthread_mutex_trylock(&slots[k].lock) == 0) {
			my_slot = (int)k;
			return &slots[k];
		}
	}
	start = atomic_fetch_add(&next_slot, 1);
	for (unsigned i = 0; i < MVD_KEYD_SOCKETS; i++) {
		unsigned k = (start + i) % MVD_KEYD_SOCKETS;
		if (pthread_mutex_trylock(&slots[k].lock) == 0) {
			my_slot = (int)k;
			return &slots[k];
		}
	}
	/* None free: wait on one of the group's, spread over them as the callers come. */
	if (g >= 0) {
		unsigned in_group = (MVD_KEYD_SOCKETS - (unsigned)g + groups - 1) / groups;
		start = (unsigned)g + groups * (start % in_group);
	} else {
		start %= MVD_KEYD_SOCKETS;
	}
	if (wait_until)
		return pthread_mutex_clocklock(&slots[start].lock, CLOCK_MONOTONIC, wait_until) == 0
		               ? &slots[start]
		               : NULL;
	pthread_mutex_lock(&slots[start].lock);
	return &slots[start];
}

/* Wait until fd has a record or the deadline passes: 1, or 0 at the deadline. */
static int readable(const struct slot *s, const struct timespec *deadline, int precise)
{
	long left;

	if (s->timed && !precise)
		return mvd_deadline_left_ms(deadline) >
		       0; /* the recv itself waits, a slice at a time */
	while ((left = mvd_deadline_left_ms(deadline)) > 0) {
		struct pollfd pfd = {s->fd, POLLIN, 0};
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
	return 0;
}

/*
 * Read replies on s until the one for seq; stale ones (a timed-out earlier
 * call) are dropped, but *heard is set by any reply: the key process answers.
 */
static enum mv_status await(const struct slot *s, uint32_t seq, struct mvd_keyd_rep *rep,
                            const struct timespec *deadline, int precise, int *heard)
{
	unsigned char buf[MVD_KEYD_MAX_REP];

	while (readable(s, deadline, precise)) {
		ssize_t n = recv(s->fd, buf, sizeof buf,
		                 (s->timed && !precise ? 0 : MSG_DONTWAIT) | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return MV_EIO;
		if ((size_t)n <= sizeof buf && mvd_keyd_rep_parse(buf, (size_t)n, rep) == MV_OK) {
			*heard = 1;
			if (rep->seq == seq)
				return MV_OK;
		}
	}
	return MV_ETEMP;
}

/*
 * One round trip; with loop set, waiting for a slot counts against the
 * timeout and a full socket is not waited for. The key process is marked
 * down when a call got no reply at all (not even a late one to an earlier
 * call) after waiting at least PROBE_TIMEOUT_MS for it, or found no free
 * socket in its whole time; any reply marks it up.
 */
static enum mv_status call(struct mvd_keyd_req *r, struct mvd_keyd_rep *rep, int timeout_ms,
                           int loop)
{
	unsigned char buf[MVD_KEYD_MAX_REQ];
	struct timespec until, waited_enough;
	struct slot *s;
	enum mv_status st = MV_EINVAL;
	int heard = 0;
	size_t n;

	r->seq = (uint32_t)atomic_fetch_add(&next_seq, 1);
	if ((n = mvd_keyd_req_encode(r, buf)) == 0)
		return st;
	until = mvd_deadline_in(timeout_ms);
	if (!(s = take_slot(loop ? &until : NULL))) {
		atomic_store(&down, 1); /* every socket held for the whole timeout */
		mvd_metrics_call(MVD_PEER_KEY, MVD_CALL_TIMEOUT);
		return MV_ETEMP;
	}
	if (!loop) /* the wait for a slot did not count */
		until = mvd_deadline_in(timeout_ms);
	waited_enough = mvd_deadline_in(PROBE_TIMEOUT_MS);
	st = MV_EIO;
	if (s->fd >= 0) {
		ssize_t w = send(s->fd, buf, n, MSG_NOSIGNAL | (loop ? MSG_DONTWAIT : 0));
		if (w == (ssize_t)n)
			st = await(s, r->seq, rep, &until, loop, &heard);
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			st = MV_ETEMP; /* requests pile up unanswered */
	}
	pthread_mutex_unlock(&s->lock);
	if (heard)
		atomic_store(&down, 0);
	else if (st == MV_ETEMP && mvd_deadline_left_ms(&waited_enough) <= 0)
		atomic_store(&down, 1);
	mvd_metrics_call(MVD_PEER_KEY, st == MV_OK      ? MVD_CALL_ANSWERED
	                               : st == MV_ETEMP ? MVD_CALL_TIMEOUT
	                                                : MVD_CALL_ERROR);
	return st;
}

enum mv_status mvd_keyd_call(struct mvd_keyd_req *r, struct mvd_keyd_rep *rep, int timeout_ms)
{
	return call(r, rep, timeout_ms, 0);
}

enum mv_status mvd_keyd_call_loop(struct mvd_keyd_req *r, struct mvd_keyd_rep *rep, int timeout_ms)
{
	long long now = mvd_now_ms(), last;

	if (atomic_load(&down)) {
		/* Down: one caller a PROBE_EVERY_MS asks, briefly; the others fail now. */
		last = atomic_load(&last_probe);
		if (now - last < PROBE_EVERY_MS ||
		    !atomic_compare_exchange_strong(&last_probe, &last, now)) {
			mvd_metrics_call(MVD_PEER_KEY, MVD_CALL_SKIPPED);
			return MV_ETEMP;
		}
		if (timeout_ms > PROBE_TIMEOUT_MS)
			timeout_ms = PROBE_TIMEOUT_MS;
	}
	return call(r, rep, timeout_ms, 1);
}

static enum mv_status status_of(const struct mvd_keyd_rep *rep)
{
	switch (rep->status) {
	case MVD_KEYD_OK:
		return MV_OK;
	case MVD_KEYD_UNKNOWN_KEY:
		return MV_ENOTFOUND;
	case MVD_KEYD_FAILED:
		return MV_EIO;
	default:
		return MV_EINVAL;
	}
}

static enum mv_status sign_remote(void *arg, const void *handle, enum mv_dkim_alg alg,
                                  const unsigned char digest[32], unsigned char *sig, size_t cap,
                                  size_t *siglen)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	enum mv_status st;

	(void)arg;
	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_SIGN;
	r.alg = (uint8_t)alg;
	memcpy(r.digest, digest, 32);
	r.idlen = strlen(handle);
	if (r.idlen > MVD_KEYD_MAX_ID)
		return MV_EINVAL;
	memcpy(r.id, handle, r.idlen);
	if ((st = mvd_keyd_call(&r, &rep, SIGN_TIMEOUT_MS)) != MV_OK)
		return MV_EIO; /* no answer: the key process is down or stuck */
	if ((st = status_of(&rep)) != MV_OK)
		return st;
	if (rep.siglen > cap || rep.alg != alg)
		return MV_EINVAL;
	memcpy(sig, rep.sig, rep.siglen);
	*siglen = rep.siglen;
	return MV_OK;
}

enum mv_status mvd_keyd_open_key(const char *path, struct mv_dkim_signkey **out, char *why,
                                 size_t whylen)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	enum mv_status st;

	*out = NULL;
	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_INFO;
	r.idlen = strlen(path);
	if (r.idlen == 0 || r.idlen > MVD_KEYD_MAX_ID) {
		snprintf(why, whylen, "path too long for the key process");
		return MV_EINVAL;
	}
	memcpy(r.id, path, r.idlen);
	if ((st = mvd_keyd_call(&r, &rep, INFO_TIMEOUT_MS)) != MV_OK) {
		snprintf(why, whylen, "the key process does not answer");
		return MV_ETEMP;
	}
	if ((st = status_of(&rep)) != MV_OK) {
		snprintf(why, whylen, "the key process has no key from this file (see its log)");
		return st;
	}
	st = mv_dkim_signkey_external((enum mv_dkim_alg)rep.alg, rep.bits, rep.sig, rep.siglen,
	                              &signer, path, out);
	if (st != MV_OK)
		snprintf(why, whylen, "the key process sent a bad public key");
	return st;
}
