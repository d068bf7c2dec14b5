/* lib/report/failure.c — DMARC failure reports: when fo= asks for one, redaction, the ARF message. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <mailvet/report.h>

#define REDACT_HEX 16 /* hex digits of the HMAC kept in a redacted local part */

int mv_report_failure_wanted(const char *fo, const struct mv_report_record *r)
{
	int dkim_ok = strcmp(r->dkim_aligned, "pass") == 0;
	int spf_ok = strcmp(r->spf_aligned, "pass") == 0;
	const char *p = fo && fo[0] ? fo : "0";

	while (*p) {
		size_t n = strcspn(p, ":");
		char opt = n > 0 ? p[strspn(p, " \t")] : '\0';

		if (opt == '0' && !dkim_ok && !spf_ok)
			return 1;
		if (opt == '1' && (!dkim_ok || !spf_ok))
			return 1;
		if (opt == 'd')
			for (size_t i = 0; i < r->ndkim; i++)
				if (strcmp(r->dkim[i].result, "pass") != 0 &&
				    strcmp(r->dkim[i].result, "none") != 0)
					return 1;
		if (opt == 's' &&
		    (strcmp(r->spf_result, "fail") == 0 || strcmp(r->spf_result, "softfail") == 0 ||
		     strcmp(r->spf_result, "permerror") == 0))
			return 1;
		p += n;
		p += *p == ':';
	}
	return 0;
}

void mv_report_failure_alignment(const struct mv_report_record *r, char out[12])
{
	int dkim = strcmp(r->dkim_aligned, "pass") != 0;
	int spf = strcmp(r->spf_aligned, "pass") != 0;

	snprintf(out, 12, "%s", dkim && spf ? "dkim, spf" : dkim ? "dkim" : spf ? "spf" : "none");
}

/* RFC 5322 atext, and '.' for a dot-atom. */
static int is_local_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c >= 0x80) || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* Where the local part that ends just before '@' at `at` starts (at itself: none). */
static size_t local_start(const char *h, size_t at)
{
	size_t i = at;

	if (i > 0 && h[i - 1] == '"') { /* quoted-string: back to its opening quote */
		for (i -= 1; i > 0; i--)
			if (h[i - 1] == '"' && (i < 2 || h[i - 2] != '\\'))
				return i - 1;
		return at;
	}
	while (i > 0 && is_local_char((unsigned char)h[i - 1]))
		i--;
	/*
	 * "i=@d", "smtp.mailfrom=user@d": a tag or ptype.property name (lower
	 * case, dots, dashes) and its '=' stand before the local part. A local
	 * part with '=' of its own ("SRS0=...") does not look like one.
	 */
	for (size_t k = i; k < at; k++) {
		if (h[k] == '=') {
			i = k + 1;
			break;
		}
		if (!((h[k] >= 'a' && h[k] <= 'z') || h[k] == '.' || h[k] == '-'))
			break;
	}
	return i;
}

static int is_domain_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '[' || c >= 0x80;
}

/* The fields whose '@'s are message identifiers, not addresses. */
static int is_id_field(const char *h, size_t n)
{
	static const char *const ids[] = {"Message-ID", "In-Reply-To", "References", "Content-ID",
	                                  "Resent-Message-ID"};

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		size_t k = strlen(ids[i]);
		if (n > k && mv_ascii_ieq(h, k, ids[i]) && (h[k] == ':' || h[k] == ' '))
			return 1;
	}
	return 0;
}

/* One field (len bytes, its line ends included): local parts replaced. */
static void redact_field(const char *h, size_t len, const void *key, size_t keylen,
                         struct mv_buf *out)
{
	size_t done = 0;

	for (size_t at = 0; at < len; at++) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		size_t start;

		if (h[at] != '@' || at + 1 >= len || !is_domain_start((unsigned char)h[at + 1]))
			continue;
		if ((start = local_start(h, at)) >= at || start < done)
			continue;
		if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)h + start,
		          at - start, mac, &maclen))
			continue;
		mv_buf_append(out, h + done, start - done);
		mv_buf_putc(out, 'x');
		for (size_t i = 0; i < REDACT_HEX / 2 && i < maclen; i++)
			mv_buf_printf(out, "%02x", mac[i]);
		done = at;
	}
	mv_buf_append(out, h + done, len - done);
}

enum mv_status mv_report_failure_redact(const char *header, size_t len, const void *key,
                                        size_t keylen, struct mv_buf *out)
{
	static const unsigned char nokey[1];
	size_t i = 0;

	if (!key || keylen == 0) {
		key = nokey;
		keylen = 0;
	}
	while (i < len) {
		size_t end = i;

		/* A field runs to the line end not followed by WSP (its folds included). */
		for (;;) {
			const char *nl = memchr(header + end, '\n', len - end);
			end = nl ? (size_t)(nl - header) + 1 : len;
			if (end >= len || (header[end] != ' ' && header[end] != '\t'))
				break;
		}
		if (is_id_field(header + i, end - i))
			mv_buf_append(out, header + i, end - i);
		else
			redact_field(header + i, end - i, key, keylen, out);
		i = end;
	}
	return mv_buf_status(out);
}

/* An address or id fit for a header field and an SMTP command. */
static int token_ok(const char *a)
{
	return a && a[0] && strcspn(a, "\r\n<>") == strlen(a);
}

static int has(const char *s)
{
	return s && s[0];
}

/* "Name: value" when value is given. */
static void field(struct mv_buf *out, const char *name, const char *value)
{
	if (has(value))
		mv_buf_printf(out, "%s: %s\r\n", name, value);
}

/* Authentication-Results folded after each ';' so that no line passes 998 octets. */
static void authres_field(struct mv_buf *out, const char *v)
{
	if (!has(v))
		return;
	mv_buf_puts(out, "Authentication-Results: ");
	for (const char *p = v; *p; p++) {
		mv_buf_putc(out, *p);
		if (*p == ';' && p[1] == ' ') {
			mv_buf_puts(out, "\r\n ");
			p++;
		}
	}
	mv_buf_puts(out, "\r\n");
}

/* The message/feedback-report part's fields (RFC 6591 §3.1, failure-reporting §4). */
static void feedback_fields(const struct mv_report_failure *f, const char *date, struct mv_buf *out)
{
	mv_buf_printf(out,
	              "Feedback-Type: auth-failure\r\nVersion: 1\r\nUser-Agent: mailvet/%s\r\n"
	              "Auth-Failure: dmarc\r\n",
	              MV_VERSION);
	authres_field(out, f->authres);
	field(out, "Identity-Alignment",
	      has(f->identity_alignment) ? f->identity_alignment : "none");
	field(out, "DKIM-Domain", f->dkim_domain);
	field(out, "DKIM-Identity", f->dkim_identity);
	field(out, "DKIM-Selector", f->dkim_selector);
	field(out, "Original-Envelope-Id", f->envelope_id);
	if (f->mail_from)
		mv_buf_printf(out, "Original-Mail-From: <%s>\r\n", f->mail_from);
	field(out, "Arrival-Date", date);
	field(out, "Source-IP", f->source_ip);
	field(out, "Reported-Domain", f->reported_domain);
	field(out, "Delivery-Result", f->delivery_result);
}

/* 7bit unless a byte of the part is not. */
static const char *transfer_encoding(const struct mv_report_failure *f)
{
	for (size_t i = 0; i < f->header_len; i++)
		if ((unsigned char)f->header[i] >= 0x80)
			return "8bit";
	for (size_t i = 0; f->body && i < f->body_len; i++)
		if ((unsigned char)f->body[i] >= 0x80)
			return "8bit";
	return "7bit";
}

static void rfc_date(int64_t when, char *out, size_t n)
{
	time_t t = (time_t)when;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

enum mv_status mv_report_failure_email(const struct mv_report_info *info,
                                       const struct mv_report_failure *f, const char *id,
                                       const char *from, const char *to, int64_t now,
                                       struct mv_buf *out)
{
	char date[64], arrival[64], boundary[80];
	const char *domain = has(f->reported_domain) ? f->reported_domain : "unknown";

	if (!token_ok(from) || !token_ok(to) || !token_ok(id) ||
	    strcspn(domain, "\r\n") != strlen(domain))
		return MV_EINVAL;
	rfc_date(now, date, sizeof date);
	rfc_date(f->arrival, arrival, sizeof arrival);
	snprintf(boundary, sizeof boundary, "=_mailvet_arf_%s", id);
	mv_buf_printf(out,
	              "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	              "Subject: DMARC failure report for %s from %s\r\n"
	              "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
	              "Auto-Submitted: auto-generated\r\n"
	              "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	              "\tboundary=\"%s\"\r\n\r\n",
	              from, to, date, domain, has(f->source_ip) ? f->source_ip : "unknown", id,
	              info->receiver, boundary);
	mv_buf_printf(out,
	              "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	              "Content-Transfer-Encoding: 7bit\r\n\r\n"
	              "This is a DMARC authentication failure report (RFC 6591) from %s\r\n"
	              "for an email message received from IP %s on %s.\r\n\r\n",
	              boundary, info->receiver, has(f->source_ip) ? f->source_ip : "unknown",
	              arrival);
	mv_buf_printf(out,
	              "--%s\r\nContent-Type: message/feedback-report\r\n"
	              "Content-Transfer-Encoding: 7bit\r\n\r\n",
	              boundary);
	feedback_fields(f, arrival, out);
	mv_buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: %s\r\n\r\n",
	              boundary, f->body ? "message/rfc822" : "text/rfc822-headers",
	              transfer_encoding(f));
	mv_buf_append(out, f->header, f->header_len);
	if (f->body) {
		mv_buf_puts(out, "\r\n");
		mv_buf_append(out, f->body, f->body_len);
	}
	if (out->len >= 2 && memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		mv_buf_puts(out, "\r\n");
	mv_buf_printf(out, "\r\n--%s--\r\n", boundary);
	return mv_buf_status(out);
}
