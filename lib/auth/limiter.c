/*
 * lib/auth/limiter.c — authentication failures per client IP: a window of
 * max_failures, then a block to the window's end; a growing delay before
 * each failure reply. Also plain per-key counters (messages per login per
 * hour). Both on the bounded key table, each behind its own mutex.
 */
#include <pthread.h>
#include <stdlib.h>

#include <mailvet/auth.h>

#include "auth/keytable.h"

#define MAX_ENTRIES_LIMIT ((size_t)1 << 20)

struct mv_auth_limiter {
	struct mv_auth_limits lim;
	pthread_mutex_t lock;
	struct kt *t;
};

struct mv_auth_counter {
	unsigned long limit;
	unsigned window_s;
	pthread_mutex_t lock;
	struct kt *t;
};

/* Restart v's window when it has ended at now. */
static void window_roll(struct kt_val *v, unsigned window_s, time_t now)
{
	if (v->count == 0 || now < v->start || now - v->start >= (time_t)window_s) {
		v->start = now;
		v->count = 0;
	}
}

enum mv_status mv_auth_limiter_new(const struct mv_auth_limits *lim, struct mv_auth_limiter **out)
{
	struct mv_auth_limits d = MV_AUTH_LIMITS_DEFAULT;
	struct mv_auth_limiter *l;
	enum mv_status st;

	*out = NULL;
	if (lim != NULL) {
		d.max_failures = lim->max_failures ? lim->max_failures : d.max_failures;
		d.window_s = lim->window_s ? lim->window_s : d.window_s;
		d.delay_max_s = lim->delay_max_s ? lim->delay_max_s : d.delay_max_s;
		d.max_entries = lim->max_entries ? lim->max_entries : d.max_entries;
	}
	if (d.max_entries > MAX_ENTRIES_LIMIT || d.delay_max_s > 3600)
		return MV_EINVAL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return MV_ENOMEM;
	l->lim = d;
	if ((st = mv_kt_new(d.max_entries, &l->t)) != MV_OK) {
		free(l);
		return st;
	}
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return MV_OK;
}

void mv_auth_limiter_free(struct mv_auth_limiter *l)
{
	if (l == NULL)
		return;
	mv_kt_free(l->t);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int mv_auth_limiter_blocked(struct mv_auth_limiter *l, const char *key, time_t now)
{
	struct kt_val *v;
	int blocked = 0;

	pthread_mutex_lock(&l->lock);
	if ((v = mv_kt_get(l->t, key, 0)) != NULL) {
		window_roll(v, l->lim.window_s, now);
		blocked = v->count >= l->lim.max_failures;
	}
	pthread_mutex_unlock(&l->lock);
	return blocked;
}

unsigned mv_auth_limiter_failure(struct mv_auth_limiter *l, const char *key, time_t now)
{
	struct kt_val *v;
	unsigned delay = 1, i;

	pthread_mutex_lock(&l->lock);
	v = mv_kt_get(l->t, key, 1);
	window_roll(v, l->lim.window_s, now);
	v->count++;
	if (v->consecutive < 64)
		v->consecutive++;
	for (i = 1; i < v->consecutive && delay < l->lim.delay_max_s; i++)
		delay *= 2;
	pthread_mutex_unlock(&l->lock);
	return delay < l->lim.delay_max_s ? delay : l->lim.delay_max_s;
}

void mv_auth_limiter_success(struct mv_auth_limiter *l, const char *key, time_t now)
{
	struct kt_val *v;

	(void)now;
	pthread_mutex_lock(&l->lock);
	if ((v = mv_kt_get(l->t, key, 0)) != NULL)
		v->consecutive = 0;
	pthread_mutex_unlock(&l->lock);
}

enum mv_status mv_auth_counter_new(unsigned long limit, unsigned window_s, size_t max_entries,
                                   struct mv_auth_counter **out)
{
	struct mv_auth_counter *c;
	enum mv_status st;

	*out = NULL;
	if (limit == 0 || window_s == 0 || max_entries == 0 || max_entries > MAX_ENTRIES_LIMIT)
		return MV_EINVAL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MV_ENOMEM;
	c->limit = limit;
	c->window_s = window_s;
	if ((st = mv_kt_new(max_entries, &c->t)) != MV_OK) {
		free(c);
		return st;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return MV_OK;
}

void mv_auth_counter_free(struct mv_auth_counter *c)
{
	if (c == NULL)
		return;
	mv_kt_free(c->t);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int mv_auth_counter_take(struct mv_auth_counter *c, const char *key, unsigned long n, time_t now)
{
	struct kt_val *v;
	int ok;

	pthread_mutex_lock(&c->lock);
	v = mv_kt_get(c->t, key, 1);
	window_roll(v, c->window_s, now);
	ok = n <= c->limit && v->count <= c->limit - n;
	if (ok)
		v->count += n;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

unsigned long mv_auth_counter_used(struct mv_auth_counter *c, const char *key, time_t now)
{
	struct kt_val *v;
	unsigned long used = 0;

	pthread_mutex_lock(&c->lock);
	if ((v = mv_kt_get(c->t, key, 0)) != NULL) {
		window_roll(v, c->window_s, now);
		used = v->count;
	}
	pthread_mutex_unlock(&c->lock);
	return used;
}
