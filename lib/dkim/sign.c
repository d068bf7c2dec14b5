/* lib/dkim/sign.c — signing (RFC 6376 §5): a tag template, the body hash, the header hash, b=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"
#include "dkim/signkey.h"

#define FOLD_AT 76 /* fold the field before a line passes this */
#define FIELD_NAME "DKIM-Signature: "

void mv_dkim_sign_opts_default(struct mv_dkim_sign_opts *o)
{
	memset(o, 0, sizeof *o);
	o->hcanon = o->bcanon = MV_CANON_RELAXED;
	o->now = -1;
	o->body_limit = -1;
}

/* Append s, first folding the line when s would make it longer than FOLD_AT. */
static void put_folded(struct mv_buf *b, size_t *col, const char *s, size_t n)
{
	if (*col + n > FOLD_AT && *col > 1) {
		mv_buf_puts(b, "\r\n\t");
		*col = 1;
		if (n > 0 && s[0] == ' ') { /* the fold stands for the space */
			s++;
			n--;
		}
	}
	mv_buf_append(b, s, n);
	*col += n;
}

/* h=: the given list, or the default names present and From over-signed. */
static void put_h(struct mv_buf *b, size_t *col, const struct mv_dkim_sign_opts *o,
                  const struct mv_msg *m)
{
	const char *list = o->headers ? o->headers : MV_DKIM_DEFAULT_HEADERS;
	const char *p = list;
	char name[80];
	int first = 1;

	put_folded(b, col, " h=", 3);
	while (*p != '\0') {
		size_t n = strcspn(p, ":"), times = 1, j;
		if (n > 0 && n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			mv_ascii_lower(name, n);
			if (o->headers == NULL) { /* every instance, From once more */
				times = 0;
				for (j = mv_msg_find(m, name, 0); j != (size_t)-1;
				     j = mv_msg_find(m, name, j + 1))
					times++;
				times += strcmp(name, "from") == 0;
			}
			for (j = 0; j < times; j++) {
				if (!first)
					put_folded(b, col, ":", 1);
				put_folded(b, col, name, n);
				first = 0;
			}
		}
		p += n + (p[n] == ':');
	}
	mv_buf_putc(b, ';');
	(*col)++;
}

/* The template the options describe (l= is `l`, -1 none), with empty bh= and b= at the end. */
static enum mv_status build_template(const struct mv_dkim_sign_opts *o, enum mv_dkim_alg alg,
                                     const char *selector, int64_t l, const struct mv_msg *m,
                                     char **out)
{
	static const char *const cn[] = {"simple", "relaxed"};
	struct mv_buf b = MV_BUF_INIT, tag = MV_BUF_INIT;
	size_t col = sizeof FIELD_NAME - 1;

	*out = NULL;
	if (o->domain == NULL || selector == NULL || o->domain[0] == '\0' || selector[0] == '\0')
		return MV_EINVAL;
	mv_buf_printf(&tag, "v=1; a=%s;", mv_dkim_alg_str(alg));
	put_folded(&b, &col, tag.data, tag.len);
#define TAG(...)                                                                                   \
	do {                                                                                       \
		mv_buf_reset(&tag);                                                                \
		mv_buf_printf(&tag, __VA_ARGS__);                                                  \
		put_folded(&b, &col, tag.data, tag.len);                                           \
	} while (0)
	TAG(" c=%s/%s;", cn[o->hcanon == MV_CANON_RELAXED], cn[o->bcanon == MV_CANON_RELAXED]);
	TAG(" d=%s;", o->domain);
	TAG(" s=%s;", selector);
	if (o->identity != NULL)
		TAG(" i=%s;", o->identity);
	if (o->now >= 0)
		TAG(" t=%lld;", (long long)o->now);
	if (o->now >= 0 && o->expire > 0)
		TAG(" x=%lld;", (long long)(o->now + o->expire));
	if (l >= 0)
		TAG(" l=%lld;", (long long)l);
#undef TAG
	put_h(&b, &col, o, m);
	mv_buf_puts(&b, "\r\n\tbh=;\r\n\tb="); /* each on a line of its own */
	mv_buf_free(&tag);
	if (mv_buf_status(&b) != MV_OK) {
		mv_buf_free(&b);
		return MV_ENOMEM;
	}
	*out = mv_buf_steal(&b, NULL);
	return *out ? MV_OK : MV_ENOMEM;
}

/* Replace text[off..off+len) by rep, in a new string. */
static char *splice(const char *text, size_t off, size_t len, const char *rep, size_t replen)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_append(&b, text, off);
	mv_buf_append(&b, rep, replen);
	mv_buf_puts(&b, text + off + len);
	return mv_buf_steal(&b, NULL);
}

/* The raw span of tag `name` in text (which must parse as a tag-list). */
static enum mv_status find_span(const char *text, const char *name, size_t *off, size_t *len)
{
	struct mv_taglist tl;
	const struct mv_tag *t;

	if (mv_taglist_parse(text, strlen(text), &tl, NULL, 0) != MV_OK)
		return MV_ESYNTAX;
	if ((t = mv_taglist_get(&tl, name)) == NULL)
		return MV_EINVAL;
	*off = (size_t)(t->raw_value - text);
	*len = t->raw_len;
	return MV_OK;
}

/* b= folded: 72 characters a line after the first. */
static void put_b64_folded(struct mv_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 72) {
		if (i > 0)
			mv_buf_puts(b, "\r\n\t");
		mv_buf_append(b, s + i, n - i < 72 ? n - i : 72);
	}
}

/*
 * One signature: put bh into the template, hash the header with the
 * field as it will be (b= empty), sign, put b= in, append the field.
 */
static enum mv_status sign_one(const char *tmpl, const struct mv_dkim_sig *ts,
                               const struct mv_dkim_signkey *key, const struct mv_msg *m,
                               const unsigned char *bh, struct mv_buf *out)
{
	struct mv_buf b64 = MV_BUF_INIT, field = MV_BUF_INIT, scratch = MV_BUF_INIT;
	unsigned char hash[MV_DKIM_HASHLEN], *sig = NULL;
	char *text = NULL, *done = NULL;
	size_t off, len, siglen;
	enum mv_status st;

	if ((st = find_span(tmpl, "bh", &off, &len)) != MV_OK)
		goto out;
	if ((st = mv_dkim_b64_encode(bh, MV_DKIM_HASHLEN, &b64)) != MV_OK)
		goto out;
	st = MV_ENOMEM;
	if ((text = splice(tmpl, off, len, b64.data, b64.len)) == NULL)
		goto out;
	if ((st = find_span(text, "b", &off, &len)) != MV_OK)
		goto out;
	mv_buf_puts(&field, FIELD_NAME);
	mv_buf_puts(&field, text);
	if ((st = mv_buf_status(&field)) != MV_OK)
		goto out;
	st = mv_dkim_hash_headers(m, ts->hcanon, ts->h, ts->nh, field.data, field.len,
	                          sizeof FIELD_NAME - 1 + off, len, &scratch, hash);
	if (st != MV_OK)
		goto out;
	if ((st = mv_dkim_signkey_sign_alloc(key, hash, &sig, &siglen)) != MV_OK)
		goto out;
	mv_buf_reset(&b64);
	if ((st = mv_dkim_b64_encode(sig, siglen, &b64)) != MV_OK)
		goto out;
	mv_buf_reset(&field);
	put_b64_folded(&field, b64.data, b64.len);
	st = MV_ENOMEM;
	if (mv_buf_status(&field) != MV_OK ||
	    (done = splice(text, off, len, field.data, field.len)) == NULL)
		goto out;
	mv_buf_puts(out, FIELD_NAME);
	mv_buf_puts(out, done);
	mv_buf_puts(out, "\r\n");
	st = mv_buf_status(out);
out:
	free(sig);
	free(text);
	free(done);
	mv_buf_free(&b64);
	mv_buf_free(&field);
	mv_buf_free(&scratch);
	return st;
}

enum mv_status mv_dkim_sign_body_params(const struct mv_dkim_sign_opts *o, enum mv_canon *c,
                                        int64_t *l)
{
	struct mv_dkim_sig *ts = NULL;
	enum mv_status st;

	if (o->tmpl == NULL) {
		*c = o->bcanon;
		*l = o->body_limit >= 0 ? o->body_limit : -1;
		return MV_OK;
	}
	if ((st = mv_dkim_sig_parse_ex(o->tmpl, strlen(o->tmpl), 1, &ts, NULL, 0)) == MV_OK) {
		*c = ts->bcanon;
		*l = ts->l;
	}
	mv_dkim_sig_free(ts);
	return st;
}

/* Does the h= list (names separated by ':', WSP around them allowed) name From? */
static int names_from(const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ":");
		const char *q = p;
		size_t k = n;
		while (k > 0 && (*q == ' ' || *q == '\t')) {
			q++;
			k--;
		}
		while (k > 0 && (q[k - 1] == ' ' || q[k - 1] == '\t'))
			k--;
		if (mv_ascii_ieq(q, k, "from"))
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

enum mv_status mv_dkim_sign_opts_check(const struct mv_dkim_sign_opts *o, char *err, size_t errlen)
{
	const char *why = NULL;

	if (o->tmpl != NULL)
		return MV_OK; /* the template is checked when it is parsed */
	if (o->domain == NULL || o->domain[0] == '\0')
		why = "no signing domain (d=)";
	else if ((o->hcanon != MV_CANON_SIMPLE && o->hcanon != MV_CANON_RELAXED) ||
	         (o->bcanon != MV_CANON_SIMPLE && o->bcanon != MV_CANON_RELAXED))
		why = "unknown canonicalization";
	else if (o->body_limit < -1)
		why = "negative body length (l=)";
	else if (o->headers != NULL && !names_from(o->headers))
		why = "the signed header fields (h=) must include From (RFC 6376 §5.4)";
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return why ? MV_EINVAL : MV_OK;
}

/* One signature of mv_dkim_sign_hashed: template, check, sign. */
static enum mv_status sign_key(const struct mv_dkim_sign_opts *o, const struct mv_dkim_signkey *key,
                               const char *selector, int64_t l, const struct mv_msg *m,
                               const unsigned char *bh, struct mv_buf *out)
{
	struct mv_dkim_sig *ts = NULL;
	char *tmpl = NULL;
	enum mv_status st;

	if (o->tmpl != NULL)
		st = (tmpl = mv_strndup(o->tmpl, strlen(o->tmpl))) ? MV_OK : MV_ENOMEM;
	else
		st = build_template(o, key->alg, selector, l, m, &tmpl);
	if (st != MV_OK)
		goto out;
	if ((st = mv_dkim_sig_parse_ex(tmpl, strlen(tmpl), 1, &ts, NULL, 0)) != MV_OK)
		goto out;
	if (ts->alg != key->alg) {
		st = MV_EINVAL;
		goto out;
	}
	st = sign_one(tmpl, ts, key, m, bh, out);
out:
	mv_dkim_sig_free(ts);
	free(tmpl);
	return st;
}

enum mv_status mv_dkim_sign_hashed(const struct mv_dkim_sign_opts *o,
                                   const struct mv_dkim_signkey *const *keys,
                                   const char *const *selectors, size_t n, const struct mv_msg *m,
                                   struct mv_dkim_bodyhash *bh, struct mv_buf *out)
{
	enum mv_canon c;
	int64_t l;
	enum mv_status st;
	size_t k;

	if ((st = mv_dkim_sign_body_params(o, &c, &l)) != MV_OK)
		return st;
	if ((st = mv_dkim_bodyhash_final(bh)) != MV_OK)
		return st;
	if (!mv_dkim_bodyhash_covers(bh, c, l))
		return MV_EINVAL;
	for (k = 0; k < n && st == MV_OK; k++)
		st = sign_key(o, keys[k], selectors ? selectors[k] : o->selector, l, m,
		              mv_dkim_bodyhash_digest(bh), out);
	return st;
}

enum mv_status mv_dkim_sign(const struct mv_dkim_sign_opts *o,
                            const struct mv_dkim_signkey *const *keys, const char *const *selectors,
                            size_t n, const struct mv_msg *m, const void *body, size_t body_len,
                            struct mv_buf *out)
{
	struct mv_dkim_bodyhash *bh = NULL;
	enum mv_canon c;
	int64_t l;
	enum mv_status st;

	if (n == 0)
		return MV_OK;
	if ((st = mv_dkim_sign_body_params(o, &c, &l)) != MV_OK)
		return st;
	if ((st = mv_dkim_bodyhash_new(c, l, &bh)) != MV_OK)
		return st;
	if (body_len > 0)
		st = mv_dkim_bodyhash_update(bh, body, body_len);
	if (st == MV_OK)
		st = mv_dkim_sign_hashed(o, keys, selectors, n, m, bh, out);
	mv_dkim_bodyhash_free(bh);
	return st;
}
