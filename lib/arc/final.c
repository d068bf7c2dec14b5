/* lib/arc/final.c — end of message: verify the chains and choose the result (RFC 8617 §5.2). */
#include <stdio.h>
#include <string.h>

#include "arc/validator.h"

/* Steps 4-7 for one chain whose structure is sound. */
static void verify_chain(struct mv_arc_validator *v, struct arc_chain *c)
{
	unsigned n = c->res.length, i;
	char why[128];

	c->decided = 1;
	c->res.cv = MV_ARC_FAIL;
	c->hop[n - 1].ams_pass = mv_arc_check_ams(v, c, n, why, sizeof why);
	if (!c->hop[n - 1].ams_pass) { /* step 4 */
		snprintf(c->res.reason, sizeof c->res.reason, "ARC-Message-Signature i=%u: %s", n,
		         why);
		return;
	}
	c->res.oldest_pass = 0; /* step 5: 0 while every AMS verifies */
	for (i = n - 1; i >= 1; i--) {
		c->hop[i - 1].ams_pass = mv_arc_check_ams(v, c, i, why, sizeof why);
		if (!c->hop[i - 1].ams_pass) {
			c->res.oldest_pass = i + 1;
			break;
		}
	}
	for (i = n; i >= 1; i--) { /* step 6 */
		if (!mv_arc_check_as(v, c, i, why, sizeof why)) {
			snprintf(c->res.reason, sizeof c->res.reason, "ARC-Seal i=%u: %s", i, why);
			return;
		}
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

/* draft-ietf-dmarc-arc-multi-02 §5.2: the longest chains decide. */
static void choose(struct mv_arc_validator *v)
{
	size_t k;
	int supported = -1;

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
	}
	if (supported < 0) {
		snprintf(v->reason, sizeof v->reason,
		         "no longest chain uses a supported algorithm");
		return;
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
