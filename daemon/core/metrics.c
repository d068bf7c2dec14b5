/* daemon/core/metrics.c — the daemon's counters (C11 atomics) and their Prometheus text form. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "runtime.h"

typedef _Atomic unsigned long long counter;

static const char *const front_ends[MVD_FRONT_N] = {"milter", "smtp"};
static const char *const verdicts[MVD_VERDICT_N] = {"accept", "reject", "quarantine", "tempfail"};
static const char *const errors[MVD_ERROR_N] = {"internal", "unreadable_header",
                                                "http_unauthorized"};
/* RFC 8601's methods we produce and its result names; anything else is "other" (the last). */
static const char *const methods[] = {"spf", "dkim", "dmarc", "arc", "iprev", "auth", "other"};
static const char *const results[] = {"none",      "pass",      "fail",   "softfail", "neutral",
                                      "temperror", "permerror", "policy", "other"};
static const char *const policies[] = {"none", "quarantine", "reject", "other"};
static const char *const peers[MVD_PEER_N] = {"key", "auth"};
static const char *const calls[MVD_CALL_N] = {"answered", "timeout", "error", "skipped"};
#define NMETHODS (sizeof methods / sizeof methods[0])
#define NRESULTS (sizeof results / sizeof results[0])
#define NPOLICIES (sizeof policies / sizeof policies[0])

/* Seconds of checks per message: a cached verdict in milliseconds to a DNS timeout. */
static const double verify_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25,  0.5,   1,    2.5,   5,    10};
#define NVERIFY (sizeof verify_bounds / sizeof verify_bounds[0])

/*
 * The per-minute ring for the status page: one word per (minute, verdict),
 * the minute number in the high 32 bits and the count in the low 32, so a
 * slot from a day ago is restarted by the same compare-and-swap that
 * counts (no lock, no reset race).
 */
#define RING_MINUTES 1440

static struct {
	_Atomic long long start;
	counter messages[MVD_FRONT_N][MVD_VERDICT_N];
	counter results[NMETHODS][NRESULTS];
	counter dmarc_policy[NPOLICIES];
	counter errors[MVD_ERROR_N];
	counter calls[MVD_PEER_N][MVD_CALL_N];
	_Atomic long long sessions[MVD_FRONT_N];
	counter verify[NVERIFY + 1]; /* per bucket; the last: slower than every bound */
	counter verify_us_sum;
	_Atomic uint64_t ring[RING_MINUTES][MVD_VERDICT_N];
	struct mv_dns_stats dns;
} m;

/* The index of name in names[0..n-1], else n-1 ("other"). */
static size_t index_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i + 1 < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return n - 1;
}

const char *mvd_metrics_front_end_name(enum mvd_front_end f)
{
	return f < MVD_FRONT_N ? front_ends[f] : "other";
}

const char *mvd_metrics_verdict_name(enum mvd_metric_verdict v)
{
	return v < MVD_VERDICT_N ? verdicts[v] : "other";
}

enum mvd_metric_verdict mvd_metrics_verdict(const char *name)
{
	for (size_t i = 0; name && i < MVD_VERDICT_N; i++)
		if (strcmp(verdicts[i], name) == 0)
			return (enum mvd_metric_verdict)i;
	return MVD_VERDICT_N;
}

void mvd_metrics_init(void)
{
	long long zero = 0;

	atomic_compare_exchange_strong(&m.start, &zero, (long long)time(NULL));
}

static void add(counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void ring_count(time_t now, enum mvd_metric_verdict v)
{
	uint64_t minute = (uint64_t)(now / 60) & 0xffffffffu;
	_Atomic uint64_t *slot = &m.ring[minute % RING_MINUTES][v];
	uint64_t old = atomic_load_explicit(slot, memory_order_relaxed), next;

	do {
		next = (old >> 32) == minute ? old + 1 : (minute << 32) | 1;
	} while (!atomic_compare_exchange_weak_explicit(slot, &old, next, memory_order_relaxed,
	                                                memory_order_relaxed));
}

void mvd_metrics_message(enum mvd_front_end f, enum mvd_metric_verdict v, double seconds)
{
	unsigned long long us = seconds > 0 ? (unsigned long long)(seconds * 1e6) : 0;
	size_t i = 0;

	if (f >= MVD_FRONT_N || v >= MVD_VERDICT_N)
		return;
	add(&m.messages[f][v]);
	ring_count(time(NULL), v);
	while (i < NVERIFY && seconds > verify_bounds[i])
		i++;
	add(&m.verify[i]);
	atomic_fetch_add_explicit(&m.verify_us_sum, us, memory_order_relaxed);
}

void mvd_metrics_result(const char *method, const char *result)
{
	add(&m.results[index_of(methods, NMETHODS, method)][index_of(results, NRESULTS, result)]);
}

void mvd_metrics_dmarc_policy(const char *disposition)
{
	add(&m.dmarc_policy[index_of(policies, NPOLICIES, disposition)]);
}

void mvd_metrics_error(enum mvd_metric_error kind)
{
	if (kind < MVD_ERROR_N)
		add(&m.errors[kind]);
}

void mvd_metrics_call(enum mvd_metric_peer p, enum mvd_metric_call c)
{
	if (p < MVD_PEER_N && c < MVD_CALL_N)
		add(&m.calls[p][c]);
}

void mvd_metrics_session(enum mvd_front_end f, int delta)
{
	if (f < MVD_FRONT_N)
		atomic_fetch_add_explicit(&m.sessions[f], delta, memory_order_relaxed);
}

struct mv_dns_stats *mvd_metrics_dns(void)
{
	return &m.dns;
}

unsigned long long mvd_metrics_messages(enum mvd_front_end f, enum mvd_metric_verdict v)
{
	return f < MVD_FRONT_N && v < MVD_VERDICT_N ? atomic_load(&m.messages[f][v]) : 0;
}

long long mvd_metrics_sessions(enum mvd_front_end f)
{
	return f < MVD_FRONT_N ? atomic_load(&m.sessions[f]) : 0;
}

time_t mvd_metrics_start_time(void)
{
	return (time_t)atomic_load(&m.start);
}

void mvd_metrics_recent(time_t now, struct mvd_metrics_recent *out)
{
	uint64_t minute = (uint64_t)(now / 60) & 0xffffffffu;

	memset(out, 0, sizeof *out);
	for (size_t s = 0; s < RING_MINUTES; s++)
		for (size_t v = 0; v < MVD_VERDICT_N; v++) {
			uint64_t w = atomic_load_explicit(&m.ring[s][v], memory_order_relaxed);
			uint64_t age = (minute - (w >> 32)) & 0xffffffffu;
			if (w == 0 || age >= RING_MINUTES)
				continue;
			out->day[v] += w & 0xffffffffu;
			if (age < 60)
				out->hour[v] += w & 0xffffffffu;
		}
}

/* ---- The text format ------------------------------------------------------ */

static void head(struct mv_buf *b, const char *name, const char *type, const char *help)
{
	mv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram from per-bucket counts (n bounds, n+1 counts) and a sum in microseconds. */
static void histogram(struct mv_buf *b, const char *name, const double *bounds, size_t n,
                      counter *per, unsigned long long sum_us)
{
	unsigned long long cum = 0;

	for (size_t i = 0; i <= n; i++) {
		cum += atomic_load_explicit(&per[i], memory_order_relaxed);
		if (i < n)
			mv_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], cum);
		else
			mv_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
	}
	mv_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, (double)sum_us / 1e6, name, cum);
}

static void render_messages(struct mv_buf *b)
{
	head(b, "mailvet_messages_total", "counter",
	     "Messages answered, by front end and verdict.");
	for (size_t f = 0; f < MVD_FRONT_N; f++)
		for (size_t v = 0; v < MVD_VERDICT_N; v++)
			mv_buf_printf(
			        b, "mailvet_messages_total{front_end=\"%s\",verdict=\"%s\"} %llu\n",
			        front_ends[f], verdicts[v], atomic_load(&m.messages[f][v]));
	head(b, "mailvet_results_total", "counter",
	     "Authentication results of messages, by method and result.");
	for (size_t i = 0; i < NMETHODS; i++)
		for (size_t r = 0; r < NRESULTS; r++)
			mv_buf_printf(b,
			              "mailvet_results_total{method=\"%s\",result=\"%s\"} %llu\n",
			              methods[i], results[r], atomic_load(&m.results[i][r]));
	head(b, "mailvet_dmarc_policy_applied_total", "counter",
	     "Messages that failed DMARC, by the disposition their domain's policy gave.");
	for (size_t i = 0; i < NPOLICIES; i++)
		mv_buf_printf(b, "mailvet_dmarc_policy_applied_total{policy=\"%s\"} %llu\n",
		              policies[i], atomic_load(&m.dmarc_policy[i]));
	head(b, "mailvet_verify_duration_seconds", "histogram",
	     "Time from the start of a message to its verdict.");
	histogram(b, "mailvet_verify_duration_seconds", verify_bounds, NVERIFY, m.verify,
	          atomic_load(&m.verify_us_sum));
}

static void render_dns(struct mv_buf *b)
{
	double bounds[MV_DNS_LATENCY_BUCKETS];

	for (size_t i = 0; i < MV_DNS_LATENCY_BUCKETS; i++)
		bounds[i] = (double)mv_dns_latency_bounds_us[i] / 1e6;
	head(b, "mailvet_dns_queries_total", "counter", "DNS queries asked by the checks.");
	mv_buf_printf(b, "mailvet_dns_queries_total %llu\n", atomic_load(&m.dns.queries));
	head(b, "mailvet_dns_cache_hits_total", "counter",
	     "DNS queries answered from the in-process cache.");
	mv_buf_printf(b, "mailvet_dns_cache_hits_total %llu\n", atomic_load(&m.dns.cache_hits));
	head(b, "mailvet_dns_prefetched_total", "counter",
	     "DNS questions sent ahead of the checks (prefetch).");
	mv_buf_printf(b, "mailvet_dns_prefetched_total %llu\n", atomic_load(&m.dns.prefetched));
	head(b, "mailvet_dns_timeouts_total", "counter", "DNS questions that timed out.");
	mv_buf_printf(b, "mailvet_dns_timeouts_total %llu\n", atomic_load(&m.dns.timeouts));
	head(b, "mailvet_dns_query_duration_seconds", "histogram",
	     "Round trips to the DNS backend (cache misses and prefetched questions).");
	histogram(b, "mailvet_dns_query_duration_seconds", bounds, MV_DNS_LATENCY_BUCKETS,
	          m.dns.latency, atomic_load(&m.dns.latency_us_sum));
}

/* The running configuration's decoded-key cache (a reload starts a new one). */
static void render_keycache(struct mv_buf *b)
{
	struct mv_dkim_keycache_stats st;
	struct mvd_runtime *rt = mvd_runtime_acquire();

	memset(&st, 0, sizeof st);
	if (rt && rt->keycache)
		mv_dkim_keycache_stats(rt->keycache, &st);
	mvd_runtime_release(rt);
	head(b, "mailvet_dkim_key_cache_hits_total", "counter",
	     "DKIM and ARC public keys found decoded in the cache (since the last reload).");
	mv_buf_printf(b, "mailvet_dkim_key_cache_hits_total %llu\n", (unsigned long long)st.hits);
	head(b, "mailvet_dkim_key_cache_misses_total", "counter",
	     "DKIM and ARC public keys decoded because the cache had no copy (since the last "
	     "reload).");
	mv_buf_printf(b, "mailvet_dkim_key_cache_misses_total %llu\n",
	              (unsigned long long)st.misses);
	head(b, "mailvet_dkim_key_cache_evictions_total", "counter",
	     "Decoded keys dropped from the full cache (since the last reload).");
	mv_buf_printf(b, "mailvet_dkim_key_cache_evictions_total %llu\n",
	              (unsigned long long)st.evictions);
	head(b, "mailvet_dkim_key_cache_entries", "gauge", "Decoded keys in the cache.");
	mv_buf_printf(b, "mailvet_dkim_key_cache_entries %zu\n", st.entries);
}

void mvd_metrics_render(struct mv_buf *b)
{
	render_messages(b);
	render_dns(b);
	render_keycache(b);
	head(b, "mailvet_sessions_open", "gauge", "Front-end sessions open, by front end.");
	for (size_t f = 0; f < MVD_FRONT_N; f++)
		mv_buf_printf(b, "mailvet_sessions_open{front_end=\"%s\"} %lld\n", front_ends[f],
		              atomic_load(&m.sessions[f]));
	head(b, "mailvet_errors_total", "counter", "Errors, by kind.");
	for (size_t i = 0; i < MVD_ERROR_N; i++)
		mv_buf_printf(b, "mailvet_errors_total{kind=\"%s\"} %llu\n", errors[i],
		              atomic_load(&m.errors[i]));
	head(b, "mailvet_privsep_calls_total", "counter",
	     "The worker's requests to the key and auth processes, by how they ended.");
	for (size_t p = 0; p < MVD_PEER_N; p++)
		for (size_t c = 0; c < MVD_CALL_N; c++)
			mv_buf_printf(
			        b,
			        "mailvet_privsep_calls_total{process=\"%s\",outcome=\"%s\"} %llu\n",
			        peers[p], calls[c], atomic_load(&m.calls[p][c]));
	head(b, "mailvet_build_info", "gauge", "The running mailvetd's version (always 1).");
	mv_buf_printf(b, "mailvet_build_info{version=\"%s\"} 1\n", MV_VERSION);
	head(b, "process_start_time_seconds", "gauge",
	     "When the counters started (the worker process), in Unix seconds.");
	mv_buf_printf(b, "process_start_time_seconds %lld\n", atomic_load(&m.start));
}
