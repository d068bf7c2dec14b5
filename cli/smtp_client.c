/* cli/smtp_client.c — a small blocking SMTP client: one message to one recipient through a relay. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mailvet/util.h>

#include "smtp_client.h"

#define REPLY_MAX 4096 /* a reply's text kept (longer multi-line replies are cut) */

struct conn {
	int fd;
	char in[8192]; /* bytes read, not yet taken */
	size_t inlen;
	char reply[REPLY_MAX]; /* the last reply's text, lines joined by " / " */
};

int mv_cli_dial(const char *what, const char *relay, unsigned timeout, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *colon = strrchr(relay, ':'), *h = relay;
	size_t hl;
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {(time_t)timeout, 0};
	int fd = -1, rc;

	if (!colon || colon == relay || strlen(colon + 1) >= sizeof port || !colon[1])
		goto bad;
	hl = (size_t)(colon - relay);
	if (relay[0] == '[') {
		if (hl < 3 || relay[hl - 1] != ']')
			goto bad;
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, sizeof port, "%s", colon + 1);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, relay, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "%s %s: cannot connect", what, relay);
	return fd;
bad:
	snprintf(err, errlen, "%s %s: expected HOST:PORT", what, relay);
	return -1;
}

/* Write all of p; 0, or -1. */
static int put(struct conn *c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line (without CRLF) into line; 0, or -1 (closed, timeout, longer than the buffer). */
static int get_line(struct conn *c, char *line, size_t n)
{
	for (;;) {
		char *eol = memchr(c->in, '\n', c->inlen);
		if (eol) {
			size_t k = (size_t)(eol - c->in), take = k + 1;
			if (k && c->in[k - 1] == '\r')
				k--;
			if (k >= n)
				k = n - 1;
			memcpy(line, c->in, k);
			line[k] = '\0';
			memmove(c->in, c->in + take, c->inlen - take);
			c->inlen -= take;
			return 0;
		}
		if (c->inlen == sizeof c->in)
			return -1;
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
		if (r <= 0)
			return -1;
		c->inlen += (size_t)r;
	}
}

/* A whole reply (multi-line: "250-" ... "250 "); its code, or -1 when broken. */
static int reply(struct conn *c)
{
	char line[1024];
	size_t used = 0;

	c->reply[0] = '\0';
	for (;;) {
		if (get_line(c, line, sizeof line) != 0 || strlen(line) < 3 || line[0] < '2' ||
		    line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
			return -1;
		if (used < sizeof c->reply - 1)
			used += (size_t)snprintf(c->reply + used, sizeof c->reply - used, "%s%s",
			                         used ? " / " : "", line);
		if (used >= sizeof c->reply)
			used = sizeof c->reply - 1;
		if (line[3] != '-')
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	}
}

/* Send the command line pre + arg + post + CRLF and read the reply; its code, or -1. */
static int command(struct conn *c, const char *pre, const char *arg, const char *post)
{
	char line[1100];
	int n = snprintf(line, sizeof line, "%s%s%s\r\n", pre, arg, post);

	if (n < 0 || (size_t)n >= sizeof line || put(c, line, (size_t)n) != 0)
		return -1;
	return reply(c);
}

/* The message, dot-stuffed, then "." (RFC 5321 §4.5.2); 0, or -1. */
static int data(struct conn *c, const char *msg, size_t len)
{
	struct mv_buf b = MV_BUF_INIT;
	int bol = 1, rc;

	for (size_t i = 0; i < len; i++) {
		if (bol && msg[i] == '.')
			mv_buf_putc(&b, '.');
		mv_buf_putc(&b, msg[i]);
		bol = msg[i] == '\n';
	}
	if (!bol)
		mv_buf_puts(&b, "\r\n");
	mv_buf_puts(&b, ".\r\n");
	rc = mv_buf_status(&b) == MV_OK ? put(c, b.data, b.len) : -1;
	mv_buf_free(&b);
	return rc;
}

enum mv_smtp_outcome mv_cli_smtp_send(const char *relay, const char *helo, const char *from,
                                      const char *to, const char *msg, size_t len, unsigned timeout,
                                      char *err, size_t errlen)
{
	struct conn c;
	enum mv_smtp_outcome out = MV_SMTP_FAILED;
	const char *step = "greeting";
	int code;

	memset(&c, 0, sizeof c);
	if ((c.fd = mv_cli_dial("relay", relay, timeout, err, errlen)) < 0)
		return MV_SMTP_FAILED;
	if ((code = reply(&c)) != 220)
		goto answer;
	step = "EHLO";
	if ((code = command(&c, "EHLO ", helo, "")) != 250 &&
	    (step = "HELO", code = command(&c, "HELO ", helo, "")) != 250)
		goto answer;
	step = "MAIL FROM";
	if ((code = command(&c, "MAIL FROM:<", from, ">")) != 250)
		goto answer;
	step = "RCPT TO";
	if ((code = command(&c, "RCPT TO:<", to, ">")) != 250 && code != 251)
		goto answer;
	step = "DATA";
	if ((code = command(&c, "DATA", "", "")) != 354)
		goto answer;
	step = "end of DATA";
	if (data(&c, msg, len) != 0) {
		code = -1;
		goto answer;
	}
	code = reply(&c);
answer:
	if (code == 250 && strcmp(step, "end of DATA") == 0) {
		out = MV_SMTP_ACCEPTED;
		snprintf(err, errlen, "%s", c.reply);
		command(&c, "QUIT", "", "");
	} else if (code >= 400) {
		out = MV_SMTP_REFUSED;
		snprintf(err, errlen, "relay %s: %s: %s", relay, step, c.reply);
		command(&c, "QUIT", "", "");
	} else {
		snprintf(err, errlen, "relay %s: %s: %s", relay, step,
		         code < 0 ? "connection lost, timed out or a broken reply" : c.reply);
	}
	close(c.fd);
	return out;
}
