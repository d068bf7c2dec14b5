/* daemon/core/reports_config.c — the [reports] section of mailvet.conf: where DMARC records go. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports_config.h"

void mvd_reports_conf_init(struct mvd_reports_conf *r)
{
	memset(r, 0, sizeof *r);
	r->queue = MVD_REPORTS_QUEUE_DEFAULT;
	r->batch = MVD_REPORTS_BATCH_DEFAULT;
}

/* "" or "sqlite:/abs" or "/abs": the daemon works from /, so relative paths are refused. */
static int store_ok(const char *v, char *why, size_t whylen)
{
	const char *path = v;

	if (v[0] == '\0')
		return 1;
	if (strncmp(v, "sqlite:", 7) == 0)
		path = v + 7;
	else if (strchr(v, ':') && v[0] != '/') {
		snprintf(why, whylen, "store = \"%s\": unknown scheme (sqlite:PATH)", v);
		return 0;
	}
	if (path[0] != '/') {
		snprintf(why, whylen,
		         "store = \"%s\": must be an absolute path (the daemon works from /)", v);
		return 0;
	}
	return 1;
}

/* A decimal in [1, max] into *out; 0 when it is not. */
static int number(const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < 1 || n > max)
		return 0;
	*out = (unsigned)n;
	return 1;
}

int mvd_reports_conf_set(struct mvd_reports_conf *r, const char *key, const char *value, char *why,
                         size_t whylen)
{
	if (strcmp(key, "store") == 0) {
		if (!store_ok(value, why, whylen))
			return -1;
		free(r->store);
		if (!(r->store = strdup(value))) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "queue") == 0 || strcmp(key, "batch") == 0) {
		int q = key[0] == 'q';
		unsigned max = q ? MVD_REPORTS_QUEUE_MAX : MVD_REPORTS_BATCH_MAX;

		if (!number(value, max, q ? &r->queue : &r->batch)) {
			snprintf(why, whylen, "%s: expected a number from 1 to %u, not \"%s\"", key,
			         max, value);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown key \"%s\" in [reports]", key);
	return -1;
}

void mvd_reports_conf_free(struct mvd_reports_conf *r)
{
	free(r->store);
	r->store = NULL;
}
