/* daemon/proxy/tls.c — the TLS contexts of a proxy listener: towards its clients and its upstream. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy.h"
#include "tlskey.h"

static SSL_CTX *fail(SSL_CTX *ctx, const struct mvd_listener_conf *lc, const char *what, char *err,
                     size_t errlen)
{
	unsigned long e = ERR_peek_error();

	snprintf(err, errlen, "[listener %s] %s (%s)", lc->name, what,
	         e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "no detail");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int proxy_tls_key(SSL_CTX *ctx, const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	if (mvd_keyd_attached()) { /* privilege separation: the key stays in the key process */
		char why[512];
		if (mvd_tlskey_use(ctx, lc->tls_key, why, sizeof why) == 0)
			return 0;
		snprintf(err, errlen, "[listener %s] %s", lc->name, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, lc->tls_key, SSL_FILETYPE_PEM) != 1) {
		fail(NULL, lc, "cannot read tls_key", err, errlen);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		fail(NULL, lc, "tls_key does not match tls_cert", err, errlen);
		return -1;
	}
	return 0;
}

/* RFC 8314 / RFC 2595: TLS 1.2 or later, no renegotiation, no TLS compression. */
SSL_CTX *proxy_tls_server_ctx(const struct mvd_listener_conf *lc, int with_key, char *err,
                              size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return fail(ctx, lc, "cannot create a TLS context", err, errlen);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		return fail(ctx, lc, "TLS 1.2 or later is not available", err, errlen);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, lc->tls_cert) != 1)
		return fail(ctx, lc, "cannot read tls_cert", err, errlen);
	if (with_key && proxy_tls_key(ctx, lc, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
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
