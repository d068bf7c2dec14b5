/* lib/msg/addr_priv.h — tokens of an address field, between addr_token.c and addr.c. */
#ifndef MV_ADDR_PRIV_H
#define MV_ADDR_PRIV_H

#include <stddef.h>

#include <mailvet/status.h>

/* Comments nest at most this deep (RFC 5322 sets no bound; we must). */
#define MV_ADDR_MAX_COMMENT_DEPTH 32

enum mv_addr_tok_type {
	MV_ADDR_TOK_ATOM,    /* atext run (RFC 6532: UTF-8 included) */
	MV_ADDR_TOK_QSTRING, /* quoted-string, text decoded (quotes and quoted-pairs removed) */
	MV_ADDR_TOK_DLIT,    /* domain-literal, text "[...]" without FWS */
	MV_ADDR_TOK_SPECIAL, /* one of < > @ , ; : . */
};

struct mv_addr_tok {
	enum mv_addr_tok_type type;
	char ch;          /* the special character (MV_ADDR_TOK_SPECIAL) */
	int space_before; /* FWS or a comment came before it */
	size_t pos;       /* offset in the value, for error messages */
	size_t off, len;  /* text, in the tokenizer's text buffer */
};

/* What mv_addr_tokenize fills: tokens and the text they point into. */
struct mv_addr_toks {
	struct mv_addr_tok *tok;
	size_t count, cap;
	char *text; /* decoded token text, len(value)+1 bytes */
	size_t text_len;
};

/*
 * Split value[0..len) into tokens, dropping CFWS (comments nested up to
 * MV_ADDR_MAX_COMMENT_DEPTH). Bytes that cannot appear in an address field
 * (NUL, other controls, a line break that is not a fold, invalid UTF-8,
 * unbalanced quotes, comments or brackets) are MV_ESYNTAX with the reason in
 * err. On any status t holds what must be freed with mv_addr_toks_free().
 */
enum mv_status mv_addr_tokenize(const char *value, size_t len, struct mv_addr_toks *t, char *err,
                                size_t errlen);
void mv_addr_toks_free(struct mv_addr_toks *t);

/*
 * Length of the valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or
 * code points past U+10FFFF) at p[0..n), whose first byte is >= 0x80;
 * 0 when it is not valid.
 */
size_t mv_addr_utf8_len(const unsigned char *p, size_t n);

#endif
