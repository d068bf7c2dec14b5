/* lib/verify/prefetch.c — every DNS question a verification will ask, asked at once (DESIGN.md "DNS is an interface"). */
#include "verify/verify_int.h"

enum mv_status mv_verify_prefetch(struct mv_verify *v)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_spf_request req;
	enum mv_status st, qst = MV_OK;

	if ((st = mv_dkim_verifier_headers(v->dkim, v->msg)) != MV_OK)
		goto out;
	/* What each check says it will ask, in the order the checks run but
	 * ARC last: a list cut short (full, out of memory) still goes, and
	 * what did not fit is asked when needed. */
	if (mv_verify_spf_request(v, &req))
		qst = mv_spf_questions(&req, &l);
	if (qst == MV_OK)
		qst = mv_dkim_questions(v->dkim, &l);
	if (qst == MV_OK)
		qst = mv_dmarc_questions(&v->cfg->dmarc, v->author, &l);
	if (qst == MV_OK && v->cfg->iprev)
		qst = mv_iprev_questions(v->env.client_ip, &l);
	if (qst == MV_OK && v->arc)
		qst = mv_arc_questions(v->arc, &l);
	if (l.n > 0)
		(void)mv_dns_prefetch(v->res, l.q, l.n);
out:
	mv_dns_questions_free(&l);
	return st;
}
