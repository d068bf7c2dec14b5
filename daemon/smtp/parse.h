/* daemon/smtp/parse.h — the SMTP server's text: command lines, paths, DATA lines (no I/O). */
#ifndef MAILVETD_SMTP_PARSE_H
#define MAILVETD_SMTP_PARSE_H

#include <stddef.h>

#define SMTP_CMD_MAX 512   /* RFC 5321 §4.5.3.1.4, CRLF included */
#define SMTP_TEXT_MAX 1000 /* RFC 5321 §4.5.3.1.6, CRLF included */
#define SMTP_PATH_MAX 256  /* RFC 5321 §4.5.3.1.3 */
#define SMTP_PARAMS_MAX 8  /* ESMTP parameters read per MAIL/RCPT */

enum smtp_verb {
	SMTP_EHLO,
	SMTP_HELO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_HELP,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_UNKNOWN,
};

/* One command line without its line end: the verb, and the argument text after one space. */
struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg; /* into the line; "" when none */
	size_t arglen;
};

/*
 * Split a command line (len bytes, CRLF or LF already cut). The verb is
 * case-insensitive (RFC 5321 §2.4). Never fails: an unknown verb is
 * SMTP_UNKNOWN.
 */
void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *out);

/* A MAIL FROM:/RCPT TO: argument: the path between <> and its ESMTP parameters. */
struct smtp_path {
	char addr[SMTP_PATH_MAX + 1]; /* without <>, source route dropped; "" = null path */
	struct {
		char key[32];
		char value[128];
	} param[SMTP_PARAMS_MAX];
	size_t nparams;
};

/*
 * Parse "FROM:<a@b> SIZE=10" (prefix "FROM:" or "TO:", case-insensitive,
 * spaces before the < tolerated). 0, or -1 with a reply (501 or 555 with
 * its enhanced code and text) in why.
 */
int smtp_path_parse(const char *prefix, const char *arg, size_t len, struct smtp_path *out,
                    const char **why);

/* The value of parameter key (case-insensitive), or NULL. */
const char *smtp_path_param(const struct smtp_path *p, const char *key);

/* How one line of DATA (up to and including its LF) reads. */
enum smtp_line_end { SMTP_END_CRLF, SMTP_END_BARE_LF };
struct smtp_data_line {
	int end_of_data;        /* ".\r\n" after a CRLF: the message is complete */
	enum smtp_line_end end; /* how the line ended */
	int bare_cr;            /* a CR stands inside the line, not before its LF */
	const char *text;       /* the line, dot-unstuffed, line end included */
	size_t len;
};

/*
 * Classify one DATA line (len bytes, the last one LF) given how the line
 * before it ended (after_crlf: the previous line ended in CRLF, or this is
 * the first line after the 354). The end of the message is only
 * <CRLF>.<CRLF>: "." ending in a bare LF, or after a line that ended in a
 * bare LF, is content (RFC 5321 §4.1.1.4; SMTP smuggling).
 */
void smtp_data_line(const char *line, size_t len, int after_crlf, struct smtp_data_line *out);

/* The PROXY protocol header a load balancer sends first (haproxy's proxy-protocol.txt). */
enum smtp_proxy_result { SMTP_PROXY_MORE, SMTP_PROXY_DONE, SMTP_PROXY_BAD };
#define SMTP_PROXY_V1_MAX 107 /* "PROXY TCP6 ..." with CRLF */
#define SMTP_PROXY_V2_MAX 536 /* 16-octet preamble + at most 520 octets of addresses and TLVs */

/*
 * Read a PROXY v1 ("PROXY TCP4 src dst sport dport\r\n") or v2 (binary)
 * header at the start of buf. DONE: *used octets are the header, and ip
 * holds the client's source address, or is "" when the header names none
 * (v1 UNKNOWN, v2 LOCAL or an unsupported family: the connection's own
 * address stands). MORE: not complete yet (and not yet too long). BAD:
 * anything else; the connection is to be closed.
 */
enum smtp_proxy_result smtp_proxy_parse(const unsigned char *buf, size_t len, char *ip,
                                        size_t iplen, size_t *used);

#endif
