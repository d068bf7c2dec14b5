/* lib/dns/unbound.c — the libunbound backend: shared cache, per-query deadlines, prefetch. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/cache.h"
#include "dns/unbound_result.h"

#define DEFAULT_TIMEOUT_MS 5000
#define RR_CLASS_IN 1
#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

/*
 * Queries run asynchronously on libunbound's own thread. Every waiting
 * caller sleeps on `cv`; one at a time (the `processing` one) polls ub_fd()
 * and runs ub_process(), whose callbacks may finish any thread's query.
 */
struct ub_backend {
	struct ub_ctx *ctx;
	unsigned timeout_ms;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int processing;
	struct query *abandoned; /* timed out, not cancellable: the callback frees them */
};

/* How many queries of one caller are still out. */
struct waiter {
	size_t pending;
};

struct query {
	struct ub_backend *ub;
	struct waiter *w; /* NULL once abandoned */
	int keep;         /* keep the result (a query, a delivering prefetch) or drop it */
	int async_id;
	int started, done;
	int err;
	struct ub_result *res;
	struct query *prev, *next; /* in ub->abandoned */
};

/* Called from ub_process() in whichever thread runs it. */
static void query_done(void *arg, int err, struct ub_result *res)
{
	struct query *q = arg;
	struct ub_backend *ub = q->ub;

	pthread_mutex_lock(&ub->lock);
	if (!q->w) { /* its caller gave up: nobody wants it */
		if (q->prev)
			q->prev->next = q->next;
		else
			ub->abandoned = q->next;
		if (q->next)
			q->next->prev = q->prev;
		ub_resolve_free(res);
		free(q);
	} else {
		q->err = err;
		if (q->keep)
			q->res = res;
		else
			ub_resolve_free(res);
		q->done = 1;
		q->w->pending--;
		pthread_cond_broadcast(&ub->cv);
	}
	pthread_mutex_unlock(&ub->lock);
}

static long ms_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000L +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Wait (lock held) until w has nothing pending or the deadline passes. */
static void wait_for(struct ub_backend *ub, struct waiter *w, const struct timespec *deadline)
{
	struct pollfd pfd;
	long left;

	while (w->pending > 0 && (left = ms_until(deadline)) > 0) {
		if (ub->processing) {
			pthread_cond_timedwait(&ub->cv, &ub->lock, deadline);
			continue;
		}
		ub->processing = 1;
		pthread_mutex_unlock(&ub->lock);
		pfd.fd = ub_fd(ub->ctx);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left + 1)) > 0)
			ub_process(ub->ctx);
		pthread_mutex_lock(&ub->lock);
		ub->processing = 0;
		pthread_cond_broadcast(&ub->cv); /* another waiter may take over */
	}
}

/* After the wait (lock held): cancel what is still out; free what can be. */
static void finish(struct ub_backend *ub, struct query *q)
{
	if (!q->started || q->done) {
		if (q->res)
			ub_resolve_free(q->res);
		free(q);
		return;
	}
	if (ub_cancel(ub->ctx, q->async_id) == UB_NOERROR) {
		free(q); /* its callback will not run */
		return;
	}
	q->w = NULL; /* the callback is on its way: it frees q */
	q->next = ub->abandoned;
	if (ub->abandoned)
		ub->abandoned->prev = q;
	ub->abandoned = q;
}

static void deadline_in(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/*
 * The name as libunbound reads it (presentation format): every byte but
 * letters, digits, '-', '_' and '*' is written \DDD; dots separate labels.
 */
static void present(const char *name, char out[4 * MV_DNS_NAME_MAX + 2])
{
	size_t n = 0;
	unsigned char c;

	for (; *name; name++) {
		c = (unsigned char)*name;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '*' || c == '.') {
			out[n++] = (char)c;
		} else {
			snprintf(out + n, 5, "\\%03u", c);
			n += 4;
		}
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
}

/* Start q (lock held); a failure to start leaves it not started. */
static void start(struct ub_backend *ub, struct query *q, const char *name, enum mv_dns_type type)
{
	char pres[4 * MV_DNS_NAME_MAX + 2];

	present(name, pres);
	q->ub = ub;
	q->err = ub_resolve_async(ub->ctx, pres, (int)type, RR_CLASS_IN, q, query_done,
	                          &q->async_id);
	if (q->err == 0) {
		q->started = 1;
		q->w->pending++;
	}
}

static enum mv_status ub_lookup(void *impl, const char *name, enum mv_dns_type type,
                                struct mv_dns_view *v)
{
	struct ub_backend *ub = impl;
	struct waiter w = {0};
	struct timespec deadline;
	struct query *q = calloc(1, sizeof *q);
	enum mv_status st = MV_OK;

	if (!q)
		return MV_ENOMEM;
	q->w = &w;
	q->keep = 1;
	deadline_in(&deadline, ub->timeout_ms);
	pthread_mutex_lock(&ub->lock);
	start(ub, q, name, type);
	wait_for(ub, &w, &deadline);
	if (!q->started && q->err == UB_NOMEM)
		st = MV_ENOMEM;
	else if (!q->started)
		v->rcode = MV_DNS_SERVFAIL;
	else if (!q->done)
		v->rcode = MV_DNS_TIMEOUT;
	else if (q->err != 0 || !q->res)
		v->rcode = MV_DNS_SERVFAIL;
	else
		st = mv_dns_unbound_view(q->res, name, type, v);
	finish(ub, q);
	pthread_mutex_unlock(&ub->lock);
	return st;
}

static void ub_release(void *impl, struct mv_dns_view *v)
{
	(void)impl;
	mv_dns_unbound_view_free(v);
}

/* Hand each answer that came back to deliver, then free it (no lock held). */
static void deliver_all(const struct mv_dns_question *qs, struct ub_result **res, size_t n,
                        mv_dns_deliver_fn deliver, void *arg)
{
	char norm[MV_DNS_NAME_MAX + 1];
	struct mv_dns_view v;
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (!res[i])
			continue;
		memset(&v, 0, sizeof v);
		if (mv_dns_name_norm(qs[i].name, strlen(qs[i].name), norm, &len) == MV_OK &&
		    mv_dns_unbound_view(res[i], norm, qs[i].type, &v) == MV_OK) {
			deliver(arg, norm, qs[i].type, &v);
			mv_dns_unbound_view_free(&v);
		}
		ub_resolve_free(res[i]);
	}
}

static enum mv_status ub_prefetch(void *impl, const struct mv_dns_question *qs, size_t n,
                                  mv_dns_deliver_fn deliver, void *arg)
{
	struct ub_backend *ub = impl;
	char norm[MV_DNS_NAME_MAX + 1];
	struct waiter w = {0};
	struct timespec deadline;
	struct ub_result **res;
	struct query **q;
	size_t i, len;

	q = calloc(n, sizeof *q);
	res = calloc(n, sizeof *res);
	if (!q || !res) {
		free(q);
		free(res);
		return MV_ENOMEM;
	}
	deadline_in(&deadline, ub->timeout_ms);
	pthread_mutex_lock(&ub->lock);
	for (i = 0; i < n; i++) {
		if (!qs[i].name || !mv_dns_type_str(qs[i].type) ||
		    mv_dns_name_norm(qs[i].name, strlen(qs[i].name), norm, &len) != MV_OK)
			continue; /* invalid names are skipped */
		if (!(q[i] = calloc(1, sizeof *q[i])))
			break;
		q[i]->w = &w;
		q[i]->keep = deliver != NULL;
		start(ub, q[i], norm, qs[i].type);
	}
	wait_for(ub, &w, &deadline);
	for (i = 0; i < n; i++) {
		if (!q[i])
			continue;
		if (q[i]->done && q[i]->err == 0) { /* kept results go to deliver */
			res[i] = q[i]->res;
			q[i]->res = NULL;
		}
		finish(ub, q[i]);
	}
	pthread_mutex_unlock(&ub->lock);
	if (deliver)
		deliver_all(qs, res, n, deliver, arg);
	free(res);
	free(q);
	return MV_OK;
}

static void ub_destroy(void *impl)
{
	struct ub_backend *ub = impl;
	struct query *q, *next;

	if (!ub)
		return;
	if (ub->ctx)
		ub_ctx_delete(ub->ctx); /* runs no more callbacks */
	for (q = ub->abandoned; q; q = next) {
		next = q->next;
		free(q);
	}
	pthread_cond_destroy(&ub->cv);
	pthread_mutex_destroy(&ub->lock);
	free(ub);
}

static const struct mv_dns_ops unbound_ops = {
        .name = "unbound",
        .lookup = ub_lookup,
        .release = ub_release,
        .prefetch = ub_prefetch,
        .destroy = ub_destroy,
};

/* "ADDR" or "ADDR@PORT", ADDR an IPv4 or IPv6 literal, PORT 1-65535. */
static int valid_server(const char *s)
{
	char addr[64];
	unsigned char bin[16];
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);
	char *end;
	long port;

	if (n == 0 || n >= sizeof addr)
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
		return 0;
	if (!at)
		return 1;
	errno = 0;
	port = strtol(at + 1, &end, 10);
	return at[1] >= '0' && at[1] <= '9' && *end == '\0' && errno == 0 && port >= 1 &&
	       port <= 65535;
}

static int set(struct ub_ctx *ctx, const char *opt, const char *val, char *err, size_t errlen)
{
	int rc = ub_ctx_set_option(ctx, opt, val);

	if (rc != 0 && err && errlen)
		snprintf(err, errlen, "unbound option %s %s: %s", opt, val, ub_strerror(rc));
	return rc;
}

/* Where queries go and whether answers are validated. */
static enum mv_status configure(struct ub_ctx *ctx, const struct mv_dns_unbound_opts *o, char *err,
                                size_t errlen)
{
	int rc;

	if ((rc = ub_ctx_async(ctx, 1)) != 0)
		goto fail;
	if (!o->trust_anchor_file && set(ctx, "module-config:", "iterator", err, errlen) != 0)
		return MV_EINVAL;
	if (o->trust_anchor_file && (rc = ub_ctx_add_ta_file(ctx, o->trust_anchor_file)) != 0) {
		if (err && errlen)
			snprintf(err, errlen, "trust anchor %s: %s", o->trust_anchor_file,
			         ub_strerror(rc));
		return MV_EIO;
	}
	if (o->server) {
		if (!valid_server(o->server)) {
			if (err && errlen)
				snprintf(err, errlen, "bad resolver address '%s' (ADDR[@PORT])",
				         o->server);
			return MV_EINVAL;
		}
		if ((rc = ub_ctx_set_fwd(ctx, o->server)) != 0)
			goto fail;
	} else if ((rc = ub_ctx_resolvconf(ctx, NULL)) != 0) {
		goto fail;
	}
	return MV_OK;
fail:
	if (err && errlen)
		snprintf(err, errlen, "unbound: %s", ub_strerror(rc));
	return rc == UB_NOMEM ? MV_ENOMEM : MV_EIO;
}

enum mv_status mv_dns_unbound_open(const struct mv_dns_unbound_opts *o, struct mv_resolver **out,
                                   char *err, size_t errlen)
{
	struct mv_dns_cache *cache = NULL;
	struct ub_backend *ub;
	pthread_condattr_t ca;
	enum mv_status st;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!o)
		return MV_EINVAL;
	if (!(ub = calloc(1, sizeof *ub)))
		return MV_ENOMEM;
	ub->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	pthread_mutex_init(&ub->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ub->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!(ub->ctx = ub_ctx_create())) {
		ub_destroy(ub);
		return MV_ENOMEM;
	}
	if ((st = configure(ub->ctx, o, err, errlen)) != MV_OK) {
		ub_destroy(ub);
		return st;
	}
	if (o->cache_entries != MV_DNS_CACHE_OFF) {
		struct mv_dns_cache_opts co = {o->cache_entries, o->cache_bytes, o->cache_min_ttl,
		                               o->cache_max_ttl, o->cache_neg_ttl};
		if (mv_dns_cache_new(&co, &cache) != MV_OK) {
			ub_destroy(ub);
			return MV_ENOMEM;
		}
	}
	if ((st = mv_dns_resolver_new(&unbound_ops, ub, out)) != MV_OK) {
		mv_dns_cache_free(cache);
		return st;
	}
	(*out)->cache = cache;
	return MV_OK;
}
