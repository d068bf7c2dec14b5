/* daemon/core/metrics.h — the daemon's counters for /metrics and the status page (lock-free). */
#ifndef MAILVETD_CORE_METRICS_H
#define MAILVETD_CORE_METRICS_H

#include <time.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

/*
 * Every counter is a C11 atomic in this process (the worker): a message
 * path adds with one relaxed atomic operation and takes no lock; a reader
 * (the HTTP thread) loads them at any time. They start at zero when the
 * worker starts (process_start_time_seconds says when). Label sets are
 * fixed enums: a value outside them counts as "other", so no domain or
 * address ever becomes a label.
 */

enum mvd_front_end { MVD_FRONT_MILTER, MVD_FRONT_SMTP, MVD_FRONT_N };
enum mvd_metric_verdict {
	MVD_VERDICT_ACCEPT,
	MVD_VERDICT_REJECT,
	MVD_VERDICT_QUARANTINE,
	MVD_VERDICT_TEMPFAIL,
	MVD_VERDICT_N
};
enum mvd_metric_error {
	MVD_ERROR_INTERNAL,          /* the pipeline failed ([policy] on_error answered) */
	MVD_ERROR_UNREADABLE_HEADER, /* a header lib/verify could not take whole */
	MVD_ERROR_HTTP_UNAUTHORIZED, /* a request to the HTTP listener without credentials */
	MVD_ERROR_N
};

/* The processes the worker asks (privilege separation), and how each request ended. */
enum mvd_metric_peer { MVD_PEER_KEY, MVD_PEER_AUTH, MVD_PEER_N };
enum mvd_metric_call {
	MVD_CALL_ANSWERED, /* its reply came */
	MVD_CALL_TIMEOUT,  /* none in time (or no free socket, or the socket full) */
	MVD_CALL_ERROR,    /* the socket failed */
	MVD_CALL_SKIPPED,  /* not asked: the process was found not answering, fail at once */
	MVD_CALL_N
};

/* "milter", "accept", "internal", ...: the label values. */
const char *mvd_metrics_front_end_name(enum mvd_front_end f);
const char *mvd_metrics_verdict_name(enum mvd_metric_verdict v);
/* The verdict called name ("accept" ...); MVD_VERDICT_N when it is none of them. */
enum mvd_metric_verdict mvd_metrics_verdict(const char *name);

/* Note the start of the counters (process_start_time_seconds); once per process. */
void mvd_metrics_init(void);

/* One message the front end f answered with verdict v after seconds of checks. */
void mvd_metrics_message(enum mvd_front_end f, enum mvd_metric_verdict v, double seconds);
/* One result of a method (RFC 8601 names: "spf", "pass"); others count as "other". */
void mvd_metrics_result(const char *method, const char *result);
/* A message that failed DMARC got disposition ("none", "quarantine", "reject"). */
void mvd_metrics_dmarc_policy(const char *disposition);
void mvd_metrics_error(enum mvd_metric_error kind);
/* One request of the worker to the key or auth process ended so. */
void mvd_metrics_call(enum mvd_metric_peer p, enum mvd_metric_call c);
/* A session of front end f opened (delta 1) or closed (-1). */
void mvd_metrics_session(enum mvd_front_end f, int delta);

/* The DNS counters every resolver of this process is attached to (mv_dns_stats_attach). */
struct mv_dns_stats *mvd_metrics_dns(void);

/* ---- Readers ------------------------------------------------------------- */

unsigned long long mvd_metrics_messages(enum mvd_front_end f, enum mvd_metric_verdict v);
long long mvd_metrics_sessions(enum mvd_front_end f);
time_t mvd_metrics_start_time(void);

/* Messages by verdict in the last hour and the last day, from the ring of per-minute counts. */
struct mvd_metrics_recent {
	unsigned long long hour[MVD_VERDICT_N];
	unsigned long long day[MVD_VERDICT_N];
};
void mvd_metrics_recent(time_t now, struct mvd_metrics_recent *out);

/*
 * Append every metric to b in the Prometheus text exposition format 0.0.4
 * (HELP and TYPE lines, counters as *_total, histograms with cumulative
 * buckets, _sum and _count), base units (seconds).
 */
void mvd_metrics_render(struct mv_buf *b);

#endif
