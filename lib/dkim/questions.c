/* lib/dkim/questions.c — the key records a verifier will ask for, for a caller's prefetch. */
#include <stdlib.h>

#include "dkim/dkim_int.h"

enum mv_status mv_dkim_key_questions(const char *s, const char *d, struct mv_dns_questions *l)
{
	char *name = mv_dkim_key_name(s, d); /* the name mv_dkim_key_fetch() asks */
	enum mv_status st = MV_ENOMEM;

	if (name != NULL)
		st = mv_dns_questions_add(l, name, MV_DNS_TXT);
	free(name);
	return st == MV_EINVAL ? MV_OK : st;
}

enum mv_status mv_dkim_questions(const struct mv_dkim_verifier *v, struct mv_dns_questions *l)
{
	const struct mv_dkim_sig *sig;
	enum mv_status st = MV_OK;
	size_t k;

	for (k = 0; k < mv_dkim_verifier_entries(v) && st == MV_OK; k++)
		if ((sig = mv_dkim_verifier_pending(v, k)) != NULL)
			st = mv_dkim_key_questions(sig->s, sig->d, l);
	return st;
}
