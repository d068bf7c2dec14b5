/*
 * lib/auth/dovecot.c — a client of Dovecot's authentication service (the
 * "Dovecot SASL" auth-client protocol, v1): what Postfix sites use, so the
 * users and passwords Dovecot knows work for submission too. One connection
 * per check: handshake (server VERSION, MECH..., SPID, CUID, COOKIE, DONE;
 * ours VERSION and CPID), one AUTH request with the PLAIN message as its
 * initial response, then OK, FAIL or CONT for our request id.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"
#include "auth/backend.h"

#define DC_LINE_MAX 16384     /* the protocol's expected line bound */
#define DC_HANDSHAKE_LINES 64 /* MECH lines and the rest before DONE */

struct dovecot {
	char *path;        /* unix socket, or NULL */
	char *host, *port; /* inet */
	atomic_uint next_id;
};

/* A connection being read line by line against one deadline. */
struct dc_conn {
	int fd;
	struct timespec deadline;
	char buf[DC_LINE_MAX + 1];
	size_t len;  /* bytes in buf */
	size_t used; /* bytes of buf already returned as lines */
};

/* ---- opening ------------------------------------------------------------ */

/* "inet:HOST:PORT" with HOST a name, an IPv4 address or [IPv6]. */
static enum mv_status parse_inet(struct dovecot *d, const char *s, char *err, size_t errlen)
{
	const char *colon, *hs = s, *he;

	if (s[0] == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':')
			goto bad;
		hs = s + 1;
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		he = colon;
	}
	if (he == hs || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		goto bad;
	d->host = mv_strndup(hs, (size_t)(he - hs));
	d->port = strdup(colon + 1);
	return d->host && d->port ? MV_OK : MV_ENOMEM;
bad:
	mv_errf(err, errlen, "dovecot:inet: want HOST:PORT, got \"%s\"", s);
	return MV_ESYNTAX;
}

enum mv_status mv_auth_dovecot_open(const char *where, void **self, char *err, size_t errlen)
{
	struct dovecot *d = calloc(1, sizeof *d);
	enum mv_status st = MV_ENOMEM;

	*self = NULL;
	if (d == NULL)
		return MV_ENOMEM;
	atomic_init(&d->next_id, 1);
	if (strncmp(where, "inet:", 5) == 0) {
		st = parse_inet(d, where + 5, err, errlen);
	} else if (strlen(where) >= sizeof((struct sockaddr_un *)0)->sun_path) {
		mv_errf(err, errlen, "dovecot: socket path too long");
		st = MV_EINVAL;
	} else if ((d->path = strdup(where)) != NULL) {
		st = MV_OK;
	}
	if (st != MV_OK) {
		mv_auth_dovecot_ops.free(d);
		return st;
	}
	*self = d;
	return MV_OK;
}

static void dc_free(void *self)
{
	struct dovecot *d = self;

	if (d == NULL)
		return;
	free(d->path);
	free(d->host);
	free(d->port);
	free(d);
}

/* ---- I/O against a deadline ----------------------------------------------- */

/* Milliseconds until the deadline (0 when it has passed). */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

/* Wait for fd to be ready for events; 0, or -1 with errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = {fd, events, 0};
	int r, ms;

	for (;;) {
		if ((ms = ms_left(deadline)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A non-blocking connect to one address, finished within the deadline. */
static int connect_one(int family, const struct sockaddr *sa, socklen_t salen,
                       const struct timespec *deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), soerr = 0;
	socklen_t l = sizeof soerr;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	if (wait_fd(fd, POLLOUT, deadline) != 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) != 0 || soerr != 0) {
		errno = soerr ? soerr : errno;
		goto fail;
	}
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

static int dc_connect(const struct dovecot *d, const struct timespec *deadline)
{
	struct sockaddr_un sun;
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1;

	if (d->path != NULL) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, d->path, strlen(d->path) + 1);
		return connect_one(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, deadline);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(d->host, d->port, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline);
	freeaddrinfo(res);
	return fd;
}

static int dc_send(struct dc_conn *c, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (wait_fd(c->fd, POLLOUT, &c->deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

/*
 * The next line (without LF, NUL-terminated inside c->buf, valid until the
 * next call), or NULL: errno ETIMEDOUT, ECONNRESET for EOF, EMSGSIZE for a
 * line over DC_LINE_MAX.
 */
static char *dc_line(struct dc_conn *c)
{
	char *nl, *line;
	ssize_t r;

	if (c->used > 0) { /* drop the lines already handed out */
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
	}
	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len >= DC_LINE_MAX) {
			errno = EMSGSIZE;
			return NULL;
		}
		r = recv(c->fd, c->buf + c->len, DC_LINE_MAX - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			continue;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return NULL;
		}
		if (errno != EAGAIN && errno != EINTR)
			return NULL;
		if (wait_fd(c->fd, POLLIN, &c->deadline) != 0)
			return NULL;
	}
	*nl = '\0';
	line = c->buf;
	c->used = (size_t)(nl - c->buf) + 1;
	return line;
}

/* ---- the protocol ------------------------------------------------------- */

/* The n-th TAB-separated field of line (0 = the command), as a pointer and length. */
static int field(const char *line, size_t n, const char **p, size_t *len)
{
	const char *s = line, *t;

	while (n-- > 0) {
		if ((t = strchr(s, '\t')) == NULL)
			return 0;
		s = t + 1;
	}
	t = strchr(s, '\t');
	*p = s;
	*len = t ? (size_t)(t - s) : strlen(s);
	return 1;
}

static int is_cmd(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);

	return strncmp(line, cmd, n) == 0 && (line[n] == '\t' || line[n] == '\0');
}

/* Read the server's handshake up to DONE: version 1, PLAIN offered. NULL or why not. */
static const char *dc_handshake(struct dc_conn *c)
{
	const char *p;
	size_t n, i;
	int version = 0, plain = 0;
	char *line;

	for (i = 0; i < DC_HANDSHAKE_LINES; i++) {
		if ((line = dc_line(c)) == NULL)
			return errno == ETIMEDOUT  ? "timeout in handshake"
			       : errno == EMSGSIZE ? "line too long in handshake"
			                           : "handshake cut short";
		if (is_cmd(line, "VERSION")) {
			if (!field(line, 1, &p, &n) || n != 1 || p[0] != '1')
				return "unsupported protocol version";
			version = 1;
		} else if (is_cmd(line, "MECH") && field(line, 1, &p, &n) &&
		           mv_ascii_ieq(p, n, "PLAIN")) {
			plain = 1;
		} else if (is_cmd(line, "DONE")) {
			if (!version)
				return "no VERSION in handshake";
			return plain ? NULL : "server does not offer PLAIN";
		}
		/* SPID, CUID, COOKIE and unknown lines: nothing a client needs */
	}
	return "handshake too long";
}

/* Undo Dovecot's tab-escaping (\001 followed by 0, 1, t, r, n or l) in place. */
static void tab_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '\001' || s[1] == '\0') {
			*w++ = *s;
			continue;
		}
		s++;
		*w++ = *s == '1'                  ? '\001'
		       : *s == 't'                ? '\t'
		       : *s == 'r'                ? '\r'
		       : (*s == 'n' || *s == 'l') ? '\n'
		       : *s == '0'                ? '?'
		                                  : *s;
	}
	*w = '\0';
}

/* Controls in a text bound for a log line become '?' (no forged log lines). */
static void log_safe(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* The value of the optional parameter name= of a reply line (a new string), or NULL. */
static char *param(const char *line, const char *name)
{
	const char *p;
	size_t n, i, k = strlen(name);
	char *v;

	for (i = 2; field(line, i, &p, &n); i++)
		if (n > k && memcmp(p, name, k) == 0 && p[k] == '=') {
			if ((v = mv_strndup(p + k + 1, n - k - 1)) != NULL)
				tab_unescape(v);
			return v;
		}
	return NULL;
}

static int has_flag(const char *line, const char *flag)
{
	const char *p;
	size_t n, i;

	for (i = 2; field(line, i, &p, &n); i++)
		if (mv_ascii_ieq(p, n, flag))
			return 1;
	return 0;
}

/*
 * The AUTH line, PLAIN message (authzid NUL login NUL password) as base64, in
 * one allocation of exactly the size it needs (so no copy of the password is
 * left behind by a growing buffer); *line is freed with mv_auth_free_secret.
 */
static enum mv_status auth_line(const struct mv_auth_request *req, unsigned id, char **line,
                                size_t *linelen)
{
	const char *az = req->authzid ? req->authzid : "";
	size_t al = strlen(az), ll = strlen(req->login), ml = al + ll + 2 + req->password_len;
	size_t bl = (ml + 2) / 3 * 4, cap = bl + 160;
	unsigned char *msg = malloc(ml);
	char *out = malloc(cap), rip[80] = "";
	struct mv_ip ip;
	int n;

	*line = NULL;
	if (msg == NULL || out == NULL) {
		free(msg);
		free(out);
		return MV_ENOMEM;
	}
	memcpy(msg, az, al);
	msg[al] = '\0';
	memcpy(msg + al + 1, req->login, ll);
	msg[al + 1 + ll] = '\0';
	memcpy(msg + al + ll + 2, req->password, req->password_len);
	if (req->client_ip && strlen(req->client_ip) < 64 &&
	    mv_cidr_ip_parse(req->client_ip, &ip) == MV_OK)
		snprintf(rip, sizeof rip, "\trip=%s", req->client_ip);
	/* no-penalty: mailvet's own limiter delays and blocks failing clients; Dovecot's
	 * penalty on top would turn a wrong password into a timeout (454) */
	n = snprintf(out, cap, "AUTH\t%u\tPLAIN\tservice=smtp\tnologin\tno-penalty%s%s\tresp=", id,
	             req->secured ? "\tsecured" : "", rip);
	EVP_EncodeBlock((unsigned char *)out + n, msg, (int)ml);
	out[(size_t)n + bl] = '\n';
	*linelen = (size_t)n + bl + 1;
	*line = out;
	mv_auth_free_secret(msg, ml);
	return MV_OK;
}

/* Wait for the reply to request id; the verdict, with the reason in err. */
static enum mv_auth_verdict dc_reply(struct dc_conn *c, unsigned id, char **ok_login, char *err,
                                     size_t errlen)
{
	char want[16], *line, *v;
	const char *p;
	size_t n;
	int i;

	snprintf(want, sizeof want, "%u", id);
	for (i = 0; i < DC_HANDSHAKE_LINES; i++) {
		if ((line = dc_line(c)) == NULL) {
			mv_errf(err, errlen, "dovecot: %s",
			        errno == ETIMEDOUT ? "timeout waiting for the answer"
			                           : "no answer");
			return MV_AUTH_TEMPFAIL;
		}
		if (!field(line, 1, &p, &n) || !mv_ascii_ieq(p, n, want))
			continue; /* not about our request */
		if (is_cmd(line, "OK")) {
			v = param(line, "user"); /* NULL without user=: the login we sent stands */
			if (v && !mv_auth_text_valid(v, strlen(v))) {
				free(v); /* it would go into Received and A-R fields */
				mv_errf(err, errlen, "dovecot: unprintable user= in OK");
				return MV_AUTH_TEMPFAIL;
			}
			if (ok_login)
				*ok_login = v;
			else
				free(v);
			return MV_AUTH_OK;
		}
		if (is_cmd(line, "FAIL")) {
			v = param(line, "reason");
			log_safe(v);
			mv_errf(err, errlen, "dovecot: %s", v ? v : "authentication failed");
			free(v);
			return has_flag(line, "temp") ? MV_AUTH_TEMPFAIL : MV_AUTH_FAIL;
		}
		mv_errf(err, errlen, "dovecot: unexpected %s",
		        is_cmd(line, "CONT") ? "CONT reply" : "reply");
		return MV_AUTH_TEMPFAIL;
	}
	mv_errf(err, errlen, "dovecot: no answer for our request");
	return MV_AUTH_TEMPFAIL;
}

static enum mv_auth_verdict dc_check(void *self, const struct mv_auth_request *req,
                                     unsigned timeout_ms, char **ok_login, char *err, size_t errlen)
{
	struct dovecot *d = self;
	struct dc_conn *c = calloc(1, sizeof *c);
	char *line = NULL;
	size_t linelen = 0;
	enum mv_auth_verdict v = MV_AUTH_TEMPFAIL;
	unsigned id = atomic_fetch_add(&d->next_id, 1);
	const char *why;
	char hello[64];

	if (c == NULL) {
		mv_errf(err, errlen, "out of memory");
		return v;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += timeout_ms / 1000;
	c->deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (c->deadline.tv_nsec >= 1000000000L) {
		c->deadline.tv_sec++;
		c->deadline.tv_nsec -= 1000000000L;
	}
	if ((c->fd = dc_connect(d, &c->deadline)) < 0) {
		mv_errf(err, errlen, "dovecot: connect: %s", strerror(errno));
		goto out;
	}
	snprintf(hello, sizeof hello, "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	if (dc_send(c, hello, strlen(hello)) != 0) {
		mv_errf(err, errlen, "dovecot: send: %s", strerror(errno));
		goto out;
	}
	if ((why = dc_handshake(c)) != NULL) {
		mv_errf(err, errlen, "dovecot: %s", why);
		goto out;
	}
	if (auth_line(req, id, &line, &linelen) != MV_OK || dc_send(c, line, linelen) != 0) {
		mv_errf(err, errlen, "dovecot: cannot send the request");
		goto out;
	}
	v = dc_reply(c, id, ok_login, err, errlen);
out:
	if (c->fd >= 0)
		close(c->fd);
	if (line)
		mv_auth_free_secret(line, linelen);
	OPENSSL_cleanse(c->buf, sizeof c->buf);
	free(c);
	if (v == MV_AUTH_OK && ok_login && *ok_login == NULL &&
	    (*ok_login = strdup(req->login)) == NULL)
		v = MV_AUTH_TEMPFAIL;
	return v;
}

const struct mv_auth_backend_ops mv_auth_dovecot_ops = {"dovecot", dc_check, NULL, dc_free};
