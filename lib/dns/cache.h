/* lib/dns/cache.h — the in-process answer cache in front of a backend (private API). */
#ifndef MAILVET_DNS_CACHE_H
#define MAILVET_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/backend.h"

/* Bounds and TTL rules; 0 in a field means its default (include/mailvet/dns.h). */
struct mv_dns_cache_opts {
	size_t entries;
	size_t bytes;
	unsigned min_ttl, max_ttl, neg_ttl;
};

struct mv_dns_cache;

/* Milliseconds of a monotonic clock; arg is the one given with it. */
typedef uint64_t (*mv_dns_cache_clock_fn)(void *arg);

/*
 * A new, empty cache (freed with mv_dns_cache_free()). MV_ENOMEM, or
 * MV_EINVAL for entries = MV_DNS_CACHE_OFF (no cache wanted).
 */
enum mv_status mv_dns_cache_new(const struct mv_dns_cache_opts *o, struct mv_dns_cache **out);
void mv_dns_cache_free(struct mv_dns_cache *c); /* NULL is fine */

/*
 * Replace the clock (CLOCK_MONOTONIC by default), for tests; call it before
 * the cache is shared between threads.
 */
void mv_dns_cache_set_clock(struct mv_dns_cache *c, mv_dns_cache_clock_fn fn, void *arg);

/*
 * Look up (key, type), key a normalized name (mv_dns_name_norm) of keylen
 * bytes. On a fresh entry: *out is a new copy of the answer (the caller
 * frees it with mv_dns_answer_free(); ttl set to the seconds left), chain
 * (if not NULL) holds the names the answer went through, and the result is
 * 1. 0: not cached or expired (*out NULL). -1: out of memory (*out NULL).
 * Thread-safe.
 */
int mv_dns_cache_get(struct mv_dns_cache *c, const char *key, size_t keylen, enum mv_dns_type type,
                     struct mv_dns_answer **out, struct mv_dns_chain *chain);

/* 1 if (key, type) has a fresh entry, without copying it. Thread-safe. */
int mv_dns_cache_has(struct mv_dns_cache *c, const char *key, size_t keylen, enum mv_dns_type type);

/*
 * Keep a copy of a, the answer to (chain->name[0], type) found through
 * chain, for a->ttl seconds clamped by the cache's rules. SERVFAIL, TIMEOUT,
 * a TTL that clamps to 0 and an answer over the size bound are not kept
 * (nor is anything when memory runs out: a cache may forget). A fresh entry
 * for the same question is replaced. Evicts least recently used entries to
 * stay within the bounds. Thread-safe.
 */
void mv_dns_cache_put(struct mv_dns_cache *c, const struct mv_dns_chain *chain,
                      enum mv_dns_type type, const struct mv_dns_answer *a);

/* Counters since creation, for tests and statistics. */
struct mv_dns_cache_stats {
	uint64_t hits, misses, inserts, evictions, expired;
	size_t entries, bytes;
};
void mv_dns_cache_stats(struct mv_dns_cache *c, struct mv_dns_cache_stats *s);

#endif
