/* lib/dkim/signkey.c — private keys for signing: load, generate, publish. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_int.h"
#include "dkim/signkey.h"

/* Take ownership of pkey if it is a key DKIM can sign with. */
static enum mv_status wrap(EVP_PKEY *pkey, struct mv_dkim_signkey **out, char *err, size_t errlen)
{
	struct mv_dkim_signkey *k;
	int id = EVP_PKEY_get_base_id(pkey);

	if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < MV_DKIM_MIN_RSA_BITS) {
		mv_errf(err, errlen, "RSA key of %d bits is under %d (RFC 8301)",
		        EVP_PKEY_get_bits(pkey), MV_DKIM_MIN_RSA_BITS);
		return MV_EUNSUPPORTED;
	}
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		mv_errf(err, errlen, "not an RSA or Ed25519 key");
		return MV_EUNSUPPORTED;
	}
	if ((k = calloc(1, sizeof *k)) == NULL)
		return MV_ENOMEM;
	k->pkey = pkey;
	k->alg = id == EVP_PKEY_RSA ? MV_DKIM_RSA_SHA256 : MV_DKIM_ED25519_SHA256;
	k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
	*out = k;
	return MV_OK;
}

enum mv_status mv_dkim_signkey_pem(const char *pem, size_t len, struct mv_dkim_signkey **out,
                                   char *err, size_t errlen)
{
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	enum mv_status st = MV_ENOMEM;

	*out = NULL;
	if (len > (1u << 20)) {
		mv_errf(err, errlen, "key file too large");
		return MV_ETOOBIG;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		mv_errf(err, errlen, "not a PEM private key");
		st = MV_ESYNTAX;
		goto out;
	}
	if ((st = wrap(pkey, out, err, errlen)) == MV_OK)
		pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return st;
}

enum mv_status mv_dkim_signkey_ed25519_seed(const unsigned char seed[32],
                                            struct mv_dkim_signkey **out)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	enum mv_status st;

	*out = NULL;
	if (pkey == NULL)
		return MV_ENOMEM;
	if ((st = wrap(pkey, out, NULL, 0)) != MV_OK)
		EVP_PKEY_free(pkey);
	return st;
}

enum mv_dkim_alg mv_dkim_signkey_alg(const struct mv_dkim_signkey *k)
{
	return k->alg;
}

enum mv_status mv_dkim_signkey_external(enum mv_dkim_alg alg, unsigned bits,
                                        const unsigned char *spki, size_t spki_len,
                                        const struct mv_dkim_signer *signer, const void *handle,
                                        struct mv_dkim_signkey **out)
{
	struct mv_dkim_signkey *k;
	EVP_PKEY *pub = NULL;
	const unsigned char *p = spki;

	*out = NULL;
	if ((alg != MV_DKIM_RSA_SHA256 && alg != MV_DKIM_ED25519_SHA256) || signer == NULL ||
	    signer->sign == NULL || spki_len > (1u << 16))
		return MV_EINVAL;
	if (spki_len > 0) {
		pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
		if (pub == NULL || p != spki + spki_len ||
		    EVP_PKEY_get_base_id(pub) !=
		            (alg == MV_DKIM_RSA_SHA256 ? EVP_PKEY_RSA : EVP_PKEY_ED25519)) {
			EVP_PKEY_free(pub);
			return MV_ESYNTAX;
		}
	}
	if ((k = calloc(1, sizeof *k)) == NULL) {
		EVP_PKEY_free(pub);
		return MV_ENOMEM;
	}
	k->pub = pub;
	k->alg = alg;
	k->bits = bits;
	k->signer = signer;
	k->handle = handle;
	*out = k;
	return MV_OK;
}

enum mv_status mv_dkim_signkey_spki(const struct mv_dkim_signkey *k, struct mv_buf *out)
{
	EVP_PKEY *key = k->pkey ? k->pkey : k->pub;
	unsigned char *der = NULL;
	int n;

	if (key == NULL)
		return MV_ENOTFOUND;
	if ((n = i2d_PUBKEY(key, &der)) <= 0)
		return MV_ENOMEM;
	mv_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return mv_buf_status(out);
}

unsigned mv_dkim_signkey_bits(const struct mv_dkim_signkey *k)
{
	return k->bits;
}

enum mv_status mv_dkim_signkey_sign(const struct mv_dkim_signkey *k, const unsigned char digest[32],
                                    unsigned char *sig, size_t cap, size_t *siglen)
{
	unsigned char *p = NULL;
	size_t n = 0;
	enum mv_status st;

	*siglen = 0;
	if (k->pkey == NULL) {
		st = k->signer->sign(k->signer->arg, k->handle, k->alg, digest, sig, cap, &n);
		if (st == MV_OK && (n == 0 || n > cap))
			st = MV_EINVAL; /* a signer that broke its contract */
		if (st == MV_OK)
			*siglen = n;
		return st;
	}
	if ((st = mv_dkim_crypto_sign(k->pkey, digest, &p, &n)) != MV_OK)
		return st;
	if (n > cap) {
		st = MV_ETOOBIG;
	} else {
		memcpy(sig, p, n);
		*siglen = n;
	}
	OPENSSL_cleanse(p, n);
	free(p);
	return st;
}

enum mv_status mv_dkim_signkey_sign_alloc(const struct mv_dkim_signkey *k,
                                          const unsigned char *digest, unsigned char **sig,
                                          size_t *siglen)
{
	enum mv_status st;

	*siglen = 0;
	if (k->pkey != NULL)
		return mv_dkim_crypto_sign(k->pkey, digest, sig, siglen);
	if ((*sig = malloc(MV_DKIM_MAX_SIG)) == NULL)
		return MV_ENOMEM;
	if ((st = mv_dkim_signkey_sign(k, digest, *sig, MV_DKIM_MAX_SIG, siglen)) != MV_OK) {
		free(*sig);
		*sig = NULL;
	}
	return st;
}

void mv_dkim_signkey_free(struct mv_dkim_signkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	EVP_PKEY_free(k->pub);
	free(k);
}

/* p= is the SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519. */
char *mv_dkim_signkey_record(const struct mv_dkim_signkey *k)
{
	struct mv_buf b = MV_BUF_INIT;
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof raw;
	int n;
	EVP_PKEY *key = k->pkey ? k->pkey : k->pub;

	if (key == NULL) /* held by another process, public half unknown */
		return NULL;
	if (k->alg == MV_DKIM_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1)
			return NULL;
		mv_buf_puts(&b, "v=DKIM1; k=ed25519; p=");
		mv_dkim_b64_encode(raw, rawlen, &b);
	} else {
		if ((n = i2d_PUBKEY(key, &der)) <= 0)
			return NULL;
		mv_buf_puts(&b, "v=DKIM1; k=rsa; p=");
		mv_dkim_b64_encode(der, (size_t)n, &b);
		OPENSSL_free(der);
	}
	return mv_buf_steal(&b, NULL);
}

enum mv_status mv_dkim_keygen(enum mv_dkim_keytype type, unsigned bits,
                              struct mv_dkim_signkey **out, char **pem)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	enum mv_status st = MV_EINVAL;

	*out = NULL;
	*pem = NULL;
	if (type == MV_DKIM_KEY_RSA && (bits < MV_DKIM_MIN_RSA_BITS || bits > MV_DKIM_MAX_RSA_BITS))
		goto out;
	st = MV_ENOMEM;
	pkey = type == MV_DKIM_KEY_RSA ? EVP_RSA_gen(bits)
	                               : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	BIO_get_mem_ptr(bio, &mem);
	if ((*pem = mv_strndup(mem->data, mem->length)) == NULL)
		goto out;
	if ((st = wrap(pkey, out, NULL, 0)) == MV_OK)
		pkey = NULL;
out:
	if (st != MV_OK) {
		free(*pem);
		*pem = NULL;
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return st;
}
