/* daemon/http/server.c — the HTTP listener: credentials, routes, responses (libmicrohttpd). */
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"

#define PASSWORD_MAX 256

/* What the listener was started with; read-only while it runs. */
static struct {
	struct MHD_Daemon *d;
	char *token, *user, *password; /* NULL: that scheme is off */
} srv;

/* a (alen bytes) equals the NUL-terminated b, in time that does not depend on where they differ. */
static int same(const char *a, size_t alen, const char *b)
{
	return b && alen == strlen(b) && CRYPTO_memcmp(a, b, alen) == 0;
}

/* 1 when the request may see the pages: no credentials configured, or a right one given. */
static int allowed(struct MHD_Connection *c)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char *user, *pass = NULL;
	int ok = 0;

	if (!srv.token && !srv.user)
		return 1;
	if (srv.token && auth && strncmp(auth, "Bearer ", 7) == 0)
		return same(auth + 7, strlen(auth + 7), srv.token);
	if (srv.user && (user = MHD_basic_auth_get_username_password(c, &pass)) != NULL) {
		/* both compared, so the time says nothing about which one was wrong */
		ok = same(user, strlen(user), srv.user) &
		     (pass && same(pass, strlen(pass), srv.password));
		MHD_free(user);
	}
	if (pass)
		MHD_free(pass);
	return ok;
}

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned code, const char *type,
                                 struct mv_buf *body)
{
	size_t len = 0;
	char *data = mv_buf_status(body) == MV_OK ? mv_buf_steal(body, &len) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!data) {
		static const char oom[] = "out of memory\n";
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		type = "text/plain; charset=utf-8";
		r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
		                                    MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	}
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'none'; style-src 'unsafe-inline'");
	if (code == MHD_HTTP_UNAUTHORIZED && !srv.token)
		ret = MHD_queue_basic_auth_fail_response(c, "mailvetd", r);
	else {
		if (code == MHD_HTTP_UNAUTHORIZED)
			MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"mailvetd\"");
		else if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
			MHD_add_response_header(r, "Allow", "GET, HEAD");
		ret = MHD_queue_response(c, code, r);
	}
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
	struct mv_buf b = MV_BUF_INIT;

	(void)cls;
	(void)version;
	(void)upload;
	(void)req;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		*upload_size = 0; /* a body is never read */
		mv_buf_puts(&b, "only GET and HEAD\n");
		return send_page(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", &b);
	}
	if (!allowed(c)) {
		mvd_metrics_error(MVD_ERROR_HTTP_UNAUTHORIZED);
		mv_buf_puts(&b, "credentials required\n");
		return send_page(c, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", &b);
	}
	if (strcmp(url, "/metrics") == 0) {
		mvd_metrics_render(&b);
		return send_page(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
	}
	if (strcmp(url, "/") == 0) {
		mvd_status_page(&b);
		return send_page(c, MHD_HTTP_OK, "text/html; charset=utf-8", &b);
	}
	mv_buf_puts(&b, "not found: try / or /metrics\n");
	return send_page(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", &b);
}

/* The first line of path (the basic auth password), or NULL with the reason in err. */
static char *read_password(const char *path, char *err, size_t errlen)
{
	char line[PASSWORD_MAX + 2];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "[http] password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	if (n == 0 || n > PASSWORD_MAX) {
		snprintf(err, errlen,
		         "[http] password_file %s: the first line must hold the "
		         "password (1 to %d bytes)",
		         path, PASSWORD_MAX);
		return NULL;
	}
	line[n] = '\0';
	return strdup(line);
}

static void clear(void)
{
	free(srv.token);
	free(srv.user);
	if (srv.password)
		OPENSSL_cleanse(srv.password, strlen(srv.password));
	free(srv.password);
	memset(&srv, 0, sizeof srv);
}

/* The credentials of c into srv; 0, or -1 with err set. */
static int credentials(const struct mvd_http_conf *h, char *err, size_t errlen)
{
	if (h->token && h->token[0] && !(srv.token = strdup(h->token)))
		goto oom;
	if (h->user && h->user[0]) {
		if (!(srv.user = strdup(h->user)))
			goto oom;
		if (!(srv.password = read_password(h->password_file, err, errlen)))
			return -1;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int mvd_http_start(const struct mvd_config *c, char *err, size_t errlen)
{
	const struct mvd_http_conf *h = &c->http;
	struct sockaddr_storage ss;
	socklen_t len;
	int lo;

	mvd_metrics_init();
	if (!h->listen || !h->listen[0])
		return 0;
	if (mvd_http_addr(h->listen, &ss, &len, &lo) != 0) {
		snprintf(err, errlen, "[http] listen = \"%s\": not ADDRESS:PORT", h->listen);
		return -1;
	}
	if (credentials(h, err, errlen) != 0)
		goto fail;
	srv.d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD |
	                                 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	                         0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
	                         (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 32u,
	                         MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!srv.d) {
		snprintf(err, errlen, "[http] cannot listen on %s: %s", h->listen,
		         errno ? strerror(errno) : "libmicrohttpd refused");
		goto fail;
	}
	if (mvd_keycheck_start() != 0) {
		snprintf(err, errlen, "[http] cannot start the key check thread");
		goto fail;
	}
	mvd_log(MVD_LOG_INFO, "start", "metrics and status page on http://%s/%s", h->listen,
	        lo ? "" : " (credentials required)");
	return 0;
fail:
	mvd_http_stop();
	return -1;
}

void mvd_http_stop(void)
{
	if (srv.d)
		MHD_stop_daemon(srv.d);
	mvd_keycheck_stop();
	clear();
}
