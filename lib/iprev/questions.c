/* lib/iprev/questions.c — the DNS question iprev asks first, for a caller's prefetch. */
#include <mailvet/iprev.h>

enum mv_status mv_iprev_questions(const char *ip, struct mv_dns_questions *l)
{
	char name[MV_IPREV_PTR_NAME_MAX];
	enum mv_status st;

	if (ip == NULL || mv_iprev_ptr_name(ip, name, sizeof name) != MV_OK)
		return MV_OK; /* mv_iprev_check() refuses it: nothing asked */
	st = mv_dns_questions_add(l, name, MV_DNS_PTR);
	return st == MV_EINVAL ? MV_OK : st;
}
