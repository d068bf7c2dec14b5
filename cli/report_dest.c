/* cli/report_dest.c — RFC 9990 "Verifying External Destinations" for `mailvet report send`. */
#include <stdio.h>
#include <string.h>

#include <mailvet/dmarc.h>
#include <mailvet/util.h>

#include "report_dest.h"

#define NAME_MAX_LEN 253 /* a DNS name without its trailing dot */

/* The Organizational Domain of name into org; 0, or -1 when the walk failed (temperror). */
static int org_domain(struct mv_resolver *r, const char *name, char *org, size_t n)
{
	struct mv_dmarc_walk w;
	int rc = -1;

	if (mv_dmarc_walk(r, name, 1, &w) == MV_OK && !w.failed && w.org) {
		snprintf(org, n, "%s", w.org);
		rc = 0;
	}
	mv_dmarc_walk_clear(&w);
	return rc;
}

/* A TXT record that starts with the tag v=DMARC1 (RFC 9990 step 6). */
static int authorizes(const char *txt, size_t len)
{
	const char *p = txt, *end = txt + len;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != 'v')
		return 0;
	for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == end || *p != '=')
		return 0;
	for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if ((size_t)(end - p) < 6 || memcmp(p, "DMARC1", 6) != 0)
		return 0;
	for (p += 6; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	return p == end || *p == ';';
}

/* The host of "mailto:local@host" into host, lowercase, no trailing dot; 0 or -1. */
static int dest_host(const char *dest, char *host, size_t n)
{
	const char *at = strrchr(dest, '@');
	size_t len;

	if (!at || !at[1])
		return -1;
	len = strcspn(at + 1, "?>");
	while (len && at[1 + len - 1] == '.')
		len--;
	if (len == 0 || len >= n)
		return -1;
	memcpy(host, at + 1, len);
	host[len] = '\0';
	mv_ascii_lower(host, len);
	return 0;
}

/* The TXT query at <domain>._report._dmarc.<host> (steps 2-8). */
static enum mv_report_dest_auth ask(struct mv_resolver *r, const char *domain, const char *host,
                                    char *why, size_t whylen)
{
	char name[NAME_MAX_LEN + 2];
	struct mv_dns_answer *a = NULL;
	enum mv_report_dest_auth out = MV_REPORT_DEST_REFUSED;
	int n = snprintf(name, sizeof name, "%s._report._dmarc.%s", domain, host);

	if (n < 0 || (size_t)n > NAME_MAX_LEN) {
		snprintf(why, whylen, "%s: the authorization name is too long", host);
		return MV_REPORT_DEST_REFUSED;
	}
	if (mv_dns_query(r, name, MV_DNS_TXT, &a) != MV_OK || a->rcode == MV_DNS_SERVFAIL ||
	    a->rcode == MV_DNS_TIMEOUT) {
		snprintf(why, whylen, "%s TXT: temporary DNS failure", name);
		out = MV_REPORT_DEST_TEMP;
		goto out;
	}
	snprintf(why, whylen, "%s TXT: no v=DMARC1 record, external destination not authorized",
	         name);
	for (size_t i = 0; a->rcode == MV_DNS_RECORDS && i < a->count; i++)
		if (a->rr[i].txt && authorizes(a->rr[i].txt, a->rr[i].txtlen)) {
			snprintf(why, whylen, "authorized by %s", name);
			out = MV_REPORT_DEST_OK;
		}
out:
	mv_dns_answer_free(a);
	return out;
}

enum mv_report_dest_auth mv_cli_report_dest_check(struct mv_resolver *r, const char *policy_domain,
                                                  const char *dest, char *why, size_t whylen)
{
	char host[NAME_MAX_LEN + 1], domain[NAME_MAX_LEN + 1];
	char org1[NAME_MAX_LEN + 1], org2[NAME_MAX_LEN + 1];
	size_t dlen = strlen(policy_domain);

	if (dlen == 0 || dlen >= sizeof domain) {
		snprintf(why, whylen, "policy domain too long");
		return MV_REPORT_DEST_REFUSED;
	}
	memcpy(domain, policy_domain, dlen + 1);
	mv_ascii_lower(domain, dlen);
	policy_domain = domain;
	if (dest_host(dest, host, sizeof host) != 0) {
		snprintf(why, whylen, "%s: no host", dest);
		return MV_REPORT_DEST_REFUSED;
	}
	if (mv_ascii_ieq(host, strlen(host), policy_domain)) {
		snprintf(why, whylen, "same domain");
		return MV_REPORT_DEST_OK;
	}
	if (org_domain(r, policy_domain, org1, sizeof org1) != 0 ||
	    org_domain(r, host, org2, sizeof org2) != 0) {
		snprintf(why, whylen, "Organizational Domain of %s or %s: temporary DNS failure",
		         policy_domain, host);
		return MV_REPORT_DEST_TEMP;
	}
	if (mv_ascii_ieq(org1, strlen(org1), org2)) {
		snprintf(why, whylen, "same Organizational Domain %s", org1);
		return MV_REPORT_DEST_OK;
	}
	return ask(r, policy_domain, host, why, whylen);
}
