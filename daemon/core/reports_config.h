/* daemon/core/reports_config.h — the [reports] section of mailvet.conf: where DMARC records go. */
#ifndef MAILVETD_CORE_REPORTS_CONFIG_H
#define MAILVETD_CORE_REPORTS_CONFIG_H

#include <stddef.h>

#define MVD_REPORTS_QUEUE_DEFAULT 10000 /* records held in memory for the writer */
#define MVD_REPORTS_QUEUE_MAX 1000000
#define MVD_REPORTS_BATCH_DEFAULT 200 /* records per store transaction */
#define MVD_REPORTS_BATCH_MAX 10000

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
 * [reports]: store = the record store's location ("sqlite:/path", or an
 * absolute path; "" = recording off, the default), queue = records held in
 * memory while the store is slow or down (the oldest dropped beyond it),
 * batch = records written per transaction. store is owned, freed by
 * mvd_reports_conf_free().
 */
struct mvd_reports_conf {
	char *store;
	unsigned queue;
	unsigned batch;
	struct mvd_failure_conf failure; /* failure_* keys (ruf=) */
};

/* Defaults (no allocation). */
void mvd_reports_conf_init(struct mvd_reports_conf *r);

/*
 * One "key = value" line of [reports]; each key once. 0, or -1 with the
 * reason in why (at most whylen-1 bytes).
 */
int mvd_reports_conf_set(struct mvd_reports_conf *r, const char *key, const char *value, char *why,
                         size_t whylen);

void mvd_reports_conf_free(struct mvd_reports_conf *r);

#endif
