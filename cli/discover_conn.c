/*
 * cli/discover_conn.c — one client connection for `mailvet discover`: connect, TLS
 * (OpenSSL), bounded line reads, all under one deadline so a slow or silent server
 * cannot hold the command longer than --timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "discover.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int failf(struct mv_cli_conn *c, int code, const char *fmt, ...) MV_PRINTF(3, 4);

/* Write the one-line error into c->err and return code. */
static int failf(struct mv_cli_conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return code;
}

/* Wait until fd is ready for ev, or the deadline. 0, or MV_DISC_TIMEOUT / MV_DISC_CONNECT. */
static int wait_fd(struct mv_cli_conn *c, short ev)
{
	struct pollfd p = {c->fd, ev, 0};
	long long left = c->deadline_ms - now_ms();
	int r;

	do {
		if (left <= 0)
			return failf(c, MV_DISC_TIMEOUT, "timed out after %u s", c->timeout_s);
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		left = c->deadline_ms - now_ms();
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return failf(c, MV_DISC_CONNECT, "poll: %s", strerror(errno));
	if (r == 0)
		return failf(c, MV_DISC_TIMEOUT, "timed out after %u s", c->timeout_s);
	return 0;
}

/* One non-blocking connect to ai, waited for. 0 or an exit status. */
static int connect_one(struct mv_cli_conn *c, const struct addrinfo *ai)
{
	int e = 0, rc;
	socklen_t el = sizeof e;

	if ((c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
		return failf(c, MV_DISC_CONNECT, "socket: %s", strerror(errno));
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		return failf(c, MV_DISC_CONNECT, "fcntl: %s", strerror(errno));
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return failf(c, MV_DISC_CONNECT, "cannot connect: %s", strerror(errno));
	if ((rc = wait_fd(c, POLLOUT)) != 0)
		return rc;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0)
		return failf(c, MV_DISC_CONNECT, "cannot connect: %s", strerror(e ? e : errno));
	return 0;
}

int mv_cli_conn_open(struct mv_cli_conn *c, const char *host, const char *port, unsigned timeout_s)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc = MV_DISC_CONNECT, g;

	c->fd = -1;
	c->timeout_s = timeout_s;
	c->deadline_ms = now_ms() + (long long)timeout_s * 1000;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
		return failf(c, MV_DISC_CONNECT, "cannot resolve %s: %s", host, gai_strerror(g));
	for (ai = res; ai; ai = ai->ai_next) {
		if ((rc = connect_one(c, ai)) == 0 || rc == MV_DISC_TIMEOUT)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	return rc;
}

/* After an SSL call returned r <= 0: wait as it asks (0), or an exit status. */
static int tls_wait(struct mv_cli_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	unsigned long code;
	char buf[200];

	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c, POLLIN);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c, POLLOUT);
	if (SSL_get_verify_result(c->ssl) != X509_V_OK)
		return failf(c, MV_DISC_TLS, "TLS: certificate verification failed: %s",
		             X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
	if ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, buf, sizeof buf);
		ERR_clear_error();
		return failf(c, MV_DISC_TLS, "TLS %s failed: %s", what, buf);
	}
	if (e == SSL_ERROR_SYSCALL && errno)
		return failf(c, MV_DISC_TLS, "TLS %s failed: %s", what, strerror(errno));
	return failf(c, MV_DISC_TLS, "TLS %s failed: the server closed the connection", what);
}

/* The context: TLS 1.2 or later, the system store or --ca, peer verified unless --insecure. */
static int tls_setup(struct mv_cli_conn *c)
{
	struct in6_addr a6;
	struct in_addr a4;
	int is_ip = inet_pton(AF_INET, c->host, &a4) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1;

	if (!(c->ctx = SSL_CTX_new(TLS_client_method())) ||
	    !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
		return failf(c, MV_DISC_TLS, "TLS: cannot set up OpenSSL");
	if (!c->insecure) {
		if (c->ca ? !SSL_CTX_load_verify_locations(c->ctx, c->ca, NULL)
		          : !SSL_CTX_set_default_verify_paths(c->ctx))
			return failf(c, MV_DISC_USAGE, "cannot load CA certificates %s",
			             c->ca ? c->ca : "(system store)");
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	if (!(c->ssl = SSL_new(c->ctx)) || !SSL_set_fd(c->ssl, c->fd))
		return failf(c, MV_DISC_TLS, "TLS: cannot set up OpenSSL");
	if (!is_ip)
		SSL_set_tlsext_host_name(c->ssl, c->host);
	if (!c->insecure && !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host)
	                            : SSL_set1_host(c->ssl, c->host)))
		return failf(c, MV_DISC_TLS, "TLS: cannot check the name %s", c->host);
	return 0;
}

int mv_cli_conn_tls(struct mv_cli_conn *c)
{
	int r, rc;

	ERR_clear_error();
	if ((rc = tls_setup(c)) != 0)
		return rc;
	while ((r = SSL_connect(c->ssl)) != 1)
		if ((rc = tls_wait(c, r, "handshake")) != 0)
			return rc;
	return 0;
}

int mv_cli_conn_write(struct mv_cli_conn *c, const char *s, size_t n)
{
	ssize_t w;
	int rc;

	while (n > 0) {
		if (c->ssl) {
			if ((w = SSL_write(c->ssl, s, (int)n)) <= 0) {
				if ((rc = tls_wait(c, (int)w, "write")) != 0)
					return rc;
				continue;
			}
		} else if ((w = send(c->fd, s, n, MSG_NOSIGNAL)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return failf(c, MV_DISC_CONNECT, "write: %s", strerror(errno));
			if ((rc = wait_fd(c, POLLOUT)) != 0)
				return rc;
			continue;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more bytes into in[end..); 0, or an exit status (end of stream included). */
static int fill(struct mv_cli_conn *c)
{
	ssize_t r;
	int rc;

	if (c->beg > 0) {
		memmove(c->in, c->in + c->beg, c->end - c->beg);
		c->end -= c->beg;
		c->beg = 0;
	}
	for (;;) {
		if (c->ssl) {
			if ((r = SSL_read(c->ssl, c->in + c->end, (int)(sizeof c->in - c->end))) >
			    0)
				break;
			if (SSL_get_error(c->ssl, (int)r) == SSL_ERROR_ZERO_RETURN)
				r = 0;
			else if ((rc = tls_wait(c, (int)r, "read")) != 0)
				return rc;
			else
				continue;
		} else if ((r = recv(c->fd, c->in + c->end, sizeof c->in - c->end, 0)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return failf(c, MV_DISC_CONNECT, "read: %s", strerror(errno));
			if ((rc = wait_fd(c, POLLIN)) != 0)
				return rc;
			continue;
		}
		if (r == 0)
			return failf(c, MV_DISC_CONNECT, "the server closed the connection");
		break;
	}
	c->end += (size_t)r;
	return 0;
}

int mv_cli_conn_line(struct mv_cli_conn *c, struct mv_buf *line)
{
	const char *nl;
	size_t n;
	int rc;

	mv_buf_reset(line);
	while (!(nl = memchr(c->in + c->beg, '\n', c->end - c->beg))) {
		if (c->beg == 0 && c->end == sizeof c->in)
			return failf(c, MV_DISC_PROTOCOL, "a reply line longer than %d bytes",
			             MV_DISC_LINE_MAX);
		if ((rc = fill(c)) != 0)
			return rc;
	}
	n = (size_t)(nl - (c->in + c->beg));
	mv_buf_append(line, c->in + c->beg, n > 0 && nl[-1] == '\r' ? n - 1 : n);
	c->beg += n + 1;
	return mv_buf_status(line) == MV_OK ? 0 : failf(c, MV_DISC_USAGE, "out of memory");
}

int mv_cli_conn_skip(struct mv_cli_conn *c, size_t n)
{
	size_t k;
	int rc;

	while (n > 0) {
		if (c->beg == c->end && (rc = fill(c)) != 0)
			return rc;
		k = c->end - c->beg < n ? c->end - c->beg : n;
		c->beg += k;
		n -= k;
	}
	return 0;
}

int mv_cli_conn_pending(const struct mv_cli_conn *c)
{
	return c->end > c->beg;
}

void mv_cli_conn_close(struct mv_cli_conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort: a close_notify, no wait */
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}
