/* lib/dmarc/align.h — identifier alignment with a per-message cache of Organizational Domains. */
#ifndef MAILVET_DMARC_ALIGN_H
#define MAILVET_DMARC_ALIGN_H

#include <mailvet/dmarc.h>

#define MV_DMARC_ORGCACHE 16 /* distinct domains whose org domain one message may ask for */

/* Organizational Domains found so far for one message; zero-initialise, clear after. */
struct mv_dmarc_orgcache {
	char *domain[MV_DMARC_ORGCACHE];
	char *org[MV_DMARC_ORGCACHE];
	size_t n;
};
void mv_dmarc_orgcache_clear(struct mv_dmarc_orgcache *oc);
/* The org domain cached for d, or NULL. Borrowed until clear. */
const char *mv_dmarc_org_cached(const struct mv_dmarc_orgcache *oc, const char *d);

/*
 * *aligned = 1 when identifier id aligns with the Author Domain in `mode`:
 * strict: the same name (ASCII case-insensitive); relaxed: the same
 * Organizational Domain (tree walk or PSL by c->mode). Names without a
 * common last label are never aligned and cost no query. *failed is set
 * (never cleared) when a walk query failed, so relaxed alignment could not
 * be decided. A line per org domain found goes to explain. MV_ENOMEM only.
 */
enum mv_status mv_dmarc_aligned(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                struct mv_dmarc_orgcache *oc, const char *id, const char *author,
                                enum mv_dmarc_align mode, int *aligned, int *failed,
                                struct mv_buf *explain);

#endif
