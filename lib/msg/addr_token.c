/* lib/msg/addr_token.c — the lexical layer of RFC 5322 addresses: atoms, quoted strings, CFWS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "msg/addr_priv.h"

struct lexer {
	const unsigned char *s;
	size_t len, i;
	struct mv_addr_toks *t;
	char *err;
	size_t errlen;
};

static enum mv_status lex_fail(struct lexer *lx, size_t pos, const char *why)
{
	if (lx->err && lx->errlen)
		snprintf(lx->err, lx->errlen, "%s at offset %zu", why, pos);
	return MV_ESYNTAX;
}

size_t mv_addr_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need, k;
	unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0; /* overlong */
	else if (c == 0xED)
		hi = 0x9F; /* surrogates */
	else if (c == 0xF0)
		lo = 0x90; /* overlong */
	else if (c == 0xF4)
		hi = 0x8F; /* past U+10FFFF */
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < need; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return need;
}

/* RFC 5322 §3.2.3 atext (printable ASCII but specials); UTF-8 is checked apart. */
static int is_atext(unsigned char c)
{
	return c > 32 && c < 127 && !strchr("()<>[]:;@\\,.\"", c);
}

/*
 * FWS at lx->i: WSP, or a line break (CRLF or LF) followed by WSP. Returns
 * the bytes it covers (0 if none); a line break that is not a fold is an
 * error reported through *st.
 */
static size_t fws_len(struct lexer *lx, enum mv_status *st)
{
	const unsigned char *s = lx->s;
	size_t i = lx->i, n = lx->len;

	if (mv_ascii_is_wsp(s[i]))
		return 1;
	if (s[i] == '\r' && i + 2 < n && s[i + 1] == '\n' && mv_ascii_is_wsp(s[i + 2]))
		return 2;
	if (s[i] == '\n' && i + 1 < n && mv_ascii_is_wsp(s[i + 1]))
		return 1;
	if (s[i] == '\r' || s[i] == '\n')
		*st = lex_fail(lx, i, "line break that is not folding");
	return 0;
}

/*
 * One content character at lx->i inside a quoted string, comment or domain
 * literal: a printable ASCII byte or a valid UTF-8 sequence, or a
 * quoted-pair (backslash + VCHAR or WSP). Sets *len to the bytes consumed
 * and *out, *outlen to the character it stands for.
 */
static enum mv_status content_char(struct lexer *lx, size_t *len, const unsigned char **out,
                                   size_t *outlen)
{
	const unsigned char *s = lx->s + lx->i;
	size_t room = lx->len - lx->i, u;

	if (s[0] == '\\') {
		if (room < 2 || s[1] == '\0' || (s[1] < 32 && s[1] != '\t') || s[1] == 127)
			return lex_fail(lx, lx->i, "bad quoted-pair");
		if (s[1] >= 0x80) {
			if ((u = mv_addr_utf8_len(s + 1, room - 1)) == 0)
				return lex_fail(lx, lx->i + 1, "invalid UTF-8");
			*len = 1 + u;
			*out = s + 1;
			*outlen = u;
			return MV_OK;
		}
		*len = 2;
		*out = s + 1;
		*outlen = 1;
		return MV_OK;
	}
	if (s[0] == '\0')
		return lex_fail(lx, lx->i, "NUL byte");
	if (s[0] < 32 || s[0] == 127)
		return lex_fail(lx, lx->i, "control character");
	if (s[0] >= 0x80) {
		if ((u = mv_addr_utf8_len(s, room)) == 0)
			return lex_fail(lx, lx->i, "invalid UTF-8");
		*len = *outlen = u;
		*out = s;
		return MV_OK;
	}
	*len = *outlen = 1;
	*out = s;
	return MV_OK;
}

static enum mv_status push(struct lexer *lx, enum mv_addr_tok_type type, char ch, size_t pos,
                           size_t off, int space)
{
	struct mv_addr_toks *t = lx->t;
	struct mv_addr_tok *tok;

	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		if ((tok = realloc(t->tok, cap * sizeof(*tok))) == NULL)
			return MV_ENOMEM;
		t->tok = tok;
		t->cap = cap;
	}
	tok = &t->tok[t->count++];
	tok->type = type;
	tok->ch = ch;
	tok->space_before = space;
	tok->pos = pos;
	tok->off = off;
	tok->len = t->text_len - off;
	t->text[t->text_len] = '\0';
	return MV_OK;
}

static void put_text(struct lexer *lx, const void *p, size_t n)
{
	memcpy(lx->t->text + lx->t->text_len, p, n);
	lx->t->text_len += n;
}

/* A comment at lx->i ('('), nested comments included; bounded in depth. */
static enum mv_status skip_comment(struct lexer *lx)
{
	enum mv_status st = MV_OK;
	size_t start = lx->i, depth = 0, n, on;
	const unsigned char *o;

	while (lx->i < lx->len) {
		unsigned char c = lx->s[lx->i];
		if (c == '(') {
			if (++depth > MV_ADDR_MAX_COMMENT_DEPTH)
				return lex_fail(lx, lx->i, "comments nested too deeply");
			lx->i++;
		} else if (c == ')') {
			lx->i++;
			if (--depth == 0)
				return MV_OK;
		} else if ((n = fws_len(lx, &st)) > 0) {
			lx->i += n;
		} else if (st != MV_OK) {
			return st;
		} else {
			if ((st = content_char(lx, &n, &o, &on)) != MV_OK)
				return st;
			lx->i += n;
		}
	}
	return lex_fail(lx, start, "unterminated comment");
}

/* A quoted-string at lx->i ('"'): its content, FWS unfolded, quoted-pairs resolved. */
static enum mv_status quoted_string(struct lexer *lx, int space)
{
	enum mv_status st = MV_OK;
	size_t start = lx->i, off = lx->t->text_len, n, on;
	const unsigned char *o;

	lx->i++;
	while (lx->i < lx->len) {
		unsigned char c = lx->s[lx->i];
		if (c == '"') {
			lx->i++;
			return push(lx, MV_ADDR_TOK_QSTRING, 0, start, off, space);
		}
		if ((n = fws_len(lx, &st)) > 0) {
			/* A WSP is kept; a line break of a fold is dropped (its WSP follows). */
			if (mv_ascii_is_wsp(lx->s[lx->i]))
				put_text(lx, lx->s + lx->i, 1);
			lx->i += n;
			continue;
		}
		if (st != MV_OK)
			return st;
		if ((st = content_char(lx, &n, &o, &on)) != MV_OK)
			return st;
		put_text(lx, o, on);
		lx->i += n;
	}
	return lex_fail(lx, start, "unterminated quoted string");
}

/* A domain-literal at lx->i ('['): "[" dtext... "]", FWS dropped. */
static enum mv_status domain_literal(struct lexer *lx, int space)
{
	enum mv_status st = MV_OK;
	size_t start = lx->i, off = lx->t->text_len, n, on;
	const unsigned char *o;

	put_text(lx, "[", 1);
	lx->i++;
	while (lx->i < lx->len) {
		unsigned char c = lx->s[lx->i];
		if (c == ']') {
			put_text(lx, "]", 1);
			lx->i++;
			return push(lx, MV_ADDR_TOK_DLIT, 0, start, off, space);
		}
		if (c == '[')
			return lex_fail(lx, lx->i, "'[' inside a domain literal");
		if ((n = fws_len(lx, &st)) > 0) {
			lx->i += n;
			continue;
		}
		if (st != MV_OK)
			return st;
		if ((st = content_char(lx, &n, &o, &on)) != MV_OK)
			return st;
		put_text(lx, o, on);
		lx->i += n;
	}
	return lex_fail(lx, start, "unterminated domain literal");
}

/* An atom at lx->i: a run of atext and UTF-8 characters. */
static enum mv_status atom(struct lexer *lx, int space)
{
	size_t start = lx->i, off = lx->t->text_len, u;

	while (lx->i < lx->len) {
		unsigned char c = lx->s[lx->i];
		if (c < 0x80) {
			if (!is_atext(c))
				break;
			lx->i++;
			continue;
		}
		if ((u = mv_addr_utf8_len(lx->s + lx->i, lx->len - lx->i)) == 0)
			return lex_fail(lx, lx->i, "invalid UTF-8");
		lx->i += u;
	}
	put_text(lx, lx->s + start, lx->i - start);
	return push(lx, MV_ADDR_TOK_ATOM, 0, start, off, space);
}

/* One step of the tokenizer at lx->i; *space tracks CFWS since the last token. */
static enum mv_status lex_one(struct lexer *lx, int *space)
{
	enum mv_status st = MV_OK;
	unsigned char c = lx->s[lx->i];
	size_t n;

	if ((n = fws_len(lx, &st)) > 0) {
		lx->i += n;
		*space = 1;
		return MV_OK;
	}
	if (st != MV_OK)
		return st;
	switch (c) {
	case '(':
		*space = 1;
		return skip_comment(lx);
	case '"':
		return quoted_string(lx, *space);
	case '[':
		return domain_literal(lx, *space);
	case '<':
	case '>':
	case '@':
	case ',':
	case ';':
	case ':':
	case '.':
		lx->i++;
		return push(lx, MV_ADDR_TOK_SPECIAL, (char)c, lx->i - 1, lx->t->text_len, *space);
	case ')':
		return lex_fail(lx, lx->i, "unbalanced ')'");
	case ']':
		return lex_fail(lx, lx->i, "unbalanced ']'");
	case '\\':
		return lex_fail(lx, lx->i, "backslash outside quotes");
	case '\0':
		return lex_fail(lx, lx->i, "NUL byte");
	default:
		break;
	}
	if (c < 32 || c == 127)
		return lex_fail(lx, lx->i, "control character");
	return atom(lx, *space);
}

enum mv_status mv_addr_tokenize(const char *value, size_t len, struct mv_addr_toks *t, char *err,
                                size_t errlen)
{
	struct lexer lx = {(const unsigned char *)value, len, 0, t, err, errlen};
	enum mv_status st;
	int space = 0;
	size_t before;

	memset(t, 0, sizeof(*t));
	if ((t->text = malloc(len + 1)) == NULL)
		return MV_ENOMEM;
	t->text[0] = '\0';
	while (lx.i < len) {
		before = t->count;
		if ((st = lex_one(&lx, &space)) != MV_OK)
			return st;
		if (t->count != before)
			space = 0;
	}
	return MV_OK;
}

void mv_addr_toks_free(struct mv_addr_toks *t)
{
	free(t->tok);
	free(t->text);
	memset(t, 0, sizeof(*t));
}
