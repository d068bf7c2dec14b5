/* lib/dns/unbound_result.h — a libunbound result as a backend view. */
#ifndef MAILVET_DNS_UNBOUND_RESULT_H
#define MAILVET_DNS_UNBOUND_RESULT_H

#include <unbound.h>

#include "dns/backend.h"

/*
 * Map res (the answer to qname, lowercased text, and type) to v: rcode
 * NXDOMAIN, NODATA (NOERROR without data), SERVFAIL (any other rcode, a
 * bogus answer, or rdata that does not parse), or the records; the CNAME
 * chain libunbound followed, read from the answer packet; secure. The view
 * owns copies of everything (res may be freed at once); release it with
 * mv_dns_unbound_view_free(). MV_ENOMEM is the only error.
 */
enum mv_status mv_dns_unbound_view(const struct ub_result *res, const char *qname,
                                   enum mv_dns_type type, struct mv_dns_view *v);
void mv_dns_unbound_view_free(struct mv_dns_view *v);

#endif
