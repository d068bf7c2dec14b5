/* lib/spf/ptr.c — validated domain names of the client (RFC 7208 §5.5), for ptr and %{p}. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dns.h>

#include "spf/spf_int.h"

/* Whether one of name's A/AAAA records is the client address; DNS errors: no. */
static enum mv_status name_validates(struct mv_spf_eval *ev, const char *name, int *yes)
{
	struct mv_dns_answer *ans = NULL;
	enum mv_status st;
	size_t i;

	*yes = 0;
	st = mv_spf_eval_query(ev, name, ev->ip.v6 ? MV_DNS_AAAA : MV_DNS_A, &ans);
	if (st == MV_EINVAL || st == MV_ETIMEOUT) /* past the time limit: ev->expired decides */
		return MV_OK;
	if (st != MV_OK)
		return st;
	for (i = 0; ans->rcode == MV_DNS_RECORDS && i < ans->count && !*yes; i++)
		if (ans->rr[i].type == (ev->ip.v6 ? MV_DNS_AAAA : MV_DNS_A) &&
		    memcmp(ans->rr[i].addr, ev->ip.a, ev->ip.v6 ? 16 : 4) == 0)
			*yes = 1;
	mv_dns_answer_free(ans);
	return MV_OK;
}

enum mv_status mv_spf_ptr_validated(struct mv_spf_eval *ev, int count_void,
                                    int (*found)(const char *name, void *arg), void *arg,
                                    enum mv_spf_outcome *o)
{
	struct mv_buf rev = MV_BUF_INIT;
	struct mv_dns_answer *ans = NULL;
	enum mv_status st;
	size_t i;
	int yes;

	*o = MV_SPF_O_NOMATCH;
	mv_spf_ip_reverse_name(&ev->ip, &rev);
	if ((st = mv_buf_status(&rev)) != MV_OK)
		goto out;
	if ((st = mv_spf_eval_query(ev, rev.data, MV_DNS_PTR, &ans)) != MV_OK) {
		if (st == MV_EINVAL || st == MV_ETIMEOUT)
			st = MV_OK;
		goto out;
	}
	if (ans->rcode == MV_DNS_NXDOMAIN || ans->rcode == MV_DNS_NODATA ||
	    (ans->rcode == MV_DNS_RECORDS && ans->count == 0)) {
		if (count_void && ++ev->voids > MV_SPF_MAX_VOID)
			*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR,
			                      "more than %d void lookups (at %s)", MV_SPF_MAX_VOID,
			                      rev.data);
		goto out;
	}
	/* DNS errors: "this mechanism fails to match" (§5.5); past 10 names: ignored (§4.6.4). */
	for (i = 0; ans->rcode == MV_DNS_RECORDS && i < ans->count && i < MV_SPF_MAX_NAMES; i++) {
		const char *name = ans->rr[i].host;
		if (!name || !*name || !found(name, arg))
			continue;
		if ((st = name_validates(ev, name, &yes)) != MV_OK)
			goto out;
		if (yes) {
			*o = MV_SPF_O_MATCH;
			break;
		}
	}
out:
	mv_dns_answer_free(ans);
	mv_buf_free(&rev);
	return st;
}

/* %{p} preference (§7.3): <domain> itself, then a subdomain of it, then any. */
struct pick {
	const char *domain;
	char *exact, *sub, *any;
	enum mv_status st;
};

static void keep(char **slot, const char *name, struct pick *pk)
{
	if (*slot)
		return;
	if (!(*slot = mv_strndup(name, strlen(name))))
		pk->st = MV_ENOMEM;
}

const char *mv_spf_ptr_macro(void *arg)
{
	struct mv_spf_eval *ev = arg;
	struct mv_buf rev = MV_BUF_INIT;
	struct mv_dns_answer *ans = NULL;
	struct pick pk = {0};
	size_t i;
	int yes;

	pk.domain = ev->domain ? ev->domain : "";
	if (ev->pname_domain && strcmp(ev->pname_domain, pk.domain) == 0)
		return ev->pname ? ev->pname : "unknown"; /* one set of lookups per <domain> */
	free(ev->pname);
	free(ev->pname_domain);
	ev->pname = NULL;
	ev->pname_domain = mv_strndup(pk.domain, strlen(pk.domain));
	mv_spf_ip_reverse_name(&ev->ip, &rev);
	if (mv_buf_status(&rev) != MV_OK ||
	    mv_spf_eval_query(ev, rev.data, MV_DNS_PTR, &ans) != MV_OK)
		goto out;
	for (i = 0; ans->rcode == MV_DNS_RECORDS && i < ans->count && i < MV_SPF_MAX_NAMES; i++) {
		const char *name = ans->rr[i].host;
		if (!name || !*name)
			continue;
		if (name_validates(ev, name, &yes) != MV_OK || !yes)
			continue;
		if (mv_spf_name_within(name, pk.domain) && strlen(name) == strlen(pk.domain))
			keep(&pk.exact, name, &pk);
		else if (mv_spf_name_within(name, pk.domain))
			keep(&pk.sub, name, &pk);
		else
			keep(&pk.any, name, &pk);
	}
	if (pk.exact)
		ev->pname = pk.exact, pk.exact = NULL;
	else if (pk.sub)
		ev->pname = pk.sub, pk.sub = NULL;
	else if (pk.any)
		ev->pname = pk.any, pk.any = NULL;
out:
	free(pk.exact);
	free(pk.sub);
	free(pk.any);
	mv_dns_answer_free(ans);
	mv_buf_free(&rev);
	return ev->pname ? ev->pname : "unknown";
}
