/* daemon/session.h — what one milter connection and its current message have collected. */
#ifndef MAILVETD_SESSION_H
#define MAILVETD_SESSION_H

#include <arpa/inet.h>
#include <stddef.h>
#include <time.h>

#include <libmilter/mfapi.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>
#include <mailvet/verify.h>

#include "runtime.h"

#define MVD_MAX_AR_DELETE 64 /* forged Authentication-Results removed per message */

/* The message being received (reset at MAIL FROM, end of message and abort). */
struct mvd_message {
	int active;          /* between MAIL FROM and end of message / abort */
	char *mail_from;     /* without <>; "" = null sender */
	char *auth_id;       /* {auth_authen} or NULL */
	char *queue_id;      /* {i} or NULL */
	int outbound;        /* authenticated client or internal host */
	struct mv_verify *v; /* created at the first header (when {i} is known) */
	int failed;          /* an internal error: on_error decides */
	enum mv_status fail_st;
	const char *fail_where;
	size_t ar_seen;                        /* Authentication-Results fields so far */
	unsigned ar_delete[MVD_MAX_AR_DELETE]; /* their 1-based indexes to delete */
	size_t ndelete;
	size_t nbad_headers; /* header fields lib/verify could not take (malformed, too many) */
	enum mv_status bad_header_st; /* why the first of them was refused */
	char bad_header_name[64];     /* its name (cut) */
	struct mv_msg *hdr;           /* outbound: the header, for signing */
	struct mv_buf body; /* outbound: the body, for signing (up to max_message_bytes) */
	int body_too_big;
	const char *sealed_by; /* d= of our ARC seal (borrowed from the runtime), or NULL */
	unsigned long long body_bytes;
	struct timespec start;
};

/* One milter connection (smfi_setpriv). */
struct mvd_session {
	struct mvd_runtime *rt; /* the configuration this connection started with */
	char client_ip[INET6_ADDRSTRLEN];
	char *client_name; /* NULL when the MTA could not name it */
	char *helo;
	char *daemon_name;
	int internal; /* client_ip is in internal_hosts */
	int leadspc;  /* header values keep their leading space (SMFIP_HDR_LEADSPC) */
	int nr_hdr;   /* header fields get no reply (SMFIP_NR_HDR) */
	struct mvd_message m;
	struct mvd_session *prev, *next; /* every live session (milter.c) */
};

/* The callbacks for smfi_register(), flags included. */
struct smfiDesc *mvd_milter_desc(void);
/* Messages between MAIL FROM and their end, across all connections (for SIGTERM drain). */
int mvd_milter_in_flight(void);
/*
 * Start draining: new connections and new messages get the on_error answer
 * (tempfail by default) while the messages in flight finish. (libmilter's
 * smfi_stop() closes every open session at once, so it comes after.)
 */
void mvd_milter_drain(void);

/* Free what the current message holds and mark it inactive. */
void mvd_message_reset(struct mvd_message *m);
/* Record an internal error in the message (the first one wins). */
void mvd_message_fail(struct mvd_message *m, enum mv_status st, const char *where);

/* The end of message steps (eom.c): delete, prepend, policy, sign, seal. */
sfsistat mvd_eom(SMFICTX *ctx, struct mvd_session *s);

/* The one log line per message (report.c). action: what the MTA was told. */
void mvd_report(const struct mvd_session *s, const char *action, const char *signed_by,
                const char *note);

#endif
