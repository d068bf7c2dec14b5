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

static int is_letdig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1 when s holds only letters, digits and hyphens (an A-label's alphabet). */
static int is_ldh(const char *s)
{
	for (; *s; s++)
		if (!is_letdig(*s) && *s != '-')
			return 0;
	return 1;
}

/* RFC 5321 sub-domain = Let-dig [Ldh-str], at most 63 bytes (RFC 1035 §2.3.4). */
static int is_ldh_label(const char *l, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || !is_letdig(l[0]) || !is_letdig(l[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!is_letdig(l[i]) && l[i] != '-')
			return 0;
	return 1;
}

/*
 * The A-label of one label through libidn2, in *ascii (free with
 * idn2_free()). MV_ESYNTAX if libidn2 refuses it or it does not stay one
 * label of letters, digits and hyphens.
 */
static enum mv_status idna_label(const char *l, size_t n, char **ascii)
{
	enum mv_status st = MV_ESYNTAX;
	char *label;

	*ascii = NULL;
	if ((label = mv_strndup(l, n)) == NULL)
		return MV_ENOMEM;
	if (idn2_to_ascii_8z(label, ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
		goto out;
	if ((*ascii)[0] == '\0' || strchr(*ascii, '.'))
		goto out; /* mapped to nothing, or to several labels (U+3002 ...) */
	if (!is_ldh(*ascii))
		goto out; /* UTS #46 maps U+00A0 to a space, and keeps '=' or '%' */
	st = MV_OK;
out:
	if (st != MV_OK) {
		idn2_free(*ascii);
		*ascii = NULL;
	}
	free(label);
	return st;
}

/* Convert one label and append both forms; MV_ESYNTAX if libidn2 refuses it. */
static enum mv_status convert_label(const char *l, size_t n, struct mv_buf *a, struct mv_buf *u)
{
	enum mv_status st;
	char *ascii = NULL, *uni = NULL;

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
	if ((st = idna_label(l, n, &ascii)) != MV_OK)
		return st;
	if (idn2_to_unicode_8z8z(ascii, &uni, 0) != IDN2_OK) {
		st = MV_ESYNTAX;
		goto out;
	}
	mv_ascii_lower(ascii, strlen(ascii));
	mv_ascii_lower(uni, strlen(uni));
	mv_buf_puts(a, ascii);
	mv_buf_puts(u, uni);
out:
	idn2_free(ascii);
	idn2_free(uni);
	return st;
}

/* One label of mv_addr_domain_valid; *alen gets its length in A-label form. */
static enum mv_status label_valid(const char *l, size_t n, size_t *alen)
{
	enum mv_status st;
	char *ascii = NULL;
	size_t i;

	*alen = n;
	for (i = 0; i < n && (unsigned char)l[i] < 0x80; i++)
		;
	if (i == n)
		return is_ldh_label(l, n) ? MV_OK : MV_ESYNTAX;
	if ((st = idna_label(l, n, &ascii)) != MV_OK)
		return st;
	*alen = strlen(ascii);
	st = is_ldh_label(ascii, *alen) ? MV_OK : MV_ESYNTAX;
	idn2_free(ascii);
	return st;
}

enum mv_status mv_addr_domain_valid(const char *domain, size_t len, size_t min_labels)
{
	size_t i = 0, labels = 0, total = 0, alen;
	enum mv_status st;

	if (domain == NULL || len == 0)
		return MV_ESYNTAX;
	while (i <= len) {
		const char *dot = memchr(domain + i, '.', len - i);
		size_t end = dot ? (size_t)(dot - domain) : len;
		if ((st = label_valid(domain + i, end - i, &alen)) != MV_OK)
			return st; /* an empty label too: a leading, double or trailing dot */
		total += alen + (labels ? 1 : 0);
		if (total > 253)
			return MV_ESYNTAX; /* and stop reading a hostile 64 KiB name early */
		labels++;
		i = end + 1;
	}
	return labels >= min_labels ? MV_OK : MV_ESYNTAX;
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
