/* cli/http_get.c — a small blocking HTTP/1.1 client: one GET, the whole body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mailvet/util.h>

#include "http_get.h"
#include "smtp_client.h"

#define HEAD_MAX 16384 /* status line and header fields */

/* "http://HOST:PORT/path" into hostport and path; 0, or -1 when it is not one. */
static int split_url(const char *url, char *hostport, size_t hn, char *path, size_t pn)
{
	const char *h, *slash;
	size_t len;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	slash = strchr(h, '/');
	len = slash ? (size_t)(slash - h) : strlen(h);
	if (len == 0 || len >= hn || strlen(slash ? slash : "/") >= pn)
		return -1;
	memcpy(hostport, h, len);
	hostport[len] = '\0';
	h = hostport[0] == '[' ? strchr(hostport, ']') : hostport;
	if (!h || !strchr(h, ':'))
		return -1; /* the port is required: there is no default worth guessing */
	snprintf(path, pn, "%s", slash ? slash : "/");
	return 0;
}

/* Everything the server sends until it closes, at most HEAD_MAX + MV_HTTP_BODY_MAX bytes. */
static int read_all(int fd, struct mv_buf *b, char *err, size_t errlen)
{
	char chunk[8192];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading the answer: %s",
			         errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
		if (b->len + (size_t)n > HEAD_MAX + MV_HTTP_BODY_MAX) {
			snprintf(err, errlen, "the answer is larger than %zu bytes",
			         MV_HTTP_BODY_MAX);
			return -1;
		}
		mv_buf_append(b, chunk, (size_t)n);
	}
	return mv_buf_status(b) == MV_OK ? 0 : -1;
}

/* The value of header field name in head[0..n) (case-insensitive), or NULL; *vlen its length. */
static const char *field(const char *head, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + n;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		if ((size_t)(line_end - p) > nl && p[nl] == ':' && mv_ascii_ieq(p, nl, name)) {
			const char *v = p + nl + 1;
			while (v < line_end && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(line_end - v);
			if (*vlen && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		p = line_end + 1;
	}
	return NULL;
}

/* Decode a chunked body in place (RFC 9112 §7.1), bounded by its length; -1 when malformed. */
static int unchunk(char *body, size_t *len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long size;
		const char *eol = memchr(body + in, '\n', *len - in);
		if (!eol)
			return -1;
		errno = 0;
		size = strtoul(body + in, &end, 16);
		if (errno || end == body + in || size > *len - (size_t)(eol + 1 - body))
			return -1;
		in = (size_t)(eol + 1 - body);
		if (size == 0)
			break;
		memmove(body + out, body + in, size);
		out += size;
		in += size;
		if (in + 2 > *len || body[in] != '\r' || body[in + 1] != '\n')
			return -1;
		in += 2;
	}
	*len = out;
	return 0;
}

/* The blank line that ends the header block (its first CR), or NULL. */
static const char *head_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n && i < HEAD_MAX; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return p + i;
	return NULL;
}

/* Status, header and body of the answer in raw (all of it); 0, or -1 with err set. */
static int parse_answer(struct mv_buf *raw, int *status, char **body, size_t *len, char *err,
                        size_t errlen)
{
	const char *sep, *v;
	size_t hlen, vlen, blen;
	char *out;

	if (raw->len < 12 || strncmp(raw->data, "HTTP/1.", 7) != 0 || raw->data[8] != ' ' ||
	    sscanf(raw->data + 9, "%3d", status) != 1 || !(sep = head_end(raw->data, raw->len))) {
		snprintf(err, errlen, "not an HTTP/1.x answer");
		return -1;
	}
	hlen = (size_t)(sep - raw->data);
	blen = raw->len - hlen - 4;
	if (!(out = malloc(blen + 1))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(out, sep + 4, blen);
	v = field(raw->data, hlen, "Transfer-Encoding", &vlen);
	if (v && vlen == 7 && mv_ascii_ieq(v, 7, "chunked") && unchunk(out, &blen) != 0) {
		snprintf(err, errlen, "a malformed chunked answer");
		free(out);
		return -1;
	}
	/* Bytes past Content-Length are not the body; fewer are what arrived before the close. */
	if ((v = field(raw->data, hlen, "Content-Length", &vlen)) && strtoull(v, NULL, 10) < blen)
		blen = (size_t)strtoull(v, NULL, 10);
	out[blen] = '\0';
	*body = out;
	*len = blen;
	return 0;
}

int mv_cli_http_get(const char *url, const char *token, unsigned timeout, int *status, char **body,
                    size_t *len, char *err, size_t errlen)
{
	char hostport[300], path[1024];
	struct mv_buf req = MV_BUF_INIT, raw = MV_BUF_INIT;
	int fd = -1, rc = -1;

	*body = NULL;
	if (split_url(url, hostport, sizeof hostport, path, sizeof path) != 0) {
		snprintf(err, errlen, "%s: expected http://HOST:PORT[/path]", url);
		return -1;
	}
	if ((fd = mv_cli_dial("server", hostport, timeout, err, errlen)) < 0)
		goto out;
	mv_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", path, hostport);
	if (token)
		mv_buf_printf(&req, "Authorization: Bearer %s\r\n", token);
	mv_buf_puts(&req, "User-Agent: mailvet-stats\r\n\r\n");
	if (mv_buf_status(&req) != MV_OK ||
	    send(fd, req.data, req.len, MSG_NOSIGNAL) != (ssize_t)req.len) {
		snprintf(err, errlen, "server %s: cannot send the request", hostport);
		goto out;
	}
	if (read_all(fd, &raw, err, errlen) == 0)
		rc = parse_answer(&raw, status, body, len, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	mv_buf_free(&req);
	mv_buf_free(&raw);
	return rc;
}
