/* daemon/evloop/tls.c — a listener's server SSL_CTX: the certificate at bind, the private key in the worker. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "evloop.h"
#include "tlskey.h"

void mvd_evloop_tls_say(const struct mvd_listener_conf *lc, const char *what, char *err,
                        size_t errlen)
{
	unsigned long e = ERR_peek_error();

	snprintf(err, errlen, "[listener %s] %s (%s)", lc->name, what,
	         e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "no detail");
	ERR_clear_error();
}

int mvd_evloop_tls_key(SSL_CTX *ctx, const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	if (mvd_keyd_attached()) { /* privilege separation: the key stays in the key process */
		char why[512];
		if (mvd_tlskey_use(ctx, lc->tls_key, why, sizeof why) == 0)
			return 0;
		snprintf(err, errlen, "[listener %s] %s", lc->name, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, lc->tls_key, SSL_FILETYPE_PEM) != 1) {
		mvd_evloop_tls_say(lc, "cannot read tls_key", err, errlen);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		mvd_evloop_tls_say(lc, "tls_key does not match tls_cert", err, errlen);
		return -1;
	}
	return 0;
}

SSL_CTX *mvd_evloop_tls_server(const struct mvd_listener_conf *lc, int with_key, char *err,
                               size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		mvd_evloop_tls_say(lc, "cannot create a TLS context", err, errlen);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		mvd_evloop_tls_say(lc, "TLS 1.2 or later is not available", err, errlen);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, lc->tls_cert) != 1) {
		mvd_evloop_tls_say(lc, "cannot read tls_cert", err, errlen);
		goto fail;
	}
	if (!with_key || mvd_evloop_tls_key(ctx, lc, err, errlen) == 0)
		return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
