/* daemon/keyd/server.c — the key process: load the private keys, answer "sign this digest". */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "keyd.h"
#include "keys.h"
#include "log.h"
#include "supervise.h"

/* One key file and its key (borrowed from keys). */
struct entry {
	const char *path;
	const struct mv_dkim_signkey *key;
};

/* A loaded configuration's keys, indexed by file path. */
struct mvd_keyd_keys {
	struct mvd_config cfg;
	struct mvd_keys *keys;
	struct entry *e; /* sorted by path */
	size_t n;
	struct mvd_keyd_tls *tls; /* the listeners' TLS keys, a set of their own */
};

void mvd_keyd_keys_free(struct mvd_keyd_keys *k)
{
	if (!k)
		return;
	mvd_keys_free(k->keys);
	mvd_keyd_tls_free(k->tls);
	mvd_config_free(&k->cfg);
	free(k->e);
	free(k);
}

void mvd_keyd_keys_carry(struct mvd_keyd_keys *nk, struct mvd_keyd_keys *old)
{
	if (nk && old) {
		mvd_keyd_tls_carry(nk->tls, old->tls);
		old->tls = NULL;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static void add(struct mvd_keyd_keys *k, const char *path, const struct mv_dkim_signkey *key)
{
	if (key) {
		k->e[k->n].path = path;
		k->e[k->n++].key = key;
	}
}

/* Every key of every source, by the file it came from. */
static int index_keys(struct mvd_keyd_keys *k)
{
	const struct mvd_keys *s = k->keys;
	const struct mvd_keytable *kt = s->kt;
	size_t total = kt ? kt->nkeys + kt->ndirkeys : 0;

	for (size_t i = 0; i < s->n; i++)
		total += s->d[i].conf->nkeys;
	if (total && !(k->e = calloc(total, sizeof *k->e)))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->d[i].conf->nkeys; j++)
			add(k, s->d[i].conf->keys[j].path, s->d[i].keys[j]);
	for (size_t i = 0; kt && i < kt->nkeys; i++)
		add(k, kt->keys[i].path, kt->keys[i].key);
	for (size_t i = 0; kt && i < kt->ndirkeys; i++)
		add(k, kt->dirkeys[i].path, kt->dirkeys[i].key);
	if (k->n)
		qsort(k->e, k->n, sizeof *k->e, entry_cmp);
	return 0;
}

struct mvd_keyd_keys *mvd_keyd_keys_load(const char *path)
{
	struct mvd_keyd_keys *k = calloc(1, sizeof *k);
	char err[512] = "out of memory";

	if (!k)
		goto fail;
	if (mvd_config_load(&k->cfg, path, err, sizeof err) != MV_OK ||
	    mvd_keys_load(&k->cfg, &k->keys, err, sizeof err) != MV_OK || index_keys(k) != 0 ||
	    mvd_keyd_tls_load(&k->cfg, &k->tls, err, sizeof err) != MV_OK)
		goto fail;
	mvd_log(MVD_LOG_INFO, "keyd", "key process %ld: %zu private key(s) loaded, %zu TLS key(s)",
	        (long)getpid(), k->n, mvd_keyd_tls_count(k->tls));
	return k;
fail:
	mvd_log(MVD_LOG_ERR, "keyd", "%s", err);
	mvd_keyd_keys_free(k);
	return NULL;
}

static const struct mv_dkim_signkey *find(const struct mvd_keyd_keys *k, const char *path)
{
	struct entry key = {path, NULL};
	const struct entry *e = k->n ? bsearch(&key, k->e, k->n, sizeof *k->e, entry_cmp) : NULL;

	return e ? e->key : NULL;
}

size_t mvd_keyd_answer(const struct mvd_keyd_keys *k, const unsigned char *req, size_t n,
                       unsigned char *out)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	const struct mv_dkim_signkey *key;

	memset(&rep, 0, sizeof rep);
	if (mvd_keyd_req_parse(req, n, &r) != MV_OK) {
		rep.status = MVD_KEYD_BAD_REQUEST;
		return mvd_keyd_rep_encode(&rep, out);
	}
	rep.seq = r.seq;
	if (r.op == MVD_KEYD_TLS_SIGN || r.op == MVD_KEYD_TLS_INFO) {
		mvd_keyd_tls_answer(k->tls, &r, &rep); /* never the DKIM set: see keyd.h */
	} else if (!(key = find(k, r.id))) {
		rep.status = MVD_KEYD_UNKNOWN_KEY;
	} else if (r.op == MVD_KEYD_INFO) {
		struct mv_buf spki = MV_BUF_INIT;
		rep.alg = (uint8_t)mv_dkim_signkey_alg(key);
		rep.bits = mv_dkim_signkey_bits(key);
		/* The public half, for the worker's key records and checks (status page). */
		if (mv_dkim_signkey_spki(key, &spki) == MV_OK && spki.len <= sizeof rep.sig) {
			memcpy(rep.sig, spki.data, spki.len);
			rep.siglen = spki.len;
		}
		mv_buf_free(&spki);
	} else if ((uint8_t)mv_dkim_signkey_alg(key) != r.alg) {
		rep.status = MVD_KEYD_WRONG_ALG;
	} else {
		rep.alg = r.alg;
		if (mv_dkim_signkey_sign(key, r.digest, rep.sig, MV_DKIM_MAX_SIG, &rep.siglen) !=
		    MV_OK) {
			rep.status = MVD_KEYD_FAILED;
			rep.siglen = 0;
		}
	}
	return mvd_keyd_rep_encode(&rep, out);
}

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

/*
 * One thread per socket, so that signatures use every core as in-process
 * signing does (a single thread caps RSA at one core's rate); the keys are
 * swapped under a write lock at reload.
 */
struct server {
	pthread_rwlock_t lock;
	struct mvd_keyd_keys *keys;
	atomic_int stop;
};

struct server_thread {
	struct server *srv;
	int fd;
	int timed; /* SO_RCVTIMEO is set: recv blocks a slice at a time, no poll before it */
};

#define STOP_SLICE_MS 200 /* how often a waiting thread looks at the stop flag */

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
	unsigned char req[MVD_KEYD_MAX_REQ], rep[MVD_KEYD_MAX_REP];

	while (!atomic_load(&t->srv->stop)) {
		ssize_t n;
		size_t len;
		int w = wait_request(t);
		if (w < 0)
			break;
		if (w == 0)
			continue;
		n = recv(t->fd, req, sizeof req, (t->timed ? 0 : MSG_DONTWAIT) | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0 || (n == 0 && peer_gone(t->fd)))
			break;
		if (n == 0)
			continue;
		/* A record longer than the buffer was truncated: answered as a bad request. */
		pthread_rwlock_rdlock(&t->srv->lock);
		len = mvd_keyd_answer(t->srv->keys, req,
		                      (size_t)n > sizeof req ? sizeof req + 1 : (size_t)n, rep);
		pthread_rwlock_unlock(&t->srv->lock);
		if (len)
			(void)send(t->fd, rep, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return NULL;
}

static void reload(struct server *srv, const char *path, int ready_fd)
{
	struct mvd_keyd_keys *nk = mvd_keyd_keys_load(path), *old = NULL;

	if (nk) {
		pthread_rwlock_wrlock(&srv->lock);
		old = srv->keys;
		mvd_keyd_keys_carry(nk,
		                    old); /* the worker's contexts still use them till it reloads */
		srv->keys = nk;
		pthread_rwlock_unlock(&srv->lock);
		mvd_keyd_keys_free(old);
	} else {
		mvd_log(MVD_LOG_ERR, "keyd", "reload failed: keeping the keys loaded");
	}
	tell(ready_fd, nk ? 0 : 1);
}

int mvd_keyd_main(int ctl_fd, int ready_fd, void *arg)
{
	const char *path = arg;
	struct server srv;
	struct server_thread th[MVD_KEYD_SOCKETS];
	pthread_t tid[MVD_KEYD_SOCKETS];
	int fds[MVD_KEYD_SOCKETS], go = 1, started = 0;
	unsigned groups = mvd_keyd_groups();

	memset(&srv, 0, sizeof srv);
	atomic_init(&srv.stop, 0);
	/* Its own name, so that ps and the tests tell it from the worker. */
	prctl(PR_SET_NAME, "mailvetd-keyd", 0, 0, 0);
	mvd_keyd_channel_server(fds);
	srv.keys = mvd_keyd_keys_load(path);
	mvd_log_start_over();
	tell(ready_fd, srv.keys ? 0 : 1);
	if (!srv.keys)
		return 1;
	pthread_rwlock_init(&srv.lock, NULL);
	for (int i = 0; i < MVD_KEYD_SOCKETS; i++) {
		struct timeval tv = {0, STOP_SLICE_MS * 1000};
		/* Before the filter: setsockopt is not among the calls it allows. */
		int timed = setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
		th[i] = (struct server_thread){&srv, fds[i], timed};
		if (pthread_create(&tid[i], NULL, serve_loop, &th[i]) != 0)
			break;
		/* On its socket's CPUs, where the worker's threads that use it run. */
		(void)mvd_keyd_bind_thread(tid[i], (unsigned)i, groups);
		started++;
	}
	if (started == MVD_KEYD_SOCKETS) {
		char why[128] = "";
		if (mvd_keyd_sandbox(why, sizeof why) != 0)
			mvd_log(MVD_LOG_WARNING, "keyd", "no system-call filter: %s", why);
	}
	while (go && started) {
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
	mvd_keyd_keys_free(srv.keys);
	pthread_rwlock_destroy(&srv.lock);
	return started ? 0 : 1;
}
