/* include/mailvet/iprev.h — iprev (RFC 8601 §3, results §2.7.3): does the client's reverse name map back? */
#ifndef MAILVET_IPREV_H
#define MAILVET_IPREV_H

#include <stddef.h>

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/status.h>

enum mv_iprev_result {
	MV_IPREV_PASS,
	MV_IPREV_FAIL,
	MV_IPREV_TEMPERROR,
	MV_IPREV_PERMERROR,
};
const char *mv_iprev_result_str(enum mv_iprev_result r); /* "pass", ... */

#define MV_IPREV_MAX_NAMES 10 /* default bound on PTR names checked (RFC 8601 §7.11) */

/* The outcome. Strings owned; mv_iprev_verdict_clear() frees them. */
struct mv_iprev_verdict {
	enum mv_iprev_result result;
	char *ip;       /* the address as checked (normalised text form) */
	char *name;     /* pass: the name that maps back; otherwise the first PTR name or NULL */
	char *problem;  /* why, for everything but pass */
	size_t names;   /* PTR names found */
	size_t checked; /* names whose A/AAAA were queried */
};

/*
 * RFC 8601 §3: query the PTR of ip, then the A (IPv4) or AAAA (IPv6) of at
 * most max_names of its names (0 = MV_IPREV_MAX_NAMES). Results as §2.7.3:
 * pass when one name's addresses hold ip; permerror when the PTR query
 * answers NXDOMAIN or no records; temperror when the PTR query fails, or
 * when no name passed and a forward query failed; fail otherwise (forward
 * answers without ip, NXDOMAIN or NODATA). An IPv4-mapped IPv6 address is
 * checked as IPv4. MV_EINVAL when ip is not an address; MV_ENOMEM.
 * *out is initialised in every case.
 */
enum mv_status mv_iprev_check(struct mv_resolver *r, const char *ip, unsigned max_names,
                              struct mv_iprev_verdict *out);
void mv_iprev_verdict_clear(struct mv_iprev_verdict *v);

/*
 * The DNS question mv_iprev_check() for ip will ask first, the PTR of
 * mv_iprev_ptr_name(ip), appended to l for a caller's prefetch; nothing for
 * a bad address. The forward queries of the names the PTR answer holds
 * depend on it and are not in the list. MV_ENOMEM, MV_ETOOBIG (l is full).
 */
enum mv_status mv_iprev_questions(const char *ip, struct mv_dns_questions *l);

/*
 * The forward questions mv_iprev_check(r, ip, max_names) will ask once the
 * PTR answer is in cache's answer cache (read with mv_dns_query_cached():
 * nothing asked): A (or AAAA for an IPv6 client) of each of the first
 * max_names PTR names (0 = MV_IPREV_MAX_NAMES), appended to l for a
 * caller's second prefetch round. Nothing when the PTR is not cached or
 * holds no names. MV_ENOMEM, MV_ETOOBIG (l is full).
 */
enum mv_status mv_iprev_next_questions(struct mv_resolver *cache, const char *ip,
                                       unsigned max_names, struct mv_dns_questions *l);

/*
 * The reverse-lookup name of ip ("4.3.2.1.in-addr.arpa", nibbles under
 * ip6.arpa) into buf (at least 74 bytes). MV_EINVAL for a bad address.
 */
#define MV_IPREV_PTR_NAME_MAX 74
enum mv_status mv_iprev_ptr_name(const char *ip, char *buf, size_t len);

/*
 * `iprev=<result> policy.iprev=<ip>` with the name in the comment
 * (RFC 8601 §2.7.3) and the problem as reason for the errors.
 * On MV_OK *out is new (mv_result_free()).
 */
enum mv_status mv_iprev_authres_result(const struct mv_iprev_verdict *v, struct mv_result **out);

#endif
