/*
 * include/mailvet/auth.h — authenticated submission rules (RFC 4954, RFC 5068 /
 * draft-hutzler-spamops §3): the SASL exchange, credential back ends, failure and
 * rate limits, the sender login map and the relay check. Shared by the SMTP
 * front end and the milter; see docs/internals/auth.md.
 *
 * Passwords: the library keeps a password only as long as a call needs it and
 * wipes every copy it made (OPENSSL_cleanse) before freeing it; no function
 * here logs, and no error text ever holds a password.
 */
#ifndef MAILVET_AUTH_H
#define MAILVET_AUTH_H

#include <stddef.h>
#include <time.h>

#include <mailvet/status.h>

/* ---- SASL server exchange (RFC 4954 AUTH, RFC 4616 PLAIN, LOGIN) -------- */

/* RFC 4954 §4: an AUTH command or response line may be 12288 octets (no CRLF). */
#define MV_SASL_LINE_MAX 12288
/* Longest authzid, login or password we accept after decoding. */
#define MV_SASL_FIELD_MAX 1024

/* mv_sasl_new() flags. */
#define MV_SASL_ALLOW_AUTHZID 1u /* PLAIN: accept an authzid different from the login */

/* What the caller does next, after mv_sasl_start() or mv_sasl_feed(). */
enum mv_sasl_step {
	MV_SASL_CHALLENGE, /* send mv_sasl_reply() ("334 ..."), then feed the next client line */
	MV_SASL_DONE,      /* credentials complete: mv_sasl_cred(), then check them */
	MV_SASL_CANCEL,    /* the client sent "*": send mv_sasl_reply() (501 5.0.0) */
	MV_SASL_ERROR,     /* send mv_sasl_reply() (a 5xx line); the exchange is over */
};

/* The credentials of a finished exchange; strings owned by the exchange. */
struct mv_sasl_cred {
	const char *mech;     /* "PLAIN" or "LOGIN" */
	const char *authzid;  /* "" when none was given (or for LOGIN) */
	const char *login;    /* authcid, never empty, valid UTF-8 without NUL */
	const char *password; /* valid UTF-8 without NUL, may be empty */
	size_t password_len;
};

/*
 * One exchange per AUTH command; opaque; not shared between threads. Whether
 * the session is already authenticated (AUTH after success: 503 5.5.1) is
 * the caller's state, not the exchange's.
 */
struct mv_sasl;

/* A new exchange (*out, free with mv_sasl_free()). MV_ENOMEM only. */
enum mv_status mv_sasl_new(unsigned flags, struct mv_sasl **out);

/*
 * Start from the AUTH command's arguments, args[0..len): the text after
 * "AUTH " without CRLF, "MECHANISM [SP initial-response]" where the
 * initial response is base64 or "=" for an empty one. Mechanism names are
 * case-insensitive; PLAIN and LOGIN are known. Replies on error:
 *   500 5.5.6  the line is longer than MV_SASL_LINE_MAX ("AUTH " included)
 *   501 5.5.4  no mechanism, or more than two arguments
 *   504 5.5.4  unknown mechanism
 *   501 5.5.2  bad base64 (strict RFC 4648: alphabet, padding, zero pad bits)
 *   501 5.5.2  a PLAIN message that is not authzid NUL authcid NUL passwd, an
 *              empty login, a NUL byte in a login or password, bad UTF-8
 *   535 5.7.8  PLAIN authzid different from the login, without
 *              MV_SASL_ALLOW_AUTHZID
 *   503 5.5.1  start called twice (AUTH repeated within an exchange)
 */
enum mv_sasl_step mv_sasl_start(struct mv_sasl *s, const char *args, size_t len);

/*
 * Feed one client line (without CRLF) after a challenge. "*" cancels
 * (501 5.0.0). Same error replies as mv_sasl_start(); a feed when no
 * challenge is pending is 503 5.5.1.
 */
enum mv_sasl_step mv_sasl_feed(struct mv_sasl *s, const char *line, size_t len);

/*
 * The reply line (without CRLF) for the last CHALLENGE, CANCEL or ERROR:
 * "334 <base64>" or "5xx x.y.z text". Borrowed until the next call on s.
 * "" after DONE (the caller replies 235 or 535 after checking).
 */
const char *mv_sasl_reply(const struct mv_sasl *s);
/* (A start or feed after DONE answers 503 and leaves the credentials in place.) */

/* The credentials after MV_SASL_DONE, else NULL. Borrowed until mv_sasl_free(). */
const struct mv_sasl_cred *mv_sasl_cred(const struct mv_sasl *s);

/* Wipe every secret the exchange holds and free it. NULL is fine. */
void mv_sasl_free(struct mv_sasl *s);

/*
 * Strict base64 (RFC 4648 §4) of in[0..len) into a new buffer *out of *outlen
 * bytes (NUL-terminated for convenience; free, and wipe if secret). Refused
 * (MV_ESYNTAX): a length not a multiple of 4, a byte outside the alphabet,
 * '=' anywhere but the last one or two places, non-zero pad bits. Empty
 * input gives an empty buffer. MV_ENOMEM.
 */
enum mv_status mv_base64_decode_strict(const char *in, size_t len, unsigned char **out,
                                       size_t *outlen);

/* ---- Password hashes (libxcrypt) ----------------------------------------- */

enum mv_passwd_method {
	MV_PASSWD_YESCRYPT, /* "$y$", the default */
	MV_PASSWD_BCRYPT,   /* "$2b$" */
	MV_PASSWD_SHA512,   /* "$6$" sha512-crypt */
};

/*
 * Hash password[0..len) with a fresh random salt (crypt_gensalt_rn with the
 * method's default cost) into a new string *out (free()). MV_EINVAL for a
 * password holding NUL or longer than MV_SASL_FIELD_MAX, or for bcrypt over
 * 72 bytes (bcrypt would ignore the rest); MV_EIO when libxcrypt refuses.
 */
enum mv_status mv_passwd_hash(enum mv_passwd_method m, const char *password, size_t len,
                              char **out);

/* 1 when hash names a method the password file accepts ($y$, $2b$, $2y$, $6$), else 0. */
int mv_passwd_hash_allowed(const char *hash);

/* ---- Credential back ends --------------------------------------------- */

enum mv_auth_verdict {
	MV_AUTH_OK,       /* the password is right: reply 235 2.7.0 */
	MV_AUTH_FAIL,     /* wrong password or unknown login: 535 5.7.8 */
	MV_AUTH_TEMPFAIL, /* back end down, timed out or confused: 454 4.7.0 */
};

/* One check. Pointers borrowed for the duration of the call. */
struct mv_auth_request {
	const char *authzid; /* NULL or "" when none */
	const char *login;
	const char *password;
	size_t password_len;
	const char *client_ip; /* NULL or a textual IP address (passed to Dovecot as rip=) */
	int secured;           /* the session is under TLS (Dovecot's "secured") */
};

struct mv_auth_backend; /* opaque; thread-safe: checks and reloads may run concurrently */

/*
 * Open the back end named by spec:
 *   passwd-file:PATH          a file of "login:hash[:ignored...]" lines
 *   dovecot:PATH              Dovecot's auth-client unix socket
 *   dovecot:inet:HOST:PORT    the same over TCP (HOST may be [v6])
 * A password file is read now: blank lines and lines starting with '#' are
 * skipped; a line without ':', an empty login, a duplicate login, or a hash
 * that is not yescrypt, bcrypt ($2b$/$2y$) or sha512-crypt (plain text,
 * {PLAIN}, DES, MD5 and the rest) is MV_ESYNTAX with err "PATH:LINE: why".
 * Files over 64 MiB are MV_ETOOBIG. A Dovecot back end connects only when
 * checking. *out is freed with mv_auth_backend_free().
 */
enum mv_status mv_auth_backend_open(const char *spec, struct mv_auth_backend **out, char *err,
                                    size_t errlen);

/*
 * Check one login and password (each at most MV_SASL_FIELD_MAX bytes, else
 * MV_AUTH_FAIL without asking the back end); blocking, at most timeout_ms for the network
 * part (the caller runs it off its event loop). A password file costs one
 * hash computation for an unknown login too (the same method and cost as
 * the file's first entry), so timing does not tell logins apart. Dovecot:
 * one connection per check, PLAIN with service=smtp; a FAIL with "temp" or
 * any protocol error, connect error or timeout is MV_AUTH_TEMPFAIL. err
 * (may be NULL) gets a short reason without any secret, for the log.
 * When ok_login is not NULL and the verdict is MV_AUTH_OK, it receives the
 * login the back end settled on (Dovecot's user=, else req->login), a new
 * string the caller frees.
 */
enum mv_auth_verdict mv_auth_check(struct mv_auth_backend *b, const struct mv_auth_request *req,
                                   unsigned timeout_ms, char **ok_login, char *err, size_t errlen);

/*
 * Re-read a password file (other back ends: MV_OK, nothing to do). On any
 * error the old table stays in force and err says why.
 */
enum mv_status mv_auth_backend_reload(struct mv_auth_backend *b, char *err, size_t errlen);

void mv_auth_backend_free(struct mv_auth_backend *b); /* NULL is fine */

/* ---- Failure limiter and per-key counters -------------------------------- */

/*
 * Authentication failures per client IP (or any key of at most
 * MV_AUTH_KEY_MAX bytes). A key's window opens at its first failure;
 * max_failures failures inside window_s seconds block the key until the
 * window ends. Each failure also asks for a delay before the failure
 * reply: 1 s after the first consecutive failure, then 2, 4, ... capped at
 * delay_max_s; a success resets that delay, not the window's count (one
 * good account must not launder a password-guessing run from the same IP).
 * The table holds at most max_entries keys; a new key then evicts the one
 * touched least recently (an entry takes about 300 bytes, allocated up
 * front). All calls are thread-safe.
 */
#define MV_AUTH_KEY_MAX 255
struct mv_auth_limits {
	unsigned max_failures; /* default 5 */
	unsigned window_s;     /* default 600 */
	unsigned delay_max_s;  /* default 8 */
	size_t max_entries;    /* default 10000, at most 1 << 20 */
};
#define MV_AUTH_LIMITS_DEFAULT                                                                     \
	{                                                                                          \
		5, 600, 8, 10000                                                                   \
	}

struct mv_auth_limiter;

/* A new limiter; a zero field takes its default. MV_EINVAL past the bounds, MV_ENOMEM. */
enum mv_status mv_auth_limiter_new(const struct mv_auth_limits *lim, struct mv_auth_limiter **out);
void mv_auth_limiter_free(struct mv_auth_limiter *l); /* NULL is fine */

/* 1 when key has reached max_failures in its current window at time now. */
int mv_auth_limiter_blocked(struct mv_auth_limiter *l, const char *key, time_t now);

/* Record a failure; returns the delay in seconds to wait before the failure reply. */
unsigned mv_auth_limiter_failure(struct mv_auth_limiter *l, const char *key, time_t now);

/* Record a success: the next failure's delay starts again at 1 s. */
void mv_auth_limiter_success(struct mv_auth_limiter *l, const char *key, time_t now);

/*
 * A count per key in fixed windows: e.g. messages per login per hour. A
 * key's window opens at its first take and lasts window_s seconds. At most
 * max_entries keys (least recently touched evicted). Thread-safe.
 */
struct mv_auth_counter;

/* limit >= 1, window_s >= 1, 1 <= max_entries <= 1 << 20; MV_EINVAL otherwise. */
enum mv_status mv_auth_counter_new(unsigned long limit, unsigned window_s, size_t max_entries,
                                   struct mv_auth_counter **out);
void mv_auth_counter_free(struct mv_auth_counter *c); /* NULL is fine */

/*
 * Take n units for key at time now: 1 and counted when the window's count
 * plus n stays within the limit, else 0 and nothing counted.
 */
int mv_auth_counter_take(struct mv_auth_counter *c, const char *key, unsigned long n, time_t now);

/* The units key has used in its current window (0 for an unknown key). */
unsigned long mv_auth_counter_used(struct mv_auth_counter *c, const char *key, time_t now);

/* ---- Sender login map (spamops §3.1 Submission Authorization) ----------- */

/*
 * A map from login to the sender addresses it may use, one login a line:
 *   login  pattern[, pattern ...]
 * patterns: an exact address ("alice@example.org"), "@domain" (any address
 * of that domain, not its subdomains) or "*" (any address). '#' starts a
 * comment line; blank lines are skipped; a login may have several lines.
 * A login "*" (a default for everyone) is refused: every login's rights are
 * written out, so a typo in a login never widens what someone may send as.
 * Domains are compared in A-label form, case-insensitively; local parts
 * exactly except for ASCII case. Limits: 16 MiB a file, 8 KiB a line.
 */
struct mv_auth_senders; /* immutable once loaded: may be shared between threads */

/* Parse text[0..len); name is used in errors ("NAME:LINE: why"). MV_ESYNTAX, MV_ETOOBIG. */
enum mv_status mv_auth_senders_parse(const char *text, size_t len, const char *name,
                                     struct mv_auth_senders **out, char *err, size_t errlen);
/* Read and parse a file (sender_login_map = PATH). */
enum mv_status mv_auth_senders_load(const char *path, struct mv_auth_senders **out, char *err,
                                    size_t errlen);
void mv_auth_senders_free(struct mv_auth_senders *m); /* NULL is fine */

/*
 * 1 when login may use address (an envelope address "local@domain", with or
 * without angle brackets; a quoted local part is compared unquoted), else 0
 * (also for an unknown login, an empty or malformed address). The null
 * reverse-path "<>" is not an address: 0 (the caller decides about bounces).
 */
int mv_auth_senders_allowed(const struct mv_auth_senders *m, const char *login,
                            const char *address);

/*
 * Check the header addresses of a message: values[i][0..lens[i]) are the
 * unfolded values of its From field(s) and Sender field, read by the same
 * RFC 5322 parser DMARC uses (mv_addr_parse: groups, quoted local parts,
 * comments and encoded-word display names cannot move an address). On MV_OK
 * *bad is NULL when every address is allowed, else a new string (free())
 * "local@domain" naming the first one that is not. A value that does not
 * parse or holds no mailbox is MV_ESYNTAX with err saying why (the caller
 * refuses the message too). MV_ENOMEM.
 */
enum mv_status mv_auth_senders_check_header(const struct mv_auth_senders *m, const char *login,
                                            const char *const *values, const size_t *lens, size_t n,
                                            char **bad, char *err, size_t errlen);

/* ---- Relay check (spamops §3.2, §4.1) ------------------------------------ */

enum mv_auth_rcpt {
	MV_AUTH_RCPT_LOCAL,  /* unambiguously one of our domains (or bare "postmaster") */
	MV_AUTH_RCPT_REMOTE, /* a plain address in another domain: relay, if authenticated */
	MV_AUTH_RCPT_BAD,    /* a routing trick or malformed path: never local */
};

/*
 * Classify the RCPT TO path path[0..len) ("<user@domain>" or without the
 * brackets) against our domains (ASCII or A-label names; case does not
 * matter). Routing tricks are MV_AUTH_RCPT_BAD, never local: '%' or '!' in
 * the local part, a source route "@a,@b:user@c", a second '@', a quoted
 * local part holding '@', '%' or '!', an address literal "[1.2.3.4]",
 * control bytes, spaces, paths over 512 bytes. *reason (may be NULL) gets a
 * short static text for the log and the refusal.
 */
enum mv_auth_rcpt mv_auth_rcpt_classify(const char *path, size_t len, const char *const *domains,
                                        size_t ndomains, const char **reason);

#endif
