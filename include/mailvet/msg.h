/*
 * include/mailvet/msg.h — the message model: header fields, addresses, DKIM
 * canonicalization, tag=value lists.
 */
#ifndef MAILVET_MSG_H
#define MAILVET_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>
#include <mailvet/util.h>

/* ---- Message: header fields and body ------------------------------------ */

/* Limits on what mv_msg_parse() accepts; past one it returns MV_ETOOBIG. */
struct mv_msg_limits {
	size_t max_header_bytes; /* whole header block; default 1 MiB */
	size_t max_fields;       /* number of header fields; default 1000 */
	size_t max_line;         /* one physical header line; default 64 KiB */
};
void mv_msg_limits_default(struct mv_msg_limits *lim);

struct mv_msg; /* opaque */

/* One header field, borrowed from its message (valid until mv_msg_free()). */
struct mv_msg_field {
	const char *name; /* as written, NUL-terminated, no colon */
	size_t name_len;
	const char *raw; /* the whole field as received, from the first byte of the
	                       * name through the final line break, folding kept, byte-exact
	                       * (bare LF input keeps its bare LFs) */
	size_t raw_len;
	const char *value; /* raw value: the bytes after the colon up to (not including)
	                       * the final line break, folding kept */
	size_t value_len;
	const char *unfolded; /* value with every CRLF/LF that precedes WSP removed,
	                       * NUL-terminated */
	size_t unfolded_len;
};

/*
 * Parse a message from bytes (CRLF or bare LF line ends; a header block that
 * ends at end of input without an empty line is a message with no body).
 * A line in the header that is neither a field (name ':' ...) nor a
 * continuation is MV_ESYNTAX (so is an mbox "From " line: strip it first).
 * Field names are printable ASCII but ':' and may be followed by WSP before
 * the colon (RFC 5322 obs-optional). A line of only WSP is a continuation,
 * not the end of the header. Values are kept byte for byte: a lone CR, NUL
 * or 8-bit bytes stay in them (use the lengths). lim may be NULL for the
 * defaults; a line past max_line, a header past max_header_bytes or more
 * than max_fields fields is MV_ETOOBIG.
 * On MV_OK *out is a new message the caller frees with mv_msg_free(); it
 * keeps its own copy of the header block and borrows nothing from data
 * except the body (see mv_msg_body). err (if not NULL) gets a short reason
 * on failure ("line 7: no colon in header field"), at most errlen-1 bytes.
 */
enum mv_status mv_msg_parse(const char *data, size_t len, const struct mv_msg_limits *lim,
                            struct mv_msg **out, char *err, size_t errlen);

/*
 * Build a message field by field, as a milter receives it: mv_msg_new() then
 * mv_msg_add_field() for each field (name and value as the MTA gives them,
 * value with folding kept, without the final line break; the field's raw form
 * becomes "name:value\r\n"). Same limits as mv_msg_parse (MV_ETOOBIG).
 * MV_ESYNTAX for an empty or non-ftext name, or a line break in the value
 * that is not a fold (CRLF or LF followed by WSP): a field cannot smuggle
 * another. On failure the message is unchanged.
 */
enum mv_status mv_msg_new(const struct mv_msg_limits *lim, struct mv_msg **out);
enum mv_status mv_msg_add_field(struct mv_msg *m, const char *name, size_t name_len,
                                const char *value, size_t value_len);

void mv_msg_free(struct mv_msg *m); /* NULL is fine */

size_t mv_msg_field_count(const struct mv_msg *m);
/* Field i (0 = first in the message); NULL past the end. */
const struct mv_msg_field *mv_msg_field(const struct mv_msg *m, size_t i);
/*
 * Index of the next field named `name` (case-insensitive) at or after
 * index `from`, or (size_t)-1 when there is none.
 */
size_t mv_msg_find(const struct mv_msg *m, const char *name, size_t from);

/*
 * The body as mv_msg_parse found it: *off is its offset in the parsed data
 * (just after the empty line; == len when there is no body), *body points
 * into the caller's data, which must still be alive. For messages built
 * with mv_msg_new() the body is empty ("" with *len = *off = 0). Any of the
 * out pointers may be NULL.
 */
void mv_msg_body(const struct mv_msg *m, const char **body, size_t *len, size_t *off);

/* ---- Addresses (RFC 5322 §3.4, obsolete syntax §4.4, RFC 6532 UTF-8) --- */

/* One mailbox. Strings are NUL-terminated and owned by the list. */
struct mv_addr {
	char *display;        /* display name, decoded from quoting; NULL if none.
	                       * encoded-words are NOT decoded (RFC 2047 is presentation) */
	char *local;          /* local part, unquoted (quoted-pairs resolved) */
	char *domain;         /* domain as written (ASCII-lowercased), never NULL: an
	                       * address without a domain is MV_ESYNTAX. A domain
	                       * literal is kept as "[...]" without its FWS */
	char *domain_ascii;   /* A-label form (libidn2), lowercased; literal as is */
	char *domain_unicode; /* U-label form, lowercased; literal as is */
	char *group;          /* name of the group it belongs to, or NULL */
};

struct mv_addr_list {
	size_t count;
	struct mv_addr *addr;
	size_t groups; /* number of groups seen (an empty group adds no address) */
};

/*
 * Parse an address-list / mailbox-list (the unfolded value of From, Sender,
 * Reply-To, To, Cc; folds CRLF/LF + WSP are accepted too). Comments and CFWS
 * anywhere RFC 5322 allows (comments nest at most 32 deep), quoted local
 * parts, domain literals, group syntax, the obsolete forms (routes,
 * obs-local-part, obs-phrase with dots, empty list elements), UTF-8 per
 * RFC 6532. A malformed value is MV_ESYNTAX with the reason and offset in
 * err — never a guess: NUL and other control bytes, invalid UTF-8, a line
 * break that is not a fold, unbalanced quotes/comments/brackets, a missing
 * local part or domain, nested groups, a domain IDNA refuses, and a value
 * with neither a mailbox nor a group. Input over MV_ADDR_MAX is MV_ETOOBIG.
 * On MV_OK *out is a new list freed with mv_addr_list_free(); on failure
 * *out is NULL.
 */
#define MV_ADDR_MAX ((size_t)64 * 1024)
enum mv_status mv_addr_parse(const char *value, size_t len, struct mv_addr_list **out, char *err,
                             size_t errlen);
void mv_addr_list_free(struct mv_addr_list *l); /* NULL is fine */

/*
 * A domain name in both IDNA forms, lowercased: A-label (*ascii) and U-label
 * (*unicode), each a new string the caller frees. MV_ESYNTAX when the name is
 * not a valid IDNA domain (also: empty, an empty label or a trailing dot,
 * bytes <= SP or DEL, or a label that UTS #46 maps to several labels).
 * Labels are converted one by one: plain ASCII labels not starting with
 * "xn--" are only lowercased (so "r3---sn-x" passes); the others go through
 * libidn2 (non-transitional UTS #46, NFC, IDNA2008 checks).
 */
enum mv_status mv_addr_domain_forms(const char *domain, size_t len, char **ascii, char **unicode);

/*
 * MV_OK when domain[0..len) is a domain name in the grammar RFC 6376 §3.5
 * takes from RFC 5321 §4.1.2, sub-domain *("." sub-domain) with
 * sub-domain = Let-dig [Ldh-str], and has at least min_labels labels
 * (2 for a DKIM d=, 1 for an RFC 5321 Domain); MV_ESYNTAX when it is not,
 * MV_ENOMEM when a U-label could not be checked. An ASCII label
 * is letters, digits and hyphens, neither first nor last a hyphen, so an
 * A-label ("xn--...") passes as the LDH label it is (whether it decodes is
 * mv_addr_domain_forms' business). A label holding bytes >= 0x80 is taken
 * as a U-label (RFC 6531, RFC 8616 for DKIM) and passes when libidn2 turns
 * it into one such LDH label. No empty label (so no leading, double or
 * trailing dot); at most 63 bytes a label and 253 a name, counted in
 * A-label form. NULL or empty: MV_ESYNTAX. The one domain-name grammar
 * check for DKIM, Authentication-Results and the rest.
 */
enum mv_status mv_addr_domain_valid(const char *domain, size_t len, size_t min_labels);

/* ---- DKIM canonicalization (RFC 6376 §3.4) ------------------------------ */

enum mv_canon {
	MV_CANON_SIMPLE,
	MV_CANON_RELAXED,
};

/*
 * Canonicalize one header field (its raw bytes, name through final line
 * break, as in struct mv_msg_field.raw) and append the result, ending in
 * CRLF, to out. (DKIM callers strip the final CRLF of the signature field.)
 * simple: unchanged, except that bare LFs become CRLF and a missing final
 * line break is added. relaxed: name lowercased, WSP before the colon
 * dropped, value unfolded (every CRLF/LF removed), WSP runs to one SP, WSP
 * at the start and end of the value removed. A lone CR is an ordinary byte.
 * MV_ESYNTAX when raw has no colon; MV_ENOMEM/MV_ETOOBIG from out.
 */
enum mv_status mv_canon_header(enum mv_canon c, const char *raw, size_t len, struct mv_buf *out);

/*
 * Streaming body canonicalization. The body arrives in arbitrary chunks
 * (a CRLF, or a run of trailing blank lines, may be split across chunks);
 * canonical bytes are passed to sink as soon as they are certain, so no
 * copy of the body is kept (only pending blank lines and whitespace are
 * held, as a count; output is staged in a 4 KiB buffer flushed at the end
 * of every update). limit >= 0 stops the output after that many canonical
 * bytes (DKIM l=); -1 means no limit.
 * Line ends: CRLF and a bare LF both end a line (a bare-LF message is read
 * as the CRLF form it had on the wire); a CR not followed by LF is an
 * ordinary byte of its line (never a line end, never WSP). A last line
 * without a line break gets CRLF; in relaxed mode its trailing WSP stays as
 * one SP (it is not at the end of a line). This is what dkimpy and OpenDKIM
 * compute (checked against dkimpy by tests/msg/canon_dkimpy.py).
 * Empty body: simple gives CRLF, relaxed gives nothing (RFC 6376 errata).
 * mv_canon_body_new: MV_EINVAL for a NULL sink, an unknown mode or limit < -1;
 * the object is freed with mv_canon_body_free(). update and final return
 * MV_EINVAL after final (or for NULL data with n > 0).
 */
typedef void (*mv_canon_sink)(void *arg, const void *p, size_t n);
struct mv_canon_body;
enum mv_status mv_canon_body_new(enum mv_canon c, int64_t limit, mv_canon_sink sink, void *arg,
                                 struct mv_canon_body **out);
enum mv_status mv_canon_body_update(struct mv_canon_body *cb, const void *p, size_t n);
/* End of body: emits what the rules add at the end (e.g. the final CRLF). */
enum mv_status mv_canon_body_final(struct mv_canon_body *cb);
/* Canonical bytes produced before any limit (the body length DKIM reports). */
uint64_t mv_canon_body_length(const struct mv_canon_body *cb);
void mv_canon_body_free(struct mv_canon_body *cb); /* NULL is fine */

/* ---- Tag=value lists (RFC 6376 §3.2), read by DKIM, ARC and DMARC ------ */

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

/*
 * Reading a tag-list one tag-spec at a time, for a caller that keeps its
 * own rules on how many tags there may be and on duplicates (DMARC);
 * mv_taglist_parse() is this reader with DKIM's rules on top.
 */
enum mv_taglist_syntax {
	/* RFC 6376 §3.2 as mv_taglist_parse() describes it. */
	MV_TAGLIST_DKIM,
	/*
	 * RFC 9989 §4.7 dmarc-record: around a tag-spec any run of WSP, CR and
	 * LF; between name and '=' and after '=' only WSP; a value is every
	 * byte up to the next ';' (or the end), without the WSP, CR and LF that
	 * end it.
	 */
	MV_TAGLIST_DMARC,
};

struct mv_taglist_reader {
	struct mv_cursor c; /* what is still to read; offsets in errors count from c.start */
	enum mv_taglist_syntax syntax;
};

void mv_taglist_reader_init(struct mv_taglist_reader *r, const char *text, size_t len,
                            enum mv_taglist_syntax syntax);

/*
 * The next tag-spec into *t (pointers borrowed from the text), the ';'
 * after it consumed. Empty tag-specs are passed over. MV_ENOTFOUND when
 * nothing but empty tag-specs and white space remains; MV_ESYNTAX with err
 * (at most errlen-1 bytes) for a bad tag name, a missing '=', a bad byte in
 * a value or (DKIM) a line break that is not folding. Names are not
 * checked against each other: duplicates are the caller's business.
 */
enum mv_status mv_taglist_next(struct mv_taglist_reader *r, struct mv_tag *t, char *err,
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
