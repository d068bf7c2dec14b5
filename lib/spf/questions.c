/* lib/spf/questions.c — the DNS question an SPF check asks first, for a caller's prefetch. */
#include "spf/spf_int.h"

/*
 * The steps of mv_spf_check_clock() before its first query, with the same
 * helpers: the client address must parse, the identity (§2.3, §2.4, §4.3)
 * gives <domain>, and a <domain> SPF cannot check is not asked.
 */
enum mv_status mv_spf_questions(const struct mv_spf_request *req, struct mv_dns_questions *l)
{
	struct mv_spf_ident id = {0};
	struct mv_ip ip;
	enum mv_status st = MV_OK;

	if (req == NULL || mv_cidr_ip_parse(req->ip, &ip) != MV_OK)
		goto out; /* mv_spf_check() refuses it: nothing asked */
	if ((st = mv_spf_ident_build(req, &id)) != MV_OK)
		goto out;
	if (mv_spf_domain_checkable(id.domain))
		st = mv_dns_questions_add(l, id.domain, MV_DNS_TXT); /* check_host(): its record */
	if (st == MV_EINVAL)
		st = MV_OK; /* not a name DNS can ask: neither does the check */
out:
	mv_spf_ident_clear(&id);
	return st;
}
