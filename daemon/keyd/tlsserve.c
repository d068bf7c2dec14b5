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
	const char *path; /* borrowed from the configuration */
	EVP_PKEY *pk;
	uint8_t kind; /* enum mvd_keyd_tls_kind */
};

struct mvd_keyd_tls {
	struct tls_entry *e; /* sorted by path, no two alike */
	size_t n;
};

void mvd_keyd_tls_free(struct mvd_keyd_tls *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		EVP_PKEY_free(t->e[i].pk);
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
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].path, path))
			return 0; /* two listeners, one key */
	t->e[t->n].path = path;
	if (!(t->e[t->n].pk = read_key(path, &t->e[t->n].kind, err, errlen)))
		return -1;
	t->n++;
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
	struct tls_entry key = {path, NULL, 0};

	return t && t->n ? bsearch(&key, t->e, t->n, sizeof *t->e, entry_cmp) : NULL;
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
	const struct tls_entry *e = find(t, r->id);
	unsigned char *der = NULL;
	int len;

	if (!e) {
		rep->status = MVD_KEYD_UNKNOWN_KEY;
	} else if (r->op == MVD_KEYD_TLS_INFO) {
		rep->alg = e->kind;
		rep->bits = (uint32_t)EVP_PKEY_get_bits(e->pk);
		len = i2d_PUBKEY(e->pk, &der);
		if (len > 0 && (size_t)len <= sizeof rep->sig) {
			memcpy(rep->sig, der, (size_t)len);
			rep->siglen = (size_t)len;
		} else {
			rep->status = MVD_KEYD_FAILED;
		}
		OPENSSL_free(der);
	} else if (e->kind != r->alg) {
		rep->status = MVD_KEYD_WRONG_ALG;
	} else {
		rep->alg = r->alg;
		rep->status = tls_sign(e, r, rep) ? MVD_KEYD_OK : MVD_KEYD_FAILED;
	}
}
