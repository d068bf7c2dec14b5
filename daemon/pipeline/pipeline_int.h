/* daemon/pipeline/pipeline_int.h — the state of one message, shared by the pipeline's files. */
#ifndef MAILVETD_PIPELINE_INT_H
#define MAILVETD_PIPELINE_INT_H

#include <mailvet/msg.h>
#include <mailvet/outbound.h>
#include <mailvet/verify.h>

#include "pipeline.h"

#define MVD_MAX_AR_DELETE 64 /* forged Authentication-Results removed per message */
#define MVD_MAX_EDITS 80     /* deletions + our field + quarantine + signatures + ARC sets */

#define MVD_SUBMIT_FIELDS 8 /* From and Sender fields checked; more is refused */

struct mvd_pipeline {
	struct mvd_runtime *rt;          /* borrowed */
	const struct mvd_client *client; /* borrowed */
	struct mvd_envelope env;         /* strings borrowed */
	char *queue_id;                  /* set late (mvd_pipeline_set_queue_id), or NULL */
	int outbound;                    /* authenticated client or internal host */
	struct mv_verify *v;
	int failed; /* an internal error: on_error decides */
	enum mv_status fail_st;
	const char *fail_where;
	size_t ar_seen;                        /* Authentication-Results fields so far */
	unsigned ar_delete[MVD_MAX_AR_DELETE]; /* their 1-based indexes to delete */
	size_t ndelete;
	size_t nbad_headers;          /* fields lib/verify could not take (malformed, too many) */
	enum mv_status bad_header_st; /* why the first of them was refused */
	char bad_header_name[64];     /* its name (cut) */
	struct mv_outbound *ob;       /* outbound: signed and sealed as the message passes */
	unsigned long long body_bytes;
	struct timespec start;
	/* The outcome's storage. */
	struct mvd_edit edits[MVD_MAX_EDITS];
	size_t nedits;
	char *owned[MVD_MAX_EDITS]; /* names and values of inserted fields, each owned */
	size_t nowned;
	char note[300];
	char not_signed[200]; /* outbound: why the message leaves without a DKIM signature */
	int record; /* inbound, DMARC's verdict given: recorded when freed ([reports] store) */
	/* Authenticated mail: the From and Sender values the sender map checks (submit.c). */
	char *submit_fields[MVD_SUBMIT_FIELDS];
	size_t nsubmit_fields;
	int submit_unreadable;
	char *submit_msgid; /* the Message-ID, for the trace record */
	/* [policy] local policy (override.c): what was applied, for the log, A-R and report */
	int skip;               /* skip_clients / skip_recipient_domains: not checked, passed on */
	int lp_dmarc;           /* a dmarc_override_file line changed the DMARC action */
	int lp_quarantine;      /* ... to quarantine (else to accept) */
	char local_policy[300]; /* "skip_client", "dmarc_quarantine:example.com", ...; "" = none */
	struct mv_buf lp_field; /* our field with the override in its dmarc comment */
};

/* submit.c: keep From/Sender of authenticated mail; refuse a sender the login may not use (1). */
void mvd_pipeline_submit_header(struct mvd_pipeline *p, const char *name, const char *value);
int mvd_pipeline_submit_refused(struct mvd_pipeline *p, struct mvd_outcome *out);
void mvd_pipeline_submit_free(struct mvd_pipeline *p);
/* trace.c: authenticated mail that was accepted leaves a trace record ([trace] store). */
void mvd_pipeline_trace(const struct mvd_pipeline *p, const struct mvd_outcome *out);

/* Record an internal error (the first one wins). */
void mvd_pipeline_failed(struct mvd_pipeline *p, enum mv_status st, const char *where);

/* The queue id for logs: the late one, else the envelope's, else "-". */
const char *mvd_pipeline_queue_id(const struct mvd_pipeline *p);

/*
 * Append an edit; for INSERT the value (len bytes, as after the colon) is
 * copied. 0 when out of room or memory (the caller fails the message).
 */
int mvd_pipeline_edit(struct mvd_pipeline *p, enum mvd_edit_kind kind, const char *name,
                      unsigned index, const char *value, size_t len);

/*
 * Append an INSERT for every field of text ("Name: value\r\n" each, folded
 * with CRLF + WSP), so that after insertion at the top they stand in text's
 * order. 0 on failure.
 */
int mvd_pipeline_insert_fields(struct mvd_pipeline *p, const char *text, size_t len);

/* Outbound: DKIM-sign, then ARC-seal (outbound.c). *tempfail set when sealing must wait. */
int mvd_pipeline_outbound(struct mvd_pipeline *p, struct mvd_outcome *out, int *tempfail);

/*
 * Local policy (override.c). At the start: 1 when the message is not to be
 * checked (p->skip, p->local_policy set); the client's internal_clients
 * match makes it outbound.
 */
int mvd_pipeline_local_start(struct mvd_pipeline *p);
/* The outcome of a skipped message: accepted as it is, no edits. */
void mvd_pipeline_local_pass(struct mvd_pipeline *p, struct mvd_outcome *out);
/* A dmarc_override_file line for the author domain, applied to the library's verdict. */
void mvd_pipeline_local_dmarc(struct mvd_pipeline *p, struct mvd_verdict *v);
/* Our Authentication-Results field(s): the library's, or with the override named; NULL: memory. */
const char *mvd_pipeline_local_field(struct mvd_pipeline *p);

/* The message's DMARC record to the recorder, when p->record (record.c). */
void mvd_pipeline_record(struct mvd_pipeline *p);

/* What the client was told, as the log line says it: "accept", "reject", ... (report.c). */
const char *mvd_pipeline_action_name(const struct mvd_pipeline *m, const struct mvd_outcome *o);

/* Count the message into the metrics, as its log line says it (count.c). */
void mvd_pipeline_count(const struct mvd_pipeline *p, const struct mvd_outcome *out);

#endif
