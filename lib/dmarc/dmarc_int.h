/* lib/dmarc/dmarc_int.h — what the files of lib/dmarc share and nobody else needs. */
#ifndef MAILVET_DMARC_INT_H
#define MAILVET_DMARC_INT_H

#include <mailvet/dmarc.h>

/*
 * Query _dmarc.<s->domain> TXT into s (found / discarded / failed and the
 * record), keeping what RFC 9989 §4.10 steps 1-2 keep. s->domain is set by
 * the caller; the rest of *s must be zero. A domain that is a DNS name but
 * too long to stand under "_dmarc." (RFC 1035 §2.3.4: 253 octets in all)
 * is not asked: MV_OK with s->toolong set and no record. MV_EINVAL for a
 * name that is not a DNS name, MV_ENOMEM.
 */
enum mv_status mv_dmarc_query_step(struct mv_resolver *r, struct mv_dmarc_step *s);

/*
 * The steps of the RFC 9989 §4.10 tree walk, shared by mv_dmarc_walk() and
 * mv_dmarc_questions() so that the questions published are the ones asked.
 * mv_dmarc_walkable(): 1 when a walk can start at domain (not empty, at most
 * 253 octets, no trailing dot). mv_dmarc_walk_next(): after the step at the
 * last *labels labels of domain, the name of the next step (a pointer into
 * domain, *labels updated), or NULL when that step was the last (one label).
 */
int mv_dmarc_walkable(const char *domain);
const char *mv_dmarc_walk_next(const char *domain, size_t *labels);

/*
 * _dmarc.<domain> into qname. MV_ETOOBIG when it would pass 253 octets (no
 * such name can exist: not asked), MV_EINVAL when domain itself does.
 */
#define MV_DMARC_QNAME_MAX (253 + 8)
enum mv_status mv_dmarc_qname(const char *domain, char qname[MV_DMARC_QNAME_MAX]);

/* Number of labels of a name without trailing dot, and a pointer to its last `keep` labels. */
size_t mv_dmarc_labels(const char *d);
const char *mv_dmarc_last_labels(const char *d, size_t keep);

#endif
