/* daemon/proxy/tls.c — the TLS context of a proxy listener towards its upstream (towards its clients: daemon/evloop/tls.c). */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy.h"
#include "evloop.h"

static SSL_CTX *fail(SSL_CTX *ctx, const struct mvd_listener_conf *lc, const char *what, char *err,
                     size_t errlen)
{
	mvd_evloop_tls_say(lc, what, err, errlen);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Towards the upstream: the server is the site's own, normally on
 * loopback, so its certificate is not verified (mailvet.conf(5) says so).
 */
SSL_CTX *proxy_tls_client_ctx(const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return fail(ctx, lc, "cannot create a TLS context", err, errlen);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		return fail(ctx, lc, "TLS 1.2 or later is not available", err, errlen);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}
