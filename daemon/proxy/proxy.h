/* daemon/proxy/proxy.h — IMAP and POP3 capability proxies (AUTHSERV, draft-kucherawy-sender-auth-caps §4, §5). */
#ifndef MAILVETD_PROXY_H
#define MAILVETD_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "runtime.h"

/*
 * The daemon side: listeners of role imap and pop3, on one event loop in a
 * thread of the worker (the SMTP front end has its own).
 */

/*
 * Bind every proxy [listener] of c and load their TLS certificates and keys
 * (as root, before the privilege drop; the worker inherits both). 0, or -1
 * with the reason in err.
 */
int mvd_proxy_bind(const struct mvd_config *c, char *err, size_t errlen);

/* Listeners bound by mvd_proxy_bind(). */
size_t mvd_proxy_count(void);

/* In the worker: serve the bound listeners on a thread of their own. 0, or -1 with err. */
int mvd_proxy_start(char *err, size_t errlen);

/* After a configuration reload (any thread): new sessions read the listener's keys again. */
void mvd_proxy_reload(void);

/* 1 while the loop runs. */
int mvd_proxy_running(void);

/* Stop: refuse new connections, close every session, join the thread. */
void mvd_proxy_stop(void);

/*
 * The capability rewriter: no I/O. The session feeds it the bytes of each
 * direction as they come; it emits them again, changed only where they are
 * capability data (IMAP: "* CAPABILITY" and the [CAPABILITY] response code;
 * POP3: the lines of a CAPA reply), or where the proxy itself answers
 * (STARTTLS/STLS, which the proxy terminates, and COMPRESS, which it does
 * not offer). Anything it cannot follow (a literal of more than 2^63
 * bytes, too many commands in flight) turns that session into a plain
 * relay: bytes are then never changed again.
 */
enum mvd_proxy_proto { MVD_PROXY_IMAP, MVD_PROXY_POP3 };

#define PROXY_LINE_MAX 8192 /* a line held whole so that it can be rewritten */
#define PROXY_TAGS_MAX 16   /* IMAP commands whose completion matters, in flight */
#define PROXY_QUEUE_MAX 128 /* POP3 commands in flight (pipelining) */
#define PROXY_ID_MAX 255    /* an authserv-id */

/* Where the rewriter's output goes: n bytes at p, to the other side. */
typedef void proxy_emit_fn(void *arg, const void *p, size_t n);

/* What the proxy knows about a command of the client until its reply comes. */
enum proxy_cmd {
	PROXY_CMD_OTHER,
	PROXY_CMD_LOGIN,    /* LOGIN, or POP3 PASS/APOP: OK means authenticated */
	PROXY_CMD_AUTH,     /* AUTHENTICATE / AUTH mech: SASL lines until the reply */
	PROXY_CMD_UNAUTH,   /* IMAP UNAUTHENTICATE (RFC 8437) */
	PROXY_CMD_IDLE,     /* IMAP IDLE: "DONE" until the reply */
	PROXY_CMD_STARTTLS, /* sent upstream as NOOP; its reply becomes ours */
	PROXY_CMD_NO_TLS,   /* STARTTLS when it is not offered: NOOP upstream, BAD back */
	PROXY_CMD_NO_COMPRESS,
	PROXY_CMD_CAPA,  /* POP3: a multi-line reply that is rewritten */
	PROXY_CMD_MULTI, /* POP3: a multi-line reply passed as it is (RETR, TOP, LIST...) */
};

/* A line being gathered, or (past PROXY_LINE_MAX) streamed with its last bytes kept. */
struct proxy_line {
	unsigned char buf[PROXY_LINE_MAX];
	size_t len;
	int streaming;          /* too long: passed as it comes */
	unsigned char tail[32]; /* streaming: the line's last bytes, for "{n}" */
	size_t tail_len;
};

/* One direction of a session. */
struct proxy_dir {
	struct proxy_line line;
	uint64_t literal; /* IMAP: bytes of a literal still to pass */
	int in_command;   /* IMAP client: the line continues a command after a literal */
	int greeted;      /* server: the greeting went by */
};

struct proxy_tag {
	char tag[64];
	enum proxy_cmd cmd;
};

struct proxy_rw {
	enum mvd_proxy_proto proto;
	char id[PROXY_ID_MAX + 1];
	int offer_tls;    /* the listener offers STARTTLS / STLS */
	int tls_active;   /* the client side is in TLS */
	int authed;       /* authenticated (IMAP) / TRANSACTION (POP3) */
	int relay;        /* lost track: bytes pass unchanged from now on */
	int starttls_due; /* the reply to STARTTLS went out: start TLS now */
	int discard;      /* after STARTTLS, the client's bytes until TLS starts */
	struct proxy_dir c2s, s2c;
	/* IMAP */
	struct proxy_tag tags[PROXY_TAGS_MAX];
	size_t ntags;
	char cur_tag[64];    /* the client command in progress (its literals) */
	char owner_tag[64];  /* AUTHENTICATE or IDLE in progress: client lines are its data */
	char sync_tag[64];   /* a synchronizing literal of this command is announced */
	unsigned char *held; /* "* CAPABILITY" sent during LOGIN: held until its result */
	size_t held_len;
	/* POP3 */
	enum proxy_cmd queue[PROXY_QUEUE_MAX];
	size_t qhead, qlen;
	int sasl;             /* AUTH exchange: client lines are SASL data */
	enum proxy_cmd multi; /* in a multi-line reply of this kind, else OTHER */
	int dot;              /* multi-line streaming: where in ".\r\n" we are */
};

/* A new rewriter (the caller frees it with mvd_proxy_rw_free()); NULL when out of memory. */
struct proxy_rw *mvd_proxy_rw_new(enum mvd_proxy_proto proto, const char *authserv_id,
                                  int offer_tls, int tls_active);
void mvd_proxy_rw_free(struct proxy_rw *rw);

/*
 * Feed len bytes from the server (or the client); what goes on to the other
 * side is emitted through emit. Returns the bytes consumed: all of them,
 * except after the reply to STARTTLS (mvd_proxy_rw_starttls_due() is then
 * 1; the rest is fed again once TLS has started).
 */
size_t mvd_proxy_rw_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                           proxy_emit_fn *emit, void *arg);
size_t mvd_proxy_rw_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                           proxy_emit_fn *emit, void *arg);

/*
 * How many of the next bytes from the server (or the client) pass
 * unchanged whatever they are (the rest of a literal; everything once the
 * session relays): the session may move them without feeding them, then
 * says so with mvd_proxy_rw_skip(). 0 when the bytes must be fed.
 */
uint64_t mvd_proxy_rw_verbatim(const struct proxy_rw *rw, int server);
void mvd_proxy_rw_skip(struct proxy_rw *rw, int server, uint64_t n);

/* 1 once the proxy must start TLS with the client (the reply to STARTTLS is out). */
int mvd_proxy_rw_starttls_due(const struct proxy_rw *rw);

/* TLS with the client is up: its bytes are read again, STARTTLS no longer offered. */
void mvd_proxy_rw_tls_started(struct proxy_rw *rw);

/* Internal to daemon/proxy: the listeners, the loop, the sessions (loop.c, session.c, tls.c). */
struct bufferevent;
struct event_base;
struct evconnlistener;
struct ssl_ctx_st;

struct proxy_listener {
	char name[65];
	int fd;
	enum mvd_proxy_proto proto;
	int tls_mode;              /* enum mvd_proxy_tls */
	struct ssl_ctx_st *tls;    /* towards the clients (STARTTLS or implicit), or NULL */
	struct ssl_ctx_st *up_tls; /* towards the upstream (upstream_tls), or NULL */
	struct evconnlistener *evl;
	unsigned nconn;
	struct proxy_loop *loop;
};

struct proxy_loop {
	struct event_base *base;
	struct proxy_listener *listeners;
	size_t nlisteners;
	unsigned long next_id;
	struct proxy_session *sessions;
};

/* One client connection and its connection to the upstream server. */
struct proxy_session {
	struct proxy_session *prev, *next;
	struct proxy_listener *lst;
	unsigned long id;
	struct bufferevent *client, *up;
	struct proxy_rw *rw;
	char peer[64];
	unsigned timeout; /* timeout_idle */
	long long last;   /* a byte went by, either way (monotonic s) */
	unsigned long long c2s_bytes, s2c_bytes;
	int closing;             /* flushing the last bytes, then freed */
	int heard_upstream;      /* the upstream has said something */
	struct proxy_splice *sp; /* a literal going server -> client by splice(2), or NULL */
	unsigned long long spliced_bytes; /* of s2c_bytes, those moved by splice(2) */
};

void proxy_session_accept(struct proxy_listener *l, int fd, const struct sockaddr *sa);
void proxy_session_free(struct proxy_session *s);
/* Around a splice: the upstream's bufferevent stops reading, then reads again. */
void proxy_session_hold(struct proxy_session *s);
void proxy_session_resume(struct proxy_session *s);

/*
 * splice.c: the rest of a literal from the server goes to the client
 * through a pipe, in the kernel, when both sides are plain sockets.
 * proxy_splice_start() returns 1 when it took over (the session may be
 * freed by then), proxy_splice_run() moves what it can (on_write of the
 * client calls it), proxy_splice_end() frees the pipe and events (kept
 * from one literal to the next of a session).
 */
int proxy_splice_usable(const struct proxy_session *s);
int proxy_splicing(const struct proxy_session *s); /* 1 while a literal goes by splice */
int proxy_splice_start(struct proxy_session *s);
void proxy_splice_run(struct proxy_session *s);
void proxy_splice_end(struct proxy_session *s);
/* tls.c: towards the upstream (the server context is daemon/evloop's). */
struct ssl_ctx_st *proxy_tls_client_ctx(const struct mvd_listener_conf *lc, char *err,
                                        size_t errlen);

/* Internal to the rewriter's files (rewrite.c, rewrite_imap.c, rewrite_pop3.c). */
struct proxy_out {
	proxy_emit_fn *emit;
	void *arg;
};
void proxy_imap_flush_held(struct proxy_rw *rw, const struct proxy_out *o);
int proxy_take_line(struct proxy_line *l, const unsigned char *in, size_t len, size_t *used);
void proxy_tail_keep(struct proxy_line *l, const unsigned char *p, size_t n);
int proxy_word_is(const unsigned char *p, size_t n, const char *word);
size_t proxy_eol_len(const unsigned char *p, size_t n);
void proxy_emit_str(const struct proxy_out *o, const char *s);
size_t proxy_imap_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o);
size_t proxy_imap_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o);
size_t proxy_pop3_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o);
size_t proxy_pop3_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o);

#endif
