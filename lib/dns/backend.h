/* lib/dns/backend.h — what a resolver backend provides, and the parts every backend shares. */
#ifndef MAILVET_DNS_BACKEND_H
#define MAILVET_DNS_BACKEND_H

#include <stddef.h>

#include <mailvet/dns.h>

#define MV_DNS_NAME_MAX 253 /* text form, without the trailing dot (RFC 1035 §2.3.4) */
#define MV_DNS_LABEL_MAX 63

/*
 * What a backend found for one (name, type): views borrowed from the backend,
 * valid until ops->release(). resolver.c copies them into an answer.
 * - rcode/rr/count: as in struct mv_dns_answer.
 * - cname: set (and rcode ignored) when the backend leaves CNAMEs to the
 *   generic layer and the name holds a CNAME to this target (no trailing dot)
 *   while it has no record of the asked type.
 * - chain: the CNAME targets the backend followed itself, in order (the
 *   first is the asked name's target), lowercased, no trailing dot; the last
 *   owns the records. nchain 0: the asked name owns them.
 */
struct mv_dns_view {
	enum mv_dns_rcode rcode;
	const struct mv_dns_rr *rr;
	size_t count;
	const char *cname;
	const char *const *chain;
	size_t nchain;
	int secure;
	unsigned ttl; /* seconds the answer may be kept (0: unknown, do not cache) */
	void *priv;   /* the backend's, for release() */
};

/*
 * Where a backend's prefetch hands each answer it got: name is the
 * question's name (normalized), v a view the backend releases after the call.
 */
typedef void (*mv_dns_deliver_fn)(void *arg, const char *name, enum mv_dns_type type,
                                  const struct mv_dns_view *v);

/*
 * A backend is a table of functions (DESIGN.md "DNS is an interface").
 * lookup() gets a valid, lowercased name without trailing dot; it fills *v
 * and returns MV_OK, or MV_ENOMEM. It must be thread-safe and must never
 * block past the backend's timeout. release() may be NULL when views point
 * into data that outlives the resolver. prefetch() (may be NULL) asks
 * questions in parallel; if deliver is not NULL it calls it for each answer
 * it got (in the caller's thread, no lock held). destroy() frees impl.
 */
struct mv_dns_ops {
	const char *name;
	enum mv_status (*lookup)(void *impl, const char *name, enum mv_dns_type type,
	                         struct mv_dns_view *v);
	void (*release)(void *impl, struct mv_dns_view *v);
	enum mv_status (*prefetch)(void *impl, const struct mv_dns_question *q, size_t n,
	                           mv_dns_deliver_fn deliver, void *arg);
	void (*destroy)(void *impl);
};

struct mv_dns_recorder; /* record.c */
struct mv_dns_cache;    /* cache.c */

struct mv_resolver {
	const struct mv_dns_ops *ops;
	void *impl;
	struct mv_dns_recorder *rec; /* NULL unless mv_dns_record_to() was called */
	struct mv_dns_cache *cache;  /* NULL: every query goes to the backend; owned */
	struct mv_dns_stats *stats;  /* NULL: not counted; borrowed (stats.c) */
};

/*
 * stats.c: count one answered query into r->stats (when attached):
 * from_cache, or from the backend in us microseconds.
 */
void mv_dns_stats_count(struct mv_resolver *r, const struct mv_dns_answer *a, int from_cache,
                        unsigned long long us);
/* stats.c: one question a prefetch batch got an answer to, us after the batch was sent. */
void mv_dns_stats_prefetched(struct mv_resolver *r, int timeout, unsigned long long us);

/*
 * A new resolver around a backend; on MV_ENOMEM impl is destroyed with
 * ops->destroy() and *out is NULL.
 */
enum mv_status mv_dns_resolver_new(const struct mv_dns_ops *ops, void *impl,
                                   struct mv_resolver **out);

/*
 * mv_dns_query() without the backend: the answer r's answer cache holds for
 * (name, type), served and recorded exactly as mv_dns_query() serves a cache
 * hit (so it costs no wait). MV_OK: *out is new (mv_dns_answer_free()).
 * MV_ENOTFOUND: r has no cache, or no fresh entry for the question (*out
 * NULL; nothing recorded). MV_EINVAL for a bad name or type, MV_ENOMEM.
 * Thread-safe.
 */
enum mv_status mv_dns_query_cached(struct mv_resolver *r, const char *name, enum mv_dns_type type,
                                   struct mv_dns_answer **out);

/*
 * Check that name (len bytes, NUL-free) is a DNS name in text form and
 * write it lowercased, without the trailing dot, to out[0..*outlen] plus a
 * NUL. The root is "." (out is ""); an empty string, an empty label, a
 * label over 63 octets or a name over 253 octets is MV_EINVAL.
 */
enum mv_status mv_dns_name_norm(const char *name, size_t len, char out[MV_DNS_NAME_MAX + 1],
                                size_t *outlen);

/*
 * A new answer in one allocation (mv_dns_answer_free() is free()): the
 * records and strings are copied. NULL when memory runs out.
 */
struct mv_dns_answer *mv_dns_answer_new(enum mv_dns_rcode rcode, enum mv_dns_type type,
                                        const char *name, size_t namelen,
                                        const struct mv_dns_rr *rr, size_t count, int secure);

/*
 * The size of the single allocation holding a (as made by
 * mv_dns_answer_new()), and a copy of it into dst (size bytes, aligned for
 * any type) with its inner pointers moved there; returns dst as an answer.
 */
size_t mv_dns_answer_size(const struct mv_dns_answer *a);
struct mv_dns_answer *mv_dns_answer_copy_to(void *dst, const struct mv_dns_answer *a, size_t size);

/*
 * The names a query went through: name[0] the asked name, then each CNAME
 * target (lowercased, no trailing dot); the last owns the answer. overflow
 * is set when the chain was cut at MV_DNS_MAX_CNAME (or a loop), in which
 * case the last name still has a CNAME (to name[n], kept there).
 */
#define MV_DNS_CHAIN_MAX (MV_DNS_MAX_CNAME + 2)
struct mv_dns_chain {
	char name[MV_DNS_CHAIN_MAX][MV_DNS_NAME_MAX + 1];
	size_t n;
	int overflow;
};

/*
 * record.c: note one answer served for a question of type whose names were
 * chain; the recorder locks itself.
 */
void mv_dns_recorder_add(struct mv_dns_recorder *rec, const struct mv_dns_chain *chain,
                         enum mv_dns_type type, const struct mv_dns_answer *a);
void mv_dns_recorder_free(struct mv_dns_recorder *rec); /* flushes */

/*
 * Append name to b in zone-file form: bytes that are not printable ASCII
 * and the bytes ' ', ';', '"', '\\', '(' and ')' are written \DDD.
 */
struct mv_buf;
void mv_dns_zone_put_name(struct mv_buf *b, const char *name);

/* The zone-file word of a type ("TXT"); NULL for an unknown type. */
const char *mv_dns_type_str(enum mv_dns_type type);

#endif
