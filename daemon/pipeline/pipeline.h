/* daemon/pipeline/pipeline.h — one message through mailvetd, whatever front end it came by. */
#ifndef MAILVETD_PIPELINE_H
#define MAILVETD_PIPELINE_H

#include <arpa/inet.h>
#include <stddef.h>
#include <time.h>

#include <mailvet/util.h>

#include "metrics.h"
#include "runtime.h"

/*
 * The pipeline is MTA-agnostic: a front end (the milter, an SMTP listener)
 * feeds it the envelope, the header fields and the body of one message, and
 * gets back what to do as data: the verdict and the header edits. Every rule
 * about what happens to a message lives here (forged-field removal, our
 * field, policy, a header that could not be read, outbound signing and
 * sealing, the log line); a front end only speaks its wire protocol.
 */

/* The client of one connection, as the front end learned it. */
struct mvd_client {
	char ip[INET6_ADDRSTRLEN]; /* "127.0.0.1" for a local (non-IP) submission */
	const char *name;          /* verified host name, or NULL (borrowed) */
	const char *helo;          /* HELO/EHLO argument, or NULL (borrowed) */
	int internal;              /* ip is in [verify] internal_hosts */
};

/* One message's envelope; strings borrowed until mvd_pipeline_free(). */
struct mvd_envelope {
	const char *mail_from; /* without <>; "" = null sender */
	const char *auth_id;   /* SMTP AUTH identity, or NULL */
	const char *queue_id;  /* the MTA's id for the log, or NULL */
	const char *trace_id;  /* authenticated mail: our trace id (Received field), or NULL */
	int limits_counted;    /* the front end applied [submission]'s per-login limits itself */
	unsigned nrcpt;        /* recipients accepted, 0 when the front end does not know */
	enum mvd_front_end front_end; /* who fed the message, for the metrics (0: the milter) */
	char rcpt_domain[256]; /* the first RCPT's domain, "" = unknown (mvd_envelope_rcpt) */
	/* of nrcpt, those in [policy] skip_recipient_domains (localpolicy.h) */
	unsigned nrcpt_skip;
};

/*
 * A RCPT TO address (without <>) seen by the front end: the first one's
 * domain becomes env->rcpt_domain (a DMARC record's envelope_to). first:
 * the transaction's first RCPT (forgets the previous transaction's).
 */
void mvd_envelope_rcpt(struct mvd_envelope *env, const char *addr, int first);

/* What the front end tells its client at the end of DATA. */
enum mvd_action {
	MVD_ACTION_ACCEPT,     /* pass it on, with the edits */
	MVD_ACTION_QUARANTINE, /* pass it on, with the edits, into the MTA's quarantine */
	MVD_ACTION_REJECT,     /* 5xx */
	MVD_ACTION_TEMPFAIL,   /* 4xx */
};

/* The verdict as data; code, xcode and text are set for REJECT and TEMPFAIL. */
struct mvd_verdict {
	enum mvd_action action;
	char code[4];     /* "550" */
	char xcode[16];   /* RFC 3463 "5.7.1" */
	char text[512];   /* one line of printable ASCII */
	char reason[300]; /* QUARANTINE: why (for the MTA's quarantine) */
};

/*
 * One header edit. DELETE removes the index-th (1-based) field called name
 * as received; INSERT puts "name:value" at the top (value as it follows the
 * colon, leading space included, folded with CRLF + WSP). Edits are applied
 * in their order: deletions first (highest index first), then insertions,
 * each above the previous ones' results as listed (the last inserted ends
 * on top).
 */
enum mvd_edit_kind { MVD_EDIT_DELETE, MVD_EDIT_INSERT };
struct mvd_edit {
	enum mvd_edit_kind kind;
	const char *name;
	unsigned index;    /* DELETE */
	const char *value; /* INSERT */
};

/* The end of a message: verdict, edits, and what the log line says. */
struct mvd_outcome {
	struct mvd_verdict verdict;
	const struct mvd_edit *edits; /* owned by the message, valid until mvd_pipeline_free() */
	size_t nedits;
	const char *note;      /* why, for the log, or NULL */
	const char *signed_by; /* DKIM d=, or NULL */
	const char *sealed_by; /* ARC d=, or NULL */
	const char
	        *not_signed; /* outbound and accepted but not DKIM-signed: why (LogWhy), or NULL */
};

struct mvd_pipeline; /* one message in flight */

/*
 * Start a message. rt, client and env are borrowed until mvd_pipeline_free().
 * Never fails but for memory: on MV_ENOMEM *out is NULL.
 */
enum mv_status mvd_pipeline_new(struct mvd_runtime *rt, const struct mvd_client *client,
                                const struct mvd_envelope *env, struct mvd_pipeline **out);

/*
 * One header field as received: name without the colon, value as it
 * follows the colon (leading space included, folds as CRLF + WSP). A field
 * that cannot be taken (malformed, past the header limits) is remembered,
 * and the message is then refused as [policy] unreadable_header says.
 */
void mvd_pipeline_header(struct mvd_pipeline *p, const char *name, const char *value);
/* The end of the header block (starts the DNS prefetch). */
void mvd_pipeline_header_end(struct mvd_pipeline *p);
/*
 * Before the header ends: the DNS prefetch waits for mvd_pipeline_end()
 * instead of mvd_pipeline_header_end(), which then never blocks (the SMTP
 * front end's event loop serves every session: it must not wait for DNS).
 */
void mvd_pipeline_defer_prefetch(struct mvd_pipeline *p);
/* A piece of the body, in order, CRLF line ends. */
void mvd_pipeline_body(struct mvd_pipeline *p, const void *data, size_t len);

/*
 * The end of the message: run the checks, decide, build the edits and sign
 * or seal outbound mail. out is valid until mvd_pipeline_free(). Logs
 * nothing: the front end applies the outcome, then calls
 * mvd_pipeline_log() (or mvd_pipeline_fail() first if it could not).
 */
void mvd_pipeline_end(struct mvd_pipeline *p, struct mvd_outcome *out);

/*
 * The front end could not apply the outcome (the MTA refused a change): turn
 * out into [policy] on_error's answer: tempfail (451 4.3.0) or accept with
 * only the deletion of forged fields, which would otherwise pass as ours.
 */
void mvd_pipeline_fail(struct mvd_pipeline *p, const char *what, struct mvd_outcome *out);

/* The one log line of the message, saying what the client was told. */
void mvd_pipeline_log(const struct mvd_pipeline *p, const struct mvd_outcome *out);

/* The message's queue id, learned late (the milter knows it only at the end), or NULL. */
void mvd_pipeline_set_queue_id(struct mvd_pipeline *p, const char *queue_id);

void mvd_pipeline_free(struct mvd_pipeline *p); /* NULL is fine */

#endif
