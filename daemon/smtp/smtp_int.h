/* daemon/smtp/smtp_int.h — one SMTP client connection and its next hop, shared by daemon/smtp's files. */
#ifndef MAILVETD_SMTP_INT_H
#define MAILVETD_SMTP_INT_H

#include <stdio.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "authd.h"
#include "listener.h"
#include "parse.h"
#include "pipeline.h"

#define SMTP_REPLY_MAX 2048 /* a next hop's reply kept for the client, all lines */

/* A bound listening socket (supervisor) and, in the worker, its accepting side. */
struct smtp_listener {
	char name[65];
	int fd;
	struct evconnlistener *evl;
	unsigned nconn;
	SSL_CTX *tls; /* STARTTLS, or NULL */
	struct smtp_loop *loop;
};

/* The worker's event loop and every listener it serves. */
struct smtp_loop {
	struct event_base *base;
	struct smtp_listener *listeners;
	size_t nlisteners;
	unsigned long next_id;
	unsigned sessions;  /* open client connections */
	unsigned in_flight; /* messages between MAIL and their end */
	int draining;
};

/* What the server side is doing. */
enum smtp_state {
	SMTP_ST_COMMAND, /* reading commands */
	SMTP_ST_PROXY,   /* from a [listener] proxy_from address: the PROXY header first */
	SMTP_ST_DATA,    /* reading the message after 354 */
	SMTP_ST_AUTH,    /* reading SASL responses after a 334 (auth.c) */
	SMTP_ST_WAIT,    /* waiting for the next hop or the verdict; input paused */
	SMTP_ST_CLOSING, /* the last reply is being written */
};

/* The message being received between 354 and the end of DATA (data.c). */
struct smtp_field {
	size_t off, len; /* in head: "Name: value\r\n" with its folds, unstuffed */
	size_t namelen;
};
struct smtp_msg {
	int in_header, has_sep; /* still in the header; a blank line ended it */
	int after_crlf;         /* the previous line ended in CRLF */
	int long_line;          /* discarding a line past SMTP_TEXT_MAX */
	char last_byte;         /* the last byte of what was discarded */
	int bad_newline;        /* a bare CR or LF was seen */
	int too_long_line, too_big, header_too_big;
	struct mv_buf head; /* the header block, held until the verdict */
	struct smtp_field *fields;
	size_t nfields, cap;
	size_t fed;   /* fields given to the pipeline */
	FILE *spool;  /* the body as received (dot-stuffed), unlinked file */
	size_t size;  /* octets of the message as received */
	int io_error; /* writing the spool failed */
};

/* The next hop's side (relay.c). */
enum relay_state {
	RELAY_CONNECTING,
	RELAY_GREETING,
	RELAY_EHLO,
	RELAY_XCLIENT,
	RELAY_XCLIENT_EHLO,
	RELAY_READY, /* idle, between commands */
	RELAY_BUSY,  /* a command sent, its reply awaited */
	RELAY_DATA_354,
	RELAY_DATA_RSET, /* DATA was refused: RSET sent, its reply awaited */
	RELAY_SENDING,   /* the message streams out */
	RELAY_DATA_END,  /* "." sent, the reply (LMTP: one per recipient) awaited */
	RELAY_DEAD,
};
struct smtp_session;
typedef void (*relay_cb)(struct smtp_session *s, int code, const char *reply);
struct smtp_relay {
	struct bufferevent *bev;
	enum relay_state state;
	int xclient, size, eightbit, smtputf8, pipelining; /* what its EHLO offered */
	relay_cb cb;                                       /* for the command in flight */
	char *reply; /* lines so far, CRLF each (SMTP_REPLY_MAX bytes, while connected) */
	size_t replylen;
	unsigned lmtp_left; /* LMTP: replies still due after "." */
	int lmtp_first_code;
	char *lmtp_first; /* the reply the client will hear (SMTP_REPLY_MAX, after reply) */
	long spool_left;  /* -1 before the body */
	char *head_out;   /* the edited header, written first */
	size_t head_out_len;
};

/* One client connection. */
struct smtp_session {
	unsigned long id;
	struct smtp_loop *loop;
	struct smtp_listener *lst;
	struct mvd_runtime *rt;             /* held until the connection closes */
	const struct mvd_listener_conf *lc; /* in rt->cfg */
	struct bufferevent *bev;
	enum smtp_state state;
	int esmtp, tls, helo_seen;
	int discarding;         /* a command line past SMTP_CMD_MAX is being dropped */
	int errors;             /* refused commands so far */
	int close_tries;        /* waits for the TLS output to leave before the close */
	struct event *close_ev; /* the deferred free (session.c close_soon) */
	struct mvd_client client;
	char *helo;
	/* The transaction (MAIL to end of DATA, RSET). */
	int in_mail;
	int relay_lost;         /* the next hop went away during this transaction */
	struct smtp_path *mail; /* from MAIL until the transaction ends */
	unsigned nrcpt;         /* accepted by the next hop */
	unsigned nrcpt_tried;   /* RCPT commands in this transaction */
	int rcpt_skip;          /* the RCPT in flight is in [policy] skip_recipient_domains */
	struct mvd_envelope env;
	char qid[40];      /* our id of the message for the log: S<connection>.<message> */
	char trace_id[24]; /* authenticated mail: the id in our Received field and trace record */
	unsigned nmsg;
	struct mvd_pipeline *p;
	struct mvd_outcome out;
	struct smtp_msg msg;
	struct smtp_relay relay;
	/* The verdict is computed in a thread (DNS may take seconds). */
	struct event *verdict_ev;
	int worker_busy, dead; /* a thread (verdict, AUTH check) or a timer holds the session */
	/* SMTP AUTH (auth.c). */
	char *login; /* the authenticated identity, or NULL */
	struct mv_sasl *sasl;
	struct event *auth_ev, *delay_ev;
	struct mvd_authd_result auth; /* the auth process's answer, from the check thread */
	char refusal[600]; /* the reply for a refused message, sent after the next hop's RSET */
	struct smtp_session *prev, *next; /* every open session of the loop (loop.c) */
};

/* session.c */
void smtp_session_accept(struct smtp_listener *l, int fd, const struct sockaddr *sa);
void smtp_reply(struct smtp_session *s, const char *fmt, ...) MV_PRINTF(2, 3);
/* A refused command's reply, counted: too many and the connection is closed (421). */
void smtp_error_reply(struct smtp_session *s, const char *text);
/* The name in the greeting and the EHLO reply. */
const char *smtp_hostname(const struct smtp_session *s);
/* Pause reading until the next hop or the verdict answers (then smtp_resume). */
void smtp_wait(struct smtp_session *s);
/* A thread or timer that held the session let go: 1 when the client had gone (freed now). */
int smtp_worker_done(struct smtp_session *s);
/* Go on reading commands (after a wait for the next hop or the verdict). */
void smtp_resume(struct smtp_session *s);
void smtp_txn_reset(struct smtp_session *s);
/* The client bufferevent's callbacks and timeouts (again after STARTTLS). */
void smtp_session_setcb(struct smtp_session *s);
/* Close at once (the worker stops). */
void smtp_session_close(struct smtp_session *s);

/* loop.c: the list of open sessions */
void smtp_session_link(struct smtp_session *s);
void smtp_session_unlink(struct smtp_session *s);

/* command.c: one command line (CRLF cut), answered or handed to the next hop. */
void smtp_command(struct smtp_session *s, const char *line, size_t len);

/* data.c */
void smtp_msg_start(struct smtp_session *s);
/* Consume DATA input; 1 once the end of the message was read. */
int smtp_msg_input(struct smtp_session *s, struct evbuffer *in);
/* End of DATA: answer a broken message at once or start the verdict (1 = answered). */
void smtp_msg_end(struct smtp_session *s);
void smtp_msg_free(struct smtp_msg *m);
/* The verdict thread is done (event callback on the loop). */
void smtp_verdict_cb(evutil_socket_t fd, short what, void *arg);
/* The header as it leaves: the outcome's edits applied, dot-stuffed; malloc'd. */
char *smtp_msg_header_out(const struct smtp_msg *m, const struct mvd_outcome *o, const char *top,
                          const char *extra, size_t *len);
/* Our Received field (RFC 5321 §4.4, RFC 3848) for authenticated mail, without CRLF; malloc'd. */
char *smtp_received_field(const struct smtp_session *s);
/* A fresh random trace id (16 hex digits); 0, or -1 when no randomness. */
int smtp_trace_id(char *out, size_t outlen);

/* auth.c */
/* AUTH is offered here (after STARTTLS): a submission listener, or auth = yes, and a back end. */
int smtp_auth_offered(const struct smtp_session *s);
void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len);
/* One SASL response line (SMTP_ST_AUTH). */
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len);
/* End the exchange with reply (a line too long or malformed for the exchange). */
void smtp_auth_abort(struct smtp_session *s, const char *reply);
/* The AUTH check thread is done (event callback on the loop). */
void smtp_auth_checked(evutil_socket_t fd, short what, void *arg);
void smtp_auth_free(struct smtp_session *s);

/* relay.c */
/* 1 when w is one word of printable ASCII without parentheses' trouble, short enough for a domain. */
int smtp_printable_word(const char *w);
/* Open the next hop if needed, then send MAIL; cb gets its reply (code 0: unreachable). */
void smtp_relay_mail(struct smtp_session *s, relay_cb cb);
void smtp_relay_cmd(struct smtp_session *s, relay_cb cb, const char *fmt, ...) MV_PRINTF(3, 4);
/* DATA, the edited header, the spooled body, "."; cb gets the final reply. */
void smtp_relay_data(struct smtp_session *s, relay_cb cb);
void smtp_relay_close(struct smtp_session *s);

/* TLS on the client connection from now on (STARTTLS, implicit TLS); -1 when it cannot start. */
int smtp_tls_start(struct smtp_session *s);

#endif
