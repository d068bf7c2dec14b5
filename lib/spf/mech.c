/* lib/spf/mech.c — the mechanisms that compare addresses (RFC 7208 §5.1, §5.3-§5.7). */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dns.h>

#include "spf/spf_int.h"

/* Whether rr (an A or AAAA record) lies in the client's network under t's CIDR. */
static int addr_matches(const struct mv_spf_eval *ev, const struct mv_spf_term *t,
                        const struct mv_dns_rr *rr)
{
	if (rr->type == MV_DNS_A && !ev->ip.v6)
		return mv_cidr_prefix_eq(rr->addr, ev->ip.a, t->cidr4);
	if (rr->type == MV_DNS_AAAA && ev->ip.v6)
		return mv_cidr_prefix_eq(rr->addr, ev->ip.a, t->cidr6);
	return 0;
}

/*
 * One lookup for a mechanism (§5): DNS errors are temperror, NXDOMAIN and
 * "no records" are a void lookup (§4.6.4) when count_void, and past the limit
 * a permerror. *ans is set only for records (caller frees).
 */
static enum mv_status lookup(struct mv_spf_eval *ev, const char *name, enum mv_dns_type type,
                             int count_void, struct mv_dns_answer **ans, enum mv_spf_outcome *o)
{
	struct mv_dns_answer *a = NULL;
	enum mv_status st;

	*ans = NULL;
	*o = MV_SPF_O_NOMATCH;
	st = mv_spf_eval_query(ev, name, type, &a);
	if (st == MV_ETIMEOUT) { /* the time limit (§4.6.4) */
		*o = MV_SPF_O_TEMPERROR;
		return MV_OK;
	}
	if (st == MV_EINVAL)
		return MV_OK; /* not a DNS name: no match, as for a name that does not exist */
	if (st != MV_OK)
		return st;
	if (a->rcode == MV_DNS_RECORDS && a->count > 0) {
		*ans = a;
		return MV_OK;
	}
	switch (a->rcode) {
	case MV_DNS_RECORDS: /* with no records: a void lookup as well */
	case MV_DNS_NXDOMAIN:
	case MV_DNS_NODATA:
		if (count_void && ++ev->voids > MV_SPF_MAX_VOID)
			*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR,
			                      "more than %d void lookups (at %s)", MV_SPF_MAX_VOID,
			                      name);
		break;
	case MV_DNS_SERVFAIL:
	case MV_DNS_TIMEOUT:
		*o = mv_spf_eval_fail(ev, MV_SPF_O_TEMPERROR, "DNS %s for %s",
		                      a->rcode == MV_DNS_TIMEOUT ? "timeout" : "failure", name);
		break;
	}
	mv_dns_answer_free(a);
	return MV_OK;
}

/* The client's addresses against the A or AAAA records of name. */
static enum mv_status match_host(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                                 const char *name, int count_void, enum mv_spf_outcome *o)
{
	struct mv_dns_answer *ans = NULL;
	enum mv_status st;
	size_t i;

	st = lookup(ev, name, ev->ip.v6 ? MV_DNS_AAAA : MV_DNS_A, count_void, &ans, o);
	for (i = 0; ans && i < ans->count && *o == MV_SPF_O_NOMATCH; i++)
		if (addr_matches(ev, t, &ans->rr[i]))
			*o = MV_SPF_O_MATCH;
	mv_dns_answer_free(ans);
	return st;
}

/* §5.4 mx: the addresses of each MX host; more than 10 hosts is permerror (§4.6.4). */
static enum mv_status eval_mx(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                              const char *target, enum mv_spf_outcome *o)
{
	struct mv_dns_answer *ans = NULL;
	enum mv_status st;
	size_t i;

	if ((st = lookup(ev, target, MV_DNS_MX, 1, &ans, o)) != MV_OK || !ans)
		return st;
	if (ans->count > MV_SPF_MAX_NAMES) {
		*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR, "%zu MX records at %s (limit %d)",
		                      ans->count, target, MV_SPF_MAX_NAMES);
		goto out;
	}
	for (i = 0; i < ans->count && *o == MV_SPF_O_NOMATCH && st == MV_OK; i++) {
		const char *host = ans->rr[i].host;
		if (!host || !*host || strcmp(host, ".") == 0)
			continue; /* null MX (RFC 7505): no host to ask about */
		st = match_host(ev, t, host, 0, o);
	}
out:
	mv_dns_answer_free(ans);
	return st;
}

struct ptr_target {
	const char *target;
};

static int ptr_found(const char *name, void *arg)
{
	const struct ptr_target *pt = arg;

	return mv_spf_name_within(name, pt->target);
}

/* §5.7 exists: any A record, whatever the client's address family. */
static enum mv_status eval_exists(struct mv_spf_eval *ev, const char *target,
                                  enum mv_spf_outcome *o)
{
	struct mv_dns_answer *ans = NULL;
	enum mv_status st;

	st = lookup(ev, target, MV_DNS_A, 1, &ans, o);
	if (ans)
		*o = MV_SPF_O_MATCH;
	mv_dns_answer_free(ans);
	return st;
}

/* Mechanisms that query DNS: count the term, expand the target, ask. */
static enum mv_status eval_dns_mech(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                                    const char *domain, enum mv_spf_outcome *o)
{
	struct mv_buf target = MV_BUF_INIT;
	struct ptr_target pt;
	enum mv_status st;
	int valid;

	if ((*o = mv_spf_eval_count_term(ev, t->text)) != MV_SPF_O_NOMATCH)
		return MV_OK;
	if ((st = mv_spf_eval_target(ev, t->domain, domain, &target, &valid)) != MV_OK)
		goto out;
	if (!valid)
		goto out; /* §4.3 by analogy: a name DNS cannot hold does not match */
	switch (t->mech) {
	case MV_SPF_M_A:
		st = match_host(ev, t, target.data, 1, o);
		break;
	case MV_SPF_M_MX:
		st = eval_mx(ev, t, target.data, o);
		break;
	case MV_SPF_M_PTR:
		pt.target = target.data;
		st = mv_spf_ptr_validated(ev, 1, ptr_found, &pt, o);
		break;
	case MV_SPF_M_EXISTS:
		st = eval_exists(ev, target.data, o);
		break;
	default:
		break;
	}
out:
	mv_buf_free(&target);
	return st;
}

enum mv_status mv_spf_mech_eval(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                                const char *domain, enum mv_spf_outcome *o)
{
	*o = MV_SPF_O_NOMATCH;
	switch (t->mech) {
	case MV_SPF_M_ALL:
		*o = MV_SPF_O_MATCH;
		return MV_OK;
	case MV_SPF_M_IP4:
		if (!ev->ip.v6 && mv_cidr_prefix_eq(t->net, ev->ip.a, t->cidr4))
			*o = MV_SPF_O_MATCH;
		return MV_OK;
	case MV_SPF_M_IP6:
		if (ev->ip.v6 && mv_cidr_prefix_eq(t->net, ev->ip.a, t->cidr6))
			*o = MV_SPF_O_MATCH;
		return MV_OK;
	case MV_SPF_M_INCLUDE:
		return MV_EINVAL; /* eval.c handles include */
	default:
		return eval_dns_mech(ev, t, domain, o);
	}
}
