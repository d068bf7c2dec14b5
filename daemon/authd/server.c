/* daemon/authd/server.c — the auth process: the password back end and the failure limiter, behind a socket. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authd.h"
#include "aux_server.h"
#include "config.h"
#include "log.h"
#include "submit.h"

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

/* The shared server's hooks (daemon/core/aux_server.c). */
static void *load_hook(const char *path)
{
	return load(path);
}

static void unload(void *l)
{
	loaded_free(l);
}

/* The request's bytes are wiped once answered. */
static size_t answer(void *state, unsigned char *req, size_t n, unsigned char *rep)
{
	struct loaded *l = state;
	size_t len = mvd_authd_answer(l->backend, &l->cfg.submission, req, n, rep);

	OPENSSL_cleanse(req, MVD_AUTHD_MAX_REQ);
	return len;
}

/* The filter, once the threads run; a dovecot:inet: back end needs IP sockets. */
static int sandbox(const void *state, char *why, size_t whylen)
{
	const char *sasl = ((const struct loaded *)state)->cfg.submission.sasl;

	return mvd_authd_sandbox(sasl && strncmp(sasl, "dovecot:inet:", 13) == 0, why, whylen);
}

/*
 * One thread per socket: a Dovecot check may take seconds, and a slow hash
 * (yescrypt) a core's tens of milliseconds; a reload publishes the
 * new back end at once, not waiting for checks in progress. Each thread polls its socket (no SO_RCVTIMEO).
 */
int mvd_authd_main(int ctl_fd, int ready_fd, void *arg)
{
	static const struct mvd_aux_ops ops = {
	        .tag = "authd",
	        .held = "the back end",
	        .max_req = MVD_AUTHD_MAX_REQ,
	        .max_rep = MVD_AUTHD_MAX_REP,
	        .timed = 0,
	        .load = load_hook,
	        .carry = NULL, /* nothing outlives a back end */
	        .free = unload,
	        .answer = answer,
	        .started = NULL, /* its threads run anywhere */
	        .started_arg = NULL,
	        .sandbox = sandbox,
	};
	int fds[MVD_AUTHD_SOCKETS];

	/* Its own name, so that ps and the tests tell it from the worker. */
	prctl(PR_SET_NAME, "mailvetd-authd", 0, 0, 0);
	mvd_authd_channel_server(fds);
	return mvd_aux_serve(&ops, fds, MVD_AUTHD_SOCKETS, ctl_fd, ready_fd, arg);
}
