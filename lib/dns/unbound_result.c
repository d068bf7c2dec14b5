/* lib/dns/unbound_result.c — map a libunbound result to a view: rcode, records, CNAME chain. */
#include <stdlib.h>
#include <string.h>

#include "dns/unbound_result.h"
#include "dns/wire.h"

#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3
#define MAX_RECORDS 65535

/* What a view points into; freed as one. */
struct view_mem {
	const char *chainp[MV_DNS_CHAIN_MAX];
	char chain[MV_DNS_CHAIN_MAX][MV_DNS_NAME_MAX + 1];
	struct mv_dns_rr *rr;
	char *strs;
};

void mv_dns_unbound_view_free(struct mv_dns_view *v)
{
	struct view_mem *m = v->priv;

	if (!m)
		return;
	free(m->rr);
	free(m->strs);
	free(m);
	v->priv = NULL;
}

/* The records of res: 1 parsed, 0 malformed (SERVFAIL), -1 out of memory. */
static int parse_records(const struct ub_result *res, enum mv_dns_type type, struct view_mem *m,
                         struct mv_dns_view *v)
{
	size_t count = 0, room = 0, used = 0, i;
	long n;

	while (res->data[count] && count < MAX_RECORDS) {
		if (res->len[count] < 0)
			return 0;
		room += (size_t)res->len[count] + MV_DNS_NAME_MAX + 2;
		count++;
	}
	if (count == 0)
		return 0;
	if (!(m->rr = calloc(count, sizeof *m->rr)) || !(m->strs = malloc(room)))
		return -1;
	for (i = 0; i < count; i++) {
		n = mv_dns_wire_rdata(type, (const uint8_t *)res->data[i], (size_t)res->len[i],
		                      &m->rr[i], m->strs + used);
		if (n < 0)
			return 0;
		used += (size_t)n;
	}
	v->rr = m->rr;
	v->count = count;
	return 1;
}

/* The CNAMEs libunbound followed, from the answer section. */
static void read_chain(const struct ub_result *res, const char *qname, enum mv_dns_type type,
                       struct view_mem *m, struct mv_dns_view *v)
{
	size_t n = 0, i;

	if (type == MV_DNS_CNAME || !res->answer_packet || res->answer_len <= 0)
		return;
	if (mv_dns_wire_cname_chain(res->answer_packet, (size_t)res->answer_len, qname, m->chain,
	                            MV_DNS_CHAIN_MAX - 1, &n) < 0)
		n = 0;
	for (i = 0; i < n; i++)
		m->chainp[i] = m->chain[i];
	v->chain = m->chainp;
	v->nchain = n;
}

/*
 * How long the answer may be kept: libunbound's ttl (of the answer's
 * records, or for a negative answer the SOA's, clamped by its MINIMUM), and
 * no longer than any CNAME link of the answer packet; 0 when neither
 * knows (e.g. a negative answer without an SOA: not to be cached).
 */
static unsigned ttl_of(const struct ub_result *res)
{
	uint32_t pkt;
	unsigned ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	int rc = 0; /* no packet: libunbound's ttl alone */

	if (res->answer_packet && res->answer_len > 0)
		rc = mv_dns_wire_min_ttl(res->answer_packet, (size_t)res->answer_len, &pkt);
	if (rc < 0)
		return 0;
	if (rc == 1 && (pkt < ttl || ttl == 0))
		ttl = pkt;
	return ttl;
}

enum mv_status mv_dns_unbound_view(const struct ub_result *res, const char *qname,
                                   enum mv_dns_type type, struct mv_dns_view *v)
{
	struct view_mem *m = calloc(1, sizeof *m);
	int rc;

	if (!m)
		return MV_ENOMEM;
	v->priv = m;
	v->secure = res->secure && !res->bogus;
	if (res->bogus || (res->rcode != RCODE_NOERROR && res->rcode != RCODE_NXDOMAIN)) {
		v->rcode = MV_DNS_SERVFAIL;
		return MV_OK;
	}
	read_chain(res, qname, type, m, v);
	v->ttl = ttl_of(res);
	if (res->nxdomain || res->rcode == RCODE_NXDOMAIN) {
		v->rcode = MV_DNS_NXDOMAIN;
	} else if (!res->havedata) {
		v->rcode = MV_DNS_NODATA;
	} else if ((rc = parse_records(res, type, m, v)) < 0) {
		mv_dns_unbound_view_free(v);
		return MV_ENOMEM;
	} else {
		v->rcode = rc ? MV_DNS_RECORDS : MV_DNS_SERVFAIL;
	}
	return MV_OK;
}
