/*
 * lib/verify/budget.c — the DNS time budget of one message (budget_ms).
 *
 * Every check of a verification asks DNS through one small resolver made
 * here, a backend (lib/dns/backend.h ops table) that forwards each question
 * to the real resolver with mv_dns_query()/mv_dns_prefetch() and adds the
 * time it waited to the message's account. Once the account reaches the
 * budget, every further question is answered MV_DNS_TIMEOUT at once, without
 * asking, so SPF, DKIM, DMARC, ARC and iprev give temperror where they still
 * needed DNS, and the DMARC temperror action decides the message.
 *
 * What counts is the time spent waiting for DNS, not wall-clock time: a
 * client slowly sending the body does not eat the budget. A question that
 * starts before the budget is spent runs to its own end (the real
 * resolver's per-query timeout), so the DNS time of a message is at most
 * budget_ms plus one resolver timeout.
 *
 * Forwarding through mv_dns_query() keeps the real resolver's behaviour
 * whole (its cache, its recording). A question refused for the budget is
 * recorded by the real resolver's recorder as a timeout of that name and
 * type, so a replay of the recording gives the same verdict.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/backend.h"
#include "verify/verify_int.h"

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int spent(const struct mv_verify_budget *b)
{
	return b->spent_us >= (uint64_t)b->budget_ms * 1000u;
}

/* A question refused for the budget: note it, and tell the real resolver's recorder. */
static void refuse(struct mv_verify_budget *b, const char *name, enum mv_dns_type type)
{
	struct mv_dns_chain chain;
	struct mv_dns_answer *a;
	size_t len = strlen(name);

	b->refused++;
	if (b->inner->rec == NULL || len > MV_DNS_NAME_MAX)
		return;
	memcpy(chain.name[0], name, len + 1);
	chain.n = 1;
	chain.overflow = 0;
	if ((a = mv_dns_answer_new(MV_DNS_TIMEOUT, type, name, len, NULL, 0, 0)) == NULL)
		return; /* the recording misses one line; the verdict is unchanged */
	mv_dns_recorder_add(b->inner->rec, &chain, type, a);
	mv_dns_answer_free(a);
}

/* What a forwarded view borrows: the real answer, and the owner when it is not the asked name. */
struct held {
	struct mv_dns_answer *a;
	const char *chain[1];
};

/*
 * ops->lookup: name is valid and lowercased (resolver.c). The answer of the
 * real resolver has followed the CNAMEs already; its owner becomes the
 * view's one-link chain, so the outer mv_dns_query() names the answer the
 * same way. MV_ENOMEM only.
 */
static enum mv_status budget_lookup(void *impl, const char *name, enum mv_dns_type type,
                                    struct mv_dns_view *v)
{
	struct mv_verify_budget *b = impl;
	struct mv_dns_answer *a = NULL;
	struct held *h;
	enum mv_status st;
	uint64_t t0;

	if (spent(b)) {
		refuse(b, name, type);
		v->rcode = MV_DNS_TIMEOUT;
		return MV_OK;
	}
	t0 = now_us();
	st = mv_dns_query(b->inner, name, type, &a);
	b->spent_us += now_us() - t0;
	b->queries++;
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK) { /* cannot happen for a name resolver.c checked */
		v->rcode = MV_DNS_SERVFAIL;
		return MV_OK;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		mv_dns_answer_free(a);
		return MV_ENOMEM;
	}
	h->a = a;
	v->rcode = a->rcode;
	v->rr = a->rr;
	v->count = a->count;
	v->secure = a->secure;
	if (strcmp(a->name, name) != 0) {
		h->chain[0] = a->name;
		v->chain = h->chain;
		v->nchain = 1;
	}
	v->priv = h;
	return MV_OK;
}

static void budget_release(void *impl, struct mv_dns_view *v)
{
	struct held *h = v->priv;

	(void)impl;
	if (h == NULL)
		return;
	mv_dns_answer_free(h->a);
	free(h);
}

/*
 * ops->prefetch: the batch runs only while there is budget left; its wait
 * counts. While b->capture is set (the DKIM verifier taking the header,
 * lib/verify/prefetch.c) the batch goes to it instead, to join the one batch
 * of the message. The answers land in the real resolver's cache (if it has
 * one); this wrapper keeps none, so it has nothing to deliver.
 */
static enum mv_status budget_prefetch(void *impl, const struct mv_dns_question *q, size_t n,
                                      mv_dns_deliver_fn deliver, void *arg)
{
	struct mv_verify_budget *b = impl;
	enum mv_status st;
	uint64_t t0;

	(void)deliver;
	(void)arg;
	if (b->capture) {
		b->capture(b->capture_arg, q, n);
		return MV_OK;
	}
	if (spent(b))
		return MV_OK; /* each question is refused when it is asked */
	t0 = now_us();
	st = mv_dns_prefetch(b->inner, q, n);
	b->spent_us += now_us() - t0;
	b->prefetches++;
	return st;
}

static void budget_destroy(void *impl)
{
	(void)impl; /* the account lives in struct mv_verify */
}

static const struct mv_dns_ops budget_ops = {
        "budget", budget_lookup, budget_release, budget_prefetch, budget_destroy,
};

enum mv_status mv_verify_budget_open(struct mv_verify_budget *b, struct mv_resolver *inner,
                                     unsigned budget_ms, struct mv_resolver **out)
{
	memset(b, 0, sizeof *b);
	b->inner = inner;
	b->budget_ms = budget_ms;
	return mv_dns_resolver_new(&budget_ops, b, out);
}

void mv_verify_dns_stats(const struct mv_verify *v, struct mv_verify_dns_stats *out)
{
	const struct mv_verify_budget *b = &v->budget;

	memset(out, 0, sizeof *out);
	out->budget_ms = b->budget_ms;
	out->spent_ms = (unsigned long)(b->spent_us / 1000u);
	out->queries = b->queries;
	out->prefetches = b->prefetches;
	out->refused = b->refused;
	out->exhausted = spent(b);
}
