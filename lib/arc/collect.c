/* lib/arc/collect.c — the ARC set collector: fields by instance and algorithm (RFC 8617 §5.2). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arc/arc_int.h"

int mv_arc_field_kind(const char *name, size_t len)
{
	if (mv_ascii_ieq(name, len, "ARC-Authentication-Results"))
		return ARC_AAR;
	if (mv_ascii_ieq(name, len, "ARC-Message-Signature"))
		return ARC_AMS;
	if (mv_ascii_ieq(name, len, "ARC-Seal"))
		return ARC_AS;
	return -1;
}

unsigned mv_arc_instance_value(const char *p, size_t n)
{
	unsigned v = 0;
	size_t k;

	if (n == 0 || n > 2)
		return 0;
	for (k = 0; k < n; k++) {
		if (p[k] < '0' || p[k] > '9')
			return 0;
		v = v * 10 + (unsigned)(p[k] - '0');
	}
	return v >= 1 && v <= MV_ARC_MAX_INSTANCE ? v : 0;
}

static const char *skip_fws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

unsigned mv_arc_aar_instance(const char *value, size_t len, size_t *payload)
{
	const char *p = value, *end = value + len, *digits;
	unsigned inst;

	p = skip_fws(p, end);
	if (p == end || *p != 'i')
		return 0;
	p = skip_fws(p + 1, end);
	if (p == end || *p != '=')
		return 0;
	p = skip_fws(p + 1, end);
	for (digits = p; p < end && *p >= '0' && *p <= '9'; p++)
		;
	if ((inst = mv_arc_instance_value(digits, (size_t)(p - digits))) == 0)
		return 0;
	p = skip_fws(p, end);
	if (p == end || *p != ';')
		return 0;
	*payload = (size_t)(p + 1 - value);
	return inst;
}

static void malformed(struct mv_arc_sets *s, const char *fmt, ...) MV_PRINTF(2, 3);

static void malformed(struct mv_arc_sets *s, const char *fmt, ...)
{
	va_list ap;

	if (s->malformed)
		return;
	s->malformed = 1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
}

/* The chain for algorithm a[0..n), created when new; NULL when there are too many. */
static struct mv_arc_chain_fields *chain_for(struct mv_arc_sets *s, const char *a, size_t n)
{
	struct mv_arc_chain_fields *c;
	size_t k;

	if (n >= MV_ARC_ALG_MAX)
		n = 0; /* an over-long a= is no algorithm we know: it shares the "" chain */
	for (k = 0; k < s->nchains; k++)
		if (strlen(s->chain[k].alg) == n && memcmp(s->chain[k].alg, a, n) == 0)
			return &s->chain[k];
	if (s->nchains == MV_ARC_MAX_ALGS)
		return NULL;
	c = &s->chain[s->nchains++];
	memcpy(c->alg, a, n);
	c->alg[n] = '\0';
	for (k = 0; k <= MV_ARC_MAX_INSTANCE; k++)
		c->ams[k] = c->as[k] = MV_ARC_NOFIELD;
	return c;
}

/*
 * 1 when the tag-list has an empty tag-spec (";;"). RFC 6376 §3.2 requires a
 * tag-name in every tag-spec; the shared parser tolerates the empty ones
 * for the sake of deployed key records, but a signature field is ours to
 * judge strictly.
 */
static int empty_tagspec(const char *p, size_t n)
{
	int seen = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == ';') {
			if (!seen)
				return 1;
			seen = 0;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
			seen = 1;
		}
	}
	return 0;
}

/* Place one AMS or AS; returns its instance or 0. */
static unsigned place_sig(struct mv_arc_sets *s, const struct mv_msg_field *f, size_t idx,
                          enum arc_kind kind)
{
	const char *what = kind == ARC_AMS ? "ARC-Message-Signature" : "ARC-Seal";
	struct mv_arc_chain_fields *c;
	const struct mv_tag *ti, *ta;
	struct mv_taglist tl;
	unsigned inst;
	size_t *slot;

	if (mv_taglist_parse(f->value, f->value_len, &tl, NULL, 0) != MV_OK ||
	    empty_tagspec(f->value, f->value_len)) {
		malformed(s, "%s (field %zu) is not a valid tag-list", what, idx + 1);
		return 0;
	}
	ti = mv_taglist_get(&tl, "i");
	if (ti == NULL || (inst = mv_arc_instance_value(ti->value, ti->value_len)) == 0) {
		malformed(s, "%s (field %zu) has no valid i=", what, idx + 1);
		return 0;
	}
	ta = mv_taglist_get(&tl, "a");
	if ((c = chain_for(s, ta ? ta->value : "", ta ? ta->value_len : 0)) == NULL) {
		malformed(s, "more than %d signing algorithms", MV_ARC_MAX_ALGS);
		return 0;
	}
	slot = kind == ARC_AMS ? &c->ams[inst] : &c->as[inst];
	if (*slot != MV_ARC_NOFIELD)
		c->dup = 1;
	else
		*slot = idx;
	if (inst > c->length)
		c->length = inst;
	return inst;
}

/*
 * RFC 8617 §5.2 step 3 as RFC 8617 writes it: exactly one AAR, one AMS and
 * one AS for every instance 1..N, the algorithms left out of it.
 * nams[i] / nas[i]: the AMS / AS fields found for instance i.
 */
static int one_set_per_instance(const struct mv_arc_sets *s, const unsigned char *nams,
                                const unsigned char *nas)
{
	unsigned i;

	if (s->count == 0 || s->malformed)
		return 0;
	for (i = 1; i <= s->count; i++)
		if (s->aar[i] == MV_ARC_NOFIELD || nams[i] != 1 || nas[i] != 1)
			return 0;
	return 1;
}

/*
 * Fold the per-algorithm chains into chain[0], one RFC 8617 chain whatever
 * a= each set uses; its alg is the newest seal's a= (the algorithm a sealer
 * continues it with). Only for one set per instance: every slot is filled
 * by exactly one of the per-algorithm chains.
 */
static void merge_chains(struct mv_arc_sets *s)
{
	struct mv_arc_chain_fields one;
	unsigned i;
	size_t k;

	memset(&one, 0, sizeof one);
	for (i = 0; i <= MV_ARC_MAX_INSTANCE; i++)
		one.ams[i] = one.as[i] = MV_ARC_NOFIELD;
	for (k = 0; k < s->nchains; k++) {
		const struct mv_arc_chain_fields *c = &s->chain[k];
		if (c->as[s->count] != MV_ARC_NOFIELD)
			memcpy(one.alg, c->alg, sizeof one.alg);
		for (i = 1; i <= c->length; i++) {
			if (c->ams[i] != MV_ARC_NOFIELD)
				one.ams[i] = c->ams[i];
			if (c->as[i] != MV_ARC_NOFIELD)
				one.as[i] = c->as[i];
		}
	}
	one.length = s->count;
	s->chain[0] = one;
	s->nchains = 1;
	s->single = 1;
}

enum mv_status mv_arc_collect(const struct mv_msg *m, struct mv_arc_sets *s)
{
	unsigned char nams[MV_ARC_MAX_INSTANCE + 1] = {0}, nas[MV_ARC_MAX_INSTANCE + 1] = {0};
	size_t idx, nf, off;
	unsigned inst, k;

	if (m == NULL || s == NULL)
		return MV_EINVAL;
	memset(s, 0, sizeof *s);
	for (k = 0; k <= MV_ARC_MAX_INSTANCE; k++)
		s->aar[k] = MV_ARC_NOFIELD;
	nf = mv_msg_field_count(m);
	for (idx = 0; idx < nf; idx++) {
		const struct mv_msg_field *f = mv_msg_field(m, idx);
		int kind = mv_arc_field_kind(f->name, f->name_len);
		if (kind < 0)
			continue;
		if (kind != ARC_AAR) {
			inst = place_sig(s, f, idx, (enum arc_kind)kind);
			if (inst > 0 && kind == ARC_AMS && nams[inst] < 2)
				nams[inst]++;
			else if (inst > 0 && kind == ARC_AS && nas[inst] < 2)
				nas[inst]++;
		} else if ((inst = mv_arc_aar_instance(f->value, f->value_len, &off)) == 0) {
			malformed(s, "ARC-Authentication-Results (field %zu) has no valid i=",
			          idx + 1);
		} else if (s->aar[inst] != MV_ARC_NOFIELD) {
			malformed(s, "two ARC-Authentication-Results for i=%u", inst);
		} else {
			s->aar[inst] = idx;
		}
		if (inst > s->count)
			s->count = inst;
	}
	for (k = 1; k <= s->count; k++)
		if (s->aar[k] == MV_ARC_NOFIELD)
			malformed(s, "no ARC-Authentication-Results for i=%u", k);
	if (one_set_per_instance(s, nams, nas))
		merge_chains(s);
	return MV_OK;
}
