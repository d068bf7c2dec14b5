/* lib/authres/lex.c — tokens, quoted strings, comments and folding of RFC 8601 fields. */
#include <stdio.h>
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/msg.h>

#include "authres/lex.h"

enum mv_status mv_ar_fail(struct mv_ar_cursor *c, const char *what)
{
	if (c->st == MV_OK) {
		c->st = MV_ESYNTAX;
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen, "%s at %zu", what, c->pos);
	}
	return MV_ESYNTAX;
}

/* A control character that may not stand in a comment or quoted-string. */
static int is_bad_ctl(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

int mv_ar_is_keychar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-';
}

/* RFC 2045 §5.1: token := 1*<any CHAR except SPACE, CTLs, or tspecials>. */
int mv_ar_is_tokenchar(unsigned char ch)
{
	if (ch >= 0x80)
		return 1;
	if (ch <= 0x20 || ch == 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* RFC 5322 §3.2.3 atext. */
int mv_ar_is_atext(unsigned char ch)
{
	if (ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/*
 * Length of a line break at pos that is folding: CRLF or LF followed by WSP,
 * or ending the input. 0 when there is none (or it is a bare line break).
 */
static size_t fold_len(const struct mv_ar_cursor *c, size_t pos)
{
	size_t n = 0;

	if (c->s[pos] == '\r' && pos + 1 < c->len && c->s[pos + 1] == '\n')
		n = 2;
	else if (c->s[pos] == '\n')
		n = 1;
	if (n && (pos + n == c->len || mv_ascii_is_wsp((unsigned char)c->s[pos + n])))
		return n;
	return 0;
}

/*
 * One comment starting at '(' (c->pos). Nested comments stay in the text
 * with their parentheses; quoted-pairs are resolved and folding removed.
 */
static int comment(struct mv_ar_cursor *c)
{
	size_t start = c->pos, n;
	int depth = 0;

	if (c->comments && c->comments->len)
		mv_buf_putc(c->comments, ' ');
	while (c->pos < c->len) {
		unsigned char ch = (unsigned char)c->s[c->pos];
		if (ch == '(' && ++depth > MV_AUTHRES_MAX_DEPTH) {
			mv_ar_fail(c, "comments nested too deep");
			return -1;
		}
		if (ch == ')' && --depth == 0) {
			c->pos++;
			return 1;
		}
		if ((n = fold_len(c, c->pos)) > 0) {
			c->pos += n;
			continue;
		}
		if (ch == '\\') {
			if (c->pos + 1 >= c->len || is_bad_ctl((unsigned char)c->s[c->pos + 1]))
				break;
			ch = (unsigned char)c->s[++c->pos];
		} else if (is_bad_ctl(ch)) {
			mv_ar_fail(c, "control character in comment");
			return -1;
		}
		if (c->comments && !(depth == 1 && c->s[c->pos] == '(' && c->pos == start))
			mv_buf_putc(c->comments, (char)ch);
		c->pos++;
	}
	c->pos = start;
	mv_ar_fail(c, "unterminated comment");
	return -1;
}

int mv_ar_cfws(struct mv_ar_cursor *c)
{
	size_t start = c->pos, n;

	while (c->pos < c->len) {
		unsigned char ch = (unsigned char)c->s[c->pos];
		if (mv_ascii_is_wsp(ch)) {
			c->pos++;
		} else if ((n = fold_len(c, c->pos)) > 0) {
			c->pos += n;
		} else if (ch == '(') {
			if (comment(c) < 0)
				return -1;
		} else {
			break;
		}
	}
	return c->pos > start;
}

size_t mv_ar_span_keyword(const struct mv_ar_cursor *c)
{
	size_t i = c->pos;

	while (i < c->len && mv_ar_is_keychar((unsigned char)c->s[i]))
		i++;
	return i - c->pos;
}

size_t mv_ar_span_token(const struct mv_ar_cursor *c)
{
	size_t i = c->pos;

	while (i < c->len && mv_ar_is_tokenchar((unsigned char)c->s[i]))
		i++;
	return i - c->pos;
}

size_t mv_ar_span_atext(const struct mv_ar_cursor *c)
{
	size_t i = c->pos;

	while (i < c->len && (mv_ar_is_atext((unsigned char)c->s[i]) || c->s[i] == '.'))
		i++;
	return i - c->pos;
}

/* Let-dig for domain labels: ASCII letter or digit, or a UTF-8 byte (U-label). */
static int is_letdig(unsigned char ch)
{
	return ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/*
 * Length of the longest prefix of s[0..n) that is a domain-name
 * (sub-domain 1*("." sub-domain), sub-domain = Let-dig [Ldh-str]), 0 if none.
 */
static size_t domain_prefix(const char *s, size_t n)
{
	size_t i = 0, labels = 0, end = 0;

	for (;;) {
		size_t l = i;
		while (i < n && (is_letdig((unsigned char)s[i]) || s[i] == '-'))
			i++;
		if (i == l || s[l] == '-' || s[i - 1] == '-')
			break;
		labels++;
		if (labels >= 2)
			end = i;
		if (i >= n || s[i] != '.')
			break;
		i++;
	}
	return end;
}

size_t mv_ar_span_domain(const struct mv_ar_cursor *c)
{
	return domain_prefix(c->s + c->pos, c->len - c->pos);
}

enum mv_status mv_ar_quoted(struct mv_ar_cursor *c, struct mv_buf *out)
{
	size_t start = c->pos, n;

	c->pos++;
	while (c->pos < c->len) {
		unsigned char ch = (unsigned char)c->s[c->pos];
		if (ch == '"') {
			c->pos++;
			return mv_buf_status(out);
		}
		if ((n = fold_len(c, c->pos)) > 0) {
			c->pos += n;
			continue;
		}
		if (ch == '\\') {
			if (c->pos + 1 >= c->len || is_bad_ctl((unsigned char)c->s[c->pos + 1]))
				break;
			ch = (unsigned char)c->s[++c->pos];
		} else if (is_bad_ctl(ch)) {
			return mv_ar_fail(c, "control character in quoted-string");
		}
		mv_buf_putc(out, (char)ch);
		c->pos++;
	}
	c->pos = start;
	return mv_ar_fail(c, "unterminated quoted-string");
}

int mv_ar_version(struct mv_ar_cursor *c, unsigned *v)
{
	unsigned long x = 0;
	size_t digits = 0;

	while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		if (x <= 99999999ul)
			x = x * 10 + (unsigned long)(c->s[c->pos] - '0');
		else
			x = MV_AUTHRES_VERSION_UNKNOWN;
		digits++;
		c->pos++;
	}
	if (!digits)
		return 0;
	*v = (x == 0 || digits > 9) ? MV_AUTHRES_VERSION_UNKNOWN : (unsigned)x;
	return 1;
}

int mv_authres_is_keyword(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!mv_ar_is_keychar((unsigned char)s[i]))
			return 0;
	return 1;
}

int mv_authres_is_text(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_bad_ctl((unsigned char)s[i]))
			return 0;
	return 1;
}

int mv_authres_is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || !mv_ar_is_tokenchar((unsigned char)s[i]))
			return 0;
	return 1;
}

int mv_authres_is_domain(const char *s, size_t n)
{
	return mv_addr_domain_valid(s, n, 2) == MV_OK;
}

/* RFC 5322 dot-atom-text: 1*atext *("." 1*atext). */
static int is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !mv_ar_is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int mv_authres_is_addr(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t local;

	if (!at)
		return 0;
	local = (size_t)(at - s);
	if (local > 0 && !is_dot_atom(s, local))
		return 0;
	return mv_authres_is_domain(at + 1, n - local - 1);
}
