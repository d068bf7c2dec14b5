/* lib/dkim/keyfetch.c — finding a signature's key in DNS (RFC 6376 §3.6.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"

char *mv_dkim_key_name(const char *s, const char *d)
{
	size_t n = strlen(s) + strlen(d) + sizeof "._domainkey.";
	char *name = malloc(n);

	if (name != NULL)
		snprintf(name, n, "%s._domainkey.%s", s, d);
	return name;
}

enum mv_status mv_dkim_key_fetch(struct mv_resolver *r, struct mv_dkim_keycache *c, const char *s,
                                 const char *d, struct mv_dkim_key **out, char *err, size_t errlen)
{
	struct mv_dns_answer *ans = NULL;
	char *name = NULL;
	enum mv_status st = MV_ENOMEM;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((name = mv_dkim_key_name(s, d)) == NULL)
		goto out;
	if ((st = mv_dns_query(r, name, MV_DNS_TXT, &ans)) != MV_OK) {
		mv_errf(err, errlen, "%s is not a DNS name", name);
		goto out;
	}
	switch (ans->rcode) {
	case MV_DNS_RECORDS:
		break;
	case MV_DNS_NXDOMAIN:
	case MV_DNS_NODATA:
		mv_errf(err, errlen, "no key for signature (%s)", name);
		st = MV_ENOTFOUND;
		goto out;
	case MV_DNS_SERVFAIL:
	case MV_DNS_TIMEOUT:
		mv_errf(err, errlen, "key lookup failed (%s: %s)", name,
		        ans->rcode == MV_DNS_TIMEOUT ? "timeout" : "servfail");
		st = MV_ETEMP;
		goto out;
	}
	if (ans->count > 1) {
		mv_errf(err, errlen, "%zu key records at %s", ans->count, name);
		st = MV_ESYNTAX;
		goto out;
	}
	if (c != NULL &&
	    (st = mv_dkim_keycache_get(c, ans->rr[0].txt, ans->rr[0].txtlen, out)) != MV_ENOTFOUND)
		goto out; /* found (MV_OK) or MV_ENOMEM */
	st = mv_dkim_key_parse(ans->rr[0].txt, ans->rr[0].txtlen, out, err, errlen);
	if (st == MV_OK && c != NULL)
		mv_dkim_keycache_put(c, ans->rr[0].txt, ans->rr[0].txtlen, *out);
out:
	mv_dns_answer_free(ans);
	free(name);
	return st;
}
