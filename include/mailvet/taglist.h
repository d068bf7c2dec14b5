/* include/mailvet/taglist.h — DKIM tag=value lists (RFC 6376 §3.2), shared by DKIM and ARC. */
#ifndef MAILVET_TAGLIST_H
#define MAILVET_TAGLIST_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>

#define MV_TAGLIST_MAX_TAGS 64             /* more tags than this is MV_ETOOBIG */
#define MV_TAGLIST_MAX_LEN ((size_t)65536) /* longer input is MV_ETOOBIG */

/*
 * One tag-spec. Every pointer borrows from the text given to
 * mv_taglist_parse() and is valid as long as that text is.
 * value/value_len: the tag-value without the FWS around it (FWS inside
 * it is kept as written, folding included). raw_value/raw_len: everything
 * between the '=' and the ';' that ends the tag-spec (or the end of the
 * text), surrounding FWS included: the span RFC 6376 §3.7 deletes from
 * "b=" when hashing the signature field.
 */
struct mv_tag {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	const char *raw_value;
	size_t raw_len;
};

struct mv_taglist {
	size_t count;
	struct mv_tag tag[MV_TAGLIST_MAX_TAGS];
};

/*
 * Parse a tag-list:
 *   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 * tag-name is ALPHA *(ALPHA / DIGIT / "_"); tag-value is VALCHARs
 * (%x21-3A / %x3C-7E) separated by FWS. FWS accepts CRLF or a bare LF
 * before WSP. An empty tag-spec (";;" or a lone ";" with only FWS) is
 * tolerated, as deployed key records have them. A tag name given twice is
 * MV_ESYNTAX (RFC 6376 §3.2: "Tags with duplicate names MUST NOT occur").
 * Tag names are case-sensitive.
 *
 * Fills *tl (no allocation). On error tl->count is 0 and err (if not
 * NULL) holds a short reason such as "duplicate tag 'd'" or "bad byte in
 * value of 'b' at 17", at most errlen-1 bytes. Input over
 * MV_TAGLIST_MAX_LEN bytes or with more than MV_TAGLIST_MAX_TAGS tags is
 * MV_ETOOBIG.
 */
enum mv_status mv_taglist_parse(const char *text, size_t len, struct mv_taglist *tl, char *err,
                                size_t errlen);

/* The tag named `name` (case-sensitive), or NULL. Borrowed from tl. */
const struct mv_tag *mv_taglist_get(const struct mv_taglist *tl, const char *name);

/*
 * Copy a value with every WSP, CR and LF removed (base64 values such as
 * b= and p= may be folded anywhere): returns a new NUL-terminated string
 * the caller frees, or NULL when memory runs out. *lenp (if not NULL)
 * gets its length.
 */
char *mv_taglist_value_nows(const struct mv_tag *t, size_t *lenp);

/*
 * A value that is a decimal number of 1 to 76 digits (RFC 6376 §3.5 bounds
 * l=, t= and x= at 76 digits); values past INT64_MAX saturate. -1 when the
 * value is empty, too long or not all digits.
 */
int64_t mv_taglist_number(const struct mv_tag *t);

/* A NUL-terminated copy of the value; NULL when memory runs out. */
char *mv_taglist_value_dup(const struct mv_tag *t);

#endif
