/* lib/verify/prefetch.c — every DNS question a verification will ask, asked at once (DESIGN.md "DNS is an interface"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dkim.h>
#include <mailvet/iprev.h>

#include "arc/keynames.h"
#include "dmarc/dmarc_int.h"
#include "verify/verify_int.h"

#define MAX_Q 64

struct qlist {
	struct mv_dns_question q[MAX_Q];
	char *owned[MAX_Q];
	size_t n;
};

/* Add the name a b c (concatenated; NULL = ""); silently ignores what does not fit. */
static void addq(struct qlist *l, enum mv_dns_type t, const char *a, const char *b, const char *c)
{
	char name[600];
	int n;

	if (l->n == MAX_Q)
		return;
	n = snprintf(name, sizeof name, "%s%s%s", a, b ? b : "", c ? c : "");
	if (n <= 0 || (size_t)n >= sizeof name || (l->owned[l->n] = strdup(name)) == NULL)
		return;
	l->q[l->n].name = l->owned[l->n];
	l->q[l->n].type = t;
	l->n++;
}

/* One ARC key record (mv_arc_validator_key_names callback); a name asked already is skipped. */
static void add_arc_key(void *arg, const char *s, const char *d)
{
	struct qlist *l = arg;
	char name[600];
	size_t k;

	if (snprintf(name, sizeof name, "%s._domainkey.%s", s, d) >= (int)sizeof name)
		return;
	for (k = 0; k < l->n; k++)
		if (l->q[k].type == MV_DNS_TXT && mv_ascii_ieq(name, strlen(name), l->q[k].name))
			return;
	addq(l, MV_DNS_TXT, name, NULL, NULL);
}

/* The domain of an address ("" when none). */
static const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : addr;
}

/* budget capture: the DKIM verifier's key prefetch, folded into the list (names copied). */
static void add_captured(void *arg, const struct mv_dns_question *q, size_t n)
{
	struct qlist *l = arg;
	size_t k;

	for (k = 0; k < n; k++)
		addq(l, q[k].type, q[k].name, NULL, NULL);
}

/* The names an RFC 9989 tree walk from d would ask (§4.10), or just d and its PSL org. */
static void add_dmarc(struct qlist *l, const char *d)
{
	size_t labels = mv_dmarc_labels(d), k;

	addq(l, MV_DNS_TXT, "_dmarc.", d, NULL);
	for (k = 1; k < MV_DMARC_MAX_WALK && labels > 1; k++) {
		labels = labels >= 8 ? 7 : labels - 1;
		addq(l, MV_DNS_TXT, "_dmarc.", mv_dmarc_last_labels(d, labels), NULL);
	}
}

enum mv_status mv_verify_prefetch(struct mv_verify *v)
{
	struct qlist l;
	char ptr[MV_IPREV_PTR_NAME_MAX];
	const char *spfd = NULL;
	enum mv_status st;
	size_t k;

	memset(&l, 0, sizeof l);
	if (v->env.mail_from && *v->env.mail_from)
		spfd = addr_domain(v->env.mail_from);
	else if (v->env.mail_from && v->env.helo)
		spfd = v->env.helo; /* null sender: postmaster@<helo> (RFC 7208 §2.4) */
	if (spfd && *spfd)
		addq(&l, MV_DNS_TXT, spfd, NULL, NULL);
	/* the DKIM verifier parses the signatures and asks for their keys: into l */
	v->budget.capture = add_captured;
	v->budget.capture_arg = &l;
	st = mv_dkim_verifier_headers(v->dkim, v->msg);
	v->budget.capture = NULL;
	v->budget.capture_arg = NULL;
	if (v->author)
		add_dmarc(&l, v->author);
	if (v->cfg->iprev && mv_iprev_ptr_name(v->env.client_ip, ptr, sizeof ptr) == MV_OK)
		addq(&l, MV_DNS_PTR, ptr, NULL, NULL);
	if (v->arc) /* last: what does not fit is asked when needed */
		mv_arc_validator_key_names(v->arc, add_arc_key, &l);
	if (l.n && st == MV_OK)
		mv_dns_prefetch(v->res, l.q, l.n);
	for (k = 0; k < l.n; k++)
		free(l.owned[k]);
	return st;
}
