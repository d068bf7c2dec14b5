/* lib/report/failure_spool.c — one failure report as a spool file: mailvetd writes it, `report send` reads it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/report.h>

#define SPOOL_MAGIC "Mailvet-Failure-Report: 1"

/* The "Name: value" lines, in the order written; offset of each member of the struct. */
static const struct {
	const char *name;
	size_t off;
} fields[] = {
        {"Reported-Domain", offsetof(struct mv_report_failure, reported_domain)},
        {"Policy-Domain", offsetof(struct mv_report_failure, policy_domain)},
        {"Destinations", offsetof(struct mv_report_failure, destinations)},
        {"Source-IP", offsetof(struct mv_report_failure, source_ip)},
        {"Envelope-Id", offsetof(struct mv_report_failure, envelope_id)},
        {"Mail-From", offsetof(struct mv_report_failure, mail_from)},
        {"Rcpt-Domain", offsetof(struct mv_report_failure, rcpt_domain)},
        {"Identity-Alignment", offsetof(struct mv_report_failure, identity_alignment)},
        {"Delivery-Result", offsetof(struct mv_report_failure, delivery_result)},
        {"Authentication-Results", offsetof(struct mv_report_failure, authres)},
        {"DKIM-Domain", offsetof(struct mv_report_failure, dkim_domain)},
        {"DKIM-Selector", offsetof(struct mv_report_failure, dkim_selector)},
        {"DKIM-Identity", offsetof(struct mv_report_failure, dkim_identity)},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char **member(struct mv_report_failure *f, size_t i)
{
	return (const char **)(void *)((char *)f + fields[i].off);
}

enum mv_status mv_report_failure_format(const struct mv_report_failure *f, struct mv_buf *out)
{
	struct mv_report_failure copy = *f;

	if (f->header_len + f->body_len + 8192 > MV_REPORT_FAILURE_MAX)
		return MV_ETOOBIG;
	mv_buf_printf(out, "%s\nArrival: %" PRId64 "\n", SPOOL_MAGIC, f->arrival);
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = *member(&copy, i);
		if (!v)
			continue;
		if (strcspn(v, "\r\n") != strlen(v) || strlen(v) > 4000)
			return MV_EINVAL;
		mv_buf_printf(out, "%s: %s\n", fields[i].name, v);
	}
	mv_buf_printf(out, "Header-Bytes: %zu\nBody-Bytes: %s%zu\n\n", f->header_len,
	              f->body ? "" : "-", f->body ? f->body_len : (size_t)0);
	mv_buf_append(out, f->header, f->header_len);
	if (f->body)
		mv_buf_append(out, f->body, f->body_len);
	return mv_buf_status(out);
}

/* A decimal of at most 10 digits, or -1. */
static long long decimal(const char *s)
{
	long long n = 0;
	size_t i = 0;

	for (; s[i] >= '0' && s[i] <= '9' && i < 12; i++)
		n = n * 10 + (s[i] - '0');
	return i == 0 || s[i] || i >= 12 ? -1 : n;
}

/* One "Name: value" line (NUL-terminated in place) into f. 0, or -1. */
static int take_line(char *line, struct mv_report_failure *f, long long *hb, long long *bb,
                     int *nobody)
{
	char *colon = strchr(line, ':');
	const char *v;

	if (!colon || colon[1] != ' ')
		return -1;
	*colon = '\0';
	v = colon + 2;
	if (strcmp(line, "Arrival") == 0)
		return (f->arrival = decimal(v)) < 0 ? -1 : 0;
	if (strcmp(line, "Header-Bytes") == 0)
		return (*hb = decimal(v)) < 0 ? -1 : 0;
	if (strcmp(line, "Body-Bytes") == 0) {
		*nobody = v[0] == '-';
		return (*bb = decimal(v + *nobody)) < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(line, fields[i].name) == 0) {
			*member(f, i) = v;
			return 0;
		}
	return 0; /* a field of a later version: ignored */
}

enum mv_status mv_report_failure_read(char *data, size_t len, struct mv_report_failure *f,
                                      char *err, size_t errlen)
{
	char *p = data, *end = data + len;
	long long hb = -1, bb = -1;
	int nobody = 1, lineno = 1;

	memset(f, 0, sizeof *f);
	if (len > MV_REPORT_FAILURE_MAX) {
		snprintf(err, errlen, "over %zu bytes", MV_REPORT_FAILURE_MAX);
		return MV_ETOOBIG;
	}
	if (len < sizeof SPOOL_MAGIC || memcmp(data, SPOOL_MAGIC "\n", sizeof SPOOL_MAGIC) != 0) {
		snprintf(err, errlen, "not a mailvet failure report spool file");
		return MV_ESYNTAX;
	}
	p += sizeof SPOOL_MAGIC;
	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (!nl) {
			snprintf(err, errlen, "line %d: no end of the fields", lineno);
			return MV_ESYNTAX;
		}
		*nl = '\0';
		if (nl == p) {
			p = nl + 1;
			break;
		}
		if (memchr(p, '\r', (size_t)(nl - p)) || take_line(p, f, &hb, &bb, &nobody) != 0) {
			snprintf(err, errlen, "line %d: malformed", lineno);
			return MV_ESYNTAX;
		}
		p = nl + 1;
	}
	if (hb < 0 || bb < 0 || (size_t)(hb + bb) != (size_t)(end - p)) {
		snprintf(err, errlen, "the header and body sizes do not match the file");
		return MV_ESYNTAX;
	}
	f->header = p;
	f->header_len = (size_t)hb;
	f->body = nobody ? NULL : p + hb;
	f->body_len = nobody ? 0 : (size_t)bb;
	return MV_OK;
}
