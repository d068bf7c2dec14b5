/* daemon/core/reports_config.h — the [reports] section of mailvet.conf: where DMARC records go. */
#ifndef MAILVETD_CORE_REPORTS_CONFIG_H
#define MAILVETD_CORE_REPORTS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define MVD_REPORTS_QUEUE_DEFAULT 10000 /* records held in memory for the writer */
#define MVD_REPORTS_QUEUE_MAX 1000000
#define MVD_REPORTS_BATCH_DEFAULT 200 /* records per store transaction */
#define MVD_REPORTS_BATCH_MAX 10000
#define MVD_SPOOL_MAX_DEFAULT ((uint64_t)100 << 20) /* bytes on disk per spool */
#define MVD_SPOOL_MAX_MAX ((uint64_t)1 << 40)

/* ---- failure reports (ruf=, fo=): the failure_* keys --------------------- */
#define MVD_FAILURE_SPOOL_DEFAULT "/var/spool/mailvet/failure"
#define MVD_FAILURE_RATE_DEFAULT 10     /* reports per destination ... */
#define MVD_FAILURE_WINDOW_DEFAULT 3600 /* ... per hour */
#define MVD_FAILURE_SPOOL_MAX_DEFAULT ((unsigned long long)64 << 20) /* bytes */

/*
 * failure_reports = yes|no (default no), failure_spool = absolute directory
 * (default MVD_FAILURE_SPOOL_DEFAULT), failure_rate = N/h, N/m or N/d per
 * destination (default 10/h; the excess is dropped and counted),
 * failure_redact = yes|no (default yes: RFC 6590 local parts),
 * failure_spool_max = bytes the spool may hold, with K, M or G (default 64M).
 * spool is owned (NULL = the default).
 */
struct mvd_failure_conf {
	int enabled;
	char *spool;
	unsigned rate;
	unsigned window; /* seconds */
	int redact;
	unsigned long long spool_max;
};

/*
 * [reports]: store = the record store's location ("sqlite:/path", an
 * absolute path, "postgresql://...", "postgres://..." or "pg:KEYWORDS";
 * "" = recording off, the default), queue = records held in memory while
 * the store is slow or down (beyond it they go to the spool, or the oldest
 * are dropped when there is none), batch = records written per
 * transaction, spool = a directory where records wait on disk while the
 * store is down ("" = none, the default), spool_max = the spool's bound in
 * bytes (K, M, G suffixes). The [trace] section (trace_config.c) has the
 * same keys. Strings are owned, freed by mvd_reports_conf_free().
 */
struct mvd_reports_conf {
	char *store;
	unsigned queue;
	unsigned batch;
	struct mvd_failure_conf failure; /* failure_* keys (ruf=) */
	char *spool;
	uint64_t spool_max;
};

/* Defaults (no allocation). */
void mvd_reports_conf_init(struct mvd_reports_conf *r);

/*
 * One "key = value" line of [reports]; each key once. 0, or -1 with the
 * reason in why (at most whylen-1 bytes). section names the section in
 * messages ("reports", "trace").
 */
int mvd_reports_conf_set(struct mvd_reports_conf *r, const char *key, const char *value, char *why,
                         size_t whylen);
int mvd_store_conf_set(struct mvd_reports_conf *r, const char *section, const char *key,
                       const char *value, char *why, size_t whylen);

void mvd_reports_conf_free(struct mvd_reports_conf *r);

#endif
