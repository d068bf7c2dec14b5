/* lib/dkim/verify.c — the verifier: header time, body stream, final verdicts (RFC 6376 §6). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"

enum entry_state {
	ENTRY_DECIDED, /* the result is known from the header alone */
	ENTRY_PENDING, /* waiting for the body and the key */
};

struct entry {
	struct mv_dkim_sig *sig; /* NULL for the "none" entry */
	struct mv_dkim_result r;
	enum entry_state state;
	unsigned char hhash[MV_DKIM_HASHLEN];
	struct mv_dkim_bodyhash *body; /* borrowed from the verifier's list */
};

struct mv_dkim_verifier {
	struct mv_dkim_verify_opts o;
	struct mv_resolver *res;
	int64_t now;
	struct entry *e;
	size_t n;
	struct mv_dkim_bodyhash **bodies; /* one per distinct (c, l) */
	size_t nbodies;
	int headers_done, final_done;
	struct mv_buf scratch;
};

const char *mv_dkim_res_str(enum mv_dkim_res r)
{
	static const char *const names[] = {"none",   "pass",      "fail",     "neutral",
	                                    "policy", "temperror", "permerror"};

	return (size_t)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

void mv_dkim_verify_opts_default(struct mv_dkim_verify_opts *o)
{
	o->max_signatures = 5;
	o->refuse_l = 0;
	o->max_future = 300;
	o->keycache = NULL;
	o->no_prefetch = 0;
}

static void decide(struct entry *e, enum mv_dkim_res res, const char *fmt, ...) MV_PRINTF(3, 4);

/* Set an entry's result and reason; it is final from now on. */
static void decide(struct entry *e, enum mv_dkim_res res, const char *fmt, ...)
{
	va_list ap;

	e->r.res = res;
	e->state = ENTRY_DECIDED;
	va_start(ap, fmt);
	vsnprintf(e->r.reason, sizeof e->r.reason, fmt, ap);
	va_end(ap);
}

enum mv_status mv_dkim_verifier_new(const struct mv_dkim_verify_opts *o, struct mv_resolver *r,
                                    int64_t now, struct mv_dkim_verifier **out)
{
	struct mv_dkim_verifier *v = calloc(1, sizeof *v);

	*out = NULL;
	if (v == NULL)
		return MV_ENOMEM;
	if (o != NULL)
		v->o = *o;
	else
		mv_dkim_verify_opts_default(&v->o);
	v->res = r;
	v->now = now;
	mv_buf_init(&v->scratch);
	*out = v;
	return MV_OK;
}

void mv_dkim_verifier_free(struct mv_dkim_verifier *v)
{
	size_t k;

	if (v == NULL)
		return;
	for (k = 0; k < v->n; k++)
		mv_dkim_sig_free(v->e[k].sig);
	free(v->e);
	for (k = 0; k < v->nbodies; k++)
		mv_dkim_bodyhash_free(v->bodies[k]);
	free(v->bodies);
	mv_buf_free(&v->scratch);
	free(v);
}

/* The body hasher for (c, l), shared by every signature that needs it. */
static enum mv_status body_for(struct mv_dkim_verifier *v, enum mv_canon c, int64_t l,
                               struct mv_dkim_bodyhash **out)
{
	struct mv_dkim_bodyhash **nb;
	enum mv_status st;
	size_t k;

	for (k = 0; k < v->nbodies; k++) {
		if (mv_dkim_bodyhash_matches(v->bodies[k], c, l)) {
			*out = v->bodies[k];
			return MV_OK;
		}
	}
	if ((nb = realloc(v->bodies, (v->nbodies + 1) * sizeof *nb)) == NULL)
		return MV_ENOMEM;
	v->bodies = nb;
	if ((st = mv_dkim_bodyhash_new(c, l, &nb[v->nbodies])) != MV_OK)
		return st;
	*out = nb[v->nbodies++];
	return MV_OK;
}

/* Copy what the result reports about the signature (RFC 6008 header.b: 8 characters). */
static void report_tags(struct entry *e)
{
	const struct mv_dkim_sig *sig = e->sig;

	e->r.d = sig->d;
	e->r.i = sig->i;
	e->r.s = sig->s;
	e->r.a = sig->a;
	e->r.l = sig->l;
	if (sig->b64 != NULL)
		snprintf(e->r.b, sizeof e->r.b, "%.8s", sig->b64);
}

/* Header-time checks of one parsed signature: time, policy, the header hash. */
static enum mv_status prepare(struct mv_dkim_verifier *v, struct entry *e, const struct mv_msg *m,
                              const struct mv_msg_field *f)
{
	const struct mv_dkim_sig *sig = e->sig;
	size_t value_off = (size_t)(f->value - f->raw);
	enum mv_status st;

	/* §6.1.1: an expired signature is refused before any key or hash is
	   looked at; RFC 8601 reports that kind of failure as permerror. */
	if (sig->x >= 0 && sig->x < v->now) {
		decide(e, MV_DKIM_PERMERROR, "signature expired (x=%lld)", (long long)sig->x);
		return MV_OK;
	}
	if (sig->t >= 0 && sig->t > v->now && sig->t - v->now > v->o.max_future) {
		decide(e, MV_DKIM_PERMERROR, "signature timestamp in the future (t=%lld)",
		       (long long)sig->t);
		return MV_OK;
	}
	if (sig->l >= 0 && v->o.refuse_l) {
		decide(e, MV_DKIM_POLICY, "body length limit l= not accepted");
		return MV_OK;
	}
	st = mv_dkim_hash_headers(m, sig->hcanon, sig->h, sig->nh, f->raw, f->raw_len,
	                          value_off + sig->b_off, sig->b_len, &v->scratch, e->hhash);
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK) {
		decide(e, MV_DKIM_PERMERROR, "header canonicalization failed: %s",
		       mv_status_str(st));
		return MV_OK;
	}
	if ((st = body_for(v, sig->bcanon, sig->l, &e->body)) != MV_OK)
		return st;
	e->state = ENTRY_PENDING;
	return MV_OK;
}

/* Parse one DKIM-Signature field into e and decide what can be decided now. */
static enum mv_status take_signature(struct mv_dkim_verifier *v, struct entry *e, size_t index,
                                     const struct mv_msg *m, const struct mv_msg_field *f)
{
	char err[sizeof e->r.reason];
	enum mv_status st;

	st = mv_dkim_sig_parse(f->value, f->value_len, &e->sig, err, sizeof err);
	if (st == MV_ENOMEM)
		return st;
	report_tags(e);
	if (index >= v->o.max_signatures) {
		decide(e, MV_DKIM_NEUTRAL, "not evaluated: limit of %zu signatures",
		       v->o.max_signatures);
		return MV_OK;
	}
	if (st != MV_OK) {
		decide(e, MV_DKIM_PERMERROR, "%s", err);
		return MV_OK;
	}
	return prepare(v, e, m, f);
}

size_t mv_dkim_verifier_entries(const struct mv_dkim_verifier *v)
{
	return v->n;
}

const struct mv_dkim_sig *mv_dkim_verifier_pending(const struct mv_dkim_verifier *v, size_t i)
{
	return i < v->n && v->e[i].state == ENTRY_PENDING ? v->e[i].sig : NULL;
}

/* Ask for every pending key at once so the lookups overlap with the body. */
static void prefetch_keys(struct mv_dkim_verifier *v)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	if (v->res != NULL && !v->o.no_prefetch && mv_dkim_questions(v, &l) != MV_ENOMEM && l.n > 0)
		(void)mv_dns_prefetch(v->res, l.q, l.n); /* failures show in the later query */
	mv_dns_questions_free(&l);
}

enum mv_status mv_dkim_verifier_headers(struct mv_dkim_verifier *v, const struct mv_msg *m)
{
	size_t k, j, count = 0;
	enum mv_status st;

	if (v->headers_done)
		return MV_EINVAL;
	v->headers_done = 1;
	for (j = mv_msg_find(m, "DKIM-Signature", 0); j != (size_t)-1;
	     j = mv_msg_find(m, "DKIM-Signature", j + 1))
		count++;
	if ((v->e = calloc(count ? count : 1, sizeof *v->e)) == NULL)
		return MV_ENOMEM;
	if (count == 0) {
		v->n = 1;
		v->e[0].r.l = -1;
		decide(&v->e[0], MV_DKIM_NONE, "message not signed");
		return MV_OK;
	}
	for (k = 0, j = mv_msg_find(m, "DKIM-Signature", 0); k < count;
	     k++, j = mv_msg_find(m, "DKIM-Signature", j + 1)) {
		v->n++;
		if ((st = take_signature(v, &v->e[k], k, m, mv_msg_field(m, j))) != MV_OK)
			return st;
	}
	prefetch_keys(v);
	return MV_OK;
}

enum mv_status mv_dkim_verifier_body(struct mv_dkim_verifier *v, const void *p, size_t n)
{
	enum mv_status st;
	size_t k;

	if (!v->headers_done || v->final_done)
		return MV_EINVAL;
	for (k = 0; k < v->nbodies; k++)
		if ((st = mv_dkim_bodyhash_update(v->bodies[k], p, n)) != MV_OK)
			return st;
	return MV_OK;
}

/* Is the key usable for this signature (RFC 6376 §3.6.1, §6.1.2; RFC 8301)? */
static int key_acceptable(struct entry *e, const struct mv_dkim_key *key)
{
	const struct mv_dkim_sig *sig = e->sig;
	enum mv_dkim_keytype want =
	        sig->alg == MV_DKIM_ED25519_SHA256 ? MV_DKIM_KEY_ED25519 : MV_DKIM_KEY_RSA;
	const char *at = strrchr(sig->i, '@');

	e->r.testing = key->testing;
	if (key->revoked) {
		decide(e, MV_DKIM_PERMERROR, "key revoked (empty p=)");
		return 0;
	}
	e->r.key_bits = key->bits;
	if (key->type != want)
		decide(e, MV_DKIM_PERMERROR, "key type does not match a=%s", sig->a);
	else if (!key->sha256)
		decide(e, MV_DKIM_PERMERROR, "key h= does not allow sha256");
	else if (!key->email)
		decide(e, MV_DKIM_PERMERROR, "key s= does not allow email");
	else if (key->strict &&
	         !(at && strlen(at + 1) == strlen(sig->d) && mv_dkim_domain_within(at + 1, sig->d)))
		decide(e, MV_DKIM_PERMERROR, "key t=s requires i= domain to equal d=");
	else if (key->type == MV_DKIM_KEY_RSA && key->bits < MV_DKIM_MIN_RSA_BITS)
		decide(e, MV_DKIM_PERMERROR, "RSA key of %u bits is under %d (RFC 8301)", key->bits,
		       MV_DKIM_MIN_RSA_BITS);
	else if (key->type == MV_DKIM_KEY_RSA && key->bits > MV_DKIM_MAX_RSA_BITS)
		decide(e, MV_DKIM_PERMERROR, "RSA key of %u bits is over %d", key->bits,
		       MV_DKIM_MAX_RSA_BITS);
	else
		return 1;
	return 0;
}

/* Map a key lookup failure to the result RFC 6376 §6.1.2 gives it. */
static void key_failed(struct entry *e, enum mv_status st, const char *err)
{
	if (st == MV_ETEMP || st == MV_ETIMEOUT)
		decide(e, MV_DKIM_TEMPERROR, "%s", err);
	else if (st == MV_ENOTFOUND)
		decide(e, MV_DKIM_PERMERROR, "%s", err);
	else
		decide(e, MV_DKIM_PERMERROR, "bad key record: %s",
		       err[0] ? err : mv_status_str(st));
}

/* The pass note: testing mode and l= are said, never hidden. */
static void passed(struct entry *e)
{
	const struct mv_dkim_sig *sig = e->sig;
	uint64_t blen = e->r.body_len;

	e->state = ENTRY_DECIDED;
	e->r.res = MV_DKIM_PASS;
	if (sig->l >= 0)
		snprintf(e->r.reason, sizeof e->r.reason,
		         "l=%lld: %llu of %llu body bytes signed%s", (long long)sig->l,
		         (unsigned long long)sig->l, (unsigned long long)blen,
		         e->r.testing ? "; key in testing mode (t=y)" : "");
	else if (e->r.testing)
		snprintf(e->r.reason, sizeof e->r.reason, "key in testing mode (t=y)");
}

/* Key, body hash, signature: the last steps of RFC 6376 §6.1.2 and §6.1.3. */
static enum mv_status judge(struct mv_dkim_verifier *v, struct entry *e)
{
	const struct mv_dkim_sig *sig = e->sig;
	struct mv_dkim_key *key = NULL;
	char err[sizeof e->r.reason];
	enum mv_status st;

	e->r.body_len = mv_dkim_bodyhash_length(e->body);
	st = mv_dkim_key_fetch(v->res, v->o.keycache, sig->s, sig->d, &key, err, sizeof err);
	if (st == MV_ENOMEM)
		goto out;
	if (st != MV_OK) {
		key_failed(e, st, err);
		st = MV_OK;
		goto out;
	}
	if (!key_acceptable(e, key))
		goto out;
	if (sig->l >= 0 && (uint64_t)sig->l > e->r.body_len)
		decide(e, MV_DKIM_FAIL, "body is shorter than l=%lld", (long long)sig->l);
	else if (sig->bhlen != MV_DKIM_HASHLEN ||
	         memcmp(sig->bh, mv_dkim_bodyhash_digest(e->body), MV_DKIM_HASHLEN) != 0)
		decide(e, MV_DKIM_FAIL, "body hash did not verify");
	else if ((st = mv_dkim_crypto_verify(key->pkey, e->hhash, sig->b, sig->blen)) == MV_OK)
		passed(e);
	else if (st != MV_ENOMEM)
		decide(e, MV_DKIM_FAIL, "signature did not verify");
	if (st != MV_ENOMEM)
		st = MV_OK;
out:
	mv_dkim_key_free(key);
	return st;
}

enum mv_status mv_dkim_verifier_final(struct mv_dkim_verifier *v)
{
	enum mv_status st;
	size_t k;

	if (!v->headers_done || v->final_done)
		return MV_EINVAL;
	v->final_done = 1;
	for (k = 0; k < v->nbodies; k++)
		if ((st = mv_dkim_bodyhash_final(v->bodies[k])) != MV_OK)
			return st;
	for (k = 0; k < v->n; k++) {
		if (v->e[k].state != ENTRY_PENDING)
			continue;
		if (v->res == NULL) {
			decide(&v->e[k], MV_DKIM_TEMPERROR, "no resolver");
			continue;
		}
		if ((st = judge(v, &v->e[k])) != MV_OK)
			return st;
	}
	return MV_OK;
}

enum mv_status mv_dkim_verifier_message(struct mv_dkim_verifier *v, const struct mv_msg *m)
{
	const char *body;
	size_t len, off;
	enum mv_status st;

	if ((st = mv_dkim_verifier_headers(v, m)) != MV_OK)
		return st;
	mv_msg_body(m, &body, &len, &off);
	if (len > 0 && (st = mv_dkim_verifier_body(v, body, len)) != MV_OK)
		return st;
	return mv_dkim_verifier_final(v);
}

size_t mv_dkim_verifier_count(const struct mv_dkim_verifier *v)
{
	return v->final_done ? v->n : 0;
}

const struct mv_dkim_result *mv_dkim_verifier_result(const struct mv_dkim_verifier *v, size_t i)
{
	return v->final_done && i < v->n ? &v->e[i].r : NULL;
}
