/* lib/verify/prefetch.c — every DNS question a verification will ask, asked at once (DESIGN.md "DNS is an interface"). */
#include "verify/verify_int.h"

/*
 * The second round: what the first round's answers lead to — SPF's
 * include/redirect/a/mx/exists targets of <domain>'s record, iprev's forward
 * A/AAAA of the PTR names — read from the cache the first round filled, and
 * asked together. Without it the checks at end of message would ask them one
 * check after another (SPF's include, then iprev's A): with it the message
 * costs its longest dependency chain, not the sum (bench/mta "Cold case").
 * Each check still asks and counts its own lookups; these only fill the cache.
 */
static void second_round(struct mv_verify *v, const struct mv_spf_request *req)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_resolver *cache = v->budget.inner; /* read, never asked, by the helpers */
	enum mv_status qst = MV_OK;

	if (req != NULL)
		qst = mv_spf_next_questions(cache, req, &l);
	if (qst != MV_ENOMEM && v->cfg->iprev)
		(void)mv_iprev_next_questions(cache, v->env.client_ip, v->cfg->iprev_max_names, &l);
	if (l.n > 0)
		(void)mv_dns_prefetch(v->res, l.q, l.n); /* through the budget, like the first */
	mv_dns_questions_free(&l);
}

enum mv_status mv_verify_prefetch(struct mv_verify *v)
{
	enum mv_status st = mv_dkim_verifier_headers(v->dkim, v->msg);

	if (st == MV_OK && !v->prefetch_deferred)
		mv_verify_prefetch_ask(v);
	return st;
}

void mv_verify_prefetch_ask(struct mv_verify *v)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_spf_request req;
	enum mv_status qst = MV_OK;
	int spf;

	/* What each check says it will ask, in the order the checks run but
	 * ARC last: a list cut short (full, out of memory) still goes, and
	 * what did not fit is asked when needed. */
	if ((spf = mv_verify_spf_request(v, &req)))
		qst = mv_spf_questions(&req, &l);
	if (qst == MV_OK)
		qst = mv_dkim_questions(v->dkim, &l);
	if (qst == MV_OK)
		qst = mv_dmarc_questions(&v->cfg->dmarc, v->author, &l);
	if (qst == MV_OK && v->cfg->iprev)
		qst = mv_iprev_questions(v->env.client_ip, &l);
	if (qst == MV_OK && v->arc)
		qst = mv_arc_questions(v->arc, &l);
	if (l.n > 0) {
		(void)mv_dns_prefetch(v->res, l.q, l.n);
		second_round(v, spf ? &req : NULL);
	}
	mv_dns_questions_free(&l);
}
