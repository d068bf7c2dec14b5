/* daemon/smtp/tls.c — STARTTLS (RFC 3207): the server context of a listener. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "smtp_int.h"
#include "tlskey.h"

SSL_CTX *smtp_tls_ctx(const struct mvd_listener_conf *lc, int with_key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = "cannot create a TLS context";

	if (!ctx)
		goto fail;
	what = "TLS 1.2 or later is not available";
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	what = "cannot read tls_cert";
	if (SSL_CTX_use_certificate_chain_file(ctx, lc->tls_cert) != 1)
		goto fail;
	if (!with_key)
		return ctx;
	if (mvd_keyd_attached()) { /* privilege separation: the key stays in the key process */
		char why[512];
		if (mvd_tlskey_use(ctx, lc->tls_key, why, sizeof why) == 0)
			return ctx;
		snprintf(err, errlen, "[listener %s] %s", lc->name, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	what = "cannot read tls_key";
	if (SSL_CTX_use_PrivateKey_file(ctx, lc->tls_key, SSL_FILETYPE_PEM) != 1)
		goto fail;
	what = "tls_key does not match tls_cert";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	snprintf(err, errlen, "[listener %s] %s (%s)", lc->name, what,
	         ERR_reason_error_string(ERR_get_error())
	                 ? ERR_reason_error_string(ERR_peek_error())
	                 : "no detail");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}
