/* lib/dkim/crypto.c — the signature primitive over the header hash (OpenSSL 3 EVP). */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dkim/dkim_int.h"

/*
 * RSA: RSASSA-PKCS1-v1_5 over the SHA-256 digest we already computed
 * (EVP_PKEY_verify with the digest type set encodes the DigestInfo).
 * Ed25519: RFC 8463 §3 signs the SHA-256 of the header data with
 * PureEd25519, i.e. the 32-byte hash is the message given to Ed25519.
 */
enum mv_status mv_dkim_crypto_verify(struct evp_pkey_st *pkey, const unsigned char *hash,
                                     const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md = NULL;
	enum mv_status st = MV_ENOMEM;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		if ((md = EVP_MD_CTX_new()) == NULL)
			goto out;
		st = MV_ESYNTAX;
		if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) != 1)
			goto out;
		if (EVP_DigestVerify(md, sig, siglen, hash, MV_DKIM_HASHLEN) == 1)
			st = MV_OK;
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL)
		goto out;
	st = MV_ESYNTAX;
	if (EVP_PKEY_verify_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1)
		goto out;
	if (EVP_PKEY_verify(pctx, sig, siglen, hash, MV_DKIM_HASHLEN) == 1)
		st = MV_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(md);
	return st;
}

enum mv_status mv_dkim_crypto_sign(struct evp_pkey_st *pkey, const unsigned char *hash,
                                   unsigned char **sig, size_t *siglen)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md = NULL;
	enum mv_status st = MV_ENOMEM;
	size_t n = 0;

	*sig = NULL;
	*siglen = 0;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		if ((md = EVP_MD_CTX_new()) == NULL)
			goto out;
		st = MV_EINVAL;
		if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
		    EVP_DigestSign(md, NULL, &n, hash, MV_DKIM_HASHLEN) != 1)
			goto out;
		st = MV_ENOMEM;
		if ((*sig = malloc(n)) == NULL)
			goto out;
		st = MV_EINVAL;
		if (EVP_DigestSign(md, *sig, &n, hash, MV_DKIM_HASHLEN) != 1)
			goto out;
		st = MV_OK;
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL)
		goto out;
	st = MV_EINVAL;
	if (EVP_PKEY_sign_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(pctx, NULL, &n, hash, MV_DKIM_HASHLEN) != 1)
		goto out;
	st = MV_ENOMEM;
	if ((*sig = malloc(n)) == NULL)
		goto out;
	st = MV_EINVAL;
	if (EVP_PKEY_sign(pctx, *sig, &n, hash, MV_DKIM_HASHLEN) != 1)
		goto out;
	st = MV_OK;
out:
	if (st == MV_OK) {
		*siglen = n;
	} else {
		free(*sig);
		*sig = NULL;
	}
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(md);
	return st;
}
