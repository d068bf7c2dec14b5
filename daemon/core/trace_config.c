/* daemon/core/trace_config.c — the [trace] section of mailvet.conf: where submission trace records go. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_config.h"

#define RETENTION_MAX ((int64_t)100 * 366 * 86400)

void mvd_trace_conf_init(struct mvd_trace_conf *t)
{
	mvd_reports_conf_init(&t->base);
	t->retention = MVD_TRACE_RETENTION_DEFAULT;
}

/* "30d", "12h", "90m", "3600" (seconds), "0" into seconds; -1 when it is not one. */
static int64_t duration(const char *v)
{
	char *end;
	long long n;
	int64_t unit = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || v[0] == '-' || v[0] == '+' || n < 0)
		return -1;
	if (*end == 'd')
		unit = 86400;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'm')
		unit = 60;
	else if (*end != 's' && *end != '\0')
		return -1;
	if (*end && end[1] != '\0')
		return -1;
	if (n > RETENTION_MAX / unit)
		return -1;
	return (int64_t)n * unit;
}

int mvd_trace_conf_set(struct mvd_trace_conf *t, const char *key, const char *value, char *why,
                       size_t whylen)
{
	int64_t d;

	if (strcmp(key, "retention") == 0) {
		if ((d = duration(value)) < 0) {
			snprintf(why, whylen,
			         "retention: expected a duration such as 30d, 12h, 90m or seconds "
			         "(0: keep for ever), not \"%s\"",
			         value);
			return -1;
		}
		t->retention = d;
		return 0;
	}
	return mvd_store_conf_set(&t->base, "trace", key, value, why, whylen);
}

void mvd_trace_conf_free(struct mvd_trace_conf *t)
{
	mvd_reports_conf_free(&t->base);
}
