/* daemon/keyd/tlskey.c — TLS keys in the worker: OpenSSL keys whose private operations go to the key process. */

/*
 * RSA_METHOD and EC_KEY_METHOD are deprecated in OpenSSL 3 (a provider is
 * the new way), but they remain the simplest hook for "this key's private
 * half is elsewhere": OpenSSL marks such keys foreign and runs them through
 * its legacy path, PSS included. The deprecated calls stay in this file.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keyd.h"
#include "tlskey.h"

/*
 * A handshake's signature is asked from the front end's event loop: a healthy
 * key process answers in milliseconds, and a dead one must not hold every
 * session of the loop for long (mvd_keyd_call_loop fails the next ones fast).
 */
#define TLS_TIMEOUT_MS 1000
#define TLS_INFO_TIMEOUT_MS 3000 /* at a (re)load, not per handshake */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;
static int rsa_idx = -1, ec_idx = -1; /* ex_data: the key's struct remote_key, owned */

/* Which key the key process is to use: its file, and its public half (SHA-256 of the SPKI). */
struct remote_key {
	char path[MVD_KEYD_MAX_ID + 1];
	unsigned char spki[32];
};

/* One TLS_SIGN round trip: the result in out (at most cap bytes), its length or -1. */
static int remote(const struct remote_key *k, uint8_t kind, const unsigned char *in, size_t inlen,
                  unsigned char *out, size_t cap)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;

	if (!k || inlen > sizeof r.in)
		return -1;
	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_TLS_SIGN;
	r.alg = kind;
	r.idlen = strlen(k->path);
	memcpy(r.id, k->path, r.idlen);
	memcpy(r.digest, k->spki, sizeof r.digest);
	memcpy(r.in, in, inlen);
	r.inlen = inlen;
	if (mvd_keyd_call_loop(&r, &rep, TLS_TIMEOUT_MS) != MV_OK || rep.status != MVD_KEYD_OK ||
	    rep.alg != kind || rep.siglen > cap)
		return -1;
	memcpy(out, rep.sig, rep.siglen);
	return (int)rep.siglen;
}

/* PKCS#1 v1.5 padding is added here; PSS comes padded by OpenSSL (RSA_NO_PADDING). */
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                        int padding)
{
	unsigned char block[MVD_KEYD_MAX_TLS_IN];
	int size = RSA_size(rsa);

	if (flen < 0 || size <= 0 || size > (int)sizeof block)
		return -1;
	if (padding == RSA_PKCS1_PADDING) {
		if (RSA_padding_add_PKCS1_type_1(block, size, from, flen) != 1)
			return -1;
	} else if (padding == RSA_NO_PADDING && flen == size) {
		memcpy(block, from, (size_t)size);
	} else {
		return -1;
	}
	if (remote(RSA_get_ex_data(rsa, rsa_idx), MVD_KEYD_TLS_RSA, block, (size_t)size, to,
	           (size_t)size) != size)
		return -1;
	return size;
}

/* No decryption: RSA key exchange is off on these contexts (forward secrecy only). */
static int rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                        int padding)
{
	(void)flen, (void)from, (void)to, (void)rsa, (void)padding;
	return -1;
}

static int ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                   unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	int n, cap = ECDSA_size(ec);

	(void)type;
	if (kinv || r || dlen < MVD_KEYD_MIN_TLS_IN || dlen > 64 || cap <= 0)
		return 0;
	n = remote(EC_KEY_get_ex_data(ec, ec_idx), MVD_KEYD_TLS_EC, dgst, (size_t)dlen, sig,
	           (size_t)cap);
	if (n <= 0)
		return 0;
	*siglen = (unsigned)n;
	return 1;
}

static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                              const BIGNUM *r, EC_KEY *ec)
{
	unsigned char der[256];
	const unsigned char *p = der;
	unsigned int len = 0;

	if (ECDSA_size(ec) > (int)sizeof der || !ec_sign(0, dgst, dlen, der, &len, kinv, r, ec))
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, (long)len);
}

static void free_remote_key(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void init(void)
{
	rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, free_remote_key);
	ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, free_remote_key);
	if ((rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) != NULL &&
	    (RSA_meth_set1_name(rsa_meth, "mailvetd key process") != 1 ||
	     RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc) != 1 ||
	     RSA_meth_set_priv_dec(rsa_meth, rsa_priv_dec) != 1 ||
	     RSA_meth_set_flags(rsa_meth, RSA_meth_get_flags(rsa_meth) | RSA_FLAG_EXT_PKEY) != 1)) {
		RSA_meth_free(rsa_meth);
		rsa_meth = NULL;
	}
	/* No sign_setup: its precomputation would need the private scalar. */
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) != NULL)
		EC_KEY_METHOD_set_sign(ec_meth, ec_sign, NULL, ec_sign_sig);
}

static struct remote_key *remote_key(const char *path, const unsigned char spki[32])
{
	struct remote_key *k = calloc(1, sizeof *k);

	if (k && strlen(path) < sizeof k->path) {
		memcpy(k->path, path, strlen(path));
		memcpy(k->spki, spki, 32);
		return k;
	}
	free(k);
	return NULL;
}

/* An RSA key with pub's public half and our private operations for path. */
static EVP_PKEY *rsa_remote(const EVP_PKEY *pub, const char *path, const unsigned char spki[32])
{
	const RSA *src = EVP_PKEY_get0_RSA(pub);
	const BIGNUM *n = NULL, *e = NULL;
	RSA *rsa = src && rsa_meth ? RSA_new() : NULL;
	BIGNUM *n2 = NULL, *e2 = NULL;
	struct remote_key *id = remote_key(path, spki);
	EVP_PKEY *pk = NULL;

	if (!rsa || !id || RSA_set_method(rsa, rsa_meth) != 1)
		goto fail;
	RSA_get0_key(src, &n, &e, NULL);
	if (!(n2 = BN_dup(n)) || !(e2 = BN_dup(e)) || RSA_set0_key(rsa, n2, e2, NULL) != 1)
		goto fail;
	n2 = e2 = NULL;
	if (RSA_set_ex_data(rsa, rsa_idx, id) != 1)
		goto fail;
	id = NULL;
	if (!(pk = EVP_PKEY_new()) || EVP_PKEY_assign_RSA(pk, rsa) != 1)
		goto fail;
	return pk;
fail:
	BN_free(n2);
	BN_free(e2);
	free(id);
	RSA_free(rsa);
	EVP_PKEY_free(pk);
	return NULL;
}

/* The same for an EC key (any named curve the certificate has). */
static EVP_PKEY *ec_remote(const EVP_PKEY *pub, const char *path, const unsigned char spki[32])
{
	const EC_KEY *src = EVP_PKEY_get0_EC_KEY(pub);
	EC_KEY *ec = src && ec_meth ? EC_KEY_new() : NULL;
	struct remote_key *id = remote_key(path, spki);
	EVP_PKEY *pk = NULL;

	if (!ec || !id || EC_KEY_set_method(ec, ec_meth) != 1 ||
	    EC_KEY_set_group(ec, EC_KEY_get0_group(src)) != 1 ||
	    EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(src)) != 1 ||
	    EC_KEY_set_ex_data(ec, ec_idx, id) != 1)
		goto fail;
	id = NULL;
	if (!(pk = EVP_PKEY_new()) || EVP_PKEY_assign_EC_KEY(pk, ec) != 1)
		goto fail;
	return pk;
fail:
	free(id);
	EC_KEY_free(ec);
	EVP_PKEY_free(pk);
	return NULL;
}

/*
 * The key process's public key of TLS key path, or NULL with the reason in
 * err; *kind its kind, spki the SHA-256 of its DER as sent.
 */
static EVP_PKEY *remote_public(const char *path, uint8_t *kind, unsigned char spki[32], char *err,
                               size_t errlen)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	const unsigned char *p;
	EVP_PKEY *pk;

	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_TLS_INFO;
	r.idlen = strlen(path);
	if (r.idlen == 0 || r.idlen > MVD_KEYD_MAX_ID) {
		snprintf(err, errlen, "tls_key: path too long for the key process");
		return NULL;
	}
	memcpy(r.id, path, r.idlen);
	if (mvd_keyd_call(&r, &rep, TLS_INFO_TIMEOUT_MS) != MV_OK) {
		snprintf(err, errlen, "tls_key %s: the key process does not answer", path);
		return NULL;
	}
	if (rep.status != MVD_KEYD_OK) {
		snprintf(err, errlen, "tls_key %s: the key process has no TLS key from this file",
		         path);
		return NULL;
	}
	p = rep.sig;
	if (!(pk = d2i_PUBKEY(NULL, &p, (long)rep.siglen)) || p != rep.sig + rep.siglen) {
		snprintf(err, errlen, "tls_key %s: the key process sent a bad public key", path);
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (!EVP_Digest(rep.sig, rep.siglen, spki, NULL, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "tls_key %s: cannot hash its public key", path);
		EVP_PKEY_free(pk);
		return NULL;
	}
	*kind = rep.alg;
	return pk;
}

int mvd_tlskey_use(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY *cpub = cert ? X509_get0_pubkey(cert) : NULL, *kpub, *pk = NULL;
	unsigned char spki[32];
	uint8_t kind = 0;
	int ok = -1;

	pthread_once(&once, init);
	if (!cpub) {
		snprintf(err, errlen, "tls_cert has no usable public key");
		return -1;
	}
	if (!(kpub = remote_public(path, &kind, spki, err, errlen)))
		return -1;
	if (EVP_PKEY_eq(cpub, kpub) != 1) {
		snprintf(err, errlen,
		         "tls_key does not match tls_cert (the key process's key from %s)", path);
		goto out;
	}
	pk = kind == MVD_KEYD_TLS_RSA && EVP_PKEY_is_a(cpub, "RSA") ? rsa_remote(cpub, path, spki)
	     : kind == MVD_KEYD_TLS_EC && EVP_PKEY_is_a(cpub, "EC") ? ec_remote(cpub, path, spki)
	                                                            : NULL;
	if (!pk) {
		snprintf(err, errlen,
		         "tls_key %s: cannot make a key that signs through the key process", path);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls_key does not match tls_cert");
		goto out;
	}
	/* TLS 1.2's RSA key exchange needs a decryption the key process does not offer. */
	if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:!kRSA") != 1) {
		snprintf(err, errlen, "cannot leave out RSA key exchange");
		goto out;
	}
	ok = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(kpub);
	EVP_PKEY_free(pk);
	return ok;
}
