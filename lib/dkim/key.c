/* lib/dkim/key.c — key records (RFC 6376 §3.6.1) and their lookup (§3.6.2). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim/dkim_int.h"

/* Does the colon-separated list in t contain word (FWS around items allowed)? */
static int list_has(const struct mv_tag *t, const char *word)
{
	const char *p = t->value, *end = t->value + t->value_len;
	size_t wl = strlen(word);

	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *e = colon ? colon : end;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		if ((size_t)(e - p) == wl && memcmp(p, word, wl) == 0)
			return 1;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	return 0;
}

/*
 * p= holds a SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1; some
 * publishers use a bare RSAPublicKey, which we accept too) and the raw
 * 32-byte public key for Ed25519 (RFC 8463 §4.2).
 */
static enum mv_status load_pkey(struct mv_dkim_key *k, const unsigned char *der, size_t n,
                                char *err, size_t errlen)
{
	const unsigned char *q = der;
	EVP_PKEY *pkey = NULL;

	if (k->type == MV_DKIM_KEY_ED25519) {
		if (n != 32) {
			mv_errf(err, errlen, "ed25519 key of %zu bytes, not 32", n);
			return MV_ESYNTAX;
		}
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, n);
		if (pkey == NULL)
			return MV_ENOMEM;
		k->pkey = pkey;
		k->bits = 256;
		return MV_OK;
	}
	pkey = d2i_PUBKEY(NULL, &q, (long)n);
	if (pkey == NULL || q != der + n) {
		EVP_PKEY_free(pkey);
		q = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)n);
		if (pkey != NULL && q != der + n) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		mv_errf(err, errlen, "p= is not an RSA public key");
		return MV_ESYNTAX;
	}
	k->pkey = pkey;
	k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
	return MV_OK;
}

static enum mv_status read_key_type(const struct mv_taglist *tl, struct mv_dkim_key *k, char *err,
                                    size_t errlen)
{
	const struct mv_tag *t = mv_taglist_get(tl, "k");

	k->type = MV_DKIM_KEY_RSA;
	if (t == NULL || (t->value_len == 3 && memcmp(t->value, "rsa", 3) == 0))
		return MV_OK;
	if (t->value_len == 7 && memcmp(t->value, "ed25519", 7) == 0) {
		k->type = MV_DKIM_KEY_ED25519;
		return MV_OK;
	}
	mv_errf(err, errlen, "unknown key type k=%.*s", (int)t->value_len, t->value);
	return MV_EUNSUPPORTED;
}

static void read_flags(const struct mv_taglist *tl, struct mv_dkim_key *k)
{
	const struct mv_tag *t;

	k->sha256 = k->email = 1;
	if ((t = mv_taglist_get(tl, "h")) != NULL)
		k->sha256 = list_has(t, "sha256");
	if ((t = mv_taglist_get(tl, "s")) != NULL)
		k->email = list_has(t, "*") || list_has(t, "email");
	if ((t = mv_taglist_get(tl, "t")) != NULL) {
		k->testing = list_has(t, "y");
		k->strict = list_has(t, "s");
	}
}

enum mv_status mv_dkim_key_parse(const char *txt, size_t len, struct mv_dkim_key **out, char *err,
                                 size_t errlen)
{
	struct mv_taglist tl;
	const struct mv_tag *t;
	struct mv_dkim_key *k = NULL;
	unsigned char *der = NULL;
	char *p64 = NULL;
	size_t n, dlen;
	enum mv_status st;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((st = mv_taglist_parse(txt, len, &tl, err, errlen)) != MV_OK)
		goto out;
	st = MV_ESYNTAX;
	t = mv_taglist_get(&tl, "v");
	if (t != NULL &&
	    (t != &tl.tag[0] || !(t->value_len == 5 && !memcmp(t->value, "DKIM1", 5)))) {
		mv_errf(err, errlen, "v= is not DKIM1 or not the first tag");
		goto out;
	}
	if ((t = mv_taglist_get(&tl, "p")) == NULL) {
		mv_errf(err, errlen, "no p= tag");
		goto out;
	}
	st = MV_ENOMEM;
	if ((k = calloc(1, sizeof *k)) == NULL)
		goto out;
	if ((st = read_key_type(&tl, k, err, errlen)) != MV_OK)
		goto out;
	read_flags(&tl, k);
	st = MV_ENOMEM;
	if ((p64 = mv_taglist_value_nows(t, &n)) == NULL)
		goto out;
	if (n == 0) {
		k->revoked = 1;
		st = MV_OK;
		goto out;
	}
	if ((der = mv_dkim_b64_decode(p64, n, &dlen, &st)) == NULL) {
		if (st == MV_ESYNTAX)
			mv_errf(err, errlen, "p= is not base64");
		goto out;
	}
	st = load_pkey(k, der, dlen, err, errlen);
out:
	free(p64);
	free(der);
	if (st == MV_OK)
		*out = k;
	else
		mv_dkim_key_free(k);
	return st;
}

void mv_dkim_key_free(struct mv_dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
