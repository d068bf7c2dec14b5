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

/* Number of labels of a name without trailing dot, and a pointer to its last `keep` labels. */
size_t mv_dmarc_labels(const char *d);
const char *mv_dmarc_last_labels(const char *d, size_t keep);

#endif
