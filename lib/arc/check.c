/* lib/arc/check.c — verifying one ARC-Message-Signature or ARC-Seal (RFC 8617 §5.2 steps 4-6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/validator.h"

/* The slot of (s, d), its key fetched on first use; NULL when memory runs out. */
static struct arc_key *key_slot(struct mv_arc_validator *v, const char *s, const char *d)
{
	struct arc_key *k;
	enum mv_status st;
	size_t i;

	for (i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].s, s) == 0 &&
		    mv_ascii_ieq(v->keys[i].d, strlen(v->keys[i].d), d))
			return &v->keys[i];
	if (v->nkeys == v->capkeys) {
		size_t cap = v->capkeys ? v->capkeys * 2 : 8;
		struct arc_key *n = realloc(v->keys, cap * sizeof *n);
		if (n == NULL)
			return NULL;
		v->keys = n;
		v->capkeys = cap;
	}
	k = &v->keys[v->nkeys];
	memset(k, 0, sizeof *k);
	k->s = mv_strndup(s, strlen(s));
	k->d = mv_strndup(d, strlen(d));
	if (k->s == NULL || k->d == NULL) {
		free(k->s);
		free(k->d);
		return NULL;
	}
	v->nkeys++;
	st = mv_dkim_key_fetch(v->r, v->o.keycache, s, d, &k->key, k->err, sizeof k->err);
	if (st != MV_OK) {
		k->key = NULL;
		/* SERVFAIL or timeout: the key may well exist (DESIGN: temperror, never a fail) */
		k->temp = st == MV_ETEMP || st == MV_ETIMEOUT;
		if (k->err[0] == '\0')
			snprintf(k->err, sizeof k->err, "no key for %.30s._domainkey.%.50s", s, d);
	}
	return k;
}

const struct mv_dkim_key *mv_arc_key(struct mv_arc_validator *v, const char *s, const char *d,
                                     char *why, size_t whylen, int *temp)
{
	struct arc_key *k = key_slot(v, s, d);

	*temp = 0;
	if (k == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (k->key == NULL) {
		snprintf(why, whylen, "%s", k->err);
		*temp = k->temp;
	}
	return k->key;
}

/*
 * The key for sig, checked against its algorithm (RFC 6376 §3.6.1, RFC 8301,
 * RFC 8463); NULL with the reason in why, *temp as mv_arc_key().
 */
static const struct mv_dkim_key *usable_key(struct mv_arc_validator *v,
                                            const struct mv_arc_sig *sig, char *why, size_t whylen,
                                            int *temp)
{
	const struct mv_dkim_key *k = mv_arc_key(v, sig->s, sig->d, why, whylen, temp);

	if (k == NULL)
		return NULL;
	if (k->revoked || k->pkey == NULL)
		snprintf(why, whylen, "key revoked");
	else if ((sig->alg == MV_DKIM_RSA_SHA256) != (k->type == MV_DKIM_KEY_RSA))
		snprintf(why, whylen, "key type does not match a=");
	else if (k->type == MV_DKIM_KEY_RSA && k->bits < MV_DKIM_MIN_RSA_BITS)
		snprintf(why, whylen, "RSA key of %u bits (RFC 8301: at least 1024)", k->bits);
	else if (!k->sha256)
		snprintf(why, whylen, "key h= excludes sha256");
	else if (!k->email)
		snprintf(why, whylen, "key s= excludes email");
	else
		return k;
	return NULL;
}

/* t= and x= against the clock. */
static int clock_ok(const struct mv_arc_validator *v, const struct mv_arc_sig *sig, char *why,
                    size_t whylen)
{
	if (sig->t >= 0 && sig->t > v->now && sig->t - v->now > v->o.max_future) {
		snprintf(why, whylen, "t= is in the future");
		return 0;
	}
	if (sig->x >= 0 && sig->x < v->now) {
		snprintf(why, whylen, "x= has passed");
		return 0;
	}
	return 1;
}

enum arc_check mv_arc_check_ams(struct mv_arc_validator *v, struct arc_chain *c, unsigned i,
                                char *why, size_t whylen)
{
	const struct mv_arc_sig *sig = c->ams[i];
	const struct mv_msg_field *f;
	const struct mv_dkim_key *k;
	unsigned char hash[ARC_HASHLEN];
	const unsigned char *bh;
	int temp;

	if (sig == NULL || sig->bad) {
		snprintf(why, whylen, "%s", sig ? sig->why : "missing");
		return ARC_CHECK_FAIL;
	}
	if (!clock_ok(v, sig, why, whylen))
		return ARC_CHECK_FAIL;
	if (c->hasher[i] < 0) {
		snprintf(why, whylen, "body not hashed (too many canonicalizations)");
		return ARC_CHECK_FAIL;
	}
	bh = mv_dkim_bodyhash_digest(v->hashers[c->hasher[i]]);
	if (sig->bhlen != ARC_HASHLEN || memcmp(bh, sig->bh, ARC_HASHLEN) != 0) {
		snprintf(why, whylen, "body hash did not verify");
		return ARC_CHECK_FAIL;
	}
	if ((k = usable_key(v, sig, why, whylen, &temp)) == NULL)
		return temp ? ARC_CHECK_TEMP : ARC_CHECK_FAIL;
	f = mv_msg_field(v->m, sig->field);
	if (mv_dkim_hash_headers(v->m, sig->hcanon, sig->h, sig->nh, f->raw, f->raw_len, sig->b_off,
	                         sig->b_len, &v->scratch, hash) != MV_OK) {
		snprintf(why, whylen, "header hash failed");
		return ARC_CHECK_FAIL;
	}
	if (mv_dkim_crypto_verify(k->pkey, hash, sig->b, sig->blen) != MV_OK) {
		snprintf(why, whylen, "signature did not verify");
		return ARC_CHECK_FAIL;
	}
	return ARC_CHECK_PASS;
}

/* The raw bytes of message field idx. */
static void raw_of(const struct mv_msg *m, size_t idx, const char **p, size_t *n)
{
	const struct mv_msg_field *f = mv_msg_field(m, idx);

	*p = f->raw;
	*n = f->raw_len;
}

enum arc_check mv_arc_check_as(struct mv_arc_validator *v, struct arc_chain *c, unsigned i,
                               char *why, size_t whylen)
{
	const struct mv_arc_sig *sig = c->as[i];
	struct mv_arc_rawset sets[MV_ARC_MAX_INSTANCE];
	const struct mv_dkim_key *k;
	unsigned char hash[ARC_HASHLEN];
	const char *raw;
	size_t rawlen;
	unsigned j;
	int temp;

	if (sig == NULL || sig->bad) {
		snprintf(why, whylen, "%s", sig ? sig->why : "missing");
		return ARC_CHECK_FAIL;
	}
	if (!clock_ok(v, sig, why, whylen))
		return ARC_CHECK_FAIL;
	for (j = 1; j <= i; j++) {
		raw_of(v->m, v->sets.aar[j], &sets[j - 1].aar, &sets[j - 1].aar_len);
		raw_of(v->m, c->ams[j]->field, &sets[j - 1].ams, &sets[j - 1].ams_len);
		raw_of(v->m, c->as[j]->field, &sets[j - 1].as, &sets[j - 1].as_len);
	}
	raw_of(v->m, sig->field, &raw, &rawlen);
	if (mv_arc_seal_hash(sets, i, raw, rawlen, sig->b_off, sig->b_len, &v->scratch, hash) !=
	    MV_OK) {
		snprintf(why, whylen, "header hash failed");
		return ARC_CHECK_FAIL;
	}
	if ((k = usable_key(v, sig, why, whylen, &temp)) == NULL)
		return temp ? ARC_CHECK_TEMP : ARC_CHECK_FAIL;
	if (mv_dkim_crypto_verify(k->pkey, hash, sig->b, sig->blen) != MV_OK) {
		snprintf(why, whylen, "signature did not verify");
		return ARC_CHECK_FAIL;
	}
	return ARC_CHECK_PASS;
}
