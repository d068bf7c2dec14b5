/* lib/arc/seal.c — adding ARC sets (RFC 8617 §5.1; draft-ietf-dmarc-arc-multi-02 §5.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/validator.h"

/*
 * Fields are folded only between tags, never inside a value: the seal
 * covers the AMS (and later seals this AS) in relaxed form, where a fold
 * inside b= would become a space inside it. The suite's standard format
 * (UPSTREAM-README "Signing Header Format Standardization") is the same
 * text unfolded: tags in alphabetical order, "; " between them. Folds are
 * CRLF and one space, not a tab: dkimpy finds the raw AMS of instance N by
 * looking for " i=N;" in it.
 */

void mv_arc_seal_opts_default(struct mv_arc_seal_opts *o)
{
	memset(o, 0, sizeof *o);
	o->now = -1;
}

/* One set to add: which key, which chain it continues (-1: a new chain), with what cv=. */
struct plan {
	size_t key;
	int chain;
	enum mv_arc_cv cv;
};

/* What every set of this sealing shares. */
struct sealing {
	const struct mv_arc_seal_opts *o;
	const struct mv_msg *m; /* the message as given */
	struct mv_msg *aug;     /* the message with the new AAR on top (AMS hash) */
	const struct mv_arc_validator *v;
	struct mv_arc_sets sets; /* the ARC fields of m */
	unsigned inst;           /* the new instance */
	char **h;                /* AMS h= names */
	size_t nh;
	char *hlist;       /* the same, as written in h= */
	struct mv_buf aar; /* the new AAR field, with its CRLF */
	char bh[64];       /* base64 body hash (relaxed) */
	struct mv_buf scratch;
};

static void free_names(char **h, size_t nh)
{
	size_t k;

	for (k = 0; k < nh; k++)
		free(h[k]);
	free(h);
}

/* Add name (n bytes, lowercased) to the list, `times` times. */
static enum mv_status add_name(struct sealing *s, struct mv_buf *list, const char *name, size_t n,
                               size_t times)
{
	size_t t;

	for (t = 0; t < times; t++) {
		if (s->nh == MV_DKIM_MAX_H)
			return MV_EINVAL;
		if ((s->h[s->nh] = mv_strndup(name, n)) == NULL)
			return MV_ENOMEM;
		mv_ascii_lower(s->h[s->nh], n);
		if (list->len > 0)
			mv_buf_putc(list, ':');
		mv_buf_append(list, s->h[s->nh], n);
		s->nh++;
	}
	return mv_buf_status(list);
}

/*
 * The AMS h= list: the caller's names (ARC-Seal and ARC-Message-Signature
 * refused: the seal, not the AMS, covers them), or every instance of the
 * default names present, From once more.
 */
static enum mv_status build_h(struct sealing *s)
{
	const char *list =
	        s->o->headers ? s->o->headers : MV_DKIM_DEFAULT_HEADERS ":dkim-signature";
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	const char *p = list;
	char name[80];

	if ((s->h = calloc(MV_DKIM_MAX_H, sizeof *s->h)) == NULL)
		return MV_ENOMEM;
	while (*p != '\0' && st == MV_OK) {
		size_t n = strcspn(p, ":"), times = 1, j;
		const char *q = p;
		p += n + (p[n] == ':');
		while (n > 0 && (*q == ' ' || *q == '\t')) {
			q++;
			n--;
		}
		while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof name || mv_ascii_ieq(q, n, "arc-seal") ||
		    mv_ascii_ieq(q, n, "arc-message-signature")) {
			st = MV_EINVAL;
			break;
		}
		memcpy(name, q, n);
		name[n] = '\0';
		if (s->o->headers == NULL) {
			times = mv_ascii_ieq(name, n, "from");
			for (j = mv_msg_find(s->m, name, 0); j != (size_t)-1;
			     j = mv_msg_find(s->m, name, j + 1))
				times++;
		}
		st = add_name(s, &b, name, n, times);
	}
	if (st == MV_OK && (s->hlist = mv_buf_steal(&b, NULL)) == NULL)
		st = MV_ENOMEM;
	mv_buf_free(&b);
	return st;
}

/* The message with the new AAR on top, for the AMS header hash. */
static enum mv_status build_aug(struct sealing *s)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;
	size_t k, nf = mv_msg_field_count(s->m);

	mv_buf_append(&b, s->aar.data, s->aar.len);
	for (k = 0; k < nf; k++) {
		const struct mv_msg_field *f = mv_msg_field(s->m, k);
		mv_buf_append(&b, f->raw, f->raw_len);
		if (f->raw_len == 0 || f->raw[f->raw_len - 1] != '\n')
			mv_buf_puts(&b, "\r\n");
	}
	if ((st = mv_buf_status(&b)) == MV_OK)
		st = mv_msg_parse(b.data, b.len, NULL, &s->aug, NULL, 0);
	mv_buf_free(&b);
	return st;
}

/* The AMS bh=: the base64 of the relaxed body hash. */
static enum mv_status put_bh(struct sealing *s, const unsigned char *digest)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;

	st = mv_dkim_b64_encode(digest, ARC_HASHLEN, &b);
	if (st == MV_OK && b.len < sizeof s->bh)
		memcpy(s->bh, b.data, b.len + 1);
	else if (st == MV_OK)
		st = MV_EINVAL;
	mv_buf_free(&b);
	return st;
}

/* Sign hash with key and put b= into field at off (the field has no final CRLF). */
static enum mv_status put_b(const struct mv_dkim_signkey *key, const unsigned char *hash,
                            struct mv_buf *field, size_t off)
{
	struct mv_buf b64 = MV_BUF_INIT, done = MV_BUF_INIT;
	unsigned char *sig = NULL;
	size_t siglen;
	enum mv_status st;

	if ((st = mv_dkim_signkey_sign_alloc(key, hash, &sig, &siglen)) != MV_OK)
		goto out;
	if ((st = mv_dkim_b64_encode(sig, siglen, &b64)) != MV_OK)
		goto out;
	mv_buf_append(&done, field->data, off);
	mv_buf_append(&done, b64.data, b64.len);
	mv_buf_append(&done, field->data + off, field->len - off);
	if ((st = mv_buf_status(&done)) != MV_OK)
		goto out;
	mv_buf_free(field);
	*field = done;
	mv_buf_init(&done);
out:
	free(sig);
	mv_buf_free(&b64);
	mv_buf_free(&done);
	return st;
}

/* The AMS of one set (field without CRLF in *ams). */
static enum mv_status make_ams(struct sealing *s, const struct mv_dkim_signkey *key,
                               const char *selector, struct mv_buf *ams)
{
	unsigned char hash[ARC_HASHLEN];
	size_t off;
	enum mv_status st;

	mv_buf_printf(ams, "ARC-Message-Signature: a=%s; b=", mv_dkim_alg_str(key->alg));
	off = ams->len;
	mv_buf_printf(ams, ";\r\n bh=%s; c=relaxed/relaxed; d=%s;\r\n h=%s;\r\n i=%u; s=%s; t=%lld",
	              s->bh, s->o->domain, s->hlist, s->inst, selector, (long long)s->o->now);
	if ((st = mv_buf_status(ams)) != MV_OK)
		return st;
	st = mv_dkim_hash_headers(s->aug, MV_CANON_RELAXED, s->h, s->nh, ams->data, ams->len, off,
	                          0, &s->scratch, hash);
	return st == MV_OK ? put_b(key, hash, ams, off) : st;
}

/* The raw field idx of the message. */
static void raw_of(const struct mv_msg *m, size_t idx, const char **p, size_t *n)
{
	const struct mv_msg_field *f = mv_msg_field(m, idx);

	*p = f->raw;
	*n = f->raw_len;
}

/* The AS of one set; the chain's earlier sets are covered unless cv=fail (RFC 8617 §5.1.2). */
static enum mv_status make_as(struct sealing *s, const struct plan *pl,
                              const struct mv_dkim_signkey *key, const char *selector,
                              const struct mv_buf *ams, struct mv_buf *as)
{
	struct mv_arc_rawset sets[MV_ARC_MAX_INSTANCE];
	unsigned char hash[ARC_HASHLEN];
	size_t off, n = 0;
	unsigned j;
	enum mv_status st;

	mv_buf_printf(as, "ARC-Seal: a=%s; b=", mv_dkim_alg_str(key->alg));
	off = as->len;
	mv_buf_printf(as, ";\r\n cv=%s; d=%s; i=%u; s=%s; t=%lld", mv_arc_cv_str(pl->cv),
	              s->o->domain, s->inst, selector, (long long)s->o->now);
	if ((st = mv_buf_status(as)) != MV_OK)
		return st;
	if (pl->chain < 0 && pl->cv == MV_ARC_PASS)
		return MV_EINVAL; /* a passing chain m does not hold */
	if (pl->chain >= 0 && pl->cv != MV_ARC_FAIL) {
		const struct mv_arc_chain_fields *cf = &s->sets.chain[pl->chain];
		for (j = 1; j < s->inst; j++, n++) {
			if (s->sets.aar[j] == MV_ARC_NOFIELD || cf->ams[j] == MV_ARC_NOFIELD ||
			    cf->as[j] == MV_ARC_NOFIELD)
				return MV_EINVAL; /* v passed a chain m does not hold */
			raw_of(s->m, s->sets.aar[j], &sets[n].aar, &sets[n].aar_len);
			raw_of(s->m, cf->ams[j], &sets[n].ams, &sets[n].ams_len);
			raw_of(s->m, cf->as[j], &sets[n].as, &sets[n].as_len);
		}
	}
	sets[n].aar = s->aar.data;
	sets[n].aar_len = s->aar.len;
	sets[n].ams = ams->data;
	sets[n].ams_len = ams->len;
	sets[n].as = NULL;
	sets[n].as_len = 0;
	n++;
	st = mv_arc_seal_hash(sets, n, as->data, as->len, off, 0, &s->scratch, hash);
	return st == MV_OK ? put_b(key, hash, as, off) : st;
}

/* 1 when keys[k] is the first key of its algorithm. */
static int first_of_alg(const struct mv_dkim_signkey *const *keys, size_t k)
{
	size_t j;

	for (j = 0; j < k; j++)
		if (keys[j]->alg == keys[k]->alg)
			return 0;
	return 1;
}

/* The index of the chain of algorithm alg in sets, or -1. */
static int chain_index(const struct mv_arc_sets *sets, const char *alg)
{
	size_t k;

	for (k = 0; k < sets->nchains; k++)
		if (strcmp(sets->chain[k].alg, alg) == 0)
			return (int)k;
	return -1;
}

/*
 * Which sets to add (draft-ietf-dmarc-arc-multi-02 §5.1), from the results
 * of v; pl[].chain indexes sets (the fields of the message to seal).
 * *np gets how many. MV_ETEMP (and *np 0) when a chain to continue is
 * undetermined because of a temporary DNS failure: sealing it with cv=fail
 * would end it for good (RFC 8617 §5.1 step 1), so nothing is sealed.
 */
static enum mv_status make_plan(const struct mv_arc_validator *v, const struct mv_arc_sets *sets,
                                const struct mv_dkim_signkey *const *keys, size_t nkeys,
                                struct plan *pl, size_t *np)
{
	size_t k, n = 0;
	int c;

	*np = 0;
	if (v->sets.count >= MV_ARC_MAX_INSTANCE)
		return MV_OK;
	for (k = 0; k < nkeys; k++) {
		if (!first_of_alg(keys, k))
			continue; /* one set per algorithm */
		pl[n].key = k;
		pl[n].chain = -1;
		pl[n].cv = v->sets.count == 0 ? MV_ARC_NONE : MV_ARC_FAIL;
		if (v->sets.count > 0 && v->nchains > 0) {
			for (c = 0; c < (int)v->nchains; c++)
				if (v->chain[c].res.longest &&
				    strcmp(v->chain[c].res.alg, mv_dkim_alg_str(keys[k]->alg)) == 0)
					break;
			if (c == (int)v->nchains || v->chain[c].res.ended)
				continue; /* no longest chain of ours, or a chain that has ended */
			if (v->chain[c].res.temperror)
				return MV_ETEMP;
			pl[n].chain = chain_index(sets, v->chain[c].res.alg);
			pl[n].cv = v->chain[c].res.cv == MV_ARC_PASS ? MV_ARC_PASS : MV_ARC_FAIL;
		}
		n++;
	}
	*np = n;
	return MV_OK;
}

/* 1 when the newest seal of chain cf says cv=fail (the chain has ended), 0 when not, -1 no memory. */
static int chain_ended(const struct mv_msg *m, const struct mv_arc_chain_fields *cf)
{
	struct mv_arc_sig *as;
	int nomem = 0, ended;

	if (cf->length == 0 || cf->as[cf->length] == MV_ARC_NOFIELD)
		return 0;
	if ((as = mv_arc_sig_parse(m, cf->as[cf->length], ARC_AS, &nomem)) == NULL)
		return nomem ? -1 : 0;
	ended = !as->bad && as->cv == MV_ARC_FAIL;
	mv_arc_sig_free(as);
	return ended;
}

/*
 * make_plan for a caller that has no validator, only the status cv of the
 * chain as received (mv_arc_seal_hashed): the same choices, read from the
 * fields of m (longest chains, ended chains) with cv for every chain continued.
 */
static enum mv_status plan_from_cv(const struct mv_msg *m, const struct mv_arc_sets *sets,
                                   enum mv_arc_cv cv, const struct mv_dkim_signkey *const *keys,
                                   size_t nkeys, struct plan *pl, size_t *np)
{
	unsigned longest = 0;
	size_t k, n = 0;
	int c, ended;

	*np = 0;
	if (sets->count >= MV_ARC_MAX_INSTANCE)
		return MV_OK;
	for (k = 0; k < sets->nchains; k++)
		longest = sets->chain[k].length > longest ? sets->chain[k].length : longest;
	for (k = 0; k < nkeys; k++) {
		if (!first_of_alg(keys, k))
			continue; /* one set per algorithm */
		pl[n].key = k;
		pl[n].chain = -1;
		pl[n].cv = sets->count == 0 ? MV_ARC_NONE : MV_ARC_FAIL;
		if (sets->count > 0 && !sets->malformed && sets->nchains > 0) {
			c = chain_index(sets, mv_dkim_alg_str(keys[k]->alg));
			if (c < 0 || sets->chain[c].length != longest)
				continue; /* no longest chain of ours */
			if ((ended = chain_ended(m, &sets->chain[c])) < 0)
				return MV_ENOMEM;
			if (ended)
				continue;
			pl[n].chain = c;
			pl[n].cv = cv == MV_ARC_PASS ? MV_ARC_PASS : MV_ARC_FAIL;
		}
		n++;
	}
	*np = n;
	return MV_OK;
}

/* 1 when every line break in t is a fold (CRLF followed by WSP): a field cannot smuggle another. */
static int folds_only(const char *t)
{
	for (; *t != '\0'; t++) {
		if (*t == '\r' && (t[1] != '\n' || (t[2] != ' ' && t[2] != '\t')))
			return 0;
		if (*t == '\n' && (t[-1] != '\r' || (t[1] != ' ' && t[1] != '\t')))
			return 0;
	}
	return 1;
}

/* The new AAR field (RFC 8617 §4.1.1), with its CRLF. */
static enum mv_status build_aar(struct sealing *s)
{
	enum mv_status st;

	mv_buf_printf(&s->aar, "ARC-Authentication-Results: i=%u; ", s->inst);
	if (s->o->aar_results == NULL)
		st = mv_arc_aar_payload(s->m, s->o->authserv_id, &s->aar);
	else if (s->o->aar_results[0] == '\n' || !folds_only(s->o->aar_results))
		st = MV_EINVAL;
	else
		st = mv_buf_printf(&s->aar, "%s; %s", s->o->authserv_id, s->o->aar_results);
	return st == MV_OK ? mv_buf_puts(&s->aar, "\r\n") : st;
}

static enum mv_status seal_sets(struct sealing *s, const struct plan *pl, size_t np,
                                const struct mv_dkim_signkey *const *keys,
                                const char *const *selectors, struct mv_buf *out)
{
	struct mv_buf ams = MV_BUF_INIT, as = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	size_t k;

	for (k = 0; k < np && st == MV_OK; k++) {
		const struct mv_dkim_signkey *key = keys[pl[k].key];
		const char *sel = selectors ? selectors[pl[k].key] : s->o->selector;
		mv_buf_reset(&ams);
		mv_buf_reset(&as);
		if (sel == NULL || sel[0] == '\0')
			st = MV_EINVAL;
		if (st == MV_OK)
			st = make_ams(s, key, sel, &ams);
		if (st == MV_OK)
			st = mv_buf_puts(&ams, "\r\n");
		if (st == MV_OK)
			st = make_as(s, &pl[k], key, sel, &ams, &as);
		if (st == MV_OK) {
			mv_buf_append(out, as.data, as.len);
			mv_buf_puts(out, "\r\n");
			mv_buf_append(out, ams.data, ams.len);
			st = mv_buf_status(out);
		}
	}
	mv_buf_free(&ams);
	mv_buf_free(&as);
	return st;
}

/* The options every sealing needs, and room in the plan for the keys. */
static int opts_ok(const struct mv_arc_seal_opts *o, size_t nkeys)
{
	return o->domain != NULL && o->domain[0] != '\0' && o->authserv_id != NULL &&
	       o->authserv_id[0] != '\0' && o->now >= 0 && nkeys > 0 &&
	       nkeys <= MV_ARC_MAX_ALGS + 8;
}

/* Both entry points end here: the sets to add (from v, or from cv when v is NULL), sealed. */
static enum mv_status seal_core(const struct mv_arc_seal_opts *o,
                                const struct mv_dkim_signkey *const *keys,
                                const char *const *selectors, size_t nkeys, const struct mv_msg *m,
                                const unsigned char *digest, const struct mv_arc_validator *v,
                                enum mv_arc_cv cv, struct mv_buf *out, size_t *nsets)
{
	struct plan pl[MV_ARC_MAX_ALGS + 8];
	struct sealing s;
	size_t np, start = out->len;
	enum mv_status st;

	memset(&s, 0, sizeof s);
	mv_buf_init(&s.aar);
	mv_buf_init(&s.scratch);
	s.o = o;
	s.m = m;
	s.v = v;
	if ((st = mv_arc_collect(m, &s.sets)) != MV_OK)
		goto out;
	if (v != NULL && s.sets.count != v->sets.count) {
		st = MV_EINVAL; /* v is not the validation of this message's chain */
		goto out;
	}
	if (v != NULL)
		st = make_plan(v, &s.sets, keys, nkeys, pl, &np);
	else
		st = plan_from_cv(m, &s.sets, cv, keys, nkeys, pl, &np);
	if (st != MV_OK || np == 0)
		goto out;
	s.inst = s.sets.count + 1;
	if ((st = build_aar(&s)) != MV_OK)
		goto out;
	if ((st = build_h(&s)) != MV_OK || (st = build_aug(&s)) != MV_OK ||
	    (st = put_bh(&s, digest)) != MV_OK)
		goto out;
	if ((st = seal_sets(&s, pl, np, keys, selectors, out)) != MV_OK)
		goto out;
	mv_buf_append(out, s.aar.data, s.aar.len);
	if ((st = mv_buf_status(out)) == MV_OK && nsets != NULL)
		*nsets = np;
out:
	if (st != MV_OK && mv_buf_status(out) == MV_OK && out->data != NULL) {
		out->len = start; /* nothing half-written */
		out->data[start] = '\0';
	}
	mv_msg_free(s.aug);
	free_names(s.h, s.nh);
	free(s.hlist);
	mv_buf_free(&s.aar);
	mv_buf_free(&s.scratch);
	return st;
}

enum mv_status mv_arc_seal_hashed(const struct mv_arc_seal_opts *o,
                                  const struct mv_dkim_signkey *const *keys,
                                  const char *const *selectors, size_t nkeys,
                                  const struct mv_msg *m, struct mv_dkim_bodyhash *bh,
                                  const struct mv_arc_validator *v, enum mv_arc_cv cv,
                                  struct mv_buf *out, size_t *nsets)
{
	enum mv_status st;

	if (nsets != NULL)
		*nsets = 0;
	if (!opts_ok(o, nkeys))
		return MV_EINVAL;
	if ((st = mv_dkim_bodyhash_final(bh)) != MV_OK)
		return st;
	if (!mv_dkim_bodyhash_covers(bh, MV_CANON_RELAXED, -1))
		return MV_EINVAL;
	return seal_core(o, keys, selectors, nkeys, m, mv_dkim_bodyhash_digest(bh), v, cv, out,
	                 nsets);
}

enum mv_status mv_arc_seal(const struct mv_arc_seal_opts *o,
                           const struct mv_dkim_signkey *const *keys, const char *const *selectors,
                           size_t nkeys, const struct mv_msg *m, const void *body, size_t body_len,
                           const struct mv_arc_validator *v, struct mv_resolver *r,
                           struct mv_buf *out, size_t *nsets)
{
	struct mv_arc_validator *own = NULL;
	struct mv_dkim_bodyhash *bh = NULL;
	enum mv_status st;

	if (nsets != NULL)
		*nsets = 0;
	if (!opts_ok(o, nkeys))
		return MV_EINVAL;
	if (v == NULL) {
		if ((st = mv_arc_validator_new(NULL, r, o->now, &own)) != MV_OK)
			goto out;
		if ((st = mv_arc_validator_headers(own, m)) != MV_OK)
			goto out;
		if (own->sets.count > 0 && r == NULL) {
			st = MV_EINVAL;
			goto out;
		}
		if (body_len > 0 && (st = mv_arc_validator_body(own, body, body_len)) != MV_OK)
			goto out;
		if ((st = mv_arc_validator_final(own)) != MV_OK)
			goto out;
		v = own;
	}
	if ((st = mv_dkim_bodyhash_new(MV_CANON_RELAXED, -1, &bh)) != MV_OK)
		goto out;
	if (body_len > 0 && (st = mv_dkim_bodyhash_update(bh, body, body_len)) != MV_OK)
		goto out;
	st = mv_arc_seal_hashed(o, keys, selectors, nkeys, m, bh, v, MV_ARC_NONE, out, nsets);
out:
	mv_dkim_bodyhash_free(bh);
	mv_arc_validator_free(own);
	return st;
}
