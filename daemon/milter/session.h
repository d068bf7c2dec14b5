/* daemon/milter/session.h — what one milter connection and its current message have collected. */
#ifndef MAILVETD_MILTER_SESSION_H
#define MAILVETD_MILTER_SESSION_H

#include <libmilter/mfapi.h>

#include "pipeline.h"
#include "runtime.h"

/* The message being received (reset at MAIL FROM, end of message and abort). */
struct mvd_message {
	int active;      /* between MAIL FROM and end of message / abort */
	char *mail_from; /* without <>; "" = null sender */
	char *auth_id;   /* {auth_authen} or NULL */
	char *queue_id;  /* {i} or NULL */
	struct mvd_envelope env;
	struct mvd_pipeline *p; /* created at the first header (when {i} is known) */
	int nomem;              /* the pipeline could not be created */
};

/* One milter connection (smfi_setpriv). */
struct mvd_session {
	struct mvd_runtime *rt; /* the configuration this connection started with */
	struct mvd_client client;
	char *client_name; /* owned; client.name points here */
	char *helo;        /* owned; client.helo points here */
	int leadspc;       /* header values keep their leading space (SMFIP_HDR_LEADSPC) */
	int nr_hdr;        /* header fields get no reply (SMFIP_NR_HDR) */
	int nr_rcpt;       /* RCPT gets no reply (SMFIP_NR_RCPT) */
	int tcp_fd;        /* the MTA's TCP connection (quickack.c), or -1 */
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

/*
 * The TCP socket of ctx's connection when the milter socket is "inet..."
 * (the port checked against socket), else -1: the no-reply flags over TCP
 * need it (quickack.c).
 */
int mvd_milter_tcp_fd(SMFICTX *ctx, const char *socket);
/* ACK now what the MTA sent last (a packet that gets no reply); no-op without tcp_fd. */
void mvd_milter_quickack(const struct mvd_session *s);

/* Free what the current message holds and mark it inactive. */
void mvd_message_reset(struct mvd_message *m);

/*
 * End of message: the pipeline's outcome applied through libmilter (header
 * edits, quarantine, reply), the log line written (apply.c).
 */
sfsistat mvd_milter_apply(SMFICTX *ctx, struct mvd_session *s);

#endif
