/* daemon/authd/server.c — the auth process: the password back end and the failure limiter, behind a socket. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authd.h"
#include "config.h"
#include "log.h"
#include "submit.h"
#include "supervise.h"

/* One loaded configuration: its [submission] section and the back end it names. */
struct loaded {
	struct mvd_config cfg;
	struct mv_auth_backend *backend; /* NULL: no sasl configured */
};

static void loaded_free(struct loaded *l)
{
	if (!l)
		return;
	mv_auth_backend_free(l->backend);
	mvd_config_free(&l->cfg);
	free(l);
}

/* Read the configuration at path and open its back end; NULL (logged) when that fails. */
static struct loaded *load(const char *path)
{
	struct loaded *l = calloc(1, sizeof *l);
	char err[512] = "out of memory";
	const char *sasl;

	if (!l || mvd_config_load(&l->cfg, path, err, sizeof err) != MV_OK)
		goto fail;
	sasl = l->cfg.submission.sasl;
	if (sasl && sasl[0] && mv_auth_backend_open(sasl, &l->backend, err, sizeof err) != MV_OK)
		goto fail;
	mvd_log(MVD_LOG_INFO, "authd", "auth process %ld: back end %s loaded", (long)getpid(),
	        l->backend ? sasl : "(none)");
	return l;
fail:
	mvd_log(MVD_LOG_ERR, "authd", "%s", err);
	loaded_free(l);
	return NULL;
}

/* A back end's reason, made fit for the reply: printable ASCII, bounded. */
static void set_reason(struct mvd_authd_rep *rep, const char *why)
{
	size_t i;

	for (i = 0; why && why[i] && i < MVD_AUTHD_MAX_REASON; i++)
		rep->reason[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	rep->reason[i] = '\0';
}

/* The verdict of the back end, counted in the limiter. */
static void judge(struct mv_auth_backend *b, const struct mvd_submission_conf *sub,
                  const struct mvd_authd_req *r, struct mvd_authd_rep *rep)
{
	struct mv_auth_request areq = {r->authzid,    r->login, r->secret,
	                               r->secret_len, r->ip,    r->flags & MVD_AUTHD_SECURED};
	char why[256] = "", *login = NULL;
	enum mv_auth_verdict v;
	unsigned delay;

	v = mv_auth_check(b, &areq, sub->auth_timeout * 1000u, &login, why, sizeof why);
	if (v == MV_AUTH_OK && login && login[0] && strlen(login) <= MVD_AUTHD_MAX_NAME) {
		mvd_submit_succeeded(sub, r->ip);
		memcpy(rep->login, login, strlen(login) + 1);
		rep->status = MVD_AUTHD_OK;
	} else if (v == MV_AUTH_FAIL) {
		delay = mvd_submit_failed(sub, r->ip);
		rep->status = MVD_AUTHD_FAIL;
		rep->delay = (uint8_t)(delay > 255 ? 255 : delay);
		rep->flags = mvd_submit_blocked(sub, r->ip) ? MVD_AUTHD_NOW_BLOCKED : 0;
		set_reason(rep, why);
	} else {
		rep->status = MVD_AUTHD_TEMPFAIL;
		set_reason(rep,
		           v == MV_AUTH_OK ? "the back end settled on an unusable login" : why);
	}
	free(login);
}

/* The answer to a request that parsed. */
static void decide(struct mv_auth_backend *b, const struct mvd_submission_conf *sub,
                   const struct mvd_authd_req *r, struct mvd_authd_rep *rep)
{
	rep->seq = r->seq;
	if (!b) {
		rep->status = MVD_AUTHD_TEMPFAIL;
		set_reason(rep, "no [submission] sasl back end");
	} else if (mvd_submit_blocked(sub, r->ip)) {
		rep->status = MVD_AUTHD_BLOCKED; /* no guess is even tried */
	} else {
		judge(b, sub, r, rep);
	}
}

size_t mvd_authd_answer(struct mv_auth_backend *b, const struct mvd_submission_conf *sub,
                        const unsigned char *req, size_t n, unsigned char *out)
{
	struct mvd_authd_req *r = malloc(sizeof *r);
	struct mvd_authd_rep rep;
	size_t len;

	memset(&rep, 0, sizeof rep);
	if (!r) {
		rep.status = MVD_AUTHD_TEMPFAIL;
		set_reason(&rep, "out of memory");
	} else if (mvd_authd_req_parse(req, n, r) != MV_OK) {
		rep.status = MVD_AUTHD_BAD_REQUEST;
	} else {
		decide(b, sub, r, &rep);
	}
	if (r) {
		mvd_authd_req_wipe(r, NULL, 0);
		free(r);
	}
	if ((len = mvd_authd_rep_encode(&rep, out)) == 0) { /* a login that cannot travel */
		memset(rep.login, 0, sizeof rep.login);
		rep.status = MVD_AUTHD_TEMPFAIL;
		set_reason(&rep, "the back end settled on an unusable login");
		len = mvd_authd_rep_encode(&rep, out);
	}
	return len;
}

/*
 * One thread per socket: a Dovecot check may take seconds, and a slow hash
 * (yescrypt) a core's tens of milliseconds; the back end is swapped under a
 * write lock at reload.
 */
struct server {
	pthread_rwlock_t lock;
	struct loaded *cur;
	atomic_int stop;
};

struct server_thread {
	struct server *srv;
	int fd;
};

/* Answer what waits on fd (one record); the request's bytes are wiped. */
static void serve(struct server *srv, int fd)
{
	unsigned char req[MVD_AUTHD_MAX_REQ], rep[MVD_AUTHD_MAX_REP];
	ssize_t n = recv(fd, req, sizeof req, MSG_DONTWAIT | MSG_TRUNC);
	size_t len;

	if (n <= 0)
		return;
	pthread_rwlock_rdlock(&srv->lock);
	/* A record longer than the buffer was truncated: answered as a bad request. */
	len = mvd_authd_answer(srv->cur->backend, &srv->cur->cfg.submission, req,
	                       (size_t)n > sizeof req ? sizeof req + 1 : (size_t)n, rep);
	pthread_rwlock_unlock(&srv->lock);
	OPENSSL_cleanse(req, sizeof req);
	if (len)
		(void)send(fd, rep, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void *serve_loop(void *arg)
{
	struct server_thread *t = arg;

	while (!atomic_load(&t->srv->stop)) {
		struct pollfd pfd = {t->fd, POLLIN, 0};
		int r = poll(&pfd, 1, 200);
		if (r <= 0)
			continue;
		if (!(pfd.revents & POLLIN))
			break; /* the socket is gone: do not spin on it */
		serve(t->srv, t->fd);
	}
	return NULL;
}

static void tell(int fd, unsigned char status)
{
	(void)!write(fd, &status, 1);
}

static void reload(struct server *srv, const char *path, int ready_fd)
{
	struct loaded *nl = load(path), *old = NULL;

	if (nl) {
		pthread_rwlock_wrlock(&srv->lock);
		old = srv->cur;
		srv->cur = nl;
		pthread_rwlock_unlock(&srv->lock);
		loaded_free(old);
	} else {
		mvd_log(MVD_LOG_ERR, "authd", "reload failed: keeping the back end loaded");
	}
	tell(ready_fd, nl ? 0 : 1);
}

/* The control pipe: 1 to go on, 0 to stop; *want set by MVD_CTL_RELOAD. */
static int control(int fd, int *want)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == MVD_CTL_STOP)
			return 0;
		*want |= buf[i] == MVD_CTL_RELOAD;
	}
	return n > 0;
}

/* The filter, once the threads run; a dovecot:inet: back end needs IP sockets. */
static void sandbox(const struct loaded *l)
{
	const char *sasl = l->cfg.submission.sasl;
	char why[128] = "";

	if (mvd_authd_sandbox(sasl && strncmp(sasl, "dovecot:inet:", 13) == 0, why, sizeof why) !=
	    0)
		mvd_log(MVD_LOG_WARNING, "authd", "no system-call filter: %s", why);
}

int mvd_authd_main(int ctl_fd, int ready_fd, void *arg)
{
	const char *path = arg;
	struct server srv;
	struct server_thread th[MVD_AUTHD_SOCKETS];
	pthread_t tid[MVD_AUTHD_SOCKETS];
	int fds[MVD_AUTHD_SOCKETS], go = 1, started = 0;

	memset(&srv, 0, sizeof srv);
	atomic_init(&srv.stop, 0);
	/* Its own name, so that ps and the tests tell it from the worker. */
	prctl(PR_SET_NAME, "mailvetd-authd", 0, 0, 0);
	mvd_authd_channel_server(fds);
	srv.cur = load(path);
	mvd_log_start_over();
	tell(ready_fd, srv.cur ? 0 : 1);
	if (!srv.cur)
		return 1;
	pthread_rwlock_init(&srv.lock, NULL);
	for (int i = 0; i < MVD_AUTHD_SOCKETS; i++) {
		th[i] = (struct server_thread){&srv, fds[i]};
		if (pthread_create(&tid[i], NULL, serve_loop, &th[i]) != 0)
			break;
		started++;
	}
	if (started == MVD_AUTHD_SOCKETS)
		sandbox(srv.cur);
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
	loaded_free(srv.cur);
	pthread_rwlock_destroy(&srv.lock);
	return started ? 0 : 1;
}
