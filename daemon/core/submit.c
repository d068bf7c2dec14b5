/* daemon/core/submit.c — the submission rules at run time: credentials, sender map, limits. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "submit.h"

#define LIMITER_ENTRIES 20000 /* client IPs and logins remembered */

static int backend_elsewhere; /* set once, before any thread */

void mvd_submit_backend_elsewhere(void)
{
	backend_elsewhere = 1;
}

enum mv_status mvd_submit_open(const struct mvd_submission_conf *c, struct mvd_submit *out,
                               char *err, size_t errlen)
{
	enum mv_status st;

	memset(out, 0, sizeof *out);
	out->auth = c->sasl && c->sasl[0];
	if (out->auth && !backend_elsewhere &&
	    (st = mv_auth_backend_open(c->sasl, &out->backend, err, errlen)) != MV_OK)
		return st;
	if (c->sender_login_map && c->sender_login_map[0] &&
	    (st = mv_auth_senders_load(c->sender_login_map, &out->senders, err, errlen)) != MV_OK) {
		mvd_submit_close(out);
		return st;
	}
	return MV_OK;
}

void mvd_submit_close(struct mvd_submit *s)
{
	mv_auth_backend_free(s->backend);
	mv_auth_senders_free(s->senders);
	memset(s, 0, sizeof *s);
}

/*
 * The process-wide counters, made on first use with the limits then in
 * force; a reload that changes the limits starts them again.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mv_auth_limiter *failures;
static unsigned failures_max, failures_window;
static struct mv_auth_counter *messages;
static unsigned messages_limit;

/* The limiter for c's limits; called and used with lock held (a reload may replace it). */
static struct mv_auth_limiter *limiter(const struct mvd_submission_conf *c)
{
	if (!failures || failures_max != c->auth_failures ||
	    failures_window != c->auth_failure_window) {
		struct mv_auth_limits lim = {c->auth_failures, c->auth_failure_window, 8,
		                             LIMITER_ENTRIES};
		mv_auth_limiter_free(failures);
		failures = NULL;
		if (mv_auth_limiter_new(&lim, &failures) == MV_OK) {
			failures_max = c->auth_failures;
			failures_window = c->auth_failure_window;
		}
	}
	return failures;
}

enum limiter_op { LIMIT_BLOCKED, LIMIT_FAILED, LIMIT_SUCCEEDED };

/* One operation on the limiter, under the lock; none without a limiter gives fallback. */
static unsigned with_limiter(const struct mvd_submission_conf *c, const char *ip,
                             enum limiter_op op, unsigned fallback)
{
	struct mv_auth_limiter *l;
	unsigned r = fallback;

	pthread_mutex_lock(&lock);
	if ((l = limiter(c))) {
		time_t now = time(NULL);
		if (op == LIMIT_BLOCKED)
			r = (unsigned)mv_auth_limiter_blocked(l, ip, now);
		else if (op == LIMIT_FAILED)
			r = mv_auth_limiter_failure(l, ip, now);
		else
			mv_auth_limiter_success(l, ip, now);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int mvd_submit_blocked(const struct mvd_submission_conf *c, const char *ip)
{
	return (int)with_limiter(c, ip, LIMIT_BLOCKED, 0);
}

unsigned mvd_submit_failed(const struct mvd_submission_conf *c, const char *ip)
{
	return with_limiter(c, ip, LIMIT_FAILED, 1);
}

void mvd_submit_succeeded(const struct mvd_submission_conf *c, const char *ip)
{
	(void)with_limiter(c, ip, LIMIT_SUCCEEDED, 0);
}

int mvd_submit_take_message(const struct mvd_submission_conf *c, const char *login)
{
	struct mv_auth_counter *m;
	int ok = 1;

	if (c->messages_per_hour == 0)
		return 1;
	pthread_mutex_lock(&lock);
	if (!messages || messages_limit != c->messages_per_hour) {
		mv_auth_counter_free(messages);
		messages = NULL;
		if (mv_auth_counter_new(c->messages_per_hour, 3600, LIMITER_ENTRIES, &messages) ==
		    MV_OK)
			messages_limit = c->messages_per_hour;
	}
	m = messages;
	if (m) /* under the lock: another configuration's call may replace it */
		ok = mv_auth_counter_take(m, login, 1, time(NULL));
	pthread_mutex_unlock(&lock);
	return ok;
}

int mvd_submit_sender_ok(const struct mvd_submit *s, const char *login, const char *mail_from)
{
	if (!s->senders || !mail_from || !mail_from[0])
		return 1;
	return mv_auth_senders_allowed(s->senders, login, mail_from);
}
