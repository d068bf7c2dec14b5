/* cli/report_send.c — `mailvet report send`: one aggregate report per period and DMARC Policy Domain. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/report.h>
#include <mailvet/store.h>

#include "commands.h"
#include "report_cmd.h"
#include "report_dest.h"
#include "report_failure.h"
#include "report_outlet.h"

#define LOOKBACK (30 * 86400) /* periods older than this are not reported any more */
#define SMTP_TIMEOUT 60       /* seconds for each reply of the relay */

struct send {
	struct mv_store *store;
	struct mv_report_info info;
	const char *dir;              /* --dry-run: write the reports here, send nothing */
	struct mv_cli_outlet outlet;  /* --relay HOST:PORT or --sendmail [PATH] */
	const char *failure_spool;    /* --failure-spool DIR: mailvetd's failure reports */
	const char *failure_rate;     /* --failure-rate N/h: per destination, over every run */
	const char *from;             /* --from: the reports' sender (default: the contact email) */
	struct mv_cli_dns_opts dns;   /* --zone, --resolver, --dns-timeout */
	struct mv_resolver *resolver; /* external destinations' authorization */
	int64_t now;
	int64_t period;
	struct mv_report_record *rows; /* the rows of one (period, domain) */
	size_t n, cap;
	size_t written, sent, refused, unauthorized;
	int rc;
};

/* "24h", "1h", "7d", "3600" (seconds): a whole number of hours, or -1. */
static int64_t parse_period(const char *s)
{
	long long n;
	char unit = 's';
	size_t len = strlen(s);
	char num[24];

	if (len == 0 || len >= sizeof num)
		return -1;
	memcpy(num, s, len + 1);
	if (num[len - 1] == 'h' || num[len - 1] == 'd' || num[len - 1] == 's') {
		unit = num[len - 1];
		num[len - 1] = '\0';
	}
	if (mv_cli_number(num, 1, 1000000000, &n) != 0)
		return -1;
	n *= unit == 'h' ? 3600 : unit == 'd' ? 86400 : 1;
	return n % 3600 == 0 && n <= 31 * 86400 ? n : -1;
}

/* Write bytes to dir/name. */
static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(p, 1, n, f) != n)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* The mailto: destinations of rua, comma-separated, without a "!size" suffix, one per call. */
static const char *next_destination(const char **p, char *dst, size_t n)
{
	const char *s = *p, *end;
	size_t len;

	while (*s) {
		s += strspn(s, " \t,");
		end = s + strcspn(s, ",");
		*p = end;
		len = strcspn(s, "!, \t");
		if (len > 7 && mv_ascii_ieq(s, 7, "mailto:") && len < n) {
			memcpy(dst, s, len);
			dst[len] = '\0';
			return dst;
		}
		s = end;
	}
	*p = s;
	return NULL;
}

/*
 * RFC 9990 "Verifying External Destinations": a destination outside the
 * policy domain's Organizational Domain only when it authorized it. Not
 * authorized: skipped (and asked again next run, so a record published
 * later is honoured); a DNS failure leaves it for the next run (exit 1).
 */
static int authorized(struct send *sd, const char *domain, const char *dest)
{
	char why[600];

	switch (mv_cli_report_dest_check(sd->resolver, domain, dest, why, sizeof why)) {
	case MV_REPORT_DEST_OK:
		return 1;
	case MV_REPORT_DEST_REFUSED:
		sd->unauthorized++;
		fprintf(stderr, "mailvet report send: %s -> %s skipped: %s\n", domain, dest + 7,
		        why);
		return 0;
	case MV_REPORT_DEST_TEMP:
		break;
	}
	sd->refused++;
	fprintf(stderr, "mailvet report send: %s -> %s not sent (next run retries): %s\n", domain,
	        dest + 7, why);
	if (sd->rc == 0)
		sd->rc = 1;
	return 0;
}

/*
 * One report to one destination (a mailto: URI) through the relay, unless
 * it was sent there before; marked sent only after the relay answered 250
 * to the end of DATA. A crash between that 250 and the mark sends it again
 * on the next run (at least once): the resend has the same report_id, file
 * name and Message-ID, which RFC 9990 "Handling of Duplicates" lets the
 * receiver recognise, whereas marking first would lose the report for good.
 */
static void deliver(struct send *sd, const char *domain, const char *id, const char *dest,
                    const struct mv_buf *gz, const char *subject)
{
	struct mv_buf msg = MV_BUF_INIT;
	const char *to = dest + 7; /* after "mailto:" */
	char why[600];
	int sent = 0, already;

	if (mv_store_is_sent(sd->store, id, dest, &sent) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s\n", mv_store_error(sd->store));
		sd->rc = 2;
		goto out;
	}
	if (sent || !authorized(sd, domain, dest))
		goto out;
	if (mv_report_email(&sd->info, domain, id, sd->from, to, gz->data, gz->len, sd->now,
	                    &msg) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s: cannot build the message to %s\n", domain,
		        to);
		sd->rc = 2;
		goto out;
	}
	switch (mv_cli_outlet_send(&sd->outlet, sd->from, to, msg.data, msg.len, why, sizeof why)) {
	case MV_SMTP_ACCEPTED:
		if (mv_store_mark_sent(sd->store, id, dest, sd->now, &already) != MV_OK) {
			fprintf(stderr,
			        "mailvet report send: %s to %s sent but not marked (it will be "
			        "sent again): %s\n",
			        id, to, mv_store_error(sd->store));
			sd->rc = 2;
			goto out;
		}
		sd->sent++;
		printf("sent %s -> %s (Subject: %s) [%s]\n", domain, to, subject, why);
		break;
	case MV_SMTP_REFUSED:
	case MV_SMTP_FAILED:
		sd->refused++;
		fprintf(stderr, "mailvet report send: %s -> %s not sent (next run retries): %s\n",
		        domain, to, why);
		if (sd->rc == 0)
			sd->rc = 1;
		break;
	}
out:
	mv_buf_free(&msg);
}

/* The report of the rows gathered for one (period, domain): built, gzipped, written. */
static void flush(struct send *sd)
{
	struct mv_buf xml = MV_BUF_INIT, gz = MV_BUF_INIT, name = MV_BUF_INIT, subj = MV_BUF_INIT;
	const struct mv_report_record *last;
	char id[MV_REPORT_ID_LEN + 1], dest[MV_REPORT_URI_MAX];
	const char *p;
	int sent, any = 0;

	if (sd->n == 0)
		return;
	last = &sd->rows[sd->n - 1];
	sd->info.begin = sd->rows[0].time;
	sd->info.end = sd->rows[0].time + sd->period - 1;
	mv_report_id(sd->info.receiver, last->policy_domain, sd->info.begin, sd->info.end, id);
	for (p = last->rua; next_destination(&p, dest, sizeof dest);) {
		if (mv_store_is_sent(sd->store, id, dest, &sent) != MV_OK) {
			fprintf(stderr, "mailvet report send: %s\n", mv_store_error(sd->store));
			sd->rc = 2;
			goto out;
		}
		if (!sent) {
			any = 1;
			break;
		}
	}
	if (!any)
		goto out; /* no rua= mailto destination, or sent to each already */
	mv_report_filename(&sd->info, last->policy_domain, id, 1, &name);
	mv_report_subject(&sd->info, last->policy_domain, id, &subj);
	if (mv_report_build(&sd->info, sd->rows, sd->n, &xml) != MV_OK ||
	    mv_report_gzip(xml.data, xml.len, &gz) != MV_OK || mv_buf_status(&name) != MV_OK ||
	    mv_buf_status(&subj) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s: cannot build the report\n",
		        last->policy_domain);
		sd->rc = 2;
		goto out;
	}
	if (sd->dir) {
		if (write_file(sd->dir, name.data, gz.data, gz.len) != 0) {
			fprintf(stderr, "mailvet report send: %s/%s: %s\n", sd->dir, name.data,
			        strerror(errno));
			sd->rc = 2;
			goto out;
		}
		sd->written++;
		for (p = last->rua; next_destination(&p, dest, sizeof dest);)
			if (authorized(sd, last->policy_domain, dest))
				printf("%s/%s -> %s (Subject: %s)\n", sd->dir, name.data, dest,
				       subj.data);
		goto out;
	}
	for (p = last->rua; next_destination(&p, dest, sizeof dest);)
		deliver(sd, last->policy_domain, id, dest, &gz, subj.data);
out:
	sd->n = 0;
	mv_buf_free(&xml);
	mv_buf_free(&gz);
	mv_buf_free(&name);
	mv_buf_free(&subj);
}

static int gather(void *arg, const struct mv_report_meta *meta, const struct mv_report_record *r)
{
	struct send *sd = arg;
	struct mv_report_record *grown;

	(void)meta;
	if (sd->n && (sd->rows[0].time != r->time ||
	              strcmp(sd->rows[0].policy_domain, r->policy_domain) != 0))
		flush(sd);
	if (sd->n == sd->cap) {
		size_t cap = sd->cap ? 2 * sd->cap : 64;
		if (cap > MV_REPORT_ROWS_MAX ||
		    (grown = realloc(sd->rows, cap * sizeof *grown)) == NULL) {
			fprintf(stderr, "mailvet report send: %s: too many rows\n",
			        r->policy_domain);
			sd->rc = 2;
			return 1;
		}
		sd->rows = grown;
		sd->cap = cap;
	}
	sd->rows[sd->n++] = *r;
	return sd->rc == 2;
}

/*
 * --sendmail [PATH]: getopt gives an optional argument only as
 * --sendmail=PATH, so a following word that is an executable file (a
 * store never is) is taken as PATH too.
 */
static const char *sendmail_path(int argc, char **argv)
{
	if (optarg)
		return optarg;
	if (optind < argc && argv[optind][0] == '/' && access(argv[optind], X_OK) == 0 &&
	    optind + 1 < argc)
		return argv[optind++];
	return MV_CLI_SENDMAIL_DEFAULT;
}

/* The failure reports mailvetd spooled: sent after the aggregate reports, counted with them. */
static void send_failures(struct send *sd)
{
	struct mv_cli_failure_send fs;

	memset(&fs, 0, sizeof fs);
	fs.store = sd->store;
	fs.resolver = sd->resolver;
	fs.info = &sd->info;
	fs.outlet = &sd->outlet;
	fs.from = sd->from;
	fs.dry_dir = sd->dir;
	fs.now = sd->now;
	if (sd->failure_rate)
		mv_cli_rate_parse(sd->failure_rate, &fs.rate); /* checked with the options */
	mv_cli_report_send_failures(&fs, sd->failure_spool);
	fprintf(stderr,
	        "mailvet report send: failure reports: %zu sent, %zu not sent, %zu external "
	        "destination(s) not authorized, %zu over --failure-rate, %zu unreadable\n",
	        fs.sent, fs.refused, fs.unauthorized, fs.dropped, fs.bad);
	if (fs.rc > sd->rc)
		sd->rc = fs.rc;
}

enum {
	OPT_DRY = 256,
	OPT_PERIOD,
	OPT_NOW,
	OPT_RECEIVER,
	OPT_ORG,
	OPT_EMAIL,
	OPT_RELAY,
	OPT_FROM,
	OPT_ZONE,
	OPT_RESOLVER,
	OPT_DNS_TIMEOUT,
	OPT_SENDMAIL,
	OPT_FAILURE_SPOOL,
	OPT_FAILURE_RATE
};

static const struct option opts[] = {
        {"dry-run", required_argument, NULL, OPT_DRY},
        {"period", required_argument, NULL, OPT_PERIOD},
        {"now", required_argument, NULL, OPT_NOW},
        {"receiver", required_argument, NULL, OPT_RECEIVER},
        {"org-name", required_argument, NULL, OPT_ORG},
        {"email", required_argument, NULL, OPT_EMAIL},
        {"relay", required_argument, NULL, OPT_RELAY},
        {"from", required_argument, NULL, OPT_FROM},
        {"zone", required_argument, NULL, OPT_ZONE},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
        {"sendmail", optional_argument, NULL, OPT_SENDMAIL},
        {"failure-spool", required_argument, NULL, OPT_FAILURE_SPOOL},
        {"failure-rate", required_argument, NULL, OPT_FAILURE_RATE},
        {NULL, 0, NULL, 0},
};

int mv_cli_report_send(int argc, char **argv)
{
	struct send sd;
	struct mv_store_query q = {MV_STORE_RECORDED, 0, 0, 0, NULL};
	char host[256], email[300], err[400];
	long long now = (long long)time(NULL), n;
	int c;

	memset(&sd, 0, sizeof sd);
	sd.period = 86400;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_DRY)
			sd.dir = optarg;
		else if (c == OPT_PERIOD && (sd.period = parse_period(optarg)) < 0) {
			fprintf(stderr, "mailvet report send: --period: whole hours up to 31d\n");
			return 2;
		} else if (c == OPT_NOW &&
		           mv_cli_number(optarg, 0, (long long)1 << 40, &now) != 0) {
			fprintf(stderr, "mailvet report send: --now: bad time %s\n", optarg);
			return 2;
		} else if (c == OPT_RECEIVER)
			sd.info.receiver = optarg;
		else if (c == OPT_ORG)
			sd.info.org_name = optarg;
		else if (c == OPT_EMAIL)
			sd.info.email = optarg;
		else if (c == OPT_RELAY)
			sd.outlet.relay = optarg;
		else if (c == OPT_SENDMAIL)
			sd.outlet.sendmail = sendmail_path(argc, argv);
		else if (c == OPT_FAILURE_SPOOL)
			sd.failure_spool = optarg;
		else if (c == OPT_FAILURE_RATE) {
			struct mv_cli_rate check = {0};
			if (mv_cli_rate_parse(optarg, &check) != 0) {
				fprintf(stderr,
				        "mailvet report send: --failure-rate: N/m, N/h or N/d\n");
				return 2;
			}
			sd.failure_rate = optarg;
		} else if (c == OPT_FROM)
			sd.from = optarg;
		else if (c == OPT_ZONE)
			sd.dns.zone = optarg;
		else if (c == OPT_RESOLVER)
			sd.dns.resolver = optarg;
		else if (c == OPT_DNS_TIMEOUT) {
			if (mv_cli_number(optarg, 1, 600000, &n) != 0) {
				fprintf(stderr,
				        "mailvet report send: --dns-timeout: 1 to 600000 ms\n");
				return 2;
			}
			sd.dns.timeout_ms = (unsigned)n;
		} else if (c == '?')
			return 2;
	}
	if (optind + 1 != argc ||
	    (sd.dir != NULL) + (sd.outlet.relay != NULL) + (sd.outlet.sendmail != NULL) != 1) {
		fprintf(stderr,
		        "usage: mailvet report send STORE (--relay HOST:PORT | --sendmail [PATH] "
		        "| --dry-run DIR)\n"
		        "       [--from ADDR] [--failure-spool DIR [--failure-rate N/h]] [--period "
		        "24h] "
		        "[--now T]\n"
		        "       [--zone FILE | --resolver ADDR[@PORT]] [--dns-timeout MS]\n");
		return 2;
	}
	if (sd.info.receiver == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		sd.info.receiver = host;
	}
	if (sd.info.org_name == NULL)
		sd.info.org_name = sd.info.receiver;
	if (sd.info.email == NULL) {
		snprintf(email, sizeof email, "postmaster@%s", sd.info.receiver);
		sd.info.email = email;
	}
	if (sd.from == NULL)
		sd.from = sd.info.email;
	sd.now = now;
	sd.outlet.helo = sd.info.receiver;
	sd.outlet.timeout = SMTP_TIMEOUT;
	if (mv_cli_dns_open(&sd.dns, &sd.resolver) != 0)
		return 2;
	if (mv_store_open(argv[optind], 0, &sd.store, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s\n", err);
		mv_dns_free(sd.resolver);
		return 2;
	}
	/* Complete periods only, aligned to UTC: [end - LOOKBACK, end). */
	q.end = now - now % sd.period;
	q.begin = q.end - LOOKBACK - (q.end - LOOKBACK) % sd.period;
	q.bucket = sd.period;
	if (mv_store_query(sd.store, &q, gather, &sd) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s\n", mv_store_error(sd.store));
		sd.rc = 2;
	}
	if (sd.rc != 2)
		flush(&sd); /* the last (period, domain) */
	if (sd.rc != 2 && sd.failure_spool)
		send_failures(&sd);
	if (sd.dir)
		fprintf(stderr, "mailvet report send: %zu reports written to %s\n", sd.written,
		        sd.dir);
	else
		fprintf(stderr,
		        "mailvet report send: %zu sent, %zu not sent (relay %s), %zu external "
		        "destination(s) not authorized\n",
		        sd.sent, sd.refused, sd.outlet.relay ? sd.outlet.relay : sd.outlet.sendmail,
		        sd.unauthorized);
	free(sd.rows);
	mv_store_close(sd.store);
	mv_dns_free(sd.resolver);
	return sd.rc;
}
