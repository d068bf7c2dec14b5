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
	r->spool_max = MVD_SPOOL_MAX_DEFAULT;
	r->failure.rate = MVD_FAILURE_RATE_DEFAULT;
	r->failure.window = MVD_FAILURE_WINDOW_DEFAULT;
	r->failure.redact = 1;
	r->failure.spool_max = MVD_FAILURE_SPOOL_MAX_DEFAULT;
}

/*
 * "", "sqlite:/abs", "/abs", or a PostgreSQL location (libpq checks the
 * rest when it connects): the daemon works from /, so relative paths are
 * refused.
 */
static int store_ok(const char *v, char *why, size_t whylen)
{
	const char *path = v;

	if (v[0] == '\0')
		return 1;
	if (strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0 ||
	    (strncmp(v, "pg:", 3) == 0 && v[3] != '\0'))
		return 1;
	if (strncmp(v, "sqlite:", 7) == 0)
		path = v + 7;
	else if (strchr(v, ':') && v[0] != '/') {
		snprintf(why, whylen,
		         "store = \"%s\": unknown scheme (sqlite:PATH, postgresql://..., "
		         "pg:KEYWORDS)",
		         v);
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

/* ---- failure_* keys (failure reports) ---------------------------------- */

static int yes_no(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		return *out = 1;
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		return (*out = 0) == 0;
	return 0;
}

/* "10/h", "5/m", "100/d": a count per window. */
static int rate(const char *v, unsigned *n, unsigned *window)
{
	char num[16];
	size_t k = strcspn(v, "/");

	if (k == 0 || k >= sizeof num || v[k] != '/' || !v[k + 1] || v[k + 2])
		return 0;
	memcpy(num, v, k);
	num[k] = '\0';
	if (!number(num, 1000000, n))
		return 0;
	*window = v[k + 1] == 'm' ? 60 : v[k + 1] == 'h' ? 3600 : v[k + 1] == 'd' ? 86400 : 0;
	return *window != 0;
}

/* "65536", "64K", "64M", "1G". */
static int bytes(const char *v, unsigned long long *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-' || n == 0)
		return 0;
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
		if (n > (1ULL << (62 - shift)))
			return 0;
		n <<= shift;
		end++;
	}
	*out = n;
	return *end == '\0';
}

/* 1: a failure_* key, taken; -1: one with a bad value; 0: not one of them. */
static int failure_set(struct mvd_failure_conf *f, const char *key, const char *value, char *why,
                       size_t whylen)
{
	int ok;

	if (strcmp(key, "failure_reports") == 0)
		ok = yes_no(value, &f->enabled);
	else if (strcmp(key, "failure_redact") == 0)
		ok = yes_no(value, &f->redact);
	else if (strcmp(key, "failure_rate") == 0)
		ok = rate(value, &f->rate, &f->window);
	else if (strcmp(key, "failure_spool_max") == 0)
		ok = bytes(value, &f->spool_max);
	else if (strcmp(key, "failure_spool") == 0) {
		if ((ok = value[0] == '/') != 0) {
			free(f->spool);
			if (!(f->spool = strdup(value))) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
		}
	} else
		return 0;
	if (!ok) {
		snprintf(why, whylen, "%s = \"%s\": expected %s", key, value,
		         strcmp(key, "failure_rate") == 0        ? "N/h, N/m or N/d"
		         : strcmp(key, "failure_spool") == 0     ? "an absolute directory"
		         : strcmp(key, "failure_spool_max") == 0 ? "a size (65536, 64K, 64M, 1G)"
		                                                 : "yes or no");
		return -1;
	}
	return 1;
}

/* "4096", "500K", "100M", "2G" into bytes in [1 MiB, MVD_SPOOL_MAX_MAX]; 0 when it is not. */
static int size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || n > (MVD_SPOOL_MAX_MAX >> shift) || (n << shift) < ((uint64_t)1 << 20))
		return 0;
	*out = (uint64_t)n << shift;
	return 1;
}

static int set_string(char **dst, const char *value, char *why, size_t whylen)
{
	free(*dst);
	if (!(*dst = strdup(value))) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

int mvd_store_conf_set(struct mvd_reports_conf *r, const char *section, const char *key,
                       const char *value, char *why, size_t whylen)
{
	if (strcmp(key, "store") == 0) {
		if (!store_ok(value, why, whylen))
			return -1;
		return set_string(&r->store, value, why, whylen);
	}
	if (strcmp(key, "spool") == 0) {
		if (value[0] != '\0' && value[0] != '/') {
			snprintf(why, whylen,
			         "spool = \"%s\": must be an absolute directory (the daemon "
			         "works from /)",
			         value);
			return -1;
		}
		return set_string(&r->spool, value, why, whylen);
	}
	if (strcmp(key, "spool_max") == 0) {
		if (!size(value, &r->spool_max)) {
			snprintf(
			        why, whylen,
			        "spool_max: expected a size from 1M to 1024G (bytes, or with K, M, "
			        "G), not \"%s\"",
			        value);
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
	if (strcmp(section, "reports") == 0 && strncmp(key, "failure_", 8) == 0) {
		int f = failure_set(&r->failure, key, value, why, whylen);
		if (f != 0)
			return f < 0 ? -1 : 0;
	}
	snprintf(why, whylen, "unknown key \"%s\" in [%s]", key, section);
	return -1;
}

int mvd_reports_conf_set(struct mvd_reports_conf *r, const char *key, const char *value, char *why,
                         size_t whylen)
{
	return mvd_store_conf_set(r, "reports", key, value, why, whylen);
}

void mvd_reports_conf_free(struct mvd_reports_conf *r)
{
	free(r->store);
	free(r->spool);
	r->store = r->spool = NULL;
	free(r->failure.spool);
	r->failure.spool = NULL;
}
