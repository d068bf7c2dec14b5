/* daemon/core/trace_config.h — the [trace] section of mailvet.conf: where submission trace records go. */
#ifndef MAILVETD_CORE_TRACE_CONFIG_H
#define MAILVETD_CORE_TRACE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "reports_config.h"

#define MVD_TRACE_RETENTION_DEFAULT (30 * 86400) /* seconds */

/*
 * [trace]: the keys of [reports] (store, queue, batch, spool, spool_max;
 * reports_config.h) for the trace record store, which may be another
 * store than the DMARC records', and retention = how long trace records
 * are kept ("30d", "12h", "90m", seconds; "0" = for ever): the writer
 * purges older ones once an hour.
 */
struct mvd_trace_conf {
	struct mvd_reports_conf base; /* store, queue, batch, spool, spool_max */
	int64_t retention;
};

void mvd_trace_conf_init(struct mvd_trace_conf *t);

/* One "key = value" line of [trace]: 0, or -1 with the reason in why. */
int mvd_trace_conf_set(struct mvd_trace_conf *t, const char *key, const char *value, char *why,
                       size_t whylen);

void mvd_trace_conf_free(struct mvd_trace_conf *t);

#endif
