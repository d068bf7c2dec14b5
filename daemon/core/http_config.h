/* daemon/core/http_config.h — the [http] section of mailvet.conf: the metrics and status listener. */
#ifndef MAILVETD_CORE_HTTP_CONFIG_H
#define MAILVETD_CORE_HTTP_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include <mailvet/status.h>

#define MVD_HTTP_TOKEN_MIN 16 /* bytes: a bearer token shorter than this is guessable */

/*
 * [http]: listen = "HOST:PORT" (HOST an IPv4 literal or a bracketed IPv6
 * literal; "" = off, the default); token = a bearer token; user and
 * password_file = basic auth (the file's first line is the password).
 * Strings owned, freed by mvd_http_conf_free().
 */
struct mvd_http_conf {
	char *listen;
	char *token;
	char *user;
	char *password_file;
};

void mvd_http_conf_init(struct mvd_http_conf *h); /* defaults, no allocation */

/* One "key = value" line of [http]: 0, or -1 with the reason in why (whylen bytes). */
int mvd_http_conf_set(struct mvd_http_conf *h, const char *key, const char *value, char *why,
                      size_t whylen);

void mvd_http_conf_free(struct mvd_http_conf *h);

/*
 * The address of listen = "HOST:PORT" into *ss and *len; 0, or -1 when it is
 * not one. *loopback says whether it is in 127.0.0.0/8, or is ::1.
 */
int mvd_http_addr(const char *listen, struct sockaddr_storage *ss, socklen_t *len, int *loopback);

/*
 * The checks -n runs: a listen address other than loopback needs token or
 * user + password_file; user and password_file go together; the token is
 * at least MVD_HTTP_TOKEN_MIN bytes; password_file is an absolute path.
 * MV_ESYNTAX with "PATH:LINE: why" in err.
 */
struct mvd_config;
enum mv_status mvd_http_conf_check(const struct mvd_config *c, char *err, size_t errlen);

#endif
