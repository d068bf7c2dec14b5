/* lib/msg/addr_domain.c — a domain in A-label and U-label form (IDNA2008 / UTS #46 via libidn2). */
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

/*
 * Labels are converted one at a time. A label of plain ASCII that does not
 * start with "xn--" is only lowercased: libidn2 would apply the IDNA hyphen
 * rules to it and refuse real host names such as "r3---sn-abc". Any other
 * label goes through libidn2 (non-transitional UTS #46 mapping, NFC, IDNA2008
 * checks; for "xn--" labels a punycode round trip), and must stay one label
 * of letters, digits and hyphens.
 */
static int is_plain_ascii_label(const char *l, size_t n)
{
	size_t i;

	if (n >= 4 && mv_ascii_ieq(l, 4, "xn--"))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)l[i] >= 0x80)
			return 0;
	return 1;
}

/* 1 when s holds only letters, digits and hyphens (an A-label's alphabet). */
static int is_ldh(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

/* Convert one label and append both forms; MV_ESYNTAX if libidn2 refuses it. */
static enum mv_status convert_label(const char *l, size_t n, struct mv_buf *a, struct mv_buf *u)
{
	enum mv_status st = MV_ESYNTAX;
	char *label = NULL, *ascii = NULL, *uni = NULL;

	if (is_plain_ascii_label(l, n)) {
		size_t at = a->len, ut = u->len;
		mv_buf_append(a, l, n);
		mv_buf_append(u, l, n);
		if (mv_buf_status(a) == MV_OK && mv_buf_status(u) == MV_OK) {
			mv_ascii_lower(a->data + at, n);
			mv_ascii_lower(u->data + ut, n);
		}
		return MV_OK;
	}
	if ((label = mv_strndup(l, n)) == NULL)
		return MV_ENOMEM;
	if (idn2_to_ascii_8z(label, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
		goto out;
	if (ascii[0] == '\0' || strchr(ascii, '.'))
		goto out; /* mapped to nothing, or to several labels (U+3002 ...) */
	if (!is_ldh(ascii))
		goto out; /* UTS #46 maps U+00A0 to a space, and keeps '=' or '%' */
	if (idn2_to_unicode_8z8z(ascii, &uni, 0) != IDN2_OK)
		goto out;
	mv_ascii_lower(ascii, strlen(ascii));
	mv_ascii_lower(uni, strlen(uni));
	mv_buf_puts(a, ascii);
	mv_buf_puts(u, uni);
	st = MV_OK;
out:
	free(label);
	idn2_free(ascii);
	idn2_free(uni);
	return st;
}

enum mv_status mv_addr_domain_forms(const char *domain, size_t len, char **ascii, char **unicode)
{
	struct mv_buf a = MV_BUF_INIT, u = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	size_t i = 0;

	if (!ascii || !unicode)
		return MV_EINVAL;
	*ascii = *unicode = NULL;
	if (!domain && len)
		return MV_EINVAL;
	if (len == 0)
		return MV_ESYNTAX;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)domain[i];
		if (c <= ' ' || c == 127)
			return MV_ESYNTAX;
	}
	for (i = 0; i <= len;) {
		const char *dot = memchr(domain + i, '.', len - i);
		size_t end = dot ? (size_t)(dot - domain) : len;
		if (end == i) {
			st = MV_ESYNTAX; /* empty label, a leading or trailing dot */
			goto out;
		}
		if (i) {
			mv_buf_putc(&a, '.');
			mv_buf_putc(&u, '.');
		}
		if ((st = convert_label(domain + i, end - i, &a, &u)) != MV_OK)
			goto out;
		i = end + 1;
	}
	if ((st = mv_buf_status(&a)) != MV_OK || (st = mv_buf_status(&u)) != MV_OK)
		goto out;
	*ascii = mv_buf_steal(&a, NULL);
	*unicode = mv_buf_steal(&u, NULL);
	if (!*ascii || !*unicode) {
		free(*ascii);
		free(*unicode);
		*ascii = *unicode = NULL;
		st = MV_ENOMEM;
	}
out:
	mv_buf_free(&a);
	mv_buf_free(&u);
	return st;
}
