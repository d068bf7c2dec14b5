/* lib/dmarc/discover.h — policy discovery for one Author Domain. */
#ifndef MAILVET_DMARC_DISCOVER_H
#define MAILVET_DMARC_DISCOVER_H

#include <mailvet/dmarc.h>

/* What discovery found. Owned; mv_dmarc_found_clear() frees. */
struct mv_dmarc_found {
	int found;    /* a record applies */
	int failed;   /* a query failed first: temperror */
	char *domain; /* where the record is */
	struct mv_dmarc_record record;
};

/*
 * Find the record that applies to `author`: RFC 9989 tree walk (first
 * record found) or RFC 7489 (the author domain, then its PSL
 * Organizational Domain). One explain line per query. *f is initialised
 * in every case. MV_ENOMEM only; a name DNS cannot ask has no record.
 */
enum mv_status mv_dmarc_discover(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                 const char *author, struct mv_dmarc_found *f, struct mv_buf *ex);
void mv_dmarc_found_clear(struct mv_dmarc_found *f);

/*
 * 1 when domain is a Non-existent Domain in RFC 9989's sense: NXDOMAIN or
 * NODATA for each of A, AAAA and MX. A failed query counts as existing (the
 * np= policy is then not applied on a guess).
 */
int mv_dmarc_nonexistent(struct mv_resolver *r, const char *domain);

#endif
