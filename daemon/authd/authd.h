/* daemon/authd/authd.h — the auth process: the only holder of the password back end and the failure limiter. */
#ifndef MAILVETD_AUTHD_H
#define MAILVETD_AUTHD_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/auth.h>
#include <mailvet/status.h>

/*
 * The protocol between the worker (client) and the auth process (server),
 * over SOCK_SEQPACKET socketpairs: one request, one reply, each one record
 * that also carries its own length. All integers big-endian.
 *
 * request (16 + fields, at most MVD_AUTHD_MAX_REQ):
 *   u16 length, u8 version (1), u8 op (1 CHECK), u32 seq, u8 mech (1 PLAIN,
 *   2 LOGIN), u8 flags (bit 0: the session is under TLS), u8 ip length
 *   (1..MVD_AUTHD_MAX_IP), u8 authzid length (0..255), u8 login length
 *   (0..255), u8 zero, u16 secret length (0..MVD_AUTHD_MAX_SECRET),
 *   then the ip, the authzid, the login, the secret (none holds a NUL).
 * reply (12 + fields, at most MVD_AUTHD_MAX_REP):
 *   u16 length, u8 version (1), u8 status, u32 seq, u8 delay (seconds to
 *   wait before a failure reply; FAIL only), u8 flags (bit 0: this failure
 *   blocked the client; FAIL only), u8 login length (OK: 1..255, else 0),
 *   u8 reason length (0..MVD_AUTHD_MAX_REASON), then the login the back
 *   end settled on and the reason for the log (printable ASCII, no secret).
 *
 * The worker sends only the decoded login and secret: the SASL exchange
 * (base64, the PLAIN and LOGIN steps) stays with it. The password hashes and
 * the per-IP failure counts never leave the auth process.
 */
#define MVD_AUTHD_VERSION 1
#define MVD_AUTHD_MAX_IP 63    /* a textual IPv6 address with a zone is at most 46 + zone */
#define MVD_AUTHD_MAX_NAME 255 /* login, authzid */
#define MVD_AUTHD_MAX_SECRET MV_SASL_FIELD_MAX /* 1024 */
#define MVD_AUTHD_MAX_REASON 200
#define MVD_AUTHD_REQ_HEAD 16
#define MVD_AUTHD_REP_HEAD 12
#define MVD_AUTHD_MAX_REQ                                                                          \
	(MVD_AUTHD_REQ_HEAD + MVD_AUTHD_MAX_IP + 2 * MVD_AUTHD_MAX_NAME + MVD_AUTHD_MAX_SECRET)
#define MVD_AUTHD_MAX_REP (MVD_AUTHD_REP_HEAD + MVD_AUTHD_MAX_NAME + MVD_AUTHD_MAX_REASON)
#define MVD_AUTHD_SOCKETS 4 /* socketpairs: checks that may run at once */

enum mvd_authd_op { MVD_AUTHD_CHECK = 1 };
enum mvd_authd_mech { MVD_AUTHD_PLAIN = 1, MVD_AUTHD_LOGIN = 2 };
#define MVD_AUTHD_SECURED 0x01     /* request flag */
#define MVD_AUTHD_NOW_BLOCKED 0x01 /* reply flag */

enum mvd_authd_status {
	MVD_AUTHD_OK = 0,          /* the secret is right */
	MVD_AUTHD_FAIL = 1,        /* wrong secret or unknown login (counted) */
	MVD_AUTHD_TEMPFAIL = 2,    /* back end down, slow or confused */
	MVD_AUTHD_BLOCKED = 3,     /* the client IP is blocked: nothing was checked */
	MVD_AUTHD_BAD_REQUEST = 4, /* the request did not parse */
};

/* A request; the secret is wiped by mvd_authd_req_wipe(). */
struct mvd_authd_req {
	uint8_t op, mech, flags;
	uint32_t seq;
	char ip[MVD_AUTHD_MAX_IP + 1]; /* each NUL-terminated */
	char authzid[MVD_AUTHD_MAX_NAME + 1];
	char login[MVD_AUTHD_MAX_NAME + 1];
	char secret[MVD_AUTHD_MAX_SECRET + 1];
	size_t secret_len;
};

struct mvd_authd_rep {
	uint8_t status, delay, flags;
	uint32_t seq;
	char login[MVD_AUTHD_MAX_NAME + 1];
	char reason[MVD_AUTHD_MAX_REASON + 1];
};

/*
 * Encode r into buf (at least MVD_AUTHD_MAX_REQ / MVD_AUTHD_MAX_REP bytes);
 * returns the length, 0 when r is out of range (a field too long, an empty
 * ip, a NUL or control byte where none may be).
 */
size_t mvd_authd_req_encode(const struct mvd_authd_req *r, unsigned char *buf);
size_t mvd_authd_rep_encode(const struct mvd_authd_rep *r, unsigned char *buf);

/*
 * Parse one record of n bytes, strictly: the length field equals n, the
 * version is ours, op/mech/status known, unknown flag bits and the zero
 * byte zero, every length within its limit, no NUL in any field, the ip
 * only of address characters, the reason printable ASCII, the login of an
 * OK present and absent otherwise, delay and flags zero unless FAIL.
 * MV_OK, or MV_ESYNTAX / MV_ETOOBIG (and *out is not to be used; a request's
 * secret may be in it, to be wiped).
 */
enum mv_status mvd_authd_req_parse(const unsigned char *p, size_t n, struct mvd_authd_req *out);
enum mv_status mvd_authd_rep_parse(const unsigned char *p, size_t n, struct mvd_authd_rep *out);

/* Wipe a request's secret (OPENSSL_cleanse), and buf[0..n) when buf is not NULL. */
void mvd_authd_req_wipe(struct mvd_authd_req *r, unsigned char *buf, size_t n);

/* ---- The channel: socketpairs made by main before the supervisor forks ---- */

/* Make the socketpairs (close-on-exec). 0, or -1 with errno. */
int mvd_authd_channel_open(void);
/* In the auth process: close the worker's ends; the server's fds in fds[MVD_AUTHD_SOCKETS]. */
void mvd_authd_channel_server(int *fds);
/* In the worker: close the auth process's ends; its fds (-1: no channel) in fds[]. */
void mvd_authd_channel_client(int *fds);
/* In any other child (the key process): close every end. */
void mvd_authd_channel_close(void);

/* ---- The auth process (an mvd_worker_fn of the supervisor; arg: the configuration path) ---- */

/*
 * Load [submission] sasl (the password file read, or the Dovecot socket
 * noted) and the failure limits, then answer requests until ctl_fd says
 * stop or closes. One status byte goes to ready_fd after each load (0:
 * loaded; else the running back end stays); MVD_CTL_RELOAD loads again.
 * The first load failing ends the process with status 1.
 */
int mvd_authd_main(int ctl_fd, int ready_fd, void *arg);

/*
 * The server's core, what the fuzz target and the unit test drive: answer
 * one request record of n bytes with back end b (NULL: none configured,
 * TEMPFAIL) and the failure limits of sub; the reply goes to out
 * (MVD_AUTHD_MAX_REP bytes), its length returned. The request bytes are
 * not wiped here (the caller owns them); the parsed secret is.
 */
struct mvd_submission_conf;
size_t mvd_authd_answer(struct mv_auth_backend *b, const struct mvd_submission_conf *sub,
                        const unsigned char *req, size_t n, unsigned char *out);

/*
 * Install the auth process's system-call filter on every thread
 * (libseccomp): its I/O, memory, locks, the file reads of a reload, and
 * new AF_UNIX sockets with connect (Dovecot's auth socket; AF_INET and
 * AF_INET6 too when inet is set, for dovecot:inet:) are allowed; any other
 * call fails with EPERM; execve, execveat, fork, vfork, clone of a process,
 * ptrace and process_vm_* kill the process. 0, or -1 with the reason in err.
 */
int mvd_authd_sandbox(int inet, char *err, size_t errlen);

/* ---- The worker's side ---- */

/* Take the client's ends of the channel (call once in the worker, before serving). */
void mvd_authd_client_attach(void);

/* What the auth process said about one login. */
struct mvd_authd_result {
	enum mvd_authd_status status; /* BAD_REQUEST never: a lost answer is TEMPFAIL */
	unsigned delay;               /* FAIL: seconds before the failure reply */
	int now_blocked;              /* FAIL: the client reached its failure limit */
	char *login;                  /* OK: the login the back end settled on (free()) */
	char reason[MVD_AUTHD_MAX_REASON + 1];
};

/*
 * Ask the auth process (thread-safe, blocking: a caller takes a free socket
 * or waits for one) whether login and secret[0..secret_len) are valid. Waits
 * at most timeout_ms in all; no answer is TEMPFAIL (reason says why), and a
 * late answer is dropped by its sequence number. The copy of the secret in
 * the request buffer is wiped before returning.
 */
void mvd_authd_check(const char *authzid, const char *login, const char *secret, size_t secret_len,
                     enum mvd_authd_mech mech, const char *ip, int secured, int timeout_ms,
                     struct mvd_authd_result *out);

#endif
