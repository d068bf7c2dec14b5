/* cli/smtp_client.h — a small blocking SMTP client: one message to one recipient through a relay. */
#ifndef MV_CLI_SMTP_CLIENT_H
#define MV_CLI_SMTP_CLIENT_H

#include <stddef.h>

/* What became of a message handed to the relay. */
enum mv_smtp_outcome {
	MV_SMTP_ACCEPTED, /* 250 to the end of DATA: the relay has it */
	MV_SMTP_REFUSED,  /* a 4xx or 5xx reply: not sent */
	MV_SMTP_FAILED,   /* no connection, a timeout, a broken reply: not known to be sent */
};

/*
 * Send msg (len octets, CRLF line ends, a complete RFC 5322 message) from
 * `from` to `to` through relay "HOST:PORT" or "[V6]:PORT": EHLO helo (HELO
 * if refused), MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT. Each
 * reply waited for at most timeout seconds. err (at most errlen-1 bytes)
 * says what the relay answered or what failed.
 */
enum mv_smtp_outcome mv_cli_smtp_send(const char *relay, const char *helo, const char *from,
                                      const char *to, const char *msg, size_t len, unsigned timeout,
                                      char *err, size_t errlen);

/*
 * "HOST:PORT" or "[V6]:PORT" into a connected TCP socket whose reads and
 * writes time out after timeout seconds; -1 with "WHAT HOST:PORT: why" in
 * err on failure (what names the peer: "relay", "server").
 */
int mv_cli_dial(const char *what, const char *hostport, unsigned timeout, char *err, size_t errlen);

#endif
