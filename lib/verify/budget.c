/*
 * lib/verify/budget.c — the DNS time budget of one message (budget_ms).
 *
 * Every check of a verification asks DNS through one small resolver made
 * here, a backend (lib/dns/backend.h ops table) that forwards each question
 * to the real resolver with mv_dns_query()/mv_dns_prefetch() and adds the
 * time it waited to the message's account.
 *
 * The account has three limits, one per phase of the message
 * (docs/internals/verify.md "DNS time budget"): the checks before DMARC
 * (prefetch, DKIM, ARC, SPF) stop asking at budget_ms less DMARC's reserve
 * (dmarc_reserve_pct of it); DMARC may ask while the whole budget lasts or
 * while it has spent less than its reserve itself, whatever the checks
 * before it spent; iprev, after DMARC, while the whole budget lasts. So a
 * slow SPF include chain (an attacker's DNS, each answer just under the
 * resolver's timeout) cannot spend the time DMARC needs to find the From
 * domain's policy.
 *
 * A question past its phase's limit is not refused when the real
 * resolver's answer cache holds its answer (the prefetch put it there, or
 * an earlier message): that answer needs no wait, so it is served
 * (mv_dns_query_cached()). Only a question that would need a real wait is
 * answered MV_DNS_TIMEOUT at once, without asking, so SPF, DKIM, DMARC, ARC
 * and iprev give temperror where they still needed DNS, and the DMARC
 * temperror action decides the message.
 *
 * What counts is the time spent waiting for DNS, not wall-clock time: a
 * client slowly sending the body does not eat the budget. A question that
 * starts with time left runs to its own end (the real resolver's per-query
 * timeout): the DNS time of a message is at most budget_ms plus one
 * resolver timeout, or plus two when a query of the checks before DMARC
 * ran past their share and DMARC then used its reserve.
 *
 * Forwarding through mv_dns_query() keeps the real resolver's behaviour
 * whole (its cache, its recording). A question refused for the budget is
 * recorded by the real resolver's recorder as a timeout of that name and
 * type, so a replay of the recording gives the same verdict; an answer
 * served from the cache past a limit is recorded as the answer it is.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/backend.h"
#include "verify/verify_int.h"

static uint64_t now_us(const struct mv_verify_budget *b)
{
	struct timespec t;

	if (b->clock)
		return b->clock(b->clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t budget_us(const struct mv_verify_budget *b)
{
	return (uint64_t)b->budget_ms * 1000u;
}

/* DMARC's reserve: reserve_pct percent of the budget (at most all of it). */
static uint64_t reserve_us(const struct mv_verify_budget *b)
{
	unsigned pct = b->reserve_pct > 100 ? 100 : b->reserve_pct;

	return budget_us(b) * pct / 100u;
}

/* The whole budget is spent. */
static int spent(const struct mv_verify_budget *b)
{
	return b->spent_us >= budget_us(b);
}

/* The current phase has time left to ask a question that needs a real wait. */
static int may_ask(const struct mv_verify_budget *b)
{
	switch (b->phase) {
	case MV_VERIFY_BUDGET_BEFORE_DMARC:
		return b->spent_us < budget_us(b) - reserve_us(b);
	case MV_VERIFY_BUDGET_DMARC:
		return !spent(b) || b->dmarc_spent_us < reserve_us(b);
	case MV_VERIFY_BUDGET_AFTER_DMARC:
		return !spent(b);
	}
	return 0;
}

/* Add the time since t0 to the account (and to DMARC's, while DMARC asks). */
static void charge(struct mv_verify_budget *b, uint64_t t0)
{
	uint64_t t = now_us(b), dt = t > t0 ? t - t0 : 0;

	b->spent_us += dt;
	if (b->phase == MV_VERIFY_BUDGET_DMARC)
		b->dmarc_spent_us += dt;
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
 * Lend the real answer a to the view of the question name (a is freed by
 * budget_release()). The answer of the real resolver has followed the
 * CNAMEs already; its owner becomes the view's one-link chain, so the
 * outer mv_dns_query() names the answer the same way. MV_ENOMEM only.
 */
static enum mv_status lend(struct mv_dns_answer *a, const char *name, struct mv_dns_view *v)
{
	struct held *h;

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

/*
 * ops->lookup: name is valid and lowercased (resolver.c). With time left
 * the question goes to the real resolver and its wait is charged; past the
 * limit only its cache may answer, else the answer is a timeout, unasked.
 * MV_ENOMEM only.
 */
static enum mv_status budget_lookup(void *impl, const char *name, enum mv_dns_type type,
                                    struct mv_dns_view *v)
{
	struct mv_verify_budget *b = impl;
	struct mv_dns_answer *a = NULL;
	enum mv_status st;
	uint64_t t0;

	if (may_ask(b)) {
		t0 = now_us(b);
		st = mv_dns_query(b->inner, name, type, &a);
		charge(b, t0);
		b->queries++;
	} else if ((st = mv_dns_query_cached(b->inner, name, type, &a)) == MV_OK) {
		b->cached++; /* prefetched (or cached before): no wait */
	} else if (st == MV_ENOTFOUND) {
		refuse(b, name, type);
		v->rcode = MV_DNS_TIMEOUT;
		return MV_OK;
	}
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK) { /* cannot happen for a name resolver.c checked */
		v->rcode = MV_DNS_SERVFAIL;
		return MV_OK;
	}
	return lend(a, name, v);
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
 * ops->prefetch: the batch runs only while the phase has time left; its
 * wait counts. The answers land in the real resolver's cache (if it has
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
	if (!may_ask(b))
		return MV_OK; /* each question is served or refused when it is asked */
	t0 = now_us(b);
	st = mv_dns_prefetch(b->inner, q, n);
	charge(b, t0);
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
                                     unsigned budget_ms, unsigned reserve_pct,
                                     struct mv_resolver **out)
{
	memset(b, 0, sizeof *b);
	b->inner = inner;
	b->budget_ms = budget_ms;
	b->reserve_pct = reserve_pct;
	b->phase = MV_VERIFY_BUDGET_BEFORE_DMARC;
	return mv_dns_resolver_new(&budget_ops, b, out);
}

void mv_verify_budget_phase(struct mv_verify_budget *b, enum mv_verify_budget_phase phase)
{
	b->phase = phase;
}

void mv_verify_budget_set_clock(struct mv_verify_budget *b, mv_verify_clock_fn fn, void *arg)
{
	b->clock = fn;
	b->clock_arg = arg;
}

void mv_verify_dns_stats(const struct mv_verify *v, struct mv_verify_dns_stats *out)
{
	const struct mv_verify_budget *b = &v->budget;

	memset(out, 0, sizeof *out);
	out->budget_ms = b->budget_ms;
	out->dmarc_reserve_ms = (unsigned)(reserve_us(b) / 1000u);
	out->spent_ms = (unsigned long)(b->spent_us / 1000u);
	out->dmarc_spent_ms = (unsigned long)(b->dmarc_spent_us / 1000u);
	out->queries = b->queries;
	out->prefetches = b->prefetches;
	out->refused = b->refused;
	out->cached = b->cached;
	out->exhausted = spent(b);
	out->share_exhausted = b->spent_us >= budget_us(b) - reserve_us(b);
}
