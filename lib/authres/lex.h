/* lib/authres/lex.h — the lexical layer of RFC 8601 §2.2 shared by parser and formatter. */
#ifndef MAILVET_AUTHRES_LEX_H
#define MAILVET_AUTHRES_LEX_H

#include <stddef.h>

#include <mailvet/status.h>
#include <mailvet/util.h>

/*
 * A cursor over one field value: the bytes s[pos..len) are still to read;
 * no step reads past len. The first error is kept in st, its text in err.
 * Comment text goes to *comments when it is not NULL.
 */
struct mv_ar_cursor {
	const char *s;
	size_t len;
	size_t pos;
	struct mv_buf *comments;
	enum mv_status st;
	char *err;
	size_t errlen;
};

/* Record the first error: MV_ESYNTAX with "<what> at <pos>". Returns MV_ESYNTAX. */
enum mv_status mv_ar_fail(struct mv_ar_cursor *c, const char *what);

/* Character classes. Bytes >= 0x80 (UTF-8, RFC 6532) count as token and atext. */
int mv_ar_is_keychar(unsigned char ch);
int mv_ar_is_tokenchar(unsigned char ch);
int mv_ar_is_atext(unsigned char ch);

/*
 * Skip CFWS (RFC 5322 §3.2.2): white space, folding (CRLF or LF before WSP,
 * or at the very end), and comments nested at most MV_AUTHRES_MAX_DEPTH deep.
 * Returns 1 if something was skipped, 0 if nothing, -1 on error (c->st set).
 */
int mv_ar_cfws(struct mv_ar_cursor *c);

/* Length of the run of bytes of a class starting at c->pos (not consumed). */
size_t mv_ar_span_keyword(const struct mv_ar_cursor *c);
size_t mv_ar_span_token(const struct mv_ar_cursor *c);
size_t mv_ar_span_atext(const struct mv_ar_cursor *c); /* atext and '.' */
/* Length of a domain-name (DKIM, with U-labels) at c->pos, 0 if there is none. */
size_t mv_ar_span_domain(const struct mv_ar_cursor *c);

/*
 * Read a quoted-string at c->pos (which holds '"'): the unquoted text
 * (quoted-pairs resolved, folding removed) is appended to out.
 * MV_ESYNTAX (unterminated, control character) or the status of out.
 */
enum mv_status mv_ar_quoted(struct mv_ar_cursor *c, struct mv_buf *out);

/*
 * Read 1*DIGIT as a version: "0" and numbers of more than nine digits give
 * MV_AUTHRES_VERSION_UNKNOWN. Returns 0 when there is no digit at c->pos.
 */
int mv_ar_version(struct mv_ar_cursor *c, unsigned *v);

/* Whole-string tests used by the builders and the formatter. */
int mv_authres_is_keyword(const char *s, size_t n);
int mv_authres_is_text(const char *s, size_t n);  /* no control character but HTAB */
int mv_authres_is_token(const char *s, size_t n); /* non-empty ASCII MIME token */
/* DKIM domain-name, U-labels allowed: mv_addr_domain_valid(s, n, 2) */
int mv_authres_is_domain(const char *s, size_t n);
int mv_authres_is_addr(const char *s, size_t n); /* [dot-atom] "@" domain-name */

#endif
