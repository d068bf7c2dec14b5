/* include/mailvet/msg.h — the message model: header fields, addresses, DKIM canonicalization. */
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
 * continuation is MV_ESYNTAX. lim may be NULL for the defaults.
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
 * becomes "name:value\r\n"). Same limits as mv_msg_parse.
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
 * with mv_msg_new() the body is empty.
 */
void mv_msg_body(const struct mv_msg *m, const char **body, size_t *len, size_t *off);

/* ---- Addresses (RFC 5322 §3.4, obsolete syntax §4.4, RFC 6532 UTF-8) --- */

/* One mailbox. Strings are NUL-terminated and owned by the list. */
struct mv_addr {
	char *display;        /* display name, decoded from quoting; NULL if none.
	                       * encoded-words are NOT decoded (RFC 2047 is presentation) */
	char *local;          /* local part, unquoted (quoted-pairs resolved) */
	char *domain;         /* domain as written, lowercased (NULL for a route-less
	                       * address without domain, which is reported as an error) */
	char *domain_ascii;   /* A-label form (libidn2), lowercased */
	char *domain_unicode; /* U-label form, lowercased */
	char *group;          /* name of the group it belongs to, or NULL */
};

struct mv_addr_list {
	size_t count;
	struct mv_addr *addr;
	size_t groups; /* number of groups seen (an empty group adds no address) */
};

/*
 * Parse an address-list / mailbox-list (the unfolded value of From, Sender,
 * Reply-To, To, Cc). Comments and CFWS anywhere RFC 5322 allows, quoted
 * local parts, domain literals, group syntax, the obsolete forms (routes,
 * obs-local-part, empty list elements). A malformed value is MV_ESYNTAX with
 * the reason in err — never a guess. Input over MV_ADDR_MAX is MV_ETOOBIG.
 * On MV_OK *out is a new list freed with mv_addr_list_free().
 */
#define MV_ADDR_MAX ((size_t)64 * 1024)
enum mv_status mv_addr_parse(const char *value, size_t len, struct mv_addr_list **out, char *err,
                             size_t errlen);
void mv_addr_list_free(struct mv_addr_list *l); /* NULL is fine */

/*
 * A domain name in both IDNA forms, lowercased: A-label (*ascii) and U-label
 * (*unicode), each a new string the caller frees. MV_ESYNTAX when the name is
 * not a valid IDNA domain.
 */
enum mv_status mv_addr_domain_forms(const char *domain, size_t len, char **ascii, char **unicode);

/* ---- DKIM canonicalization (RFC 6376 §3.4) ------------------------------ */

enum mv_canon {
	MV_CANON_SIMPLE,
	MV_CANON_RELAXED,
};

/*
 * Canonicalize one header field (its raw bytes, name through final line
 * break, as in struct mv_msg_field.raw) and append the result, ending in
 * CRLF, to out. (DKIM callers strip the final CRLF of the signature field.)
 */
enum mv_status mv_canon_header(enum mv_canon c, const char *raw, size_t len, struct mv_buf *out);

/*
 * Streaming body canonicalization. The body arrives in arbitrary chunks
 * (a CRLF, or a run of trailing blank lines, may be split across chunks);
 * canonical bytes are passed to sink as soon as they are certain, so no
 * copy of the body is kept (only pending blank lines and whitespace are
 * held, as a count). limit >= 0 stops the output after that many canonical
 * bytes (DKIM l=); -1 means no limit. Bare LF and bare CR are treated as
 * line ends as RFC 6376 §3.4.4 and common practice do (documented in
 * docs/internals/msg.md).
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

#endif
