/* lib/dkim/keycheck.c — does the published key record match a private key (opendkim-testkey's job). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim/signkey.h"

static void note(char (*list)[200], size_t *n, const char *fmt, ...) MV_PRINTF(3, 4);
static void note(char (*list)[200], size_t *n, const char *fmt, ...)
{
	va_list ap;

	if (*n == MV_KEYCHECK_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(list[(*n)++], 200, fmt, ap);
	va_end(ap);
}

#define PROBLEM(c, ...) note((c)->problem, &(c)->nproblems, __VA_ARGS__)
#define WARNING(c, ...) note((c)->warning, &(c)->nwarnings, __VA_ARGS__)

/* What the fetch's failure means for the check. */
static void fetch_failed(struct mv_dkim_keycheck *c, enum mv_status st, const char *why)
{
	switch (st) {
	case MV_ENOTFOUND:
		PROBLEM(c, "no key record at %s (NXDOMAIN or no TXT record): publish %s", c->name,
		        "the record `mailvet keygen` printed for this key");
		break;
	case MV_ETEMP:
		c->status = MV_KEYCHECK_DNS;
		PROBLEM(c, "DNS did not answer for %s (SERVFAIL or timeout)", c->name);
		return;
	case MV_EINVAL:
		PROBLEM(c, "%s is not a DNS name", c->name);
		break;
	default:
		PROBLEM(c, "the key record does not parse: %s", why[0] ? why : mv_status_str(st));
		break;
	}
	c->status = MV_KEYCHECK_PROBLEM;
}

/* The record against the private key. */
static void compare(struct mv_dkim_keycheck *c, const struct mv_dkim_key *k,
                    const struct mv_dkim_signkey *key)
{
	int want_rsa = key->alg == MV_DKIM_RSA_SHA256;

	c->published = 1;
	c->type = k->type;
	c->pub_bits = k->bits;
	c->revoked = k->revoked;
	c->testing = k->testing;
	if (k->revoked) {
		PROBLEM(c, "p= is empty: the key is revoked");
	} else if ((k->type == MV_DKIM_KEY_RSA) != want_rsa) {
		PROBLEM(c, "the record has k=%s but the private key is %s",
		        k->type == MV_DKIM_KEY_RSA ? "rsa" : "ed25519",
		        want_rsa ? "RSA" : "Ed25519");
	} else if (key->pkey == NULL && key->pub == NULL) {
		PROBLEM(c, "the private key is held by another process: not compared");
	} else if (EVP_PKEY_eq(k->pkey, key->pkey ? key->pkey : key->pub) != 1) {
		PROBLEM(c, "the published public key is not the private key's (key mismatch)");
	} else {
		c->matches = 1;
	}
	if (!k->revoked && k->type == MV_DKIM_KEY_RSA) {
		if (k->bits < MV_DKIM_MIN_RSA_BITS)
			PROBLEM(c,
			        "RSA key of %u bits: verifiers refuse keys under %d bits (RFC "
			        "8301)",
			        k->bits, MV_DKIM_MIN_RSA_BITS);
		else if (k->bits < 2048)
			WARNING(c, "RSA key of %u bits: 2048 bits are recommended", k->bits);
	}
	if (!k->sha256)
		PROBLEM(c, "h= does not list sha256, the hash every signature of ours uses");
	if (!k->email)
		PROBLEM(c, "s= does not list email or *: the key may not sign mail");
	if (k->testing)
		WARNING(c, "t=y: the domain is testing DKIM; verifiers may treat its signatures "
		           "as absent");
}

enum mv_status mv_dkim_keycheck(struct mv_resolver *r, const char *s, const char *d,
                                const struct mv_dkim_signkey *key, struct mv_dkim_keycheck *out)
{
	struct mv_dkim_key *k = NULL;
	char why[200] = "";
	enum mv_status st;

	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s._domainkey.%s", s, d);
	out->alg = key->alg;
	out->bits = mv_dkim_signkey_bits(key);
	st = mv_dkim_key_fetch(r, NULL, s, d, &k, why, sizeof why);
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK)
		fetch_failed(out, st, why);
	else
		compare(out, k, key);
	if (out->status == MV_KEYCHECK_OK && out->nproblems)
		out->status = MV_KEYCHECK_PROBLEM;
	mv_dkim_key_free(k);
	return MV_OK;
}

const char *mv_dkim_keycheck_status_str(enum mv_dkim_keycheck_status st)
{
	switch (st) {
	case MV_KEYCHECK_OK:
		return "ok";
	case MV_KEYCHECK_PROBLEM:
		return "problem";
	case MV_KEYCHECK_DNS:
		return "dns-failure";
	}
	return "unknown";
}
