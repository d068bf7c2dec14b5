/* include/mailvet/authres.h — Authentication-Results (RFC 8601): results, parse, format, judge. */
#ifndef MAILVET_AUTHRES_H
#define MAILVET_AUTHRES_H

#include <stddef.h>

#include <mailvet/status.h>
#include <mailvet/util.h>

/* ---- The result record: the common currency of every method ------------- */

/* One "ptype.property=value" statement (RFC 8601 §2.2 propspec). */
struct mv_result_prop {
	char *ptype;    /* lowercase Keyword: "smtp", "header", "policy", "body", ... */
	char *property; /* lowercase Keyword: "mailfrom", "d", "iprev", ... */
	char *value;    /* the value, unquoted (quoted-pairs resolved); may be "" */
};

/*
 * One "method=result" statement with its reason and properties (RFC 8601
 * resinfo). Every string is NUL-terminated and owned by the record. The
 * fields may be read freely; change them only through the mv_result_*
 * functions, which keep the invariants: method, result, ptype and property
 * are lowercase Keywords (RFC 5321 Ldh-str), and no string holds a control
 * character other than HTAB (so every record can be formatted).
 */
struct mv_result {
	char *method;     /* "spf", "dkim", "dmarc", ... */
	unsigned version; /* method version; 0 = none written (RFC 8601: "1" is implied) */
	char *result;     /* "pass", "fail", ... */
	char *reason;     /* reasonspec value; NULL = none */
	char *comment;    /* a comment to go with the result; NULL = none */
	size_t nprops;
	struct mv_result_prop *props; /* in the order added / written */
};

/*
 * A version written as "0", or one too large for an unsigned (more than nine
 * digits), cannot be told apart from "none" or represented; the parser stores
 * it as MV_AUTHRES_VERSION_UNKNOWN, which no consumer supports.
 */
#define MV_AUTHRES_VERSION_UNKNOWN 4294967295u

/*
 * A new record for `method` = `result` (case-insensitive, stored lowercase).
 * Both must be Keywords (letters, digits, '-', not ending in '-'), else
 * MV_EINVAL. On MV_OK *out is a new record the caller frees with
 * mv_result_free(); on error *out is NULL.
 */
enum mv_status mv_result_new(const char *method, const char *result, struct mv_result **out);
void mv_result_free(struct mv_result *r); /* NULL is fine */

/* Set the method version (0 = none). */
void mv_result_set_version(struct mv_result *r, unsigned version);

/*
 * Set (a copy of) the reason / the comment; NULL removes it. MV_EINVAL when
 * the text holds a control character other than HTAB (CR, LF, ...), which no
 * header field can carry; the record is then unchanged.
 */
enum mv_status mv_result_set_reason(struct mv_result *r, const char *reason);
enum mv_status mv_result_set_comment(struct mv_result *r, const char *comment);

/*
 * Append a property. ptype and property must be Keywords (stored lowercase),
 * value any text without control characters other than HTAB (MV_EINVAL
 * otherwise, and nothing is added). Everything is copied.
 */
enum mv_status mv_result_add_prop(struct mv_result *r, const char *ptype, const char *property,
                                  const char *value);

/* The value of the first property ptype.property (case-insensitive), or NULL. Borrowed. */
const char *mv_result_prop_value(const struct mv_result *r, const char *ptype,
                                 const char *property);

/* A deep copy of r in *out (MV_ENOMEM on failure, *out NULL). */
enum mv_status mv_result_dup(const struct mv_result *r, struct mv_result **out);

/* 1 when a and b hold the same method, version, result, reason, comment and props. */
int mv_result_equal(const struct mv_result *a, const struct mv_result *b);

/* An ordered list of results; owns its records. Initialise with MV_RESULT_LIST_INIT. */
struct mv_result_list {
	struct mv_result **item;
	size_t count;
	size_t cap;
};
#define MV_RESULT_LIST_INIT                                                                        \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/*
 * Append r, taking ownership of it in every case: on failure (MV_ENOMEM) r
 * has been freed, so the caller never frees what it handed over.
 */
enum mv_status mv_result_list_add(struct mv_result_list *l, struct mv_result *r);
/* Remove and free item i (later items move up); out-of-range i does nothing. */
void mv_result_list_remove(struct mv_result_list *l, size_t i);
/* Free every record and the array; the list is empty (and reusable) afterwards. */
void mv_result_list_clear(struct mv_result_list *l);
int mv_result_list_equal(const struct mv_result_list *a, const struct mv_result_list *b);

/* ---- One Authentication-Results field ------------------------------------ */

/*
 * A field: who (authserv-id), which version of RFC 8601, what results.
 * An empty result list is the "none" form. Owned by whoever made it with
 * mv_authres_new() or mv_authres_parse(); free with mv_authres_free().
 */
struct mv_authres {
	char *serv_id;    /* authserv-id, unquoted; NULL = missing (MV_AUTHRES_LENIENT only) */
	unsigned version; /* authres-version; 0 = none written (version 1 implied) */
	char *comment;    /* comments around authserv-id and version; NULL = none */
	struct mv_result_list results;
};

/*
 * A new field with a copy of serv_id (NULL allowed: no authserv-id, which the
 * formatter refuses) and no results. MV_EINVAL when serv_id holds a control
 * character other than HTAB. On MV_OK *out is freed with mv_authres_free().
 */
enum mv_status mv_authres_new(const char *serv_id, unsigned version, struct mv_authres **out);
void mv_authres_free(struct mv_authres *ar); /* NULL is fine */
/* 1 when both fields hold the same authserv-id, version, comment and results. */
int mv_authres_equal(const struct mv_authres *a, const struct mv_authres *b);

/* ---- Parsing (lib/authres/parse.c) --------------------------------------- */

#define MV_AUTHRES_MAX ((size_t)64 * 1024) /* longest field value accepted */
#define MV_AUTHRES_MAX_DEPTH 32            /* deepest nesting of comments */

enum mv_authres_flags {
	/*
	 * Keep comments: a comment inside a resinfo goes to that result's
	 * comment, the ones before the first ';' to the field's comment (several
	 * are joined with one space; quoted-pairs resolved, folding removed).
	 */
	MV_AUTHRES_COMMENTS = 1 << 0,
	/*
	 * Consumer mode: accept the common deviations of real-world producers
	 * without trusting them — a field without authserv-id ("spf=pass
	 * smtp.mailfrom=x": serv_id is NULL), a trailing ';', property values
	 * that are not tokens ("header.b=Qgi/FoC0", "policy.iprev=2001:db8::1",
	 * "user@localhost"), and "name=value" statements without a ptype, which
	 * are skipped. A property whose value is not what the registry says it
	 * holds (mv_authres_valid_value) is dropped, never kept. Never changes
	 * how a conforming field parses.
	 */
	MV_AUTHRES_LENIENT = 1 << 1,
};

/*
 * Parse the value of one Authentication-Results field: the text after the
 * colon, folding (CRLF or LF followed by WSP) and comments allowed wherever
 * RFC 8601 §2.2 allows CFWS. flags: enum mv_authres_flags.
 *
 * Keywords (method, result, ptype, property) are stored lowercase. Values
 * are stored unquoted; a value in local-part@domain form keeps its
 * local-part as written (a quoted local-part keeps its quotes).
 *
 * On MV_OK *out is a new field the caller frees with mv_authres_free().
 * Otherwise *out is NULL and, if err is not NULL, err holds a short reason
 * with the byte offset in value ("expected '=' after method at 41"), at most
 * errlen-1 bytes: MV_ESYNTAX for input outside the grammar, or (unless
 * MV_AUTHRES_LENIENT) a property value that is not what the registry says it
 * holds (mv_authres_valid_value: "header.from=.net" under dmarc is no domain
 * name), MV_ETOOBIG for input longer than MV_AUTHRES_MAX, MV_ENOMEM.
 */
enum mv_status mv_authres_parse(const char *value, size_t len, unsigned flags,
                                struct mv_authres **out, char *err, size_t errlen);

/*
 * Read only the authserv-id and the version of a field, as §5 needs for
 * fields that do not parse as a whole (a later version may use a grammar
 * this one does not know). *serv_id is a new string (free()) or NULL when
 * no authserv-id can be found: the value is empty, does not start with a
 * value, or starts with "method=" or "method/" (a field without
 * authserv-id). *version as in struct mv_authres. MV_ENOMEM only.
 */
enum mv_status mv_authres_peek(const char *value, size_t len, char **serv_id, unsigned *version);

/* ---- Formatting (lib/authres/format.c) ----------------------------------- */

#define MV_AUTHRES_FOLD 78 /* fold lines at this column when tokens allow */

/*
 * Append the whole header field "Authentication-Results: <value>" (no final
 * CRLF) to out. Lines are folded only between tokens, with CRLF and four
 * spaces; a result that does not fit on the current line starts a new one
 * and is split between its statements only if it does not fit on a line of
 * its own. Values are written bare when the grammar reads them back as the
 * same text (a token; in properties also a domain name or local-part@domain)
 * and as a quoted-string otherwise. An empty result list is written "none".
 * The result: mv_authres_parse() of the value gives back an equal field
 * (with MV_AUTHRES_COMMENTS when comments are set; without
 * MV_AUTHRES_LENIENT only when every property value passes
 * mv_authres_valid_value, which the builders do not check).
 * MV_EINVAL when ar has no authserv-id or a string breaks the invariants of
 * struct mv_result; otherwise the status of out.
 */
enum mv_status mv_authres_format(const struct mv_authres *ar, struct mv_buf *out);
/* The same, value only (starting with the space after the colon), for milters. */
enum mv_status mv_authres_format_value(const struct mv_authres *ar, struct mv_buf *out);

/* Append a value as a summary line writes it: as is when it is plain, else as a JSON string. */
void mv_authres_summary_value(struct mv_buf *b, const char *s);

/*
 * Append one result on one line, as `mailvet parse` and `mailvet trust` print
 * it: "method[/v]=result [reason="..."] ptype.property=value ...", a value
 * bare when it is plain (letters, digits, -._@+/:=!#$%&'*^`{|}~), else as a
 * JSON string. Returns the status of out.
 */
enum mv_status mv_result_summary(const struct mv_result *r, struct mv_buf *out);

/* ---- JSON (lib/authres/json.c) ------------------------------------------- */

/*
 * Append ar as one JSON object:
 *   {"authserv_id": "..." or null, "version": 1 or null, "results": [RESULT, ...]}
 * and r as RESULT:
 *   {"method": "...", "version": 1 or null, "result": "...", "reason": "..." or null,
 *    "props": [{"ptype": "...", "property": "...", "value": "..."}, ...]}
 * (on one line, separators ", " and ": "). Returns the status of out.
 */
enum mv_status mv_authres_json(const struct mv_authres *ar, struct mv_buf *out);
enum mv_status mv_result_json(const struct mv_result *r, struct mv_buf *out);

/* ---- IANA registries and §4.1 interpretation (lib/authres/registry.c) ---- */

enum mv_authres_reg {
	MV_AUTHRES_UNREGISTERED = 0, /* not in the registry */
	MV_AUTHRES_ACTIVE,           /* registered, status active */
	MV_AUTHRES_DEPRECATED,       /* registered, status deprecated (historic methods) */
	MV_AUTHRES_EXPERIMENTAL,     /* an "x-" method: experimental, §2.7.6 */
};

/* Registry status of a method name (case-insensitive). */
enum mv_authres_reg mv_authres_known_method(const char *method);
/* 1 when `result` is a registered result name of `method` (case-insensitive). */
int mv_authres_known_result(const char *method, const char *result);
/* 1 when ptype is in the "Email Authentication Property Types" registry. */
int mv_authres_known_ptype(const char *ptype);
/* 1 when method/ptype/property is an entry of the "Email Authentication Methods" registry. */
int mv_authres_known_property(const char *method, const char *ptype, const char *property);

/*
 * Does value fit what the registry says method/ptype.property holds? Today:
 * for the properties whose value is a domain name (dkim and domainkeys
 * header.d, dmarc header.from, dnswl dns.zone, vbr header.md and header.mv)
 * MV_ESYNTAX unless it is one (mv_addr_domain_valid; header.d needs two
 * labels, as d= does); MV_OK for those that pass and for every other
 * property; MV_ENOMEM. Names are compared case-insensitively.
 */
enum mv_status mv_authres_valid_value(const char *method, const char *ptype, const char *property,
                                      const char *value);

/* What a consumer supports; a zeroed struct means "every active registered method". */
struct mv_authres_filter_opts {
	const char *const *methods; /* methods supported (NULL: every active registered one) */
	size_t nmethods;
	int experimental; /* keep "x-" methods (their results are not checked) */
};

/*
 * Apply RFC 8601 §4.1 and §2.6 to a parsed field, in place: drop every
 * result whose method is not supported, whose method version is not 1 (or
 * absent), whose result code is not registered for its method, or that uses
 * a ptype that is not registered. A field version other than 1 (or absent)
 * drops every result and returns MV_EUNSUPPORTED. Returns MV_OK otherwise;
 * *dropped (if not NULL) gets the number of results removed.
 */
enum mv_status mv_authres_filter(struct mv_authres *ar, const struct mv_authres_filter_opts *o,
                                 size_t *dropped);

/*
 * Why §4.1 or §2.7.6 makes a consumer ignore r (a short static text naming
 * the rule), or NULL when it may use it; the test mv_authres_filter applies
 * to each result.
 */
const char *mv_authres_unusable(const struct mv_authres_filter_opts *o, const struct mv_result *r);

/* ---- Removing forged fields, §5 (lib/authres/forged.c) ------------------- */

/* One authserv-id of ours. */
struct mv_authres_servid {
	const char *id; /* e.g. "example.com"; compared case-insensitively, IDNA-aware */
	int subdomains; /* 1: also every name below id ("mx1.example.com") */
};

struct mv_authres_policy {
	const struct mv_authres_servid *ids; /* our authserv-ids */
	size_t nids;
	int delete_foreign; /* also delete other ADMDs' fields from untrusted hops */
	int trust_versions; /* keep unsupported versions from trusted hops (a SHOULD in §5) */
};

enum mv_authres_verdict {
	MV_AUTHRES_KEEP,
	MV_AUTHRES_DELETE,
};

/*
 * 1 when id (an authserv-id as written in a field) is one of ours: equal to
 * an entry, or below it for entries with subdomains. Comparison ignores ASCII
 * case and a trailing dot, and compares A-labels with U-labels (RFC 8601 §5:
 * EAI fields are compared after converting A-labels into U-labels).
 */
int mv_authres_servid_match(const struct mv_authres_policy *p, const char *id);

/*
 * Decide what a border MTA does with an existing Authentication-Results field
 * (its raw value) on a message that came from a trusted internal host
 * (trusted = 1) or not (trusted = 0). Only authserv-id and version are read
 * (mv_authres_peek), so malformed fields are judged by them too:
 *   - ours (mv_authres_servid_match) from an untrusted hop: DELETE;
 *   - version other than 1/absent: DELETE from an untrusted hop, and from a
 *     trusted one unless p->trust_versions;
 *   - no authserv-id can be found: DELETE from an untrusted hop (a lenient
 *     consumer could take it for ours); KEEP from a trusted one;
 *   - another ADMD's: KEEP (DELETE from an untrusted hop with p->delete_foreign).
 * *why (if not NULL) gets a short static explanation.
 */
enum mv_authres_verdict mv_authres_judge(const struct mv_authres_policy *p, const char *value,
                                         size_t len, int trusted, const char **why);

/* ---- What a mail reader may act on, RFC 8601 §4.1, §5, §7 (lib/authres/trust.c) ---- */

struct mv_msg;

/*
 * 1 when id names the same authserv-id as ours, for a reader deciding what
 * to trust: ASCII case and one trailing dot are ignored, and a U-label equals
 * its A-label (§5) — but only a U-label already in its one IDNA2008 form: no
 * Unicode case folding, width or compatibility mapping (UTS #46), so
 * "ＥＸＡＭＰＬＥ.com" (full width) or a Cyrillic look-alike is another id.
 * Stricter than mv_authres_servid_match, which a border uses to delete.
 */
int mv_authres_servid_same(const char *ours, const char *id);

/* Why a field is or is not trusted. */
enum mv_authres_trust {
	MV_AUTHRES_TRUSTED,           /* ours, in the block our ADMD added: act on its results */
	MV_AUTHRES_UNTRUSTED_NO_ID,   /* no authserv-id can be read */
	MV_AUTHRES_UNTRUSTED_FOREIGN, /* another authserv-id (look-alikes included) */
	MV_AUTHRES_UNTRUSTED_BELOW,   /* ours, but below the Received field that closes our block */
	MV_AUTHRES_UNTRUSTED_VERSION, /* ours, a field version other than 1 (§2.6) */
	MV_AUTHRES_UNTRUSTED_MALFORMED, /* ours, but unreadable even leniently */
};

/* One Authentication-Results field of a message, judged. */
struct mv_authres_trust_field {
	size_t index; /* the field's index in the message (0 = first field) */
	enum mv_authres_trust trust;
	const char *why;       /* a short static explanation */
	char *serv_id;         /* the authserv-id as written (NULL: none could be read) */
	struct mv_authres *ar; /* trusted fields: the field as read leniently; else NULL */
	char *deviation;       /* trusted fields read only leniently: the strict complaint */
	const char **ignored;  /* per result of ar: why §4.1 makes a reader ignore it, or NULL */
	char *error;           /* MV_AUTHRES_UNTRUSTED_MALFORMED: the parser's complaint */
};

struct mv_authres_trust_report {
	struct mv_authres_trust_field *field; /* every A-R field, top to bottom */
	size_t count;
	size_t block_start,
	        block_end; /* our block: field indexes [start, end); start == end: none */
};

/*
 * Judge every Authentication-Results field of m's header for a reader whose
 * ADMD uses the authserv-id `ours` (docs/internals/authres.md, "Trust"): our
 * block starts at the topmost field carrying our id and ends at the first
 * Received field below it (the one our ADMD's entry MTA wrote, RFC 5321
 * §4.4); fields of ours inside it are trusted, read as MV_AUTHRES_LENIENT
 * reads them, and their results pass through mv_authres_unusable (o may be
 * NULL: every active registered method). Everything else is untrusted with
 * its reason. Only the top-level header is read (§4.1: never fields inside
 * message/rfc822 parts). On MV_OK free *out with mv_authres_trust_free();
 * MV_ENOMEM otherwise (and *out is empty).
 */
enum mv_status mv_authres_trust(const struct mv_msg *m, const char *ours,
                                const struct mv_authres_filter_opts *o,
                                struct mv_authres_trust_report *out);
void mv_authres_trust_free(struct mv_authres_trust_report *r);

/* ---- AUTHSERV capability (draft-kucherawy-sender-auth-caps-00), lib/authres/caps.c ---- */

/* Which protocol's capability reply is being read. */
enum mv_authres_caps_proto {
	MV_AUTHRES_CAPS_SMTP, /* an EHLO reply: "250-AUTHSERV=<id>" (the id is optional) */
	MV_AUTHRES_CAPS_IMAP, /* a CAPABILITY response: "AUTHSERV" before login, "AUTHSERV=<id>" after */
	MV_AUTHRES_CAPS_POP3, /* a CAPA response: "AUTHSERV" in AUTHORIZATION, "AUTHSERV <id>" after */
};

/* What the reply says about AUTHSERV. */
enum mv_authres_caps_state {
	MV_AUTHRES_CAPS_ABSENT,  /* no AUTHSERV: no claim of conformance */
	MV_AUTHRES_CAPS_CLAIMED, /* AUTHSERV without a value: conformance claimed, id not revealed */
	MV_AUTHRES_CAPS_ID,      /* AUTHSERV with an authserv-id */
};

/* Deviations from the draft that the parser accepted (bits of struct mv_authres_caps.notes). */
enum mv_authres_caps_note {
	MV_AUTHRES_CAPS_VALUE_BEFORE_LOGIN =
	        1 << 0, /* IMAP/POP3: a value before login (draft: none) */
	MV_AUTHRES_CAPS_NO_VALUE_AFTER_LOGIN =
	        1 << 1,                        /* IMAP/POP3: no value after login (draft: one) */
	MV_AUTHRES_CAPS_SPACE_PARAM = 1 << 2,  /* SMTP "AUTHSERV <id>" (RFC 5321 ehlo-param form) */
	MV_AUTHRES_CAPS_EQUALS_PARAM = 1 << 3, /* POP3 "AUTHSERV=<id>" (the IMAP/SMTP form) */
	MV_AUTHRES_CAPS_REPEATED = 1 << 4,     /* AUTHSERV listed more than once, same value */
};

struct mv_authres_caps {
	enum mv_authres_caps_state state;
	char *serv_id;  /* MV_AUTHRES_CAPS_ID: the authserv-id (owned; mv_authres_caps_clear) */
	unsigned notes; /* enum mv_authres_caps_note bits */
	size_t ncaps;   /* capabilities (EHLO keywords, IMAP atoms, CAPA tags) seen */
};

#define MV_AUTHRES_CAPS_MAX ((size_t)64 * 1024) /* longest reply accepted */

/*
 * Read AUTHSERV out of one capability reply, as received (CRLF or LF line
 * ends; the final line break may be absent):
 *   SMTP: the whole EHLO reply, "250-<domain> ..." first (skipped), then one
 *         extension a line, every line "250-" but the last "250 ";
 *   IMAP: one response line holding capabilities: "* CAPABILITY a b c", or
 *         any status response with a "[CAPABILITY a b c]" response code
 *         (the greeting, a tagged OK after LOGIN);
 *   POP3: the whole CAPA reply: "+OK ...", one tag a line, "." (dot-stuffing
 *         undone).
 * authenticated: 1 when the reply was read after login (IMAP and POP3: the
 * draft wants a value then and none before; a departure is noted, not an
 * error). Capability names compare case-insensitively; the id is kept as
 * written and must be a MIME token (RFC 8601 authserv-id = value, and no
 * quoted-string fits in an EHLO parameter, an IMAP atom or a CAPA parameter).
 * On MV_OK *out is filled (clear it with mv_authres_caps_clear()). Otherwise
 * *out is empty and err holds the reason: MV_ESYNTAX when the reply is not of
 * its protocol's form, AUTHSERV has an empty or non-token value or more than
 * one parameter, or appears twice with different values; MV_ETOOBIG past
 * MV_AUTHRES_CAPS_MAX; MV_ENOMEM.
 */
enum mv_status mv_authres_caps_parse(enum mv_authres_caps_proto proto, int authenticated,
                                     const char *text, size_t len, struct mv_authres_caps *out,
                                     char *err, size_t errlen);
/* Free the id and zero *c (which may then be reused). */
void mv_authres_caps_clear(struct mv_authres_caps *c);
/* A short static English text for one note bit ("a value before login"), "" for others. */
const char *mv_authres_caps_note_str(unsigned note);

#endif
