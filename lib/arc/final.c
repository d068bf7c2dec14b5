/* lib/arc/final.c — end of message: verify the chains and choose the result (RFC 8617 §5.2). */
#include <stdio.h>
#include <string.h>

#include "arc/validator.h"

/* hop->ams_pass for a check: 1 verified, 0 did not, -1 undetermined. */
static int ams_pass_of(enum arc_check r)
{
	return r == ARC_CHECK_PASS ? 1 : r == ARC_CHECK_FAIL ? 0 : -1;
}

/*
 * Step 5: the older AMSs, for header.oldest-pass (0 while every AMS
 * verifies). An AMS whose key lookup failed temporarily counts as one that
 * does not verify: oldest-pass then claims no more than is known.
 */
static void oldest_pass(struct mv_arc_validator *v, struct arc_chain *c)
{
	enum arc_check r;
	unsigned i;
	char why[128];

	c->res.oldest_pass = 0;
	for (i = c->res.length - 1; i >= 1; i--) {
		r = mv_arc_check_ams(v, c, i, why, sizeof why);
		c->hop[i - 1].ams_pass = ams_pass_of(r);
		if (r != ARC_CHECK_PASS) {
			c->res.oldest_pass = i + 1;
			break;
		}
	}
}

/*
 * Steps 4-7 for one chain whose structure is sound. A signature that does
 * not verify fails the chain; one whose key lookup failed temporarily
 * leaves it undetermined (res.temperror, cv fail, reason "temporary DNS
 * failure: ...") unless another signature fails it for good.
 */
static void verify_chain(struct mv_arc_validator *v, struct arc_chain *c)
{
	unsigned n = c->res.length, i, temp_i = 0;
	const char *temp_field = NULL;
	enum arc_check r;
	char why[128], temp_why[128];

	c->decided = 1;
	c->res.cv = MV_ARC_FAIL;
	r = mv_arc_check_ams(v, c, n, why, sizeof why); /* step 4 */
	c->hop[n - 1].ams_pass = ams_pass_of(r);
	if (r == ARC_CHECK_FAIL) {
		snprintf(c->res.reason, sizeof c->res.reason, "ARC-Message-Signature i=%u: %s", n,
		         why);
		return;
	}
	if (r == ARC_CHECK_TEMP) {
		temp_field = "ARC-Message-Signature";
		temp_i = n;
		memcpy(temp_why, why, sizeof why);
	} else {
		oldest_pass(v, c);
	}
	for (i = n; i >= 1; i--) { /* step 6 */
		r = mv_arc_check_as(v, c, i, why, sizeof why);
		if (r == ARC_CHECK_FAIL) {
			snprintf(c->res.reason, sizeof c->res.reason, "ARC-Seal i=%u: %s", i, why);
			return;
		}
		if (r == ARC_CHECK_TEMP && temp_field == NULL) {
			temp_field = "ARC-Seal";
			temp_i = i;
			memcpy(temp_why, why, sizeof why);
		}
	}
	if (temp_field != NULL) {
		c->res.temperror = 1;
		snprintf(c->res.reason, sizeof c->res.reason,
		         "temporary DNS failure: %s i=%u: %.100s", temp_field, temp_i, temp_why);
		return;
	}
	c->res.cv = MV_ARC_PASS; /* step 7 */
	c->res.reason[0] = '\0';
}

/* What each instance says, for reporting and for lib/verify's local policy. */
static void fill_hops(struct mv_arc_validator *v, struct arc_chain *c)
{
	unsigned i;
	size_t off;

	for (i = 1; i <= c->res.length; i++) {
		struct mv_arc_hop *h = &c->hop[i - 1];
		h->instance = i;
		if (c->as[i] != NULL) {
			h->as_d = c->as[i]->d;
			h->as_s = c->as[i]->s;
			h->cv = c->as[i]->cv;
		}
		if (c->ams[i] != NULL) {
			h->ams_d = c->ams[i]->d;
			h->ams_s = c->ams[i]->s;
		}
		if (v->sets.aar[i] != MV_ARC_NOFIELD) {
			const struct mv_msg_field *f = mv_msg_field(v->m, v->sets.aar[i]);
			if (mv_arc_aar_instance(f->value, f->value_len, &off) == i) {
				h->aar = f->value + off;
				h->aar_len = f->value_len - off;
			}
		}
	}
	c->res.nhops = c->res.length;
}

/*
 * draft-ietf-dmarc-arc-multi-02 §5.2: the longest chains decide. A passing
 * one wins; else one left undetermined by a temporary DNS failure (it might
 * pass on a later attempt), which makes the outcome a temperror; else the
 * first one that failed.
 */
static void choose(struct mv_arc_validator *v)
{
	size_t k;
	int supported = -1, temp = -1;

	if (v->sets.count == 0) {
		v->cv = MV_ARC_NONE;
		return;
	}
	v->cv = MV_ARC_FAIL;
	if (v->sets.malformed) {
		snprintf(v->reason, sizeof v->reason, "%s", v->sets.why);
		return;
	}
	for (k = 0; k < v->nchains; k++) {
		const struct mv_arc_chain_result *r = &v->chain[k].res;
		if (!r->longest || !r->supported)
			continue;
		if (r->cv == MV_ARC_PASS) {
			v->chosen = (int)k;
			v->cv = MV_ARC_PASS;
			v->reason[0] = '\0';
			return;
		}
		if (supported < 0)
			supported = (int)k;
		if (temp < 0 && r->temperror)
			temp = (int)k;
	}
	if (supported < 0) {
		snprintf(v->reason, sizeof v->reason,
		         "no longest chain uses a supported algorithm");
		return;
	}
	if (temp >= 0) {
		v->temperror = 1;
		supported = temp;
	}
	v->chosen = supported;
	snprintf(v->reason, sizeof v->reason, "%s", v->chain[supported].res.reason);
}

enum mv_status mv_arc_validator_final(struct mv_arc_validator *v)
{
	enum mv_status st;
	size_t k;

	if (!v->have_headers || v->finished)
		return MV_EINVAL;
	v->finished = 1;
	for (k = 0; k < v->nhashers; k++)
		if ((st = mv_dkim_bodyhash_final(v->hashers[k])) != MV_OK)
			return st;
	for (k = 0; k < v->nchains; k++) {
		if (v->chain[k].evaluate && !v->chain[k].decided)
			verify_chain(v, &v->chain[k]);
		fill_hops(v, &v->chain[k]);
	}
	choose(v);
	return MV_OK;
}

enum mv_status mv_arc_validator_message(struct mv_arc_validator *v, const struct mv_msg *m)
{
	enum mv_status st;
	const char *body;
	size_t blen;

	if ((st = mv_arc_validator_headers(v, m)) != MV_OK)
		return st;
	mv_msg_body(m, &body, &blen, NULL);
	if (blen > 0 && (st = mv_arc_validator_body(v, body, blen)) != MV_OK)
		return st;
	return mv_arc_validator_final(v);
}

enum mv_arc_cv mv_arc_validator_cv(const struct mv_arc_validator *v, const char **reason)
{
	if (reason != NULL)
		*reason = v->reason;
	return v->cv;
}

int mv_arc_validator_temperror(const struct mv_arc_validator *v)
{
	return v->temperror;
}

const struct mv_arc_chain_result *mv_arc_validator_chosen(const struct mv_arc_validator *v)
{
	return v->chosen < 0 ? NULL : &v->chain[v->chosen].res;
}

size_t mv_arc_validator_nchains(const struct mv_arc_validator *v)
{
	return v->nchains;
}

const struct mv_arc_chain_result *mv_arc_validator_chain(const struct mv_arc_validator *v, size_t k)
{
	return k < v->nchains ? &v->chain[k].res : NULL;
}

unsigned mv_arc_validator_count(const struct mv_arc_validator *v)
{
	return v->sets.count;
}
