/*
 * cli/discover.h — `mailvet discover`: ask an SMTP, IMAP or POP3 server for its AUTHSERV
 * capability (draft-kucherawy-sender-auth-caps-00); shared with `mailvet trust --discover`.
 */
#ifndef MAILVET_CLI_DISCOVER_H
#define MAILVET_CLI_DISCOVER_H

#include <stddef.h>

#include <openssl/ssl.h>

#include <mailvet/authres.h>
#include <mailvet/util.h>

/* Exit statuses of `mailvet discover` (documented in its --help and in mailvet(1)). */
enum mv_cli_discover_exit {
	MV_DISC_ADVERTISED = 0, /* AUTHSERV advertised */
	MV_DISC_ABSENT = 1,     /* the server answered; no AUTHSERV */
	MV_DISC_USAGE = 2,      /* usage or local error */
	MV_DISC_CONNECT = 3,    /* cannot resolve or connect, or the connection broke */
	MV_DISC_TIMEOUT = 4,    /* the --timeout deadline passed */
	MV_DISC_TLS = 5,        /* TLS handshake or certificate verification failed */
	MV_DISC_PROTOCOL = 6,   /* the server's replies break the protocol or our limits */
	MV_DISC_LOGIN = 7,      /* the server refused the login */
};

#define MV_DISC_LINE_MAX 16384        /* longest reply line read */
#define MV_DISC_REPLY_MAX (64 * 1024) /* bytes of one reply, literals included */
#define MV_DISC_REPLY_LINES 1000      /* lines of one reply */
#define MV_DISC_TIMEOUT_DEFAULT 30    /* seconds for the whole session */

/* One connection with a deadline for everything done on it. */
struct mv_cli_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	long long deadline_ms; /* CLOCK_MONOTONIC */
	unsigned timeout_s;
	const char *host; /* borrowed: the name the certificate must carry */
	const char *ca;   /* borrowed: CA file, NULL = the system store */
	int insecure;     /* 1: no certificate verification */
	char in[MV_DISC_LINE_MAX];
	size_t beg, end; /* unread bytes: in[beg..end) */
	char err[320];   /* why the last call failed: one line */
};

/*
 * Connect to host:port (any address getaddrinfo gives, in turn) within
 * timeout_s seconds, which then bound the whole session. 0, or an exit
 * status with c->err set. Close with mv_cli_conn_close() in every case.
 */
int mv_cli_conn_open(struct mv_cli_conn *c, const char *host, const char *port, unsigned timeout_s);
/* TLS client handshake (TLS 1.2 or later; SNI and name check against c->host). */
int mv_cli_conn_tls(struct mv_cli_conn *c);
/* Write all of s[0..n). */
int mv_cli_conn_write(struct mv_cli_conn *c, const char *s, size_t n);
/*
 * Read one line, line break removed, into line (reset first). A line longer
 * than MV_DISC_LINE_MAX is MV_DISC_PROTOCOL; end of stream MV_DISC_CONNECT.
 */
int mv_cli_conn_line(struct mv_cli_conn *c, struct mv_buf *line);
/* Read and drop n bytes (an IMAP literal). */
int mv_cli_conn_skip(struct mv_cli_conn *c, size_t n);
/* 1 when bytes the server sent are waiting unread (after STARTTLS: an injection). */
int mv_cli_conn_pending(const struct mv_cli_conn *c);
void mv_cli_conn_close(struct mv_cli_conn *c);

/* What `mailvet discover` is asked to do. */
struct mv_cli_discover_opts {
	const char *url;
	int starttls;
	const char *user;
	const char *password_file;
	const char *ca;
	int insecure;
	unsigned timeout_s;
};

/*
 * If argv[*i] is one of the connection options (--starttls, --user U,
 * --password-file F, --ca F, --insecure, --timeout S), consume it (and its
 * argument) and return 1; 0 when it is not one; -1 after printing a usage
 * error prefixed "mailvet CMD: ".
 */
int mv_cli_discover_option(struct mv_cli_discover_opts *o, const char *cmd, int argc, char **argv,
                           int *i);

/* What a session saw. */
struct mv_cli_discovery {
	enum mv_authres_caps_proto proto;
	char host[256], port[8];
	const char *tls;             /* "none", "starttls", "implicit" */
	int logged_in;               /* a login took place */
	struct mv_buf before, after; /* the capability replies (after: empty without login) */
	struct mv_authres_caps caps_before, caps_after;
	char err[400]; /* the one-line error when the session failed */
};

/*
 * Run the session the URL names: connect, (STARTTLS,) read the capabilities,
 * log in when a user is given and read them again, log out. Returns 0 when
 * everything was read (AUTHSERV present or not), else an exit status of
 * enum mv_cli_discover_exit with d->err set. Free d with
 * mv_cli_discovery_free() either way.
 */
int mv_cli_discover_run(const struct mv_cli_discover_opts *o, struct mv_cli_discovery *d);
void mv_cli_discovery_free(struct mv_cli_discovery *d);
/* The capabilities that count: those after login if there was one. Borrowed. */
const struct mv_authres_caps *mv_cli_discovery_caps(const struct mv_cli_discovery *d);

#endif
