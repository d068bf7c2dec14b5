/* lib/spf/next.c — the questions an SPF record already in the cache leads to, for a second prefetch round. */
#include <string.h>

#include "dns/backend.h"
#include "spf/spf_int.h"

/*
 * A target the prefetch may ask: written without macros (a macro depends on
 * the sender, the client or %{p}: only the check expands it), NULL meaning
 * <domain> itself.
 */
static const char *plain_target(const char *spec, const char *domain)
{
	if (spec == NULL)
		return domain;
	return strchr(spec, '%') == NULL ? spec : NULL;
}

/* Append (name, type) unless it is no name or the round is full; MV_ENOMEM, MV_ETOOBIG. */
static enum mv_status add(struct mv_dns_questions *l, const char *name, enum mv_dns_type type,
                          unsigned *left)
{
	enum mv_status st;
	size_t before = l->n;

	if (name == NULL || *left == 0)
		return MV_OK;
	if ((st = mv_dns_questions_add(l, name, type)) == MV_EINVAL)
		return MV_OK;             /* not a name DNS can ask: neither does the check */
	if (st == MV_OK && l->n > before) /* a question already listed costs nothing */
		(*left)--;
	return st;
}

/* The questions the terms of rec at domain lead to, at most *left of them. */
static enum mv_status add_terms(const struct mv_spf_record *rec, const char *domain, int v6,
                                struct mv_dns_questions *l, unsigned *left)
{
	enum mv_status st = MV_OK;
	size_t k;

	for (k = 0; k < rec->nterms && st == MV_OK && *left > 0; k++) {
		const struct mv_spf_term *t = &rec->terms[k];
		const char *target = plain_target(t->domain, domain);

		switch (t->mech) {
		case MV_SPF_M_INCLUDE:
			st = add(l, target, MV_DNS_TXT, left);
			break;
		case MV_SPF_M_A:
			st = add(l, target, v6 ? MV_DNS_AAAA : MV_DNS_A, left);
			break;
		case MV_SPF_M_MX:
			st = add(l, target, MV_DNS_MX, left);
			break;
		case MV_SPF_M_EXISTS:
			st = add(l, target, MV_DNS_A, left);
			break;
		default: /* all, ip4, ip6 ask nothing; ptr's names are iprev's prefetch */
			break;
		}
	}
	if (st == MV_OK && rec->redirect)
		st = add(l, plain_target(rec->redirect, domain), MV_DNS_TXT, left);
	return st;
}

enum mv_status mv_spf_next_questions(struct mv_resolver *cache, const struct mv_spf_request *req,
                                     struct mv_dns_questions *l)
{
	struct mv_spf_ident id = {0};
	struct mv_spf_record *rec = NULL;
	struct mv_dns_answer *ans = NULL;
	const struct mv_dns_rr *found = NULL;
	unsigned left = MV_SPF_NEXT_MAX;
	struct mv_ip ip;
	enum mv_status st = MV_OK;
	char err[160];
	size_t i, n = 0;

	if (cache == NULL || req == NULL || mv_cidr_ip_parse(req->ip, &ip) != MV_OK)
		return MV_OK;
	if ((st = mv_spf_ident_build(req, &id)) != MV_OK)
		goto out;
	if (!mv_spf_domain_checkable(id.domain) ||
	    mv_dns_query_cached(cache, id.domain, MV_DNS_TXT, &ans) != MV_OK)
		goto out; /* not asked, not answered yet, or no memory: nothing to follow */
	/* The record as fetch_record() (eval.c) picks it: exactly one v=spf1. */
	for (i = 0; ans->rcode == MV_DNS_RECORDS && i < ans->count; i++)
		if (ans->rr[i].type == MV_DNS_TXT &&
		    mv_spf_record_is_spf1(ans->rr[i].txt, ans->rr[i].txtlen)) {
			found = &ans->rr[i];
			n++;
		}
	if (n != 1)
		goto out;
	st = mv_spf_record_parse(found->txt, found->txtlen, &rec, err, sizeof err);
	if (st == MV_OK)
		st = add_terms(rec, id.domain, ip.v6, l, &left);
	else if (st != MV_ENOMEM)
		st = MV_OK; /* a permerror: the check asks nothing more */
out:
	mv_spf_record_free(rec);
	mv_dns_answer_free(ans);
	mv_spf_ident_clear(&id);
	return st;
}
