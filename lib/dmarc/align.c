/* lib/dmarc/align.c — Organizational Domains and identifier alignment (RFC 9989 §4.4; RFC 7489 §3.1). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc/align.h"
#include "dmarc/dmarc_int.h"

void mv_dmarc_orgcache_clear(struct mv_dmarc_orgcache *oc)
{
	size_t k;

	for (k = 0; k < oc->n; k++) {
		free(oc->domain[k]);
		free(oc->org[k]);
	}
	oc->n = 0;
}

/* 1 when a and b end in at least one common label (a cheap test before any query). */
static int share_suffix(const char *a, const char *b)
{
	const char *la = strrchr(a, '.'), *lb = strrchr(b, '.');

	la = la ? la + 1 : a;
	lb = lb ? lb + 1 : b;
	return strcasecmp(la, lb) == 0;
}

/*
 * The Organizational Domain of d into *org (borrowed from the cache):
 * RFC 9989 by a full tree walk, RFC 7489 from the Public Suffix List (a
 * name that is itself a public suffix is its own). *failed is set when a
 * walk query failed.
 */
static enum mv_status org_of(struct mv_resolver *r, const struct mv_dmarc_config *c,
                             struct mv_dmarc_orgcache *oc, const char *d, const char **org,
                             int *failed, struct mv_buf *explain)
{
	struct mv_dmarc_walk w;
	enum mv_status st = MV_OK;
	char *o = NULL, *copy;
	size_t k;

	*org = NULL;
	for (k = 0; k < oc->n; k++)
		if (strcasecmp(oc->domain[k], d) == 0) {
			*org = oc->org[k];
			return MV_OK;
		}
	if (c->mode == MV_DMARC_MODE_7489) {
		o = mv_dmarc_psl_org(c->psl, d);
		if (o == NULL && (o = strdup(d)) == NULL)
			return MV_ENOMEM;
	} else {
		st = mv_dmarc_walk(r, d, 1, &w);
		if (st == MV_OK && w.failed)
			*failed = 1;
		if (st == MV_OK && !w.failed)
			o = w.org, w.org = NULL;
		mv_dmarc_walk_clear(&w);
		if (st == MV_EINVAL)
			st = MV_OK, o = strdup(d); /* not a DNS name: only itself */
		if (st != MV_OK || o == NULL)
			return st;
	}
	mv_buf_printf(explain, "organizational domain of %s: %s (%s)\n", d, o,
	              c->mode == MV_DMARC_MODE_7489 ? "public suffix list" : "DNS tree walk");
	if (oc->n == MV_DMARC_ORGCACHE || (copy = strdup(d)) == NULL) {
		*org = NULL;
		free(o);
		return oc->n == MV_DMARC_ORGCACHE ? MV_ELIMIT : MV_ENOMEM;
	}
	oc->domain[oc->n] = copy;
	oc->org[oc->n] = o;
	*org = oc->org[oc->n++];
	return MV_OK;
}

/* 1 when d is anc or a name below it (ASCII, any case). */
static int is_self_or_below(const char *d, const char *anc)
{
	size_t dl = strlen(d), al = strlen(anc);

	if (dl == al)
		return strcasecmp(d, anc) == 0;
	return dl > al && d[dl - al - 1] == '.' && strcasecmp(d + dl - al, anc) == 0;
}

enum mv_status mv_dmarc_aligned(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                struct mv_dmarc_orgcache *oc, const char *id, const char *author,
                                enum mv_dmarc_align mode, int *aligned, int *failed,
                                struct mv_buf *explain)
{
	const char *oa, *oi;
	enum mv_status st;

	*aligned = 0;
	if (strcasecmp(id, author) == 0) {
		*aligned = 1;
		return MV_OK;
	}
	if (mode == MV_DMARC_STRICT || !share_suffix(id, author))
		return MV_OK;
	if ((st = org_of(r, c, oc, author, &oa, failed, explain)) != MV_OK || oa == NULL)
		return st == MV_ELIMIT ? MV_OK : st;
	/*
	 * The organizational domain of id is id or one of its ancestors: when
	 * the author's is neither, they cannot align, and id's own walk (in the
	 * DNS of whoever controls id, maybe slow on purpose, which would make
	 * the result temperror) is not needed.
	 */
	if (!is_self_or_below(id, oa))
		return MV_OK;
	if ((st = org_of(r, c, oc, id, &oi, failed, explain)) != MV_OK || oi == NULL)
		return st == MV_ELIMIT ? MV_OK : st;
	*aligned = strcasecmp(oa, oi) == 0;
	return MV_OK;
}

const char *mv_dmarc_org_cached(const struct mv_dmarc_orgcache *oc, const char *d)
{
	size_t k;

	for (k = 0; k < oc->n; k++)
		if (strcasecmp(oc->domain[k], d) == 0)
			return oc->org[k];
	return NULL;
}
