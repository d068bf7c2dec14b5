/* daemon/keyd/tlsserve.c — the key process's TLS keys: loaded from the listeners, used for handshakes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "config.h"
#include "keyd.h"

struct tls_entry {
	char *path; /* owned: a set outlives its configuration (prev) */
	EVP_PKEY *pk;
	uint8_t kind;           /* enum mvd_keyd_tls_kind */
	unsigned char spki[32]; /* SHA-256 of the public key as TLS_INFO sends it */
	unsigned char *der;     /* that public key */
	size_t derlen;
};

struct mvd_keyd_tls {
	struct tls_entry *e; /* sorted by path, no two alike */
	size_t n;
	/*
	 * The set of the load before: between the key process's reload and the
	 * worker's, the worker still serves the old certificates, whose
	 * handshakes must still be signed by their keys (TLS_SIGN names the
	 * key by path and public key).
	 */
	struct mvd_keyd_tls *prev;
};

void mvd_keyd_tls_free(struct mvd_keyd_tls *t)
{
	if (!t)
		return;
	mvd_keyd_tls_free(t->prev);
	for (size_t i = 0; i < t->n; i++) {
		EVP_PKEY_free(t->e[i].pk);
		OPENSSL_free(t->e[i].der);
		free(t->e[i].path);
	}
	free(t->e);
	free(t);
}

size_t mvd_keyd_tls_count(const struct mvd_keyd_tls *t)
{
	return t ? t->n : 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tls_entry *)a)->path, ((const struct tls_entry *)b)->path);
}

/* The private key in PEM file path, RSA or EC; NULL with the reason in err. */
static EVP_PKEY *read_key(const char *path, uint8_t *kind, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pk;

	if (!f) {
		snprintf(err, errlen, "tls_key %s: cannot open it", path);
		return NULL;
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk) {
		snprintf(err, errlen, "tls_key %s: not a PEM private key", path);
		ERR_clear_error();
		return NULL;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		*kind = MVD_KEYD_TLS_RSA;
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		*kind = MVD_KEYD_TLS_EC;
	} else {
		snprintf(err, errlen,
		         "tls_key %s: only RSA and EC keys serve TLS through the key process",
		         path);
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (EVP_PKEY_get_size(pk) > MVD_KEYD_MAX_TLS_IN) {
		snprintf(err, errlen, "tls_key %s: larger than 8192 bits", path);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

static int add(struct mvd_keyd_tls *t, const char *path, char *err, size_t errlen)
{
	struct tls_entry *e = &t->e[t->n];
	int len;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].path, path))
			return 0; /* two listeners, one key */
	if (!(e->pk = read_key(path, &e->kind, err, errlen)))
		return -1;
	e->der = NULL;
	if (!(e->path = strdup(path)) || (len = i2d_PUBKEY(e->pk, &e->der)) <= 0 ||
	    !EVP_Digest(e->der, (size_t)len, e->spki, NULL, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "tls_key %s: out of memory", path);
		EVP_PKEY_free(e->pk);
		OPENSSL_free(e->der);
		free(e->path);
		return -1;
	}
	e->derlen = (size_t)len;
	t->n++;
	return 0;
}

/* A set of s's own entries (not its prev): the keys shared, the rest copied; NULL: no memory. */
static struct mvd_keyd_tls *copy_own(const struct mvd_keyd_tls *s)
{
	struct mvd_keyd_tls *c = calloc(1, sizeof *c);

	if (!c || (s->n && !(c->e = calloc(s->n, sizeof *c->e)))) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct tls_entry *from = &s->e[i];
		struct tls_entry *e = &c->e[c->n];
		if (!(e->path = strdup(from->path)) ||
		    !(e->der = OPENSSL_memdup(from->der, from->derlen)) ||
		    !EVP_PKEY_up_ref(from->pk)) {
			free(e->path);
			OPENSSL_free(e->der);
			mvd_keyd_tls_free(c); /* e is not counted in c->n */
			return NULL;
		}
		e->pk = from->pk;
		e->kind = from->kind;
		memcpy(e->spki, from->spki, sizeof e->spki);
		e->derlen = from->derlen;
		c->n++;
	}
	return c;
}

int mvd_keyd_tls_carry(struct mvd_keyd_tls *t, const struct mvd_keyd_tls *old)
{
	struct mvd_keyd_tls *c;

	if (!t || !old)
		return 0;
	if (!(c = copy_own(old))) /* old's prev is left out: two generations at most */
		return -1;
	mvd_keyd_tls_free(t->prev);
	t->prev = c;
	return 0;
}

/* What the worker would serve TLS with: any listener that names a key. */
static int has_key(const struct mvd_listener_conf *c)
{
	return c->tls_key && c->tls_key[0];
}

enum mv_status mvd_keyd_tls_load(const struct mvd_config *cfg, struct mvd_keyd_tls **out, char *err,
                                 size_t errlen)
{
	const struct mvd_listeners *l = &cfg->listeners;
	struct mvd_keyd_tls *t = calloc(1, sizeof *t);
	size_t total = l->count + l->nproxy;

	*out = NULL;
	if (!t || (total && !(t->e = calloc(total, sizeof *t->e)))) {
		snprintf(err, errlen, "out of memory");
		mvd_keyd_tls_free(t);
		return MV_ENOMEM;
	}
	for (size_t i = 0; i < l->count; i++)
		if (has_key(&l->item[i]) && add(t, l->item[i].tls_key, err, errlen) != 0)
			goto fail;
	for (size_t i = 0; i < l->nproxy; i++)
		if (has_key(&l->proxy[i]) && add(t, l->proxy[i].tls_key, err, errlen) != 0)
			goto fail;
	if (t->n)
		qsort(t->e, t->n, sizeof *t->e, entry_cmp);
	*out = t;
	return MV_OK;
fail:
	mvd_keyd_tls_free(t);
	return MV_ESYNTAX;
}

static const struct tls_entry *find(const struct mvd_keyd_tls *t, const char *path)
{
	struct tls_entry key = {.path = (char *)path};

	return t && t->n ? bsearch(&key, t->e, t->n, sizeof *t->e, entry_cmp) : NULL;
}

/* TLS_SIGN: the key of path whose public key hashes to spki, this load's or the one before. */
static const struct tls_entry *find_exact(const struct mvd_keyd_tls *t, const char *path,
                                          const unsigned char spki[32])
{
	const struct tls_entry *e = find(t, path);

	if (e && !memcmp(e->spki, spki, 32))
		return e;
	e = t ? find(t->prev, path) : NULL;
	return e && !memcmp(e->spki, spki, 32) ? e : NULL;
}

/*
 * A raw RSA private operation on any block would make the key process an
 * oracle: a worker taken over could decrypt what was ever encrypted to
 * this key (RSA key exchange, elsewhere or before) with c^d, blinded or not.
 * So the block must be what a TLS signature is: an EMSA-PKCS1-v1_5 encoding
 * (00 01 FF.. 00 and a DER DigestInfo, or the 36 bytes of TLS 1.0/1.1's
 * MD5+SHA-1) or an EMSA-PSS one (RFC 8017 9.1: trailer BC, the masked DB
 * unmasking to zeros, 01 and a salt of the hash's length, with SHA-256,
 * -384 or -512 as TLS 1.2 and 1.3 use them). A ciphertext, blinded or not,
 * has that shape with a chance of about 2^-1500.
 */
static int pkcs1_shaped(const unsigned char *em, size_t len)
{
	size_t i = 2, t;

	if (len < 11 || em[0] != 0x00 || em[1] != 0x01)
		return 0;
	while (i < len && em[i] == 0xff)
		i++;
	if (i < 10 || i >= len || em[i] != 0x00)
		return 0;
	t = len - i - 1; /* the DigestInfo (or MD5+SHA-1) */
	return t == 36 || (t >= 2 && t < 128 && em[i + 1] == 0x30 && (size_t)em[i + 2] + 2 == t);
}

/* MGF1 (RFC 8017 B.2.1) of seed with md, XORed into out[0..n). 0 on failure. */
static int mgf1_xor(unsigned char *out, size_t n, const unsigned char *seed, size_t slen,
                    const EVP_MD *md)
{
	unsigned char buf[EVP_MAX_MD_SIZE + 4], h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;

	memcpy(buf, seed, slen);
	for (uint32_t c = 0, done = 0; done < n; c++) {
		buf[slen] = (unsigned char)(c >> 24);
		buf[slen + 1] = (unsigned char)(c >> 16);
		buf[slen + 2] = (unsigned char)(c >> 8);
		buf[slen + 3] = (unsigned char)c;
		if (EVP_Digest(buf, slen + 4, h, &hl, md, NULL) != 1)
			return 0;
		for (unsigned k = 0; k < hl && done < n; k++)
			out[done++] ^= h[k];
	}
	return 1;
}

static int pss_shaped_md(const unsigned char *em, size_t emlen, unsigned topbits, const EVP_MD *md)
{
	unsigned char db[1024];
	size_t hl = (size_t)EVP_MD_get_size(md), dblen, i = 0;

	if (emlen < 2 * hl + 2 || emlen - hl - 1 > sizeof db || em[emlen - 1] != 0xbc)
		return 0;
	dblen = emlen - hl - 1;
	memcpy(db, em, dblen);
	if (!mgf1_xor(db, dblen, em + dblen, hl, md))
		return 0;
	db[0] &= (unsigned char)(0xff >> topbits);
	while (i < dblen && db[i] == 0)
		i++;
	return i < dblen && db[i] == 0x01 && dblen - i - 1 == hl;
}

static int pss_shaped(const unsigned char *em, size_t len, int modbits)
{
	size_t embits = (size_t)modbits - 1, emlen = (embits + 7) / 8;
	unsigned topbits = (unsigned)(8 * emlen - embits);

	if (emlen < len) { /* modBits - 1 a multiple of 8: a leading zero byte */
		if (em[0] != 0)
			return 0;
		em++;
	}
	if (topbits && (em[0] >> (8 - topbits)) != 0)
		return 0;
	return pss_shaped_md(em, emlen, topbits, EVP_sha256()) ||
	       pss_shaped_md(em, emlen, topbits, EVP_sha384()) ||
	       pss_shaped_md(em, emlen, topbits, EVP_sha512());
}

/*
 * The operation itself: RSA with no padding (the worker's OpenSSL has
 * padded, PKCS#1 v1.5 or PSS) on exactly a modulus-sized block, or ECDSA of
 * a digest. The input must be below the modulus, which OpenSSL checks.
 */
static int tls_sign(const struct tls_entry *e, const struct mvd_keyd_req *r,
                    struct mvd_keyd_rep *rep)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, e->pk, NULL);
	size_t len = sizeof rep->sig;
	int ok = ctx && EVP_PKEY_sign_init(ctx) == 1;

	if (ok && e->kind == MVD_KEYD_TLS_RSA)
		ok = r->inlen == (size_t)EVP_PKEY_get_size(e->pk) &&
		     (pkcs1_shaped(r->in, r->inlen) ||
		      pss_shaped(r->in, r->inlen, EVP_PKEY_get_bits(e->pk))) &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1;
	ok = ok && EVP_PKEY_sign(ctx, rep->sig, &len, r->in, r->inlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	rep->siglen = ok ? len : 0;
	return ok;
}

void mvd_keyd_tls_answer(const struct mvd_keyd_tls *t, const struct mvd_keyd_req *r,
                         struct mvd_keyd_rep *rep)
{
	const struct tls_entry *e =
	        r->op == MVD_KEYD_TLS_INFO ? find(t, r->id) : find_exact(t, r->id, r->digest);

	if (!e) {
		rep->status = MVD_KEYD_UNKNOWN_KEY;
	} else if (r->op == MVD_KEYD_TLS_INFO) {
		rep->alg = e->kind;
		rep->bits = (uint32_t)EVP_PKEY_get_bits(e->pk);
		if (e->derlen <= sizeof rep->sig) {
			memcpy(rep->sig, e->der, e->derlen);
			rep->siglen = e->derlen;
		} else {
			rep->status = MVD_KEYD_FAILED;
		}
	} else if (e->kind != r->alg) {
		rep->status = MVD_KEYD_WRONG_ALG;
	} else {
		rep->alg = r->alg;
		rep->status = tls_sign(e, r, rep) ? MVD_KEYD_OK : MVD_KEYD_FAILED;
	}
}
