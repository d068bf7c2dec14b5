/* daemon/smtp/auth.c — SMTP AUTH (RFC 4954) over TLS: the SASL exchange here, the check in the auth process. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <openssl/rand.h>

#include "log.h"
#include "smtp_int.h"

int smtp_auth_offered(const struct smtp_session *s)
{
	return (s->lc->role == MVD_ROLE_SUBMISSION || s->lc->auth) && s->rt->submit.auth;
}

static void auth_log_failure(struct smtp_session *s, const char *why)
{
	const struct mv_sasl_cred *c = s->sasl ? mv_sasl_cred(s->sasl) : NULL;

	/* One line per failure with the client IP, for fail2ban; never a secret. */
	mvd_log(MVD_LOG_WARNING, "auth", "id=%lu client=%s login=%s failed: %s", s->id,
	        s->client.ip, c && c->login ? c->login : "-", why);
}

/* The exchange is over: wipe it. */
static void auth_end(struct smtp_session *s)
{
	mv_sasl_free(s->sasl);
	s->sasl = NULL;
	if (s->state == SMTP_ST_AUTH)
		s->state = SMTP_ST_COMMAND;
}

/* The client reached its failure limit (the auth process's count): 421 and close. */
static void blocked_reply(struct smtp_session *s, const char *what)
{
	mvd_log(MVD_LOG_WARNING, "auth", "id=%lu client=%s %s", s->id, s->client.ip, what);
	smtp_reply(s, "421 4.7.0 %s Too many failed logins, try again later", smtp_hostname(s));
	s->state = SMTP_ST_CLOSING;
}

/* The failure reply, after the delay that slows password guessing. */
static void failure_reply(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (smtp_worker_done(s))
		return;
	smtp_error_reply(s, "535 5.7.8 Error: authentication failed");
	if (s->auth.now_blocked)
		blocked_reply(s, "too many failed logins, closed");
	smtp_resume(s);
}

/*
 * A failure: the delay is the auth process's (it counts the failures per
 * client IP); a refusal the worker decided alone (a bad authorization
 * identity) waits 1 s.
 */
static void auth_failed(struct smtp_session *s, const char *why, unsigned delay)
{
	auth_log_failure(s, why);
	auth_end(s);
	smtp_wait(s);
	s->worker_busy = 1; /* the session stays until the delayed reply is out */
	if (!s->delay_ev && !(s->delay_ev = evtimer_new(s->loop->base, failure_reply, s))) {
		s->worker_busy = 0;
		failure_reply(-1, 0, s);
		return;
	}
	{
		struct timeval tv = {(time_t)delay, 0};
		evtimer_add(s->delay_ev, &tv);
	}
}

/*
 * Runs in its own thread: the auth process may take seconds (Dovecot, a
 * slow hash). It gets the back end's own timeout and 2 s more to answer;
 * past that, a temporary failure (a late answer is dropped by its number).
 */
static void *check_thread(void *arg)
{
	struct smtp_session *s = arg;
	const struct mv_sasl_cred *c = mv_sasl_cred(s->sasl);
	enum mvd_authd_mech mech =
	        strcasecmp(c->mech, "LOGIN") == 0 ? MVD_AUTHD_LOGIN : MVD_AUTHD_PLAIN;
	int timeout_ms = (int)s->rt->cfg.submission.auth_timeout * 1000 + 2000;

	mvd_authd_check(c->authzid, c->login, c->password, c->password_len, mech, s->client.ip,
	                s->tls, timeout_ms, &s->auth);
	event_active(s->auth_ev, EV_READ, 0);
	return NULL;
}

void smtp_auth_checked(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	const struct mv_sasl_cred *c = mv_sasl_cred(s->sasl);

	(void)fd;
	(void)what;
	if (smtp_worker_done(s)) /* gone: smtp_auth_free() wiped the exchange */
		return;
	if (s->auth.status == MVD_AUTHD_OK && s->auth.login) {
		s->login = s->auth.login;
		s->auth.login = NULL;
		mvd_log(MVD_LOG_INFO, "auth", "id=%lu client=%s login=%s mech=%s authenticated",
		        s->id, s->client.ip, s->login, c->mech);
		auth_end(s);
		/* A next hop opened before AUTH learns the login by a new XCLIENT. */
		smtp_relay_close(s);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		smtp_resume(s);
		return;
	}
	free(s->auth.login);
	s->auth.login = NULL;
	if (s->auth.status == MVD_AUTHD_BLOCKED) {
		auth_end(s);
		blocked_reply(s, "blocked after failed logins");
		smtp_resume(s);
		return;
	}
	if (s->auth.status != MVD_AUTHD_FAIL) {
		mvd_log(MVD_LOG_WARNING, "auth", "id=%lu client=%s login=%s back end: %s", s->id,
		        s->client.ip, c->login,
		        s->auth.reason[0] ? s->auth.reason : "temporary failure");
		auth_end(s);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		smtp_resume(s);
		return;
	}
	auth_failed(s, s->auth.reason[0] ? s->auth.reason : "wrong password or unknown login",
	            s->auth.delay);
}

/* The exchange's next step: a challenge, a check, or the end. */
static void step(struct smtp_session *s, enum mv_sasl_step st)
{
	pthread_t tid;

	switch (st) {
	case MV_SASL_CHALLENGE:
		smtp_reply(s, "%s", mv_sasl_reply(s->sasl));
		s->state = SMTP_ST_AUTH;
		return;
	case MV_SASL_CANCEL:
		smtp_reply(s, "%s", mv_sasl_reply(s->sasl));
		auth_end(s);
		return;
	case MV_SASL_ERROR: {
		const char *r = mv_sasl_reply(s->sasl);
		/* A refused identity fails like a wrong password (not counted: no secret was tried). */
		if (strncmp(r, "535", 3) == 0) {
			s->auth.now_blocked = 0;
			auth_failed(s, r + 4, 1);
			return;
		}
		auth_log_failure(s, r);
		smtp_error_reply(s, r);
		auth_end(s);
		return;
	}
	case MV_SASL_DONE:
		break;
	}
	if (s->state == SMTP_ST_AUTH)
		s->state = SMTP_ST_COMMAND;
	smtp_wait(s);
	s->worker_busy = 1;
	memset(&s->auth, 0, sizeof s->auth);
	if (pthread_create(&tid, NULL, check_thread, s) != 0) {
		s->worker_busy = 0;
		auth_end(s);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		smtp_resume(s);
		return;
	}
	pthread_detach(tid);
}

void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len)
{
	const struct mvd_submission_conf *c = &s->rt->cfg.submission;

	if (!smtp_auth_offered(s)) {
		smtp_error_reply(s, "502 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->tls) {
		smtp_error_reply(s, "538 5.7.11 Encryption required for requested authentication "
		                    "mechanism");
		return;
	}
	if (!s->helo_seen) {
		smtp_error_reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->login) {
		smtp_error_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->in_mail) {
		smtp_error_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (!s->auth_ev && !(s->auth_ev = event_new(s->loop->base, -1, 0, smtp_auth_checked, s))) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		return;
	}
	if (mv_sasl_new(c->allow_authzid ? MV_SASL_ALLOW_AUTHZID : 0, &s->sasl) != MV_OK) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		return;
	}
	step(s, mv_sasl_start(s->sasl, args, len));
}

void smtp_auth_abort(struct smtp_session *s, const char *reply)
{
	auth_log_failure(s, reply);
	smtp_error_reply(s, reply);
	auth_end(s);
}

void smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	step(s, mv_sasl_feed(s->sasl, line, len));
}

void smtp_auth_free(struct smtp_session *s)
{
	mv_sasl_free(s->sasl);
	s->sasl = NULL;
	free(s->login);
	s->login = NULL;
	free(s->auth.login);
	s->auth.login = NULL;
	if (s->auth_ev)
		event_free(s->auth_ev);
	if (s->delay_ev)
		event_free(s->delay_ev);
	s->auth_ev = s->delay_ev = NULL;
}

int smtp_trace_id(char *out, size_t outlen)
{
	unsigned char r[8];

	if (outlen < 2 * sizeof r + 1 || RAND_bytes(r, sizeof r) != 1)
		return -1;
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/*
 * "Received: from HELO (NAME [IP]) by US (mailvetd) with ESMTPSA id TRACE;
 * DATE": the protocol names TLS and AUTH (RFC 3848), the id finds the trace
 * record; the login is named only when [submission] received_login says so.
 */
char *smtp_received_field(const struct smtp_session *s)
{
	struct mv_buf b = MV_BUF_INIT;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	const char *ip = s->client.ip;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	mv_buf_printf(&b, "Received: from %s (%s [%s%s])\r\n\tby %s (mailvetd) with %s id %s",
	              s->helo && smtp_printable_word(s->helo) ? s->helo : "unknown",
	              s->client.name ? s->client.name : "unknown", strchr(ip, ':') ? "IPv6:" : "",
	              ip, smtp_hostname(s), s->tls ? "ESMTPSA" : "ESMTPA",
	              s->trace_id[0] ? s->trace_id : "-");
	if (s->rt->cfg.submission.received_login)
		mv_buf_printf(&b, "\r\n\t(authenticated as %s)", s->login);
	mv_buf_printf(&b, ";\r\n\t%s", date);
	if (mv_buf_status(&b) != MV_OK) {
		mv_buf_free(&b);
		return NULL;
	}
	return mv_buf_steal(&b, NULL);
}
