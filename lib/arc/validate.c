/*
 * lib/arc/validate.c — chain validation (RFC 8617 §5.2; draft-ietf-dmarc-arc-multi-02 §5.2
 * where some instance has more than one set).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/validator.h"

const char *mv_arc_cv_str(enum mv_arc_cv cv)
{
	switch (cv) {
	case MV_ARC_NONE:
		return "none";
	case MV_ARC_PASS:
		return "pass";
	case MV_ARC_FAIL:
		break;
	}
	return "fail";
}

void mv_arc_validate_opts_default(struct mv_arc_validate_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_future = 300;
}

enum mv_status mv_arc_validator_new(const struct mv_arc_validate_opts *o, struct mv_resolver *r,
                                    int64_t now, struct mv_arc_validator **out)
{
	struct mv_arc_validator *v;

	*out = NULL;
	if ((v = calloc(1, sizeof *v)) == NULL)
		return MV_ENOMEM;
	if (o != NULL)
		v->o = *o;
	else
		mv_arc_validate_opts_default(&v->o);
	v->r = r;
	v->now = now;
	v->chosen = -1;
	v->cv = MV_ARC_NONE;
	mv_buf_init(&v->scratch);
	*out = v;
	return MV_OK;
}

void mv_arc_validator_free(struct mv_arc_validator *v)
{
	size_t k;
	unsigned i;

	if (v == NULL)
		return;
	for (k = 0; k < v->nchains; k++)
		for (i = 0; i <= MV_ARC_MAX_INSTANCE; i++) {
			mv_arc_sig_free(v->chain[k].ams[i]);
			mv_arc_sig_free(v->chain[k].as[i]);
		}
	for (k = 0; k < v->nhashers; k++)
		mv_dkim_bodyhash_free(v->hashers[k]);
	for (k = 0; k < v->nkeys; k++) {
		free(v->keys[k].s);
		free(v->keys[k].d);
		mv_dkim_key_free(v->keys[k].key);
	}
	free(v->keys);
	mv_buf_free(&v->scratch);
	free(v);
}

static void chain_fail(struct arc_chain *c, const char *fmt, ...) MV_PRINTF(2, 3);

static void chain_fail(struct arc_chain *c, const char *fmt, ...)
{
	va_list ap;

	if (c->decided)
		return;
	c->decided = 1;
	c->evaluate = 0;
	c->res.cv = MV_ARC_FAIL;
	va_start(ap, fmt);
	vsnprintf(c->res.reason, sizeof c->res.reason, fmt, ap);
	va_end(ap);
}

/* The body hasher for (c, l), shared by every AMS that uses the pair; -1 past the limit. */
static int hasher_for(struct mv_arc_validator *v, enum mv_canon c, int64_t l, enum mv_status *st)
{
	size_t k;

	for (k = 0; k < v->nhashers; k++)
		if (mv_dkim_bodyhash_matches(v->hashers[k], c, l))
			return (int)k;
	if (v->nhashers == ARC_MAX_HASHERS)
		return -1;
	if ((*st = mv_dkim_bodyhash_new(c, l, &v->hashers[v->nhashers])) != MV_OK)
		return -1;
	return (int)v->nhashers++;
}

/* Parse the AMS and AS of every instance of chain c; MV_ENOMEM only. */
static enum mv_status parse_chain(struct mv_arc_validator *v, struct arc_chain *c,
                                  const struct mv_arc_chain_fields *cf)
{
	enum mv_status st = MV_OK;
	unsigned i;
	int nomem = 0;

	for (i = 1; i <= cf->length; i++) {
		c->hasher[i] = -1;
		if (cf->ams[i] != MV_ARC_NOFIELD &&
		    (c->ams[i] = mv_arc_sig_parse(v->m, cf->ams[i], ARC_AMS, &nomem)) == NULL)
			return MV_ENOMEM;
		if (cf->as[i] != MV_ARC_NOFIELD &&
		    (c->as[i] = mv_arc_sig_parse(v->m, cf->as[i], ARC_AS, &nomem)) == NULL)
			return MV_ENOMEM;
		if (c->ams[i] != NULL && !c->ams[i]->bad) {
			c->hasher[i] = hasher_for(v, c->ams[i]->bcanon, c->ams[i]->l, &st);
			if (st != MV_OK)
				return st;
		}
	}
	return MV_OK;
}

/* RFC 8617 §5.2 steps 2 and 3 for one chain of N sets. */
static void check_structure(struct arc_chain *c, const struct mv_arc_chain_fields *cf, unsigned n)
{
	unsigned i;

	if (c->as[n] != NULL && !c->as[n]->bad && c->as[n]->cv == MV_ARC_FAIL)
		chain_fail(c, "i=%u seal says cv=fail", n);
	if (cf->dup)
		chain_fail(c, "two ARC-Message-Signature or ARC-Seal fields for one instance");
	for (i = 1; i <= n; i++) {
		if (c->ams[i] == NULL)
			chain_fail(c, "no ARC-Message-Signature for i=%u", i);
		else if (c->as[i] == NULL)
			chain_fail(c, "no ARC-Seal for i=%u", i);
		else if (c->as[i]->bad)
			chain_fail(c, "ARC-Seal i=%u: %s", i, c->as[i]->why);
		else if (i == 1 && c->as[i]->cv != MV_ARC_NONE)
			chain_fail(c, "ARC-Seal i=1 has cv=%s, not none",
			           mv_arc_cv_str(c->as[i]->cv));
		else if (i > 1 && c->as[i]->cv != MV_ARC_PASS)
			chain_fail(c, "ARC-Seal i=%u has cv=%s, not pass", i,
			           mv_arc_cv_str(c->as[i]->cv));
	}
}

static int alg_supported(const char *a)
{
	return strcmp(a, "rsa-sha256") == 0 || strcmp(a, "ed25519-sha256") == 0;
}

/*
 * Whether chain c can be verified: its a= is one we implement, or, for a
 * single chain (one set per instance, whatever algorithm each uses), the
 * a= of every AMS and AS is. *what gets the a= found unsupported.
 */
static int chain_supported(const struct mv_arc_validator *v, const struct arc_chain *c,
                           const struct mv_arc_chain_fields *cf, const char **what)
{
	const struct mv_arc_sig *sg[2];
	unsigned i;
	size_t j;

	*what = cf->alg;
	if (!v->sets.single)
		return alg_supported(cf->alg);
	for (i = 1; i <= cf->length; i++) {
		sg[0] = c->ams[i];
		sg[1] = c->as[i];
		for (j = 0; j < 2; j++) {
			*what = sg[j] != NULL && sg[j]->a != NULL ? sg[j]->a : "";
			if (!alg_supported(*what))
				return 0;
		}
	}
	*what = cf->alg;
	return 1;
}

/* Ask for every key the chains to evaluate will need, in parallel. */
static enum mv_status prefetch(struct mv_arc_validator *v)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	enum mv_status st = MV_OK;

	if (v->r != NULL && (st = mv_arc_questions(v, &l)) == MV_ETOOBIG)
		st = MV_OK; /* the rest are asked when needed */
	if (st == MV_OK && l.n > 0)
		st = mv_dns_prefetch(v->r, l.q, l.n) == MV_ENOMEM ? MV_ENOMEM : MV_OK;
	mv_dns_questions_free(&l);
	return st;
}

void mv_arc_validator_set_resolver(struct mv_arc_validator *v, struct mv_resolver *r)
{
	v->r = r;
}

/* Set up chain k from the collected fields. */
static enum mv_status setup_chain(struct mv_arc_validator *v, size_t k)
{
	const struct mv_arc_chain_fields *cf = &v->sets.chain[k];
	struct arc_chain *c = &v->chain[k];
	const char *unsupported;
	enum mv_status st;
	unsigned i;

	c->res.alg = cf->alg;
	c->res.length = cf->length;
	c->res.longest = cf->length == v->sets.count;
	c->res.hop = c->hop;
	c->res.cv = MV_ARC_FAIL;
	for (i = 0; i < MV_ARC_MAX_INSTANCE; i++)
		c->hop[i].ams_pass = -1;
	if ((st = parse_chain(v, c, cf)) != MV_OK)
		return st;
	c->res.supported = chain_supported(v, c, cf, &unsupported);
	c->res.ended = c->as[cf->length] != NULL && !c->as[cf->length]->bad &&
	               c->as[cf->length]->cv == MV_ARC_FAIL;
	if (v->sets.malformed)
		chain_fail(c, "%s", v->sets.why);
	else if (!c->res.longest)
		chain_fail(c, "shorter than the longest chain");
	else if (!c->res.supported)
		chain_fail(c, "unsupported algorithm a=%.40s",
		           unsupported[0] ? unsupported : "(none)");
	c->evaluate = !c->decided;
	if (c->evaluate)
		check_structure(c, cf, cf->length);
	return MV_OK;
}

enum mv_status mv_arc_validator_headers(struct mv_arc_validator *v, const struct mv_msg *m)
{
	enum mv_status st;
	size_t k;

	if (v->have_headers)
		return MV_EINVAL;
	v->have_headers = 1;
	v->m = m;
	if ((st = mv_arc_collect(m, &v->sets)) != MV_OK)
		return st;
	v->nchains = v->sets.nchains;
	for (k = 0; k < v->nchains; k++)
		if ((st = setup_chain(v, k)) != MV_OK)
			return st;
	return prefetch(v);
}

enum mv_status mv_arc_validator_body(struct mv_arc_validator *v, const void *p, size_t n)
{
	enum mv_status st;
	size_t k;

	if (!v->have_headers || v->finished)
		return MV_EINVAL;
	for (k = 0; k < v->nhashers; k++)
		if ((st = mv_dkim_bodyhash_update(v->hashers[k], p, n)) != MV_OK)
			return st;
	return MV_OK;
}
