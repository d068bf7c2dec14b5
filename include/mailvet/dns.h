/* include/mailvet/dns.h — the resolver interface and its backends (DESIGN.md "DNS is an interface"). */
#ifndef MAILVET_DNS_H
#define MAILVET_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>

/* Query types, numbered as on the wire (RFC 1035, RFC 3596). */
enum mv_dns_type {
	MV_DNS_A = 1,
	MV_DNS_CNAME = 5,
	MV_DNS_PTR = 12,
	MV_DNS_MX = 15,
	MV_DNS_TXT = 16,
	MV_DNS_AAAA = 28,
};

/* What a query came back with; every answer has exactly one. */
enum mv_dns_rcode {
	MV_DNS_RECORDS,  /* one or more records of the asked type */
	MV_DNS_NXDOMAIN, /* the name does not exist */
	MV_DNS_NODATA,   /* the name exists but has no record of the type */
	MV_DNS_SERVFAIL, /* the server failed (or any other error rcode) */
	MV_DNS_TIMEOUT,  /* no answer within the resolver's timeout */
};

/* One resource record of an answer. Fields not used by its type are zero/NULL. */
struct mv_dns_rr {
	enum mv_dns_type type;
	uint8_t addr[16]; /* A: 4 bytes, AAAA: 16 bytes, network order */
	unsigned pref;    /* MX preference */
	char *host;       /* MX exchange, PTR or CNAME target: no trailing dot */
	char *txt;        /* TXT: all strings of the record concatenated; NUL-terminated */
	size_t txtlen;    /* TXT: length (the bytes may hold NULs) */
};

/*
 * An answer. owned by the caller of mv_dns_query(), freed with
 * mv_dns_answer_free(). `count` is 0 unless rcode is MV_DNS_RECORDS.
 * `name` is the name the records belong to after following CNAMEs
 * (no trailing dot, as asked when there was no CNAME; lowercase after a
 * CNAME; "" for the root). Answers are made only by mv_dns_query(): the
 * answer, its records and their strings are one allocation, so callers
 * read them but never replace or free the pointers inside.
 */
struct mv_dns_answer {
	enum mv_dns_rcode rcode;
	enum mv_dns_type type;
	char *name;
	size_t count;
	struct mv_dns_rr *rr;
	int secure; /* 1 when DNSSEC validated it; 0 otherwise */
	/*
	 * Seconds the answer may be kept: the smallest TTL of its records and
	 * of the CNAMEs followed (NXDOMAIN/NODATA: the SOA's negative TTL,
	 * RFC 2308); from a resolver's answer cache, the seconds it has left
	 * there. 0 when unknown (the zone backend) or not to be kept.
	 */
	unsigned ttl;
};

void mv_dns_answer_free(struct mv_dns_answer *a); /* NULL is fine */

struct mv_resolver; /* opaque; a backend behind a table of functions */

/*
 * Ask one question. `name` is a domain name with or without a trailing dot
 * (case-insensitive). CNAME chains are followed, at most MV_DNS_MAX_CNAME
 * links; a longer chain or a loop answers MV_DNS_SERVFAIL.
 *
 * On MV_OK *out is a new answer (rcode says records, NXDOMAIN, NODATA,
 * SERVFAIL or TIMEOUT). DNS failures are answers, not statuses: a status
 * other than MV_OK means the question could not be asked at all —
 * MV_EINVAL for a name that is not a valid DNS name (empty label, label over
 * 63 octets, name over 253 octets), MV_ENOMEM — and *out is then NULL.
 * Never blocks longer than the resolver's timeout. Thread-safe.
 */
#define MV_DNS_MAX_CNAME 8
enum mv_status mv_dns_query(struct mv_resolver *r, const char *name, enum mv_dns_type type,
                            struct mv_dns_answer **out);

/* One question for mv_dns_prefetch(). */
struct mv_dns_question {
	const char *name;
	enum mv_dns_type type;
};

/*
 * Ask many questions at once, in parallel, and wait (at most one timeout)
 * until all are answered; the answers land in the resolver's cache so the
 * mv_dns_query() calls that follow are served from it. Failures are not
 * reported here (the later query sees them). Invalid names are skipped.
 */
enum mv_status mv_dns_prefetch(struct mv_resolver *r, const struct mv_dns_question *q, size_t n);

/*
 * The questions a check will ask, published by the check itself
 * (mv_spf_questions(), mv_dkim_questions(), mv_dmarc_questions(),
 * mv_arc_questions(), mv_iprev_questions()) so that a caller can put them
 * into one mv_dns_prefetch() batch: q[0..n-1], in the order added. Start
 * from MV_DNS_QUESTIONS_INIT (or zeroed); the names belong to the list and
 * are freed with it by mv_dns_questions_free().
 */
struct mv_dns_questions {
	struct mv_dns_question *q;
	size_t n, cap;
};
#define MV_DNS_QUESTIONS_INIT                                                                      \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
#define MV_DNS_QUESTIONS_MAX 64 /* questions one list holds at most */

/*
 * Append (name, type) to l, the name copied in normal form (lowercase, no
 * trailing dot). A question l holds already (same type, same normal name)
 * is not added again: MV_OK. MV_EINVAL for a name that is not a DNS name
 * (mv_dns_query() would refuse to ask it) or for the root; MV_ETOOBIG when
 * l holds MV_DNS_QUESTIONS_MAX questions; MV_ENOMEM. On any error l is as
 * it was.
 */
enum mv_status mv_dns_questions_add(struct mv_dns_questions *l, const char *name,
                                    enum mv_dns_type type);

/* 1 when l holds (name, type), the name compared in normal form; else 0. */
int mv_dns_questions_has(const struct mv_dns_questions *l, const char *name, enum mv_dns_type type);

/* Free the names and the array; l is empty (and usable) again. */
void mv_dns_questions_free(struct mv_dns_questions *l);

/*
 * Record every answer this resolver serves from now on, as zone-file lines
 * (docs/zone-file.md), so the verdict can be replayed offline with
 * mv_dns_zone_open(). The file is written by mv_dns_record_flush() and by
 * mv_dns_free(). SERVFAIL and TIMEOUT answers are recorded as the
 * pseudo-types of the same name, qualified by the asked type ("TIMEOUT TXT");
 * NODATA as the marker "name NODATA"; lines are written once each.
 * mv_dns_record_to() truncates path at once (MV_EIO if it cannot) and must
 * be called before the resolver is shared between threads; a second call
 * flushes and replaces the first recording. mv_dns_record_flush() rewrites
 * the whole file: MV_EINVAL when not recording, MV_EIO, MV_ENOMEM if a
 * line could not be kept.
 */
enum mv_status mv_dns_record_to(struct mv_resolver *r, const char *path);
enum mv_status mv_dns_record_flush(struct mv_resolver *r);

/*
 * Counters of what a resolver served, for a daemon's metrics. The caller
 * owns the struct (zeroed, or MV_DNS_STATS_INIT) and attaches it to one or
 * more resolvers with mv_dns_stats_attach() before they are shared between
 * threads; the resolvers update it with C11 atomics (no lock), so a reader
 * may load any field at any time. It must outlive every resolver it is
 * attached to.
 * - queries: mv_dns_query() calls answered (cache hits included);
 * - cache_hits: those served from the in-process answer cache;
 * - prefetched: questions mv_dns_prefetch() sent to the backend and got
 *   an answer for (the queries that follow are then cache hits);
 * - timeouts: answers with rcode MV_DNS_TIMEOUT (queries and prefetched);
 * - latency[i]: round trips to the backend (queries that missed the
 *   cache, and prefetched questions) that took at most
 *   mv_dns_latency_bounds_us[i] microseconds (and more than the bound
 *   before: per bucket, not cumulative); latency[MV_DNS_LATENCY_BUCKETS]
 *   the slower ones; latency_us_sum their total time.
 */
#define MV_DNS_LATENCY_BUCKETS 12
extern const unsigned long mv_dns_latency_bounds_us[MV_DNS_LATENCY_BUCKETS];
struct mv_dns_stats {
	_Atomic unsigned long long queries;
	_Atomic unsigned long long cache_hits;
	_Atomic unsigned long long prefetched;
	_Atomic unsigned long long timeouts;
	_Atomic unsigned long long latency[MV_DNS_LATENCY_BUCKETS + 1];
	_Atomic unsigned long long latency_us_sum;
};

/* Count r's answers into s from now on (NULL stops counting). */
void mv_dns_stats_attach(struct mv_resolver *r, struct mv_dns_stats *s);

/* Release a resolver of any backend (flushing a recording). NULL is fine. */
void mv_dns_free(struct mv_resolver *r);

/*
 * Zone-file backend (docs/zone-file.md: RFC 1035 master-file syntax plus
 * pseudo-records): answers from a file,
 * for tests, the demo and offline replay. On error *out is NULL and err
 * holds "line 12: bad TXT string" (at most errlen-1 bytes; err may be NULL).
 * mv_dns_zone_parse reads the zone from memory; the text is not kept.
 * Statuses: MV_ESYNTAX, MV_ETOOBIG (zone over MV_DNS_ZONE_MAX, a line over
 * 64 KiB), MV_EIO (open: cannot read the file), MV_ENOMEM.
 * Two extensions of the master-file format, which recordings use:
 *   `owner TIMEOUT TYPE` / `owner SERVFAIL TYPE` fail only queries of TYPE;
 *   `owner NODATA` makes the name exist without records.
 * The zone answers are immutable: lookups are thread-safe and lock-free.
 */
#define MV_DNS_ZONE_MAX ((size_t)64 << 20) /* 64 MiB */
enum mv_status mv_dns_zone_open(const char *path, struct mv_resolver **out, char *err,
                                size_t errlen);
enum mv_status mv_dns_zone_parse(const char *text, size_t len, struct mv_resolver **out, char *err,
                                 size_t errlen);

/*
 * libunbound backend. `server` is "ADDR" or "ADDR@PORT" to forward to one
 * server (IPv4 or IPv6 literal), or NULL for the system's resolvers
 * (/etc/resolv.conf). timeout_ms bounds every query (0 = 5000 ms).
 * The cache is shared by every thread that uses the resolver.
 *
 * In front of libunbound sits an in-process answer cache (docs/internals/
 * dns.md), so a repeated question costs a hash lookup and a copy instead of
 * a round trip through libunbound's thread. It keeps records, NXDOMAIN and
 * NODATA answers for their TTL clamped to [cache_min_ttl, cache_max_ttl]
 * (negative answers at most cache_neg_ttl), never SERVFAIL or TIMEOUT, and
 * at most cache_entries answers and cache_bytes bytes (least recently used
 * go first). 0 in any of these fields means its default (below);
 * cache_entries = MV_DNS_CACHE_OFF turns the cache off.
 */
#define MV_DNS_CACHE_OFF ((size_t)-1)
#define MV_DNS_CACHE_ENTRIES 32768
#define MV_DNS_CACHE_BYTES ((size_t)32 << 20) /* 32 MiB */
#define MV_DNS_CACHE_MAX_TTL 86400u
#define MV_DNS_CACHE_NEG_TTL 3600u
struct mv_dns_unbound_opts {
	const char *server;
	unsigned timeout_ms;
	const char *trust_anchor_file; /* optional, enables DNSSEC validation */
	size_t cache_entries;          /* 0: MV_DNS_CACHE_ENTRIES; MV_DNS_CACHE_OFF */
	size_t cache_bytes;            /* 0: MV_DNS_CACHE_BYTES */
	unsigned cache_min_ttl;        /* default 0 */
	unsigned cache_max_ttl;        /* 0: MV_DNS_CACHE_MAX_TTL */
	unsigned cache_neg_ttl;        /* 0: MV_DNS_CACHE_NEG_TTL (NXDOMAIN, NODATA) */
};
enum mv_status mv_dns_unbound_open(const struct mv_dns_unbound_opts *o, struct mv_resolver **out,
                                   char *err, size_t errlen);

#endif
