/* lib/spf/macro.c — SPF macros (RFC 7208 §7): the macro-string grammar and its expansion. */
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

/* Digit transformers past this are "all parts" (§7.3 asks for at least 128). */
#define MAX_DIGITS_VALUE 1000

/* One parsed %{...} expression. */
struct macro_expr {
	char letter;   /* lower case */
	int upper;     /* URL-escape the result (§7.3) */
	unsigned keep; /* right-hand parts to keep; 0 = all */
	int reverse;
	char delims[8]; /* NUL-terminated; "." when none given */
};

static int is_delimiter(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static int letter_allowed(char lower, enum mv_spf_macro_mode mode)
{
	if (strchr("slodipvh", lower))
		return 1;
	return (lower == 'c' || lower == 'r' || lower == 't') && mode != MV_SPF_MACRO_DOMAIN;
}

/*
 * Parse "%{" letter transformers *delimiter "}" at s[*i] (pointing at '%').
 * Advances *i past the '}'. MV_ESYNTAX on anything else.
 */
static enum mv_status parse_expr(const char *s, size_t len, size_t *i, enum mv_spf_macro_mode mode,
                                 struct macro_expr *e)
{
	size_t p = *i + 2, nd = 0;
	int digits = 0;
	char c;

	memset(e, 0, sizeof *e);
	if (p >= len)
		return MV_ESYNTAX;
	c = s[p++];
	e->upper = c >= 'A' && c <= 'Z';
	e->letter = mv_ascii_tolower(c);
	if (!letter_allowed(e->letter, mode))
		return MV_ESYNTAX;
	while (p < len && s[p] >= '0' && s[p] <= '9') {
		if (e->keep < MAX_DIGITS_VALUE)
			e->keep = e->keep * 10 + (unsigned)(s[p] - '0');
		digits = 1;
		p++;
	}
	if (digits && e->keep == 0)
		return MV_ESYNTAX; /* §7.3: a DIGIT transformer is nonzero */
	if (p < len && (s[p] == 'r' || s[p] == 'R')) {
		e->reverse = 1;
		p++;
	}
	while (p < len && is_delimiter(s[p])) {
		if (!strchr(e->delims, s[p]) && nd + 1 < sizeof e->delims)
			e->delims[nd++] = s[p];
		p++;
	}
	if (p >= len || s[p] != '}')
		return MV_ESYNTAX;
	if (nd == 0)
		e->delims[0] = '.';
	*i = p + 1;
	return MV_OK;
}

/* The raw value of a macro letter, appended to v. */
static void letter_value(const struct mv_spf_macro_ctx *ctx, char letter, struct mv_buf *v)
{
	const char *s = NULL;

	switch (letter) {
	case 's':
		s = ctx->sender;
		break;
	case 'l':
		s = ctx->local;
		break;
	case 'o':
		s = ctx->sender_domain;
		break;
	case 'd':
		s = ctx->domain;
		break;
	case 'h':
		s = ctx->helo;
		break;
	case 'r':
		s = ctx->receiver ? ctx->receiver : "unknown";
		break;
	case 'p':
		s = ctx->validated_name ? ctx->validated_name(ctx->arg) : "unknown";
		break;
	case 'v':
		s = ctx->ip && ctx->ip->v6 ? "ip6" : "in-addr";
		break;
	case 'i':
		if (ctx->ip)
			mv_spf_ip_dotted(ctx->ip, v);
		return;
	case 'c':
		if (ctx->ip)
			mv_spf_ip_text(ctx->ip, v);
		return;
	case 't':
		mv_buf_printf(v, "%lld", ctx->now);
		return;
	default:
		return;
	}
	mv_buf_puts(v, s ? s : "");
}

/* RFC 3986 unreserved characters stay; everything else becomes %XX (§7.3). */
static void url_escape(const char *s, size_t n, struct mv_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			mv_buf_putc(out, (char)c);
		} else {
			mv_buf_putc(out, '%');
			mv_buf_putc(out, hex[c >> 4]);
			mv_buf_putc(out, hex[c & 15]);
		}
	}
}

/*
 * Split value on the delimiters, reverse if asked, keep the right-most
 * `keep` parts, join them with dots (§7.3), append to out.
 */
static enum mv_status transform(const struct macro_expr *e, const char *val, size_t n,
                                struct mv_buf *out)
{
	size_t *starts = NULL, nparts = 1, i, k, first, count;
	struct mv_buf joined = MV_BUF_INIT;
	enum mv_status st = MV_OK;

	for (i = 0; i < n; i++)
		if (strchr(e->delims, val[i]) && val[i])
			nparts++;
	starts = malloc((nparts + 1) * sizeof *starts);
	if (!starts)
		return MV_ENOMEM;
	starts[0] = 0;
	for (i = 0, k = 1; i < n; i++)
		if (strchr(e->delims, val[i]) && val[i])
			starts[k++] = i + 1;
	starts[nparts] = n + 1; /* part j is val[starts[j] .. starts[j+1]-1) */
	count = e->keep && e->keep < nparts ? e->keep : nparts;
	for (k = 0; k < count; k++) {
		size_t j;
		if (e->reverse) /* reversed list, right-most `count`: original count-1 .. 0 */
			j = count - 1 - k;
		else
			j = nparts - count + k;
		first = starts[j];
		if (k > 0)
			mv_buf_putc(&joined, '.');
		mv_buf_append(&joined, val + first, starts[j + 1] - 1 - first);
	}
	if ((st = mv_buf_status(&joined)) != MV_OK)
		goto out;
	if (e->upper)
		url_escape(joined.data ? joined.data : "", joined.len, out);
	else
		mv_buf_append(out, joined.data ? joined.data : "", joined.len);
	st = mv_buf_status(out);
out:
	mv_buf_free(&joined);
	free(starts);
	return st;
}

/*
 * The one walk over a macro-string: checks the grammar and, when ctx and
 * out are given, appends the expansion.
 */
static enum mv_status walk(const struct mv_spf_macro_ctx *ctx, const char *s, size_t len,
                           enum mv_spf_macro_mode mode, struct mv_buf *out)
{
	struct mv_buf val = MV_BUF_INIT;
	struct macro_expr e;
	enum mv_status st = MV_OK;
	size_t i = 0;

	while (i < len && st == MV_OK) {
		unsigned char c = (unsigned char)s[i];
		if (c != '%') {
			if (!((c >= 0x21 && c <= 0x7e) ||
			      (c == ' ' && mode == MV_SPF_MACRO_EXPLAIN))) {
				st = MV_ESYNTAX; /* §7.1 macro-literal: visible ASCII only */
				break;
			}
			if (out)
				mv_buf_putc(out, (char)c);
			i++;
			continue;
		}
		if (i + 1 >= len) {
			st = MV_ESYNTAX;
			break;
		}
		switch (s[i + 1]) {
		case '%':
		case '_':
		case '-':
			if (out)
				mv_buf_puts(out, s[i + 1] == '%'   ? "%"
				                 : s[i + 1] == '_' ? " "
				                                   : "%20");
			i += 2;
			break;
		case '{':
			if ((st = parse_expr(s, len, &i, mode, &e)) != MV_OK || !out || !ctx)
				break;
			mv_buf_reset(&val);
			letter_value(ctx, e.letter, &val);
			if ((st = mv_buf_status(&val)) == MV_OK)
				st = transform(&e, val.data ? val.data : "", val.len, out);
			break;
		default:
			st = MV_ESYNTAX; /* §7.1: '%' followed by anything else */
		}
	}
	mv_buf_free(&val);
	if (st == MV_OK && out)
		st = mv_buf_status(out);
	return st;
}

int mv_spf_macro_valid(const char *s, size_t len, enum mv_spf_macro_mode mode)
{
	return walk(NULL, s, len, mode, NULL) == MV_OK;
}

enum mv_status mv_spf_macro_expand(const struct mv_spf_macro_ctx *ctx, const char *s, size_t len,
                                   enum mv_spf_macro_mode mode, struct mv_buf *out)
{
	return walk(ctx, s, len, mode, out);
}

int mv_spf_domain_finish(struct mv_buf *b)
{
	size_t start = 0, i, label;

	if (mv_buf_status(b) != MV_OK || !b->data || b->len == 0)
		return 0;
	if (b->data[b->len - 1] == '.')
		b->data[--b->len] = '\0';
	while (b->len - start > 253) { /* §7.3: drop labels from the left */
		const char *dot = memchr(b->data + start, '.', b->len - start);
		if (!dot)
			return 0;
		start = (size_t)(dot - b->data) + 1;
	}
	if (start > 0) {
		memmove(b->data, b->data + start, b->len - start + 1);
		b->len -= start;
	}
	if (b->len == 0)
		return 0;
	for (i = 0, label = 0; i < b->len; i++) {
		if (b->data[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > 63 || b->data[i] == '\0') {
			return 0;
		}
	}
	return label > 0;
}
