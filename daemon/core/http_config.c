/* daemon/core/http_config.c — the [http] section of mailvet.conf: the metrics and status listener. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http_config.h"

void mvd_http_conf_init(struct mvd_http_conf *h)
{
	memset(h, 0, sizeof *h);
}

void mvd_http_conf_free(struct mvd_http_conf *h)
{
	free(h->listen);
	free(h->token);
	free(h->user);
	free(h->password_file);
	memset(h, 0, sizeof *h);
}

/* "PORT" in 1..65535 into *port; 0 when it is not. */
static int port_of(const char *s, unsigned short *port)
{
	char *end;
	unsigned long n;

	if (s[0] < '0' || s[0] > '9')
		return 0;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < 1 || n > 65535)
		return 0;
	*port = (unsigned short)n;
	return 1;
}

int mvd_http_addr(const char *listen, struct sockaddr_storage *ss, socklen_t *len, int *loopback)
{
	char host[64];
	const char *colon;
	unsigned short port;
	size_t hl;

	memset(ss, 0, sizeof *ss);
	if (listen[0] == '[') { /* [v6]:port */
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':' || (hl = (size_t)(close - listen - 1)) >= sizeof host)
			return -1;
		memcpy(host, listen + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		if (!(colon = strrchr(listen, ':')) ||
		    (hl = (size_t)(colon - listen)) >= sizeof host)
			return -1;
		memcpy(host, listen, hl);
		host[hl] = '\0';
	}
	if (!port_of(colon + 1, &port))
		return -1;
	if (listen[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof *s6;
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof *s4;
		*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

int mvd_http_conf_set(struct mvd_http_conf *h, const char *key, const char *value, char *why,
                      size_t whylen)
{
	char **dst = NULL;

	if (strcmp(key, "listen") == 0) {
		struct sockaddr_storage ss;
		socklen_t len;
		int lo;
		if (value[0] && mvd_http_addr(value, &ss, &len, &lo) != 0) {
			snprintf(why, whylen,
			         "listen = \"%s\": expected ADDRESS:PORT (127.0.0.1:8895, "
			         "[::1]:8895), an IP literal and a port from 1 to 65535",
			         value);
			return -1;
		}
		dst = &h->listen;
	} else if (strcmp(key, "token") == 0) {
		dst = &h->token;
	} else if (strcmp(key, "user") == 0) {
		dst = &h->user;
	} else if (strcmp(key, "password_file") == 0) {
		dst = &h->password_file;
	} else {
		snprintf(why, whylen, "unknown key \"%s\" in [http]", key);
		return -1;
	}
	free(*dst);
	if (!(*dst = strdup(value))) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

static int set(const char *s)
{
	return s && s[0];
}

enum mv_status mvd_http_conf_check(const struct mvd_config *c, char *err, size_t errlen)
{
	const struct mvd_http_conf *h = &c->http;
	struct sockaddr_storage ss;
	socklen_t len;
	int lo = 1;

	if (!set(h->listen))
		return MV_OK;
	if (mvd_http_addr(h->listen, &ss, &len, &lo) != 0)
		lo = 0;
	if (set(h->user) != set(h->password_file)) {
		mvd_config_errf(c,
		                mvd_config_line(c, "http", set(h->user) ? "user" : "password_file"),
		                err, errlen, "[http] user and password_file go together");
		return MV_ESYNTAX;
	}
	if (set(h->password_file) && h->password_file[0] != '/') {
		mvd_config_errf(c, mvd_config_line(c, "http", "password_file"), err, errlen,
		                "[http] password_file must be an absolute path (the daemon works "
		                "from /)");
		return MV_ESYNTAX;
	}
	if (set(h->token) && strlen(h->token) < MVD_HTTP_TOKEN_MIN) {
		mvd_config_errf(c, mvd_config_line(c, "http", "token"), err, errlen,
		                "[http] token is shorter than %d bytes", MVD_HTTP_TOKEN_MIN);
		return MV_ESYNTAX;
	}
	if (!lo && !set(h->token) && !set(h->user)) {
		mvd_config_errf(c, mvd_config_line(c, "http", "listen"), err, errlen,
		                "[http] listen = \"%s\" is not a loopback address: set token "
		                "(bearer) or user and password_file (basic auth)",
		                h->listen);
		return MV_ESYNTAX;
	}
	return MV_OK;
}
