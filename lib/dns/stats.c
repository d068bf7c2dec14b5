/* lib/dns/stats.c — what a resolver served, counted with atomics for a daemon's metrics. */
#include <stdatomic.h>

#include "dns/backend.h"

/* From a local cache's microseconds to a dead server's seconds. */
const unsigned long mv_dns_latency_bounds_us[MV_DNS_LATENCY_BUCKETS] = {
        100, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000,
};

void mv_dns_stats_attach(struct mv_resolver *r, struct mv_dns_stats *s)
{
	if (r)
		r->stats = s;
}

/* One round trip to the backend of us microseconds. */
static void observe(struct mv_dns_stats *s, unsigned long long us)
{
	size_t i = 0;

	while (i < MV_DNS_LATENCY_BUCKETS && us > mv_dns_latency_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&s->latency[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->latency_us_sum, us, memory_order_relaxed);
}

void mv_dns_stats_count(struct mv_resolver *r, const struct mv_dns_answer *a, int from_cache,
                        unsigned long long us)
{
	struct mv_dns_stats *s = r->stats;

	if (!s)
		return;
	atomic_fetch_add_explicit(&s->queries, 1, memory_order_relaxed);
	if (a && a->rcode == MV_DNS_TIMEOUT)
		atomic_fetch_add_explicit(&s->timeouts, 1, memory_order_relaxed);
	if (from_cache) {
		atomic_fetch_add_explicit(&s->cache_hits, 1, memory_order_relaxed);
		return;
	}
	observe(s, us);
}

void mv_dns_stats_prefetched(struct mv_resolver *r, int timeout, unsigned long long us)
{
	struct mv_dns_stats *s = r->stats;

	if (!s)
		return;
	atomic_fetch_add_explicit(&s->prefetched, 1, memory_order_relaxed);
	if (timeout)
		atomic_fetch_add_explicit(&s->timeouts, 1, memory_order_relaxed);
	observe(s, us);
}
