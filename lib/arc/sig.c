/* lib/arc/sig.c — ARC-Message-Signature and ARC-Seal as data (RFC 8617 §4.1.2, §4.1.3). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc_int.h"

static void bad(struct mv_arc_sig *s, const char *fmt, ...) MV_PRINTF(2, 3);

static void bad(struct mv_arc_sig *s, const char *fmt, ...)
{
	va_list ap;

	if (s->bad)
		return;
	s->bad = 1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
}

/*
 * A domain name or selector as RFC 6376 §3.5 allows (sub-domain): labels of
 * letters, digits, '-' and '_' (selectors and deployed names use '_'), none
 * empty, at most 63 bytes each and 253 in all.
 */
static int dns_name_ok(const char *p, size_t n)
{
	size_t label = 0, i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_') ||
		    ++label > 63)
			return 0;
	}
	return label > 0;
}

static char *dup_name(struct mv_arc_sig *s, const struct mv_tag *t, int *nomem)
{
	char *v;

	if (!dns_name_ok(t->value, t->value_len)) {
		bad(s, "bad %.*s=", (int)t->name_len, t->name);
		return NULL;
	}
	if ((v = mv_taglist_value_dup(t)) == NULL)
		*nomem = 1;
	return v;
}

static unsigned char *b64(struct mv_arc_sig *s, const struct mv_tag *t, size_t *outlen, int *nomem)
{
	enum mv_status st;
	unsigned char *bin;
	size_t n;
	char *text = mv_taglist_value_nows(t, &n);

	if (text == NULL) {
		*nomem = 1;
		return NULL;
	}
	bin = mv_dkim_b64_decode(text, n, outlen, &st);
	free(text);
	if (st == MV_ENOMEM)
		*nomem = 1;
	else if (st != MV_OK)
		bad(s, "%.*s= is not base64", (int)t->name_len, t->name);
	else if (*outlen == 0)
		bad(s, "%.*s= is empty", (int)t->name_len, t->name);
	return bin;
}

static void parse_c(struct mv_arc_sig *s, const struct mv_tag *t)
{
	if (mv_dkim_canon_parse(t->value, t->value_len, &s->hcanon, &s->bcanon) != MV_OK)
		bad(s, "unknown canonicalization c=%.*s", (int)t->value_len, t->value);
}

static int is_ftext(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 33 && u <= 126 && u != ':';
}

/* h=: names separated by ':' with FWS around them; empty names are skipped. */
static void parse_h(struct mv_arc_sig *s, const struct mv_tag *t, int *nomem)
{
	const char *p = t->value, *end = t->value + t->value_len;

	if ((s->h = calloc(MV_DKIM_MAX_H, sizeof *s->h)) == NULL) {
		*nomem = 1;
		return;
	}
	while (p <= end && !s->bad) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon ? colon : end, *ns, *ne, *q;
		for (ns = p; ns < stop && !is_ftext(*ns); ns++)
			;
		for (ne = ns; ne < stop && is_ftext(*ne); ne++)
			;
		for (q = ne; q < stop && !is_ftext(*q); q++)
			;
		if (q != stop)
			bad(s, "bad field name in h=");
		else if (ns < ne && s->nh == MV_DKIM_MAX_H)
			bad(s, "more than %d names in h=", MV_DKIM_MAX_H);
		else if (ns < ne && (s->h[s->nh] = mv_strndup(ns, (size_t)(ne - ns))) == NULL)
			*nomem = 1;
		else if (ns < ne)
			mv_ascii_lower(s->h[s->nh++], (size_t)(ne - ns));
		if (colon == NULL || *nomem)
			break;
		p = colon + 1;
	}
}

static void parse_cv(struct mv_arc_sig *s, const struct mv_tag *t)
{
	if (mv_ascii_ieq(t->value, t->value_len, "none"))
		s->cv = MV_ARC_NONE;
	else if (mv_ascii_ieq(t->value, t->value_len, "pass"))
		s->cv = MV_ARC_PASS;
	else if (mv_ascii_ieq(t->value, t->value_len, "fail"))
		s->cv = MV_ARC_FAIL;
	else
		bad(s, "bad cv=");
}

static void parse_a(struct mv_arc_sig *s, const struct mv_tag *t, int *nomem)
{
	if ((s->a = mv_taglist_value_dup(t)) == NULL) {
		*nomem = 1;
		return;
	}
	if (strcmp(s->a, "rsa-sha256") == 0)
		s->alg = MV_DKIM_RSA_SHA256;
	else if (strcmp(s->a, "ed25519-sha256") == 0)
		s->alg = MV_DKIM_ED25519_SHA256;
	else
		bad(s, "unsupported algorithm a=%.40s", s->a);
}

/* Numbers t=, x=, l=: well-formed when present. */
static void parse_numbers(struct mv_arc_sig *s, const struct mv_taglist *tl)
{
	static const char *const names[] = {"t", "x", "l"};
	int64_t *dst[] = {&s->t, &s->x, &s->l};
	const struct mv_tag *t;
	size_t k;

	for (k = 0; k < 3; k++)
		if ((t = mv_taglist_get(tl, names[k])) != NULL &&
		    (*dst[k] = mv_taglist_number(t)) < 0)
			bad(s, "bad %s=", names[k]);
}

static void read_tags(struct mv_arc_sig *s, const struct mv_taglist *tl, const char *value,
                      size_t value_off, int *nomem)
{
	static const char *const req_ams[] = {"a", "b", "bh", "d", "h", "s"};
	static const char *const req_as[] = {"a", "b", "cv", "d", "s"};
	const char *const *req = s->kind == ARC_AMS ? req_ams : req_as;
	size_t nreq = s->kind == ARC_AMS ? 6 : 5, k;
	const struct mv_tag *t;

	for (k = 0; k < nreq; k++)
		if (mv_taglist_get(tl, req[k]) == NULL)
			bad(s, "missing %s=", req[k]);
	if (s->kind == ARC_AS && mv_taglist_get(tl, "h") != NULL)
		bad(s, "h= is not allowed in ARC-Seal");
	if ((t = mv_taglist_get(tl, "a")) != NULL)
		parse_a(s, t, nomem);
	if ((t = mv_taglist_get(tl, "d")) != NULL)
		s->d = dup_name(s, t, nomem);
	if ((t = mv_taglist_get(tl, "s")) != NULL)
		s->s = dup_name(s, t, nomem);
	if ((t = mv_taglist_get(tl, "b")) != NULL) {
		s->b = b64(s, t, &s->blen, nomem);
		s->b_off = value_off + (size_t)(t->raw_value - value);
		s->b_len = t->raw_len;
	}
	if (s->kind == ARC_AMS && (t = mv_taglist_get(tl, "bh")) != NULL)
		s->bh = b64(s, t, &s->bhlen, nomem);
	if (s->kind == ARC_AMS && (t = mv_taglist_get(tl, "h")) != NULL)
		parse_h(s, t, nomem);
	for (k = 0; k < s->nh; k++) /* the seal, not the AMS, covers ARC-Seal fields */
		if (strcmp(s->h[k], "arc-seal") == 0)
			bad(s, "h= names ARC-Seal");
	if (s->kind == ARC_AMS && (t = mv_taglist_get(tl, "c")) != NULL)
		parse_c(s, t);
	if (s->kind == ARC_AS && (t = mv_taglist_get(tl, "cv")) != NULL)
		parse_cv(s, t);
	parse_numbers(s, tl);
}

struct mv_arc_sig *mv_arc_sig_parse(const struct mv_msg *m, size_t idx, enum arc_kind kind,
                                    int *nomem)
{
	const struct mv_msg_field *f = mv_msg_field(m, idx);
	struct mv_arc_sig *s;
	struct mv_taglist tl;
	const struct mv_tag *ti;

	*nomem = 0;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		*nomem = 1;
		return NULL;
	}
	s->kind = kind;
	s->field = idx;
	s->alg = MV_DKIM_ALG_UNKNOWN;
	s->hcanon = s->bcanon = MV_CANON_SIMPLE;
	s->t = s->x = s->l = -1;
	s->cv = MV_ARC_FAIL;
	if (f == NULL ||
	    mv_taglist_parse(f->value, f->value_len, &tl, s->why, sizeof s->why) != MV_OK) {
		s->bad = 1;
		return s;
	}
	if ((ti = mv_taglist_get(&tl, "i")) == NULL ||
	    (s->instance = mv_arc_instance_value(ti->value, ti->value_len)) == 0)
		bad(s, "bad i=");
	read_tags(s, &tl, f->value, (size_t)(f->value - f->raw), nomem);
	if (*nomem) {
		mv_arc_sig_free(s);
		return NULL;
	}
	return s;
}

void mv_arc_sig_free(struct mv_arc_sig *s)
{
	size_t k;

	if (s == NULL)
		return;
	free(s->a);
	free(s->d);
	free(s->s);
	for (k = 0; k < s->nh; k++)
		free(s->h[k]);
	free(s->h);
	free(s->b);
	free(s->bh);
	free(s);
}
