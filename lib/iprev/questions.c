/* lib/iprev/questions.c — the DNS questions iprev asks, for a caller's prefetch rounds. */
#include <string.h>

#include <mailvet/iprev.h>

#include "dns/backend.h"

enum mv_status mv_iprev_questions(const char *ip, struct mv_dns_questions *l)
{
	char name[MV_IPREV_PTR_NAME_MAX];
	enum mv_status st;

	if (ip == NULL || mv_iprev_ptr_name(ip, name, sizeof name) != MV_OK)
		return MV_OK; /* mv_iprev_check() refuses it: nothing asked */
	st = mv_dns_questions_add(l, name, MV_DNS_PTR);
	return st == MV_EINVAL ? MV_OK : st;
}

enum mv_status mv_iprev_next_questions(struct mv_resolver *cache, const char *ip,
                                       unsigned max_names, struct mv_dns_questions *l)
{
	static const char v6_suffix[] = ".ip6.arpa";
	char name[MV_IPREV_PTR_NAME_MAX];
	struct mv_dns_answer *ptr = NULL;
	enum mv_dns_type type;
	enum mv_status st = MV_OK;
	size_t k, len;

	if (cache == NULL || ip == NULL || mv_iprev_ptr_name(ip, name, sizeof name) != MV_OK)
		return MV_OK;
	if (mv_dns_query_cached(cache, name, MV_DNS_PTR, &ptr) != MV_OK)
		return MV_OK; /* not answered yet (or no memory): nothing to follow */
	/* The family mv_iprev_check() matches in (a mapped address is IPv4 there too). */
	len = strlen(name);
	type = len > sizeof v6_suffix && strcmp(name + len - (sizeof v6_suffix - 1), v6_suffix) == 0
	               ? MV_DNS_AAAA
	               : MV_DNS_A;
	if (max_names == 0)
		max_names = MV_IPREV_MAX_NAMES;
	for (k = 0; ptr->rcode == MV_DNS_RECORDS && k < ptr->count && k < max_names; k++) {
		if (ptr->rr[k].type != MV_DNS_PTR || ptr->rr[k].host == NULL)
			continue;
		st = mv_dns_questions_add(l, ptr->rr[k].host, type);
		if (st == MV_EINVAL)
			st = MV_OK; /* the check's query is refused the same way */
		if (st != MV_OK)
			break;
	}
	mv_dns_answer_free(ptr);
	return st;
}
