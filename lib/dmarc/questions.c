/* lib/dmarc/questions.c — the DNS questions policy discovery will ask, for a caller's prefetch. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

#include "dmarc/dmarc_int.h"

/* _dmarc.<domain> TXT, unless no such name can be asked (then nothing, as discovery asks nothing). */
static enum mv_status add_step(struct mv_dns_questions *l, const char *domain)
{
	char qname[MV_DMARC_QNAME_MAX];
	enum mv_status st;

	if (mv_dmarc_qname(domain, qname) != MV_OK)
		return MV_OK;
	st = mv_dns_questions_add(l, qname, MV_DNS_TXT);
	return st == MV_EINVAL ? MV_OK : st;
}

/* Every step of the tree walk from domain (mv_dmarc_walk()): it stops early only on answers. */
static enum mv_status add_walk(struct mv_dns_questions *l, const char *domain)
{
	const char *name = domain;
	size_t labels = mv_dmarc_labels(domain), steps;
	enum mv_status st = MV_OK;

	if (!mv_dmarc_walkable(domain))
		return MV_OK;
	for (steps = 0; name != NULL && steps < MV_DMARC_MAX_WALK && st == MV_OK; steps++) {
		st = add_step(l, name);
		name = mv_dmarc_walk_next(domain, &labels);
	}
	return st;
}

/* RFC 7489 §6.6.3: the Author Domain, then its Organizational Domain from the PSL. */
static enum mv_status add_7489(struct mv_dns_questions *l, const struct mv_dmarc_psl *psl,
                               const char *domain)
{
	enum mv_status st;
	char *org = NULL;

	if ((st = add_step(l, domain)) != MV_OK)
		goto out;
	if ((org = mv_dmarc_psl_org(psl, domain)) != NULL)
		st = add_step(l, org);
out:
	free(org);
	return st;
}

enum mv_status mv_dmarc_questions(const struct mv_dmarc_config *c, const char *author_domain,
                                  struct mv_dns_questions *l)
{
	enum mv_status st = MV_OK;
	char *domain = NULL;

	if (author_domain == NULL || *author_domain == '\0')
		goto out; /* permerror: nothing asked */
	if (c->mode == MV_DMARC_MODE_7489 && c->psl == NULL)
		goto out; /* mv_dmarc_check() refuses this configuration */
	if ((domain = strdup(author_domain)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	mv_ascii_lower(domain, strlen(domain)); /* as mv_dmarc_check() does */
	if (c->mode == MV_DMARC_MODE_7489)
		st = add_7489(l, c->psl, domain);
	else
		st = add_walk(l, domain);
out:
	free(domain);
	return st;
}
