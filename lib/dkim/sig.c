/* lib/dkim/sig.c — the DKIM-Signature field as data (RFC 6376 §3.5). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

#include "dkim/dkim_int.h"

struct sigparse {
	struct mv_dkim_sig *sig;
	const char *text;  /* the parsed value */
	enum mv_status st; /* the first problem found */
	int nomem;         /* an allocation failed */
	int tmpl;          /* a signing template: b= and bh= may be empty */
	char *err;
	size_t errlen;
};

static void fail(struct sigparse *sp, enum mv_status st, const char *fmt, ...) MV_PRINTF(3, 4);

static void fail(struct sigparse *sp, enum mv_status st, const char *fmt, ...)
{
	va_list ap;

	if (sp->st != MV_OK)
		return;
	sp->st = st;
	if (sp->err == NULL || sp->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sp->err, sp->errlen, fmt, ap);
	va_end(ap);
}

/* A copy of the tag's value, noting a failed allocation. */
static char *dup_value(struct sigparse *sp, const struct mv_tag *t)
{
	char *v = mv_taglist_value_dup(t);

	if (v == NULL)
		sp->nomem = 1;
	return v;
}

const char *mv_dkim_alg_str(enum mv_dkim_alg a)
{
	switch (a) {
	case MV_DKIM_RSA_SHA256:
		return "rsa-sha256";
	case MV_DKIM_ED25519_SHA256:
		return "ed25519-sha256";
	case MV_DKIM_RSA_SHA1:
		return "rsa-sha1";
	case MV_DKIM_ALG_UNKNOWN:
		break;
	}
	return "unknown";
}

int mv_dkim_domain_within(const char *sub, const char *dom)
{
	size_t ls = strlen(sub), ld = strlen(dom);

	if (ld == 0 || ls < ld)
		return 0;
	if (!mv_ascii_ieq(sub + (ls - ld), ld, dom))
		return 0;
	return ls == ld || sub[ls - ld - 1] == '.';
}

/* c= "header[/body]"; the body canonicalization defaults to simple. */
static void parse_canon(struct sigparse *sp, const struct mv_tag *t)
{
	if (mv_dkim_canon_parse(t->value, t->value_len, &sp->sig->hcanon, &sp->sig->bcanon) !=
	    MV_OK)
		fail(sp, MV_EUNSUPPORTED, "unknown canonicalization c=%.*s", (int)t->value_len,
		     t->value);
}

static void parse_alg(struct sigparse *sp, const struct mv_tag *t)
{
	struct mv_dkim_sig *sig = sp->sig;

	if ((sig->a = dup_value(sp, t)) == NULL)
		return;
	if (strcmp(sig->a, "rsa-sha256") == 0)
		sig->alg = MV_DKIM_RSA_SHA256;
	else if (strcmp(sig->a, "ed25519-sha256") == 0)
		sig->alg = MV_DKIM_ED25519_SHA256;
	else if (strcmp(sig->a, "rsa-sha1") == 0)
		sig->alg = MV_DKIM_RSA_SHA1;
}

static int is_ftext(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 33 && u <= 126 && u != ':';
}

/* h= : field names separated by ':' with FWS around them. */
static void parse_h(struct sigparse *sp, const struct mv_tag *t)
{
	struct mv_dkim_sig *sig = sp->sig;
	const char *p = t->value, *end = t->value + t->value_len;

	if ((sig->h = calloc(MV_DKIM_MAX_H, sizeof *sig->h)) == NULL) {
		sp->nomem = 1;
		return;
	}
	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p)), *q;
		const char *stop = colon ? colon : end, *ns, *ne;
		for (ns = p; ns < stop && !is_ftext(*ns); ns++)
			;
		for (ne = ns; ne < stop && is_ftext(*ne); ne++)
			;
		for (q = ne; q < stop && !is_ftext(*q); q++)
			;
		if (ns == ne || q != stop) {
			fail(sp, MV_ESYNTAX, "bad field name in h=");
			return;
		}
		if (sig->nh == MV_DKIM_MAX_H) {
			fail(sp, MV_ESYNTAX, "more than %d names in h=", MV_DKIM_MAX_H);
			return;
		}
		if ((sig->h[sig->nh] = mv_strndup(ns, (size_t)(ne - ns))) == NULL) {
			sp->nomem = 1;
			return;
		}
		mv_ascii_lower(sig->h[sig->nh], (size_t)(ne - ns));
		sig->nh++;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
}

static void parse_b64(struct sigparse *sp, const struct mv_tag *t, char **text, unsigned char **bin,
                      size_t *binlen)
{
	enum mv_status st;
	size_t n;

	if ((*text = mv_taglist_value_nows(t, &n)) == NULL) {
		sp->nomem = 1;
		return;
	}
	*bin = mv_dkim_b64_decode(*text, n, binlen, &st);
	if (st == MV_ENOMEM)
		sp->nomem = 1;
	else if (st == MV_ESYNTAX)
		fail(sp, MV_ESYNTAX, "%.*s= is not base64", (int)t->name_len, t->name);
	else if (st == MV_OK && *binlen == 0 && !sp->tmpl)
		fail(sp, MV_ESYNTAX, "%.*s= is empty", (int)t->name_len, t->name);
}

/* q= is a colon-separated list that must name dns/txt. */
static void check_q(struct sigparse *sp, const struct mv_tag *t)
{
	const char *p = t->value, *end = t->value + t->value_len;

	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		size_t n = colon ? (size_t)(colon - p) : (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' ||
		                 p[n - 1] == '\r'))
			n--;
		while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
			n--;
		}
		if (n == 7 && memcmp(p, "dns/txt", 7) == 0)
			return;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	fail(sp, MV_EUNSUPPORTED, "no supported query method in q=");
}

/*
 * §3.5 d= and the domain of i= are domain-name (sub-domain 1*("." sub-domain),
 * RFC 5321 labels; U-labels as RFC 8616 allows): anything else, such as
 * "bank.example(.attacker.example", names no signer and is refused before
 * a key is looked up under it.
 */
static void check_domain(struct sigparse *sp, const char *what, const char *dom)
{
	enum mv_status st = mv_addr_domain_valid(dom, strlen(dom), 2);

	if (st == MV_ENOMEM)
		sp->nomem = 1;
	else if (st != MV_OK && dom[0] == '\0')
		fail(sp, MV_ESYNTAX, "empty %s", what);
	else if (st != MV_OK)
		fail(sp, MV_ESYNTAX, "%s is not a domain name", what);
}

/* The tags every signature must carry (RFC 6376 §3.5). */
static const char *const required[] = {"v", "a", "b", "bh", "d", "h", "s"};

static void read_tags(struct sigparse *sp, const struct mv_taglist *tl)
{
	struct mv_dkim_sig *sig = sp->sig;
	const struct mv_tag *t;
	size_t i;

	for (i = 0; i < sizeof required / sizeof required[0]; i++)
		if (mv_taglist_get(tl, required[i]) == NULL)
			fail(sp, MV_ESYNTAX, "missing required tag %s=", required[i]);
	if ((t = mv_taglist_get(tl, "v")) != NULL && !(t->value_len == 1 && t->value[0] == '1'))
		fail(sp, MV_ESYNTAX, "unknown version v=%.*s", (int)t->value_len, t->value);
	if ((t = mv_taglist_get(tl, "a")) != NULL)
		parse_alg(sp, t);
	if ((t = mv_taglist_get(tl, "d")) != NULL && (sig->d = dup_value(sp, t)) != NULL)
		check_domain(sp, "d=", sig->d);
	if ((t = mv_taglist_get(tl, "s")) != NULL && (sig->s = dup_value(sp, t)) != NULL &&
	    sig->s[0] == '\0')
		fail(sp, MV_ESYNTAX, "empty s=");
	if ((t = mv_taglist_get(tl, "b")) != NULL) {
		parse_b64(sp, t, &sig->b64, &sig->b, &sig->blen);
		sig->b_off = (size_t)(t->raw_value - sp->text);
		sig->b_len = t->raw_len;
	}
	if ((t = mv_taglist_get(tl, "bh")) != NULL) {
		char *text = NULL;
		parse_b64(sp, t, &text, &sig->bh, &sig->bhlen);
		free(text);
	}
	if ((t = mv_taglist_get(tl, "h")) != NULL)
		parse_h(sp, t);
	if ((t = mv_taglist_get(tl, "i")) != NULL)
		sig->i = dup_value(sp, t);
	if ((t = mv_taglist_get(tl, "c")) != NULL)
		parse_canon(sp, t);
	if ((t = mv_taglist_get(tl, "l")) != NULL && (sig->l = mv_taglist_number(t)) < 0)
		fail(sp, MV_ESYNTAX, "bad l=");
	if ((t = mv_taglist_get(tl, "t")) != NULL && (sig->t = mv_taglist_number(t)) < 0)
		fail(sp, MV_ESYNTAX, "bad t=");
	if ((t = mv_taglist_get(tl, "x")) != NULL && (sig->x = mv_taglist_number(t)) < 0)
		fail(sp, MV_ESYNTAX, "bad x=");
	if ((t = mv_taglist_get(tl, "q")) != NULL)
		check_q(sp, t);
}

/* Checks across tags, once each tag has been read. */
static void check_tags(struct sigparse *sp)
{
	struct mv_dkim_sig *sig = sp->sig;
	const char *at;
	size_t k;
	int from = 0;

	if (sig->a != NULL && sig->alg == MV_DKIM_ALG_UNKNOWN)
		fail(sp, MV_EUNSUPPORTED, "unsupported algorithm a=%s", sig->a);
	if (sig->alg == MV_DKIM_RSA_SHA1)
		fail(sp, MV_EUNSUPPORTED, "rsa-sha1 is not accepted (RFC 8301)");
	for (k = 0; k < sig->nh; k++)
		from |= strcmp(sig->h[k], "from") == 0;
	if (sig->h != NULL && sig->nh > 0 && !from)
		fail(sp, MV_ESYNTAX, "From is not signed (h=)");
	if (sig->i != NULL && sig->d != NULL) {
		at = strrchr(sig->i, '@');
		if (at == NULL) {
			fail(sp, MV_ESYNTAX, "i= has no '@'");
		} else {
			check_domain(sp, "i= domain", at + 1);
			if (!mv_dkim_domain_within(at + 1, sig->d))
				fail(sp, MV_ESYNTAX, "i= domain is not within d=");
		}
	}
	if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		fail(sp, MV_ESYNTAX, "x= is before t=");
}

enum mv_status mv_dkim_sig_parse(const char *value, size_t len, struct mv_dkim_sig **out, char *err,
                                 size_t errlen)
{
	return mv_dkim_sig_parse_ex(value, len, 0, out, err, errlen);
}

enum mv_status mv_dkim_sig_parse_ex(const char *value, size_t len, int tmpl,
                                    struct mv_dkim_sig **out, char *err, size_t errlen)
{
	struct mv_taglist tl;
	struct sigparse sp = {NULL, value, MV_OK, 0, tmpl, err, errlen};
	char tlerr[96];
	enum mv_status st;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((*out = sp.sig = calloc(1, sizeof *sp.sig)) == NULL)
		return MV_ENOMEM;
	sp.sig->l = sp.sig->t = sp.sig->x = -1;
	sp.sig->alg = MV_DKIM_ALG_UNKNOWN;
	sp.sig->hcanon = sp.sig->bcanon = MV_CANON_SIMPLE;
	if ((st = mv_taglist_parse(value, len, &tl, tlerr, sizeof tlerr)) != MV_OK) {
		fail(&sp, st, "%s", tlerr);
		return st;
	}
	read_tags(&sp, &tl);
	if (sp.sig->i == NULL && sp.sig->d != NULL) {
		size_t n = strlen(sp.sig->d) + 2;
		if ((sp.sig->i = malloc(n)) != NULL)
			snprintf(sp.sig->i, n, "@%s", sp.sig->d);
		else
			sp.nomem = 1;
	}
	check_tags(&sp);
	if (sp.nomem)
		return MV_ENOMEM;
	return sp.st;
}

void mv_dkim_sig_free(struct mv_dkim_sig *sig)
{
	size_t k;

	if (sig == NULL)
		return;
	free(sig->a);
	free(sig->d);
	free(sig->s);
	free(sig->i);
	for (k = 0; k < sig->nh; k++)
		free(sig->h[k]);
	free(sig->h);
	free(sig->b64);
	free(sig->b);
	free(sig->bh);
	free(sig);
}
