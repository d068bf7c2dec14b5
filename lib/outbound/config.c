/* lib/outbound/config.c — the outbound configuration: defaults, checks, the key tables. */
#include <stdio.h>
#include <string.h>

#include "outbound/outbound_int.h"

void mv_outbound_config_default(struct mv_outbound_config *c)
{
	memset(c, 0, sizeof *c);
	c->hcanon = c->bcanon = MV_CANON_RELAXED;
	c->body_limit = -1;
}

/* Every entry of a table has a domain, a selector and a key. */
static int table_ok(const struct mv_outbound_key *t, size_t n)
{
	size_t k;

	if (n > 0 && t == NULL)
		return 0;
	for (k = 0; k < n; k++)
		if (t[k].domain == NULL || t[k].domain[0] == '\0' || t[k].selector == NULL ||
		    t[k].selector[0] == '\0' || t[k].key == NULL)
			return 0;
	return 1;
}

enum mv_status mv_outbound_config_check(const struct mv_outbound_config *c, char *err,
                                        size_t errlen)
{
	struct mv_dkim_sign_opts o;
	const char *why = NULL;
	char dkim_err[160] = "";

	mv_dkim_sign_opts_default(&o);
	/* d= is chosen per message; any name lets the check look at the rest. */
	o.domain = c->dkim_domain ? c->dkim_domain : "author.invalid";
	o.hcanon = c->hcanon;
	o.bcanon = c->bcanon;
	o.headers = c->headers;
	o.body_limit = c->body_limit;
	if (!table_ok(c->dkim_keys, c->ndkim_keys) || !table_ok(c->arc_keys, c->narc_keys))
		why = "a key table entry lacks its domain, selector or key";
	else if ((c->ndkim_keys > 0 || c->dkim_choose) &&
	         mv_dkim_sign_opts_check(&o, dkim_err, sizeof dkim_err) != MV_OK)
		why = dkim_err;
	else if (c->narc_keys > 0 && (c->authserv_id == NULL || c->authserv_id[0] == '\0'))
		why = "ARC sealing needs the authserv-id";
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return why ? MV_EINVAL : MV_OK;
}

/*
 * How well table entry e covers domain: 2 = the same name, 1 = a name below
 * it when the entry has subdomains set, 0 = not at all.
 */
static int covers(const struct mv_outbound_key *e, const char *domain)
{
	size_t el = strlen(e->domain), dl = strlen(domain);

	if (mv_ascii_ieq(e->domain, el, domain))
		return 2;
	return e->subdomains && dl > el + 1 && domain[dl - el - 1] == '.' &&
	       mv_ascii_ieq(domain + dl - el, el, e->domain);
}

enum mv_status mv_outbound_keys_for(const struct mv_outbound_key *table, size_t n,
                                    const char *domain, struct ob_keyset *ks)
{
	const char *best = NULL;
	int best_fit = 0;
	size_t k;

	memset(ks, 0, sizeof *ks);
	/* The entries of one domain: the same name, else the nearest parent that covers it. */
	for (k = 0; k < n; k++) {
		int fit = covers(&table[k], domain);
		if (fit > best_fit ||
		    (fit && fit == best_fit && fit == 1 && strlen(table[k].domain) > strlen(best)))
			best = table[k].domain, best_fit = fit;
	}
	for (k = 0; best && k < n; k++) {
		if (!mv_ascii_ieq(table[k].domain, strlen(table[k].domain), best))
			continue;
		if (ks->n == MV_OUTBOUND_MAX_KEYS)
			return MV_ETOOBIG;
		ks->domain = table[k].domain;
		ks->key[ks->n] = table[k].key;
		ks->selector[ks->n] = table[k].selector;
		ks->n++;
	}
	return ks->n > 0 ? MV_OK : MV_ENOTFOUND;
}

const char *mv_outbound_outcome_str(enum mv_outbound_outcome oc)
{
	switch (oc) {
	case MV_OUTBOUND_DONE:
		return "done";
	case MV_OUTBOUND_NOT_ASKED:
		return "not asked";
	case MV_OUTBOUND_NO_DOMAIN:
		return "no author domain";
	case MV_OUTBOUND_NO_KEY:
		return "no key";
	case MV_OUTBOUND_NO_CHAIN:
		return "no chain to extend";
	case MV_OUTBOUND_TEMPFAIL:
		return "tempfail";
	case MV_OUTBOUND_FAILED:
		return "failed";
	}
	return "unknown";
}
