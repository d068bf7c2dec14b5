/* lib/store/columns.c — the columns of a DMARC record, shared by every store back end. */
#include <stddef.h>
#include <string.h>

#include "store/store_int.h"

#define COL(name, pol)                                                                             \
	{                                                                                          \
#name, offsetof(struct mv_report_record, name),                                    \
		        sizeof(((struct mv_report_record *)0)->name), pol                          \
	}

static const struct mv_store_col cols[] = {
        COL(source_ip, 0),
        COL(header_from, 0),
        COL(envelope_from, 0),
        COL(envelope_to, 0),
        COL(policy_domain, 1),
        COL(discovery, 1),
        COL(p, 1),
        COL(sp, 1),
        COL(np, 1),
        COL(adkim, 1),
        COL(aspf, 1),
        COL(testing, 1),
        COL(psd, 1),
        COL(fo, 1),
        COL(rua, 1),
        COL(ruf, 1),
        COL(disposition, 0),
        COL(dkim_aligned, 0),
        COL(spf_aligned, 0),
        COL(reason, 0),
        COL(reason_comment, 0),
        COL(spf_domain, 0),
        COL(spf_scope, 0),
        COL(spf_result, 0),
};

const struct mv_store_col *mv_store_cols(size_t *n)
{
	*n = sizeof cols / sizeof cols[0];
	return cols;
}

void mv_report_field_set(char *dst, size_t n, const char *src)
{
	size_t len;

	if (n == 0)
		return;
	len = src ? strnlen(src, n - 1) : 0;
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

static int plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static void put_escaped(struct mv_buf *out, const char *s)
{
	for (; *s; s++) {
		if (plain((unsigned char)*s))
			mv_buf_putc(out, *s);
		else
			mv_buf_printf(out, "%%%02X", (unsigned char)*s);
	}
}

void mv_store_dkim_format(const struct mv_report_record *r, struct mv_buf *out)
{
	size_t i;

	mv_buf_puts(out, ""); /* "" rather than NULL for no signature */
	for (i = 0; i < r->ndkim && i < MV_REPORT_DKIM_MAX; i++) {
		if (i > 0)
			mv_buf_putc(out, ' ');
		put_escaped(out, r->dkim[i].domain);
		mv_buf_putc(out, '/');
		put_escaped(out, r->dkim[i].selector);
		mv_buf_putc(out, '/');
		put_escaped(out, r->dkim[i].result);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescape text[0, len) into dst (size n); 0, or -1 on a bad escape or overflow. */
static int unescape(const char *text, size_t len, char *dst, size_t n)
{
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char c = text[i];
		if (c == '%') {
			if (i + 2 >= len || (hi = hexval(text[i + 1])) < 0 ||
			    (lo = hexval(text[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (k + 1 >= n)
			return -1;
		dst[k++] = c;
	}
	dst[k] = '\0';
	return 0;
}

void mv_store_dkim_parse(const char *text, struct mv_report_record *r)
{
	const char *p = text ? text : "", *end, *s1, *s2;
	struct mv_report_dkim *d;

	r->ndkim = 0;
	while (*p && r->ndkim < MV_REPORT_DKIM_MAX) {
		end = p + strcspn(p, " ");
		s1 = memchr(p, '/', (size_t)(end - p));
		s2 = s1 ? memchr(s1 + 1, '/', (size_t)(end - s1 - 1)) : NULL;
		d = &r->dkim[r->ndkim];
		if (s2 && unescape(p, (size_t)(s1 - p), d->domain, sizeof d->domain) == 0 &&
		    unescape(s1 + 1, (size_t)(s2 - s1 - 1), d->selector, sizeof d->selector) == 0 &&
		    unescape(s2 + 1, (size_t)(end - s2 - 1), d->result, sizeof d->result) == 0)
			r->ndkim++;
		p = *end ? end + 1 : end;
	}
}
