/* include/mailvet/outbound.h — mail leaving the domain: DKIM-Signature fields and ARC sets, streaming. */
#ifndef MAILVET_OUTBOUND_H
#define MAILVET_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/arc.h>
#include <mailvet/dkim.h>
#include <mailvet/msg.h>
#include <mailvet/status.h>

#define MV_OUTBOUND_MAX_KEYS 8 /* keys of one domain used for one message */

/* One entry of a key table: a key that signs (or seals) for a domain. */
struct mv_outbound_key {
	const char *domain;                /* d=; A-label form, compared ASCII case-insensitively */
	const char *selector;              /* s= */
	const struct mv_dkim_signkey *key; /* borrowed */
	int subdomains; /* the entry also serves names below domain (d= stays domain),
	                 * unless a name has entries of its own */
};

/*
 * What a site signs and seals with; borrowed by every mv_outbound made from
 * it, until mv_outbound_free(). Key tables may hold several entries per
 * domain (rsa and ed25519 at once): all of them sign, in table order.
 */
struct mv_outbound_config {
	/* DKIM (RFC 6376) */
	const struct mv_outbound_key *dkim_keys;
	size_t ndkim_keys;
	const char *dkim_domain; /* NULL: the author-domain rule (see mv_outbound_end);
	                          * else sign with this domain's keys whatever From says
	                          * (`mailvet sign --domain`, a third-party signer) */
	/*
	 * Optional: the site chooses the DKIM keys of each message itself (a
	 * signing table by address, keys valid between dates) instead of the
	 * domain rule over dkim_keys; not used when dkim_domain is set. Called
	 * once, at the end of the header, with the header and its author domain
	 * (NULL when there is none): fills keys[0..max) with entries of one d=
	 * (pointers borrowed until mv_outbound_free()) and returns how many;
	 * 0 means no key, with why (at most whylen-1 bytes) for the log.
	 */
	size_t (*dkim_choose)(void *arg, const struct mv_msg *header, const char *author,
	                      struct mv_outbound_key *keys, size_t max, char *why, size_t whylen);
	void *dkim_choose_arg;
	const char *identity;         /* i=, NULL for none */
	enum mv_canon hcanon, bcanon; /* default relaxed/relaxed */
	const char *headers;          /* h= as "from:to:...", NULL: the default list with
	                               * From over-signed (mv_dkim_sign_opts) */
	int64_t expire;               /* x= = t= + expire when > 0 */
	int64_t body_limit;           /* l= when >= 0 (-1 default): at most the body's
	                               * canonical length is written */
	/* ARC (RFC 8617), used when mv_outbound_seal() asks for a seal */
	const struct mv_outbound_key *arc_keys;
	size_t narc_keys;
	const char *arc_domain;  /* NULL: the seal-domain rule (see mv_outbound_end);
	                          * else seal with this domain's keys */
	const char *authserv_id; /* required for sealing */
	const char *arc_headers; /* AMS h=, NULL for the default (mv_arc_seal_opts) */
	/* Limits */
	size_t max_header_bytes; /* the header held (0: 1 MiB, mv_msg_limits) */
	size_t max_fields;       /* header fields (0: 1000) */
};
void mv_outbound_config_default(struct mv_outbound_config *c);

/*
 * Check a configuration once, before messages come (mailvetd at load, the
 * CLI after its options): the DKIM options (mv_dkim_sign_opts_check: h=
 * must name From), every key entry has a domain, selector and key, sealing
 * keys come with an authserv-id. MV_OK, or MV_EINVAL with the reason in err
 * (at most errlen-1 bytes; err may be NULL).
 */
enum mv_status mv_outbound_config_check(const struct mv_outbound_config *c, char *err,
                                        size_t errlen);

struct mv_outbound; /* one message on its way out; opaque */

/*
 * Start a message. cfg is borrowed until mv_outbound_free(). On MV_OK *out
 * is freed with mv_outbound_free(); MV_EINVAL when cfg fails
 * mv_outbound_config_check (err gets why).
 *
 * Then either, as a milter receives it, mv_outbound_header() for each field
 * and mv_outbound_body() for each body chunk, or the raw message in any
 * chunks through mv_outbound_data(); then mv_outbound_seal() if the message
 * is to be sealed (any time before the end), then mv_outbound_end() once.
 * The header is held (up to max_header_bytes); the body never is: it goes
 * through one body hasher per distinct canonicalization and l= (the DKIM
 * signatures share one, and the AMS shares it when it is relaxed without l=).
 * After a call fails, every later call returns the same status.
 */
enum mv_status mv_outbound_new(const struct mv_outbound_config *cfg, struct mv_outbound **out,
                               char *err, size_t errlen);
void mv_outbound_free(struct mv_outbound *o); /* NULL is fine */

/*
 * One header field as the MTA gives it: name, and value with its folding
 * (CRLF or LF + WSP), without the final line break (see mv_msg_add_field:
 * MV_ESYNTAX for a bad name or a line break that is not a fold; MV_ETOOBIG
 * past the limits). MV_EINVAL after the body started or after
 * mv_outbound_data().
 */
enum mv_status mv_outbound_header(struct mv_outbound *o, const char *name, size_t name_len,
                                  const char *value, size_t value_len);

/*
 * The raw message, in any chunks: header fields byte for byte, the empty
 * line, the body (CRLF or bare LF). *header_bytes (may be NULL) gets how
 * many of the n bytes belonged to the header, the empty line included (the
 * rest was body). MV_ESYNTAX when the header does not parse (err of
 * mv_outbound_why()), MV_ETOOBIG past the limits; MV_EINVAL after
 * mv_outbound_header().
 */
enum mv_status mv_outbound_data(struct mv_outbound *o, const void *p, size_t n,
                                size_t *header_bytes);

/* Body bytes, any chunking (the header ends at the first call). */
enum mv_status mv_outbound_body(struct mv_outbound *o, const void *p, size_t n);

/*
 * The header as held, once it is complete (after the empty line of
 * mv_outbound_data, or the first mv_outbound_body); NULL before. Borrowed
 * until mv_outbound_free(). For a caller that validates or verifies the same
 * stream (mv_arc_validator_headers, mv_verify_header).
 */
const struct mv_msg *mv_outbound_msg(const struct mv_outbound *o);

/* Why the last failure happened ("header: line 3: no colon"), "" when none. */
const char *mv_outbound_why(const struct mv_outbound *o);

/* What the caller knows about the ARC chain of the message as it was received. */
struct mv_outbound_arc {
	enum mv_arc_cv cv; /* the chain's status (lib/verify's arc=); a chain left undetermined by a
	                    * temporary DNS failure must not be sealed: do not call */
	const struct mv_arc_validator *validation; /* optional, finished: per-chain status for a
	                                            * message with chains of several algorithms
	                                            * (mv_verify_arc()); then cv is not read */
	const char *aar_results;     /* the AAR results ("spf=pass ...; dkim=pass ..."), NULL:
	                              * those of our Authentication-Results fields in the header */
	const char *envelope_domain; /* MAIL FROM domain: the seal domain when no ARC key is
	                              * the author domain's (a list re-sending under its own
	                              * envelope), or NULL */
};

/*
 * Ask for an ARC set. in's pointers are borrowed until mv_outbound_end()
 * returns. MV_EINVAL when cfg has no ARC key or no authserv-id.
 */
enum mv_status mv_outbound_seal(struct mv_outbound *o, const struct mv_outbound_arc *in);

/* What became of one part (DKIM or ARC) of a message. */
enum mv_outbound_outcome {
	MV_OUTBOUND_DONE,      /* signed / sealed */
	MV_OUTBOUND_NOT_ASKED, /* no keys configured; ARC: mv_outbound_seal() not called */
	MV_OUTBOUND_NO_DOMAIN, /* no single author domain (reason says why) */
	MV_OUTBOUND_NO_KEY,    /* no key for the domain the rule chose */
	MV_OUTBOUND_NO_CHAIN,  /* ARC: no chain a key can continue (ended, i=50, other alg) */
	MV_OUTBOUND_TEMPFAIL,  /* ARC: a chain to continue is undetermined (validation's
	                        * temperror): not sealed, try again later */
	MV_OUTBOUND_FAILED,    /* the options or a key did not work (reason says) */
};
const char *mv_outbound_outcome_str(enum mv_outbound_outcome oc); /* "done", ... */

/* One new field: name, and value as it follows the colon (leading space, folds CRLF + WSP). */
struct mv_outbound_field {
	const char *name;
	const char *value;
};

/* The outcome of a message; borrowed from the object until mv_outbound_free(). */
struct mv_outbound_result {
	const char *fields; /* every new field, "Name: value\r\n", top-down: write it before
	                     * the message as it is (ARC set(s), then the DKIM-Signatures) */
	size_t fields_len;
	const struct mv_outbound_field *field; /* the same, one by one, top-down: a milter
	                                        * inserts them at index 0 last to first */
	size_t nfields;
	enum mv_outbound_outcome dkim;
	const char *dkim_domain; /* d= when signed, else NULL */
	size_t nsignatures;
	char dkim_reason[200]; /* for the log: "" when signed */
	enum mv_outbound_outcome arc;
	const char *arc_domain; /* d= when sealed, else NULL */
	size_t nsets;
	char arc_reason[200];
};

/*
 * End of message: decide and sign, then seal the message as it will leave
 * (the new DKIM-Signatures on top, which the AMS covers). now is t=.
 *
 * The signing domain: cfg->dkim_domain when set; else the author domain,
 * the one domain of the one From field, found exactly as lib/verify finds
 * it for DMARC (mv_dmarc_author_domain: several From fields, a From
 * without a mailbox, addresses in several domains or an address literal
 * give none: MV_OUTBOUND_NO_DOMAIN). The DKIM keys are the entries of
 * that domain, matched exactly; a name without entries of its own is
 * served by the nearest parent whose entries have subdomains set (d= is
 * then the parent); none: MV_OUTBOUND_NO_KEY.
 * The seal domain: cfg->arc_domain when set; else the author domain when
 * ARC keys are its, else in->envelope_domain when they are its.
 *
 * On MV_OK *out tells what happened to each part (a message that is not
 * signed is not an error: the reason is for the log). MV_ENOMEM, or the
 * status of an earlier failed call; MV_EINVAL when called twice.
 */
enum mv_status mv_outbound_end(struct mv_outbound *o, int64_t now,
                               const struct mv_outbound_result **out);

#endif
