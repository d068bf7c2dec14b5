/* cli/cmd_trace.c — `mailvet trace`: find (or purge) submission trace records in the store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/store.h>
#include <mailvet/util.h>

#include "commands.h"

/* Exit statuses of this command (its --help says them). */
enum { FOUND = 0, NOTHING = 1, USAGE = 2, STORE_ERROR = 3 };

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvet trace --store LOCATION [--message-id ID | --trace-id T |\n"
	           "                     --login L] [--since TIME] [--until TIME] [--limit N]\n"
	           "                     [--json]\n"
	           "       mailvet trace --store LOCATION --purge-before TIME\n"
	           "Find the trace records of messages accepted on the submission port: who\n"
	           "sent a message (login, client address), when, and what we signed it with.\n"
	           "LOCATION is sqlite:PATH, postgresql://USER@HOST:PORT/DB or pg:KEYWORDS.\n"
	           "--message-id matches with or without the angle brackets. TIME is Unix\n"
	           "seconds, a date YYYY-MM-DD (UTC midnight), or an age: 7d, 24h, 30m ago.\n"
	           "--since is inclusive, --until exclusive. Records print as a table, oldest\n"
	           "first (--json: one JSON object a line). --purge-before deletes the records\n"
	           "older than TIME and prints how many.\n"
	           "Exit status 0 when a record was found (or the purge ran), 1 when none,\n"
	           "2 on usage errors, 3 when the store cannot be opened or read.\n");
}

/* "YYYY-MM-DD" into tm (midnight); 0 when it is not a date. */
static int date_fields(const char *s, size_t len, struct tm *tm)
{
	char y[5], m[3], d[3];
	long long yy, mm, dd;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	memcpy(y, s, 4);
	y[4] = '\0';
	memcpy(m, s + 5, 2);
	m[2] = '\0';
	memcpy(d, s + 8, 2);
	d[2] = '\0';
	if (mv_cli_number(y, 1970, 9999, &yy) || mv_cli_number(m, 1, 12, &mm) ||
	    mv_cli_number(d, 1, 31, &dd))
		return 0;
	memset(tm, 0, sizeof *tm);
	tm->tm_year = (int)yy - 1900;
	tm->tm_mon = (int)mm - 1;
	tm->tm_mday = (int)dd;
	return 1;
}

/* "1700000000", "2026-12-01", "7d", "24h", "30m": Unix seconds, or -1. */
static int64_t parse_time(const char *s, time_t now)
{
	struct tm tm;
	long long n;
	size_t len = strlen(s);

	if (mv_cli_number(s, 0, INT64_MAX, &n) == 0)
		return n;
	if (len >= 2 && strchr("dhm", s[len - 1])) {
		char num[24];
		long long unit = s[len - 1] == 'd' ? 86400 : s[len - 1] == 'h' ? 3600 : 60;

		if (len - 1 >= sizeof num)
			return -1;
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (mv_cli_number(num, 0, 100LL * 366 * 86400 / unit, &n) != 0)
			return -1;
		return (int64_t)now - n * unit;
	}
	if (!date_fields(s, len, &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

struct out {
	int json;
	uint64_t n;
};

static void utc(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%" PRId64, t);
}

static void print_json(const struct mv_trace_record *t, const char *when)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_printf(&b, "{\"time\":%" PRId64 ",\"utc\":", t->time);
	mv_json_cstr(&b, when);
	mv_buf_puts(&b, ",\"trace_id\":");
	mv_json_cstr(&b, t->trace_id);
	mv_buf_puts(&b, ",\"login\":");
	mv_json_cstr(&b, t->login);
	mv_buf_puts(&b, ",\"client_ip\":");
	mv_json_cstr(&b, t->client_ip);
	mv_buf_puts(&b, ",\"message_id\":");
	mv_json_cstr(&b, t->message_id);
	mv_buf_puts(&b, ",\"envelope_from\":");
	mv_json_cstr(&b, t->envelope_from);
	mv_buf_printf(&b, ",\"rcpt_count\":%" PRIu32 ",\"dkim_domain\":", t->rcpt_count);
	mv_json_cstr(&b, t->dkim_domain);
	mv_buf_puts(&b, ",\"dkim_selector\":");
	mv_json_cstr(&b, t->dkim_selector);
	mv_buf_puts(&b, "}\n");
	if (mv_buf_status(&b) == MV_OK)
		fwrite(b.data, 1, b.len, stdout);
	mv_buf_free(&b);
}

/* Text from the store may hold anything a client sent: control bytes print as '?'. */
static const char *printable(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf[0] ? buf : "-";
}

static int print_one(void *arg, const struct mv_trace_record *t)
{
	struct out *o = arg;
	char when[32], a[64], b[256], c[64], d[MV_REPORT_URI_MAX], e[MV_REPORT_URI_MAX],
	        f[MV_REPORT_DOMAIN_MAX], g[MV_REPORT_DOMAIN_MAX];

	utc(t->time, when, sizeof when);
	if (o->json) {
		print_json(t, when);
	} else {
		if (o->n == 0)
			printf("%-20s %-20s %-24s %-20s %5s %-12s %s\n", "time (UTC)", "trace id",
			       "login", "client", "rcpts", "dkim", "message-id / envelope from");
		printf("%-20s %-20s %-24s %-20s %5" PRIu32 " %s%s%s %s %s\n", when,
		       printable(t->trace_id, a, sizeof a), printable(t->login, b, sizeof b),
		       printable(t->client_ip, c, sizeof c), t->rcpt_count,
		       t->dkim_selector[0] ? printable(t->dkim_selector, g, sizeof g) : "",
		       t->dkim_selector[0] ? "._domainkey." : "",
		       printable(t->dkim_domain, f, sizeof f),
		       printable(t->message_id, d, sizeof d),
		       printable(t->envelope_from, e, sizeof e));
	}
	o->n++;
	return 0;
}

/* The search or the purge, once the options are read. */
static int run(const char *location, const struct mv_trace_query *q, int json, int64_t purge_before)
{
	struct mv_store *s = NULL;
	struct out o = {json, 0};
	uint64_t removed = 0;
	char err[400];
	int rc = STORE_ERROR;

	if (mv_store_open(location, 0, &s, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet trace: %s\n", err);
		return STORE_ERROR;
	}
	if (purge_before >= 0) {
		if (mv_store_purge_traces(s, purge_before, &removed) != MV_OK)
			goto fail;
		printf("%" PRIu64 " trace record(s) removed\n", removed);
		rc = FOUND;
		goto out;
	}
	if (mv_store_find_traces(s, q, print_one, &o) != MV_OK)
		goto fail;
	rc = o.n ? FOUND : NOTHING;
	goto out;
fail:
	fprintf(stderr, "mailvet trace: %s\n", mv_store_error(s));
out:
	mv_store_close(s);
	return rc;
}

int mv_cli_trace(int argc, char **argv)
{
	enum {
		O_STORE = 256,
		O_MSGID,
		O_TRACE,
		O_LOGIN,
		O_SINCE,
		O_UNTIL,
		O_JSON,
		O_PURGE,
		O_LIMIT
	};
	static const struct option opts[] = {
	        {"store", required_argument, NULL, O_STORE},
	        {"message-id", required_argument, NULL, O_MSGID},
	        {"trace-id", required_argument, NULL, O_TRACE},
	        {"login", required_argument, NULL, O_LOGIN},
	        {"since", required_argument, NULL, O_SINCE},
	        {"until", required_argument, NULL, O_UNTIL},
	        {"limit", required_argument, NULL, O_LIMIT},
	        {"json", no_argument, NULL, O_JSON},
	        {"purge-before", required_argument, NULL, O_PURGE},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct mv_trace_query q;
	const char *store = NULL;
	time_t now = time(NULL);
	int64_t purge = -1, t;
	long long n;
	int c, json = 0, filters = 0;

	memset(&q, 0, sizeof q);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_STORE:
			store = optarg;
			break;
		case O_MSGID:
			q.message_id = optarg, filters++;
			break;
		case O_TRACE:
			q.trace_id = optarg, filters++;
			break;
		case O_LOGIN:
			q.login = optarg, filters++;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_SINCE:
		case O_UNTIL:
		case O_PURGE:
			if ((t = parse_time(optarg, now)) < 0) {
				fprintf(stderr, "mailvet trace: bad TIME \"%s\"\n", optarg);
				return USAGE;
			}
			if (c == O_PURGE)
				purge = t;
			else if (c == O_SINCE)
				q.begin = t, filters++;
			else
				q.end = t, filters++;
			break;
		case O_LIMIT:
			if (mv_cli_number(optarg, 1, 1000000000, &n) != 0) {
				fprintf(stderr, "mailvet trace: bad --limit \"%s\"\n", optarg);
				return USAGE;
			}
			q.limit = (size_t)n;
			break;
		case 'h':
			usage(stdout);
			return FOUND;
		default:
			usage(stderr);
			return USAGE;
		}
	}
	if (optind != argc || store == NULL || (purge >= 0 && (filters || json)) ||
	    (q.end && q.end <= q.begin)) {
		usage(stderr);
		return USAGE;
	}
	return run(store, &q, json, purge);
}
