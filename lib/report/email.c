/* lib/report/email.c — an aggregate report as a message (RFC 9990 "Email"): MIME, gzip attachment. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <mailvet/report.h>

#define B64_LINE 57 /* input octets per base64 line: 76 characters */

/* The attachment's octets, base64 in lines of 76 characters, CRLF after each. */
static void base64_lines(const unsigned char *p, size_t n, struct mv_buf *out)
{
	unsigned char line[80];

	for (size_t off = 0; off < n; off += B64_LINE) {
		size_t k = n - off < B64_LINE ? n - off : B64_LINE;
		int got = EVP_EncodeBlock(line, p + off, (int)k);
		mv_buf_append(out, line, (size_t)got);
		mv_buf_puts(out, "\r\n");
	}
}

/* An address fit for a header field and an SMTP command: no CR, LF, NUL, <, >. */
static int address_ok(const char *a)
{
	return a[0] && strcspn(a, "\r\n<>") == strlen(a);
}

enum mv_status mv_report_email(const struct mv_report_info *info, const char *domain,
                               const char *id, const char *from, const char *to, const void *gz,
                               size_t gzlen, int64_t now, struct mv_buf *out)
{
	struct mv_buf name = MV_BUF_INIT, subj = MV_BUF_INIT;
	char date[64], boundary[64];
	time_t t = (time_t)now;
	struct tm tm;
	enum mv_status st = MV_EINVAL;

	if (!address_ok(from) || !address_ok(to))
		goto out;
	mv_report_filename(info, domain, id, 1, &name);
	mv_report_subject(info, domain, id, &subj);
	if ((st = mv_buf_status(&name)) != MV_OK || (st = mv_buf_status(&subj)) != MV_OK)
		goto out;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof boundary, "=_mailvet_%s", id);
	mv_buf_printf(out,
	              "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\nSubject: %s\r\n"
	              "Message-ID: <%s.%s@%s>\r\nMIME-Version: 1.0\r\n"
	              "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
	              from, to, date, subj.data, id, domain, info->receiver, boundary);
	mv_buf_printf(out,
	              "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	              "This is a DMARC aggregate report (RFC 9990) for %s\r\n"
	              "from %s, attached as %s.\r\n\r\n",
	              boundary, domain, info->receiver, name.data);
	mv_buf_printf(out,
	              "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
	              "Content-Transfer-Encoding: base64\r\n"
	              "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	              boundary, name.data, name.data);
	base64_lines(gz, gzlen, out);
	mv_buf_printf(out, "\r\n--%s--\r\n", boundary);
	st = mv_buf_status(out);
out:
	mv_buf_free(&name);
	mv_buf_free(&subj);
	return st;
}
